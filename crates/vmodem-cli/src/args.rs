//! The command line: flags, their defaults, and the help that teaches them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use vmodem_core::{Model, Network, Operator, Timing};
use vmodem_tokio::PowerOn;

use crate::target::{parse_tcp, Target};

const ABOUT: &str =
    "A virtual Quectel LTE module (EC25 and kin) on a serial line, doing real MQTT.";

const LONG_ABOUT: &str = "\
A virtual Quectel LTE module (EC25 and kin) on a serial line, doing real MQTT.

vmodem answers AT commands byte for byte like the real module, including the MQTT \
commands (AT+QMTCFG, AT+QMTOPEN, AT+QMTCONN, AT+QMTSUB, AT+QMTPUBEX, ...), and behind \
them speaks real MQTT to real brokers. Point your MCU firmware, picocom, Renode or QEMU \
at its pseudo-terminal (the default) or TCP port. An MQTT broker is built in, so \
AT+QMTOPEN=0,\"127.0.0.1\",1883 works with nothing else installed.";

const EXAMPLE: &str = "\
Example session
  In one terminal:
    $ vmodem run --link /tmp/ttyEC25
    serial: /dev/pts/7
    link:   /tmp/ttyEC25 -> /dev/pts/7
    broker: 127.0.0.1:1883 (built in, MQTT 3.1 and 3.1.1, no authentication)
  In another (you type the AT lines and the payload; the module's answers are indented):
    $ picocom -q /tmp/ttyEC25
        RDY
        +CFUN: 1
        +CPIN: READY
        +QUSIM: 1
        +QIND: SMS DONE
        +QIND: PB DONE
    ATI
        Quectel
        EC25
        Revision: EC25EFAR06A06M4G
        OK
    AT+QMTOPEN=0,\"127.0.0.1\",1883
        OK
        +QMTOPEN: 0,0
    AT+QMTCONN=0,\"device-1\"
        OK
        +QMTCONN: 0,0,0
    AT+QMTSUB=0,1,\"test/#\",1
        OK
        +QMTSUB: 0,1,0,1
    AT+QMTPUBEX=0,1,1,0,\"test/topic\",5
        >                                (the prompt: now type exactly 5 bytes)
    hello
        OK
        +QMTPUBEX: 0,1,0
        +QMTRECV: 0,1,\"test/topic\",\"hello\"
  Watch the messages from outside: mosquitto_sub -h 127.0.0.1 -t 'test/#' -v
  The built-in broker speaks MQTT 3.1 and 3.1.1 (AT+QMTCFG=\"version\",c,3 or 4).

Testing your firmware's login failures
    $ vmodem run --broker-user meter-42:s3cret --broker-user tester:t
    broker: 127.0.0.1:1883 (built in, MQTT 3.1 and 3.1.1, users: meter-42, tester; a wrong
            password gives CONNACK 4, no user name CONNACK 5)
    AT+QMTCONN=0,\"device-1\",\"meter-42\",\"s3cret\"
        +QMTCONN: 0,0,0
    AT+QMTCONN=0,\"device-1\",\"meter-42\",\"wrong\"    (or an unknown user name)
        +QMTCONN: 0,0,4                  (bad user name or password)
    AT+QMTCONN=0,\"device-1\"                       (no user name)
        +QMTCONN: 0,0,5                  (not authorized)

Making the module misbehave on cue: a scenario file
    $ cat netloss.toml
    seed = 1
    [[step]]
    after = \"+QMTCONN: 0,0,0\"    # a line the module wrote to the host (or at = \"30s\")
    delay = \"1s\"
    fault = { kind = \"network_loss\" }
    duration = \"5s\"
    $ vmodem run --scenario netloss.toml --trace run.jsonl
    scenario: netloss.toml (1 step, 0 random entries, seed 1); times count from power-up, ...
  1 s after the module first writes +QMTCONN: 0,0,0, the network is lost for 5 s; `vmodem
  trace run.jsonl` shows the step armed and fired and the fault's start and end among the
  serial lines. More recipes: examples/scenarios/ (docs/scenarios.md has every key).";

/// The `vmodem` command line.
#[derive(Debug, Parser)]
#[command(
    name = "vmodem",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = "Start with `vmodem run`; `vmodem run --help` shows every flag and an example session."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// What to do.
// Parsed once per process: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run one virtual module until Ctrl-C or SIGTERM.
    #[command(long_about = LONG_ABOUT, after_long_help = EXAMPLE)]
    Run(RunArgs),
    /// Send AT command lines to a module (real or virtual) and print its answers.
    #[command(long_about = AT_ABOUT, after_long_help = AT_EXAMPLES)]
    At(AtArgs),
    /// Run the conformance suite against a module (real or virtual) and report per case.
    #[command(long_about = CONFORMANCE_ABOUT, after_long_help = CONFORMANCE_EXAMPLES)]
    Conformance(ConformanceArgs),
    /// Run many virtual modules in one process, each with its own identity (issue 13).
    Fleet(FleetArgs),
    /// Print a `vmodem run --trace` file as a transcript: host ↔ module ↔ broker.
    Trace(crate::trace_view::TraceArgs),
    /// Drive a running vmodem's control API: status, faults, the live timeline (issue 10).
    #[command(long_about = crate::ctl::CTL_ABOUT, after_long_help = crate::ctl::CTL_EXAMPLES)]
    Ctl(crate::ctl::CtlArgs),
}

/// Flags of `vmodem fleet`.
#[derive(Debug, Args)]
pub(crate) struct FleetArgs {
    /// How many modules the whole fleet has (across all shards).
    #[arg(long, value_name = "N")]
    pub(crate) count: u32,

    /// Serve module i's serial line on TCP port base+i (ADDR is IP:PORT or a bare PORT).
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, conflicts_with = "pty_dir")]
    pub(crate) tcp_base: Option<SocketAddr>,

    /// Give each module a pseudo-terminal, with a symlink DIR/tty<i> (about 4,000 fit).
    #[arg(long, value_name = "DIR")]
    pub(crate) pty_dir: Option<PathBuf>,

    /// Run shard I of N (0-based, e.g. 0/3): module ids and identities of that share only.
    /// Default: $JOB_COMPLETION_INDEX of N when set with --shard-count, else the whole fleet.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub(crate) shard: Option<(u32, u32)>,

    /// With $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), the number of shards.
    #[arg(long, value_name = "N")]
    pub(crate) shard_count: Option<u32>,

    /// The module to imitate.
    #[arg(long, value_name = "MODEL", default_value = "ec25", ignore_case = true, value_parser = model_parser())]
    pub(crate) model: Model,

    /// How quickly the modules answer.
    #[arg(long, value_name = "SPEED", default_value = "fast", ignore_case = true, value_parser = timing_parser())]
    pub(crate) timing: Timing,

    /// Seed for the modules' random choices; module i uses seed + i. Default 0 (stable runs).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) seed: u64,

    /// Where the built-in MQTT broker listens (0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1883", value_parser = parse_listen, conflicts_with = "no_broker")]
    pub(crate) broker_listen: SocketAddr,

    /// Do not start the built-in broker (use your own).
    #[arg(long)]
    pub(crate) no_broker: bool,

    /// When modules power up: attach (when a host connects) or start.
    #[arg(long, value_name = "WHEN", default_value = "attach", value_parser = power_on_parser())]
    pub(crate) power_on: PowerOn,

    /// Stop after this long (60s, 2m, or seconds). Default: when every --script has ended, else
    /// at Ctrl-C or SIGTERM.
    #[arg(long, value_name = "TIME", value_parser = parse_fleet_time)]
    pub(crate) duration: Option<Duration>,

    /// Run this device script on every module, from an in-process host on its serial line
    /// (`vmodem at` script format with {id}, {imei}, … placeholders and @connect, @every, @end,
    /// @sleep; see docs/scale.md).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["tcp_base", "pty_dir"])]
    pub(crate) script: Option<PathBuf>,

    /// Start this many modules per second (spreads the connect storm). Default: all at once.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub(crate) ramp: Option<f64>,

    /// The broker scripts reach as {broker_host}:{broker_port}. Default: the built-in broker.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_broker)]
    pub(crate) broker: Option<(String, u16)>,

    /// Spread the modules' links over K loopback source addresses, 127.0.0.1 … 127.0.0.K, taken
    /// in turn (a broker on loopback only). Each source address has its own ~28k ephemeral
    /// ports, so K of them hold about K × 28k links to one broker port (docs/scale.md).
    /// Default: the kernel chooses (one source, ~28k links).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u8).range(1..=254))]
    pub(crate) source_ips: Option<u8>,

    /// Write the run's report as JSON to FILE at the end (schema in docs/scale.md).
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,

    /// Serve the control API for every module of this process (ids = fleet indices; paths in
    /// docs/control.md, e.g. GET /v1/modules, POST /v1/faults with "modules": "10%"). ADDR is
    /// IP:PORT or a bare PORT on 127.0.0.1 (0 picks a free one); other than loopback needs
    /// --control-token.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen)]
    pub(crate) control: Option<SocketAddr>,

    /// Require `Authorization: Bearer TOKEN` on every control API request (401 otherwise).
    /// Also read from $VMODEM_CONTROL_TOKEN.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "VMODEM_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub(crate) control_token: Option<String>,

    /// Log verbosity on stderr.
    #[arg(long, value_name = "LEVEL", default_value = "warn")]
    pub(crate) log_level: String,
}

/// `60s`, `2m`, `500ms` or seconds.
fn parse_fleet_time(text: &str) -> Result<Duration, String> {
    crate::fleet::script::time(text)
}

/// Modules per second, above 0.
fn parse_rate(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0)
        .ok_or_else(|| {
            format!("expected modules per second above 0, such as 100 or 0.5, not {text:?}")
        })
}

/// `HOST:PORT` (a name or an IP; `[::1]:1883` for IPv6).
fn parse_broker(text: &str) -> Result<(String, u16), String> {
    let usage = || {
        format!(
            "expected HOST:PORT such as broker.example.com:1883 or 127.0.0.1:1883, not {text:?}"
        )
    };
    let (host, port) = text.rsplit_once(':').ok_or_else(usage)?;
    let port: u16 = port.parse().map_err(|_| usage())?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(usage());
    }
    Ok((host.to_owned(), port))
}

/// `I/N` with I < N.
fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let usage = format!("expected I/N with 0 <= I < N, such as 0/3, not {text:?}");
    let (i, n) = text.split_once('/').ok_or_else(|| usage.clone())?;
    let (i, n) = (i.parse::<u32>(), n.parse::<u32>());
    match (i, n) {
        (Ok(i), Ok(n)) if n > 0 && i < n => Ok((i, n)),
        _ => Err(usage),
    }
}

const AT_ABOUT: &str = "\
Send AT command lines to a module, real or virtual, and print its answers.

The answers are shown as vmodem's host client digests them: each command (`> AT+CPIN?`), \
then its information lines and its result code, indented; unsolicited result codes that \
arrive meanwhile are marked `urc:`. The module's echo is taken off. Each command waits for \
its documented maximum response time (300 ms for most, 120 s for AT+QMTOPEN; at least 1 s), \
and for a data prompt (`>` or CONNECT) the client sends the --payload.

The exit status says how it went, for shell scripts and CI: 0 when every command was \
answered OK and every --expect/--expect-urc was seen; 1 when a check failed (an --expect not \
seen, or a command answered ERROR/+CME ERROR that no --expect names); 2 when the command \
line or the script is wrong; 3 when the module cannot be reached or does not answer.";

const AT_EXAMPLES: &str = "\
Examples
  Is the SIM ready? (exit status 0 if so)
    $ vmodem at --port /tmp/ttyEC25 'AT+CPIN?' --expect '+CPIN: READY'
    > AT+CPIN?
      +CPIN: READY
      OK

  The IMEI, for a shell variable:
    $ imei=$(vmodem at -q --port /dev/ttyUSB2 AT+CGSN)

  Open an MQTT connection and wait for its result URC:
    $ vmodem at --tcp 127.0.0.1:5555 'AT+QMTOPEN=0,\"127.0.0.1\",1883' --expect-urc '+QMTOPEN: 0,0'
    > AT+QMTOPEN=0,\"127.0.0.1\",1883
      OK
    urc: +QMTOPEN: 0,0

  Publish: the payload goes after the `>` prompt (escapes \\r \\n \\t \\e \\z \\xNN; @FILE sends a file):
    $ vmodem at --port /tmp/ttyEC25 'AT+QMTPUBEX=0,1,1,0,\"t/a\",5' --payload hello --expect-urc '+QMTPUBEX: 0,1,0'

  Expect an error on purpose (a refused command fails the run unless an --expect names it):
    $ vmodem at --port /tmp/ttyEC25 'AT+QMTCLOSE=5' --expect ERROR

  A script: `>> DATA` is the payload of the command before it, `<< TEXT` waits for a URC:
    $ cat session.at
    # connect, publish, and listen
    ATE0
    AT+QMTOPEN=0,\"broker.example.com\",1883
    << +QMTOPEN: 0,0
    AT+QMTCONN=0,\"device-1\"
    << +QMTCONN: 0,0,0
    AT+QMTSUB=0,1,\"cmd/#\",1
    << +QMTSUB: 0,1,0
    AT+QMTPUB=0,0,0,0,\"t/b\"
    >> hello from a script
    $ vmodem at --port /dev/ttyUSB2 --script session.at --wait 60";

const CONFORMANCE_ABOUT: &str = "\
Run the conformance suite against a module, real or virtual, and report per case.

Each case is a scripted session from conformance/cases (built into vmodem): lines sent, and \
the exact bytes expected back, echo and CR/LF included, with placeholders for what varies \
from module to module ({imei}, {clock}, {digits} …). Per case the report says pass; FAIL with \
where the answer differs and a line diff of expected (-) against got (+), CR and LF shown as \
\\r and \\n; or n/a, for a case that needs a broker when --broker is not given, or is for \
another model. It ends with `N passed, M failed, K not applicable`.

Before each case the runner sets the echo the case is written for (ATE0 or ATE1, with ATQ0V1) \
and AT+CMEE=1. MQTT cases use client indexes 1 to 5 and unique topics; the note's chapter 5 \
session uses client 0 and sets its Alibaba Cloud auth, which only a restart clears.

Exit status: 0 when no case failed, 1 when one did, 2 when a case file or a flag is wrong, 3 \
when the module cannot be reached or stops answering.

--record DIR writes what the module answered as case files in DIR: unchanged where it matched, \
its own bytes where it did not, with its IMEI, IMSI, ICCID, model and revision written back as \
placeholders. Send them to us: transcripts of real modules are how the suite gets better.";

const CONFORMANCE_EXAMPLES: &str = "\
Examples
  Against vmodem itself, with its built-in broker:
    $ vmodem run --link /tmp/ttyEC25 --broker-listen 127.0.0.1:1883 &
    $ vmodem conformance --port /tmp/ttyEC25 --broker 127.0.0.1:1883
    pass  basic-at                     AT
    ...
    82 passed, 1 failed, 1 not applicable

  Against a real EC25 on USB, with a broker the module can reach over its network:
    $ vmodem conformance --port /dev/ttyUSB2 --broker test.mosquitto.org:1883 --timeout 30

  Record a real module's answers to contribute them:
    $ vmodem conformance --port /dev/ttyUSB2 --broker test.mosquitto.org:1883 --record out/

  Only some cases, or your own:
    $ vmodem conformance --tcp 127.0.0.1:5555 --only qmtcfg
    $ vmodem conformance --port /tmp/ttyEC25 --cases my-cases/
    $ vmodem conformance --list";

/// Where the module is, for `vmodem at` and `vmodem conformance`.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// The module's serial device: a real module's AT port (an EC25 on USB: /dev/ttyUSB2),
    /// or the pseudo-terminal `vmodem run` prints (or its --link).
    #[arg(long, value_name = "DEVICE")]
    pub(crate) port: Option<PathBuf>,

    /// Baud rate of --port (USB and pseudo-terminals ignore it).
    #[arg(long, value_name = "N", default_value_t = 115_200, value_parser = parse_baud)]
    pub(crate) baud: u32,

    /// The module's TCP serial port instead of a device: HOST:PORT (`vmodem run --tcp`,
    /// ser2net), or a bare PORT for 127.0.0.1.
    #[arg(long, value_name = "ADDR", conflicts_with = "port", value_parser = parse_tcp)]
    pub(crate) tcp: Option<String>,
}

impl TargetArgs {
    /// The target, if one was given.
    pub(crate) fn target(&self) -> Option<Target> {
        match (&self.port, &self.tcp) {
            (Some(path), _) => Some(Target::Serial {
                path: path.clone(),
                baud: self.baud,
            }),
            (None, Some(addr)) => Some(Target::Tcp(addr.clone())),
            (None, None) => None,
        }
    }
}

/// Flags of `vmodem at`.
#[derive(Debug, Args)]
pub(crate) struct AtArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// AT command lines to send, in order, e.g. 'AT+CPIN?' (quote them for the shell). Also
    /// `>> DATA`, the payload of the command before it, and `<< TEXT`, which waits for a URC
    /// containing TEXT before going on (a command's result URC, before the next command).
    #[arg(value_name = "LINE", conflicts_with = "script")]
    pub(crate) lines: Vec<String>,

    /// Send the lines of FILE instead (`-` for stdin): one per line as for LINE, and `#`
    /// comments.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub(crate) script: Option<PathBuf>,

    /// Data to send when a command prompts for it (`>` or CONNECT: AT+QMTPUBEX, AT+QMTPUB,
    /// AT+QFUPL), with escapes \r \n \t \e (ESC) \z (Ctrl-Z) \\ \xNN; `@FILE` sends a
    /// file's bytes. Repeat for several such commands, in order. AT+QMTPUB's closing Ctrl-Z is
    /// added for you.
    #[arg(long, value_name = "DATA")]
    pub(crate) payload: Vec<String>,

    /// Require an answer line (information text or result code) containing TEXT; repeatable.
    /// A command answered ERROR or +CME ERROR passes only if an --expect names its result.
    #[arg(long, value_name = "TEXT")]
    pub(crate) expect: Vec<String>,

    /// Require a URC containing TEXT, during the commands or after them (waiting up to the
    /// timeout); repeatable.
    #[arg(long, value_name = "TEXT")]
    pub(crate) expect_urc: Vec<String>,

    /// Wait SECS for each answer and for the --expect-urc URCs. Default: each command's
    /// documented maximum response time (at least 1 s); for URCs the longest of those, at
    /// least 10 s.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) timeout: Option<Duration>,

    /// After the last command, go on printing URCs for SECS seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) wait: Option<Duration>,

    /// Print only the answers' information lines: no commands, result codes or URCs.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

/// Flags of `vmodem conformance`.
#[derive(Debug, Args)]
pub(crate) struct ConformanceArgs {
    #[command(flatten)]
    pub(crate) target: TargetArgs,

    /// An MQTT broker the module can reach, HOST:PORT (from the module's side of the
    /// network). Cases that need one are not applicable without it.
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_tcp)]
    pub(crate) broker: Option<String>,

    /// Run these case files, or the *.case files of these directories, instead of the
    /// built-in suite. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub(crate) cases: Vec<PathBuf>,

    /// Run only the cases whose name contains TEXT. Repeatable.
    #[arg(long, value_name = "TEXT")]
    pub(crate) only: Vec<String>,

    /// Do not run the case NAME; it is reported not applicable. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub(crate) skip: Vec<String>,

    /// Also write what the module answered, as case files in DIR (created if needed).
    #[arg(long, value_name = "DIR")]
    pub(crate) record: Option<PathBuf>,

    /// Wait at least SECS for each expected answer. Default: the case's `timeout:`, or 10 s.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) timeout: Option<Duration>,

    /// How long the line must stay quiet after a case's last expected answer, in
    /// milliseconds, before the case passes (later bytes fail it).
    #[arg(long, value_name = "MS", default_value = "100", value_parser = parse_ms)]
    pub(crate) settle: Duration,

    /// List the cases (name, commands covered, needs) and exit.
    #[arg(long)]
    pub(crate) list: bool,
}

/// Flags of `vmodem run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Make a symlink to the pseudo-terminal at PATH (e.g. /tmp/ttyEC25), so the serial
    /// device has the same name every run. An old symlink there is replaced; any other
    /// file is left alone and vmodem refuses to start. Removed again on exit. Default: no
    /// symlink; the start-up message shows the /dev/pts path.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["tcp", "stdio"])]
    pub(crate) link: Option<PathBuf>,

    /// Serve the serial line on TCP instead of a pseudo-terminal (for QEMU
    /// `-serial tcp:...`, Renode, socat). ADDR is IP:PORT, or a bare PORT for
    /// 127.0.0.1:PORT. One host at a time: a new connection replaces the current one,
    /// like re-plugging a cable.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, conflicts_with = "stdio")]
    pub(crate) tcp: Option<SocketAddr>,

    /// Use stdin/stdout as the serial line instead of a pseudo-terminal (start-up
    /// messages and logs go to stderr). A terminal on stdin is put in raw mode while
    /// vmodem runs; end of stdin stops vmodem.
    #[arg(long)]
    pub(crate) stdio: bool,

    /// The module to imitate: identity strings (ATI, AT+CGMR) and publish dialects.
    #[arg(long, value_name = "MODEL", default_value = "ec25", ignore_case = true, value_parser = model_parser())]
    pub(crate) model: Model,

    /// How quickly the module answers.
    #[arg(long, value_name = "SPEED", default_value = "fast", ignore_case = true, value_parser = timing_parser())]
    pub(crate) timing: Timing,

    /// The radio network behind the module: each exchange on a link (TCP and TLS set-up,
    /// CONNECT, SUBSCRIBE, PUBLISH, PINGREQ) takes its round trip, so result URCs such as
    /// +QMTOPEN come after the OK as on hardware, and registering after power-up or
    /// AT+CFUN=1,1 takes its seconds. Default: lte with --timing realistic, none with fast.
    #[arg(long, value_name = "NETWORK", ignore_case = true, value_parser = network_parser())]
    pub(crate) network: Option<Network>,

    /// Seed for the module's random choices, such as the network's delays: the same seed
    /// gives the same delays, run after run. Default: a new seed each run, shown at start-up.
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// The simulated network's PLMN (MCC+MNC, 5 or 6 digits), for firmware that selects
    /// its carrier by hand, e.g. --plmn 310260 for AT+COPS=1,2,"310260",9. The SIM's
    /// IMSI starts with it. Default: 00101, the 3GPP test network.
    #[arg(long, value_name = "MCCMNC", default_value = "00101", value_parser = parse_plmn)]
    pub(crate) plmn: String,

    /// The operator name AT+COPS? shows (long and short form), 1 to 16 ASCII
    /// characters, e.g. --operator-name "T-Mobile". Default: VMODEM NET (short VMODEM).
    #[arg(long, value_name = "NAME", value_parser = parse_operator_name)]
    pub(crate) operator_name: Option<String>,

    /// Log verbosity on stderr: error, warn, info, debug or trace, or a tracing filter
    /// such as `info,vmodem_tokio::broker=debug` (the built-in broker's clients coming and
    /// going).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub(crate) log_level: String,

    /// Write every byte on the serial line, both directions, to FILE as JSON lines:
    /// {"t_ms":12,"dir":"host_to_module","text":"AT\r","hex":"41540d"}. Default: no trace.
    /// The file is created mode 0600; the AT+QMTCONN password and the "aliauth" device
    /// secret are masked as *** in text and hex (see --trace-secrets).
    #[arg(long, value_name = "FILE")]
    pub(crate) trace: Option<PathBuf>,

    /// Keep MQTT passwords and the "aliauth" device secret in the --trace file, byte for
    /// byte. Dangerous: traces get attached to bug reports and pasted in chats, and
    /// whoever reads one can then log in to your broker as your device. Use only with
    /// throw-away credentials.
    #[arg(long, requires = "trace")]
    pub(crate) trace_secrets: bool,

    /// Play the faults of a scenario file (TOML) on the module, for CI jobs that must not
    /// script the control API. Each [[step]] starts a fault (kind and parameters as for
    /// `vmodem ctl fault add`) at `at = "30s"` after power-up, or `delay` after the first
    /// host line equal to `after` (a line the module wrote, e.g. "+QMTCONN: 0,0,0"), for
    /// `duration`, repeated `every` PERIOD up to `count` times; each [[random]] entry
    /// starts faults at a seeded random `rate` ("1/10m"): the same `seed` gives the same
    /// times and parameters. A mistake in the file stops vmodem at start (exit status 2)
    /// with its line and field. Steps and faults are logged and go in the --trace. Every
    /// key: docs/scenarios.md; recipes: examples/scenarios/.
    #[arg(long, value_name = "FILE.toml", value_parser = crate::scenario_file::load)]
    pub(crate) scenario: Option<crate::scenario_file::ScenarioArg>,

    /// Where the built-in MQTT broker listens: IP:PORT, or a bare PORT for
    /// 127.0.0.1:PORT (0 picks a free port; the start-up message shows it).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:1883",
        value_parser = parse_listen,
        conflicts_with = "no_broker"
    )]
    pub(crate) broker_listen: SocketAddr,

    /// Do not start the built-in broker (use your own, e.g. mosquitto on port 1883).
    #[arg(long)]
    pub(crate) no_broker: bool,

    /// Let only this user connect to the built-in broker (both listeners), e.g.
    /// --broker-user meter-42:s3cret; the password is what follows the first colon.
    /// Repeatable. A wrong password or unknown user name gets CONNACK 4 (+QMTCONN: c,0,4),
    /// a CONNECT without a user name CONNACK 5 (+QMTCONN: c,0,5). Default: anyone may
    /// connect. The password is visible to local users in the process list.
    #[arg(
        long = "broker-user",
        value_name = "NAME:PASSWORD",
        value_parser = parse_user,
        conflicts_with = "no_broker"
    )]
    pub(crate) broker_users: Vec<(String, String)>,

    /// Resolve NAME to IP for the module's connections before asking the system
    /// resolver, e.g. --hosts broker.example.com=127.0.0.1. Repeatable. Default: none.
    /// With --broker-tls each NAME is also put in the built-in broker's certificate, so
    /// firmware with a cloud broker's name built in verifies the built-in broker.
    #[arg(long = "hosts", value_name = "NAME=IP", value_parser = parse_host)]
    pub(crate) hosts: Vec<(String, IpAddr)>,

    /// When the module powers up: `attach` (default) when the first host opens the
    /// pseudo-terminal or connects to the TCP port, so it sees RDY and the boot URCs
    /// (terminal programs flush what was written before they opened the device);
    /// `start` at once. With --stdio the host is there from the start.
    #[arg(long, value_name = "WHEN", default_value = "attach", value_parser = power_on_parser())]
    pub(crate) power_on: PowerOn,

    /// After the module powers itself down (AT+QPOWD), press its power key again after
    /// SECS seconds. Without it the module stays off, as hardware does, until vmodem
    /// restarts.
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub(crate) power_on_after: Option<Duration>,

    /// Keep vmodem's state in DIR: the module's UFS files (AT+QFUPL="UFS:...", kept
    /// across runs as a real module keeps them across power cycles) in
    /// DIR/module-0/ufs, and the built-in broker's TLS certificates in DIR/broker-tls.
    /// Default: $XDG_STATE_HOME/vmodem, or ~/.local/state/vmodem.
    #[arg(long, value_name = "DIR")]
    pub(crate) state_dir: Option<PathBuf>,

    /// Size of the module's RAM: storage (AT+QFUPL="RAM:..."), in bytes, or with a K or
    /// M suffix (1024-based): an upload that does not fit answers +CME ERROR: 420.
    #[arg(long, value_name = "SIZE", default_value = "2M", value_parser = parse_size)]
    pub(crate) ram_size: usize,

    /// Size of the module's UFS: storage (files kept across power cycles), like --ram-size.
    #[arg(long, value_name = "SIZE", default_value = "12M", value_parser = parse_size)]
    pub(crate) ufs_size: usize,

    /// Let the built-in broker also listen with TLS (see --broker-tls-listen), with a CA
    /// and a certificate for localhost, 127.0.0.1, ::1 and every --hosts NAME, made on
    /// first use and kept in the state directory (the certificate is made again, by the
    /// same CA, when the names change). The start-up message shows the AT commands that
    /// upload the CA and turn TLS on.
    #[arg(long, conflicts_with = "no_broker")]
    pub(crate) broker_tls: bool,

    /// Where the built-in broker's TLS listener listens: IP:PORT, or a bare PORT for
    /// 127.0.0.1:PORT (0 picks a free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8883",
        value_parser = parse_listen,
        requires = "broker_tls"
    )]
    pub(crate) broker_tls_listen: SocketAddr,

    // ---- control API (issue 10 §1; ws-control) ----
    /// Serve the control API (HTTP/JSON: status, faults, live events, Prometheus metrics)
    /// on ADDR: IP:PORT, or a bare PORT for 127.0.0.1:PORT (0 picks a free port; the
    /// start-up message shows `control: http://127.0.0.1:PORT`). Any other address than
    /// loopback needs --control-token. For example, make the module lose the network for
    /// 5 s:
    ///   vmodem run --control 7878 &
    ///   curl --json '{"kind":"network_loss","duration_ms":5000}' \
    ///        http://127.0.0.1:7878/v1/modules/0/faults
    ///   vmodem ctl --url 7878 fault add network_loss --for 5s
    /// docs/control.md describes every path.
    #[arg(long, value_name = "ADDR", value_parser = parse_listen, verbatim_doc_comment)]
    pub(crate) control: Option<SocketAddr>,

    /// Require `Authorization: Bearer TOKEN` on every control API request (401 otherwise);
    /// needed to serve it on an address other hosts can reach. Also read from
    /// $VMODEM_CONTROL_TOKEN, which keeps it out of the process list.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "VMODEM_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub(crate) control_token: Option<String>,
}

/// `NAME:PASSWORD` for `--broker-user`: the name before the first colon, not
/// empty; the password after it (it may hold colons), not empty.
fn parse_user(text: &str) -> Result<(String, String), String> {
    let usage = "expected NAME:PASSWORD, such as meter-42:s3cret";
    match text.split_once(':') {
        Some((name, password)) if !name.is_empty() && !password.is_empty() => {
            Ok((name.to_owned(), password.to_owned()))
        }
        Some(("", _)) => Err(format!("the user name is empty; {usage}")),
        Some(_) => Err(format!("the password is empty; {usage}")),
        None => Err(format!("no colon between name and password; {usage}")),
    }
}

fn power_on_parser() -> impl TypedValueParser<Value = PowerOn> {
    PossibleValuesParser::new([
        PossibleValue::new("attach")
            .help("when the first host opens or connects to the serial line"),
        PossibleValue::new("start").help("as soon as vmodem starts"),
    ])
    .map(|when| match when.as_str() {
        "start" => PowerOn::AtStart,
        _ => PowerOn::WhenHostAttaches,
    })
}

fn model_parser() -> impl TypedValueParser<Value = Model> {
    let names = Model::ALL.map(|m| {
        let p = m.profile();
        PossibleValue::new(p.cli_name).help(format!("{} {}", p.manufacturer, p.model))
    });
    PossibleValuesParser::new(names)
        .map(|name| Model::from_name(&name).expect("clap only passes listed names"))
}

fn timing_parser() -> impl TypedValueParser<Value = Timing> {
    PossibleValuesParser::new([
        PossibleValue::new("fast").help("answer at once; the boot messages come in one burst"),
        PossibleValue::new("realistic")
            .help("answer after delays like real hardware; boot takes about 7 s"),
    ])
    .map(|name| Timing::from_name(&name).expect("clap only passes listed names"))
}

fn network_parser() -> impl TypedValueParser<Value = Network> {
    let names = Network::ALL.map(|n| {
        let p = n.profile();
        let help = match n {
            Network::None => "no radio delays: links as fast as the machine's".to_owned(),
            _ => format!(
                "round trips {}-{} ms, registration {}-{} s",
                p.round_trip.min_ms,
                p.round_trip.max_ms,
                p.registration.min_ms / 1000,
                p.registration.max_ms / 1000
            ),
        };
        PossibleValue::new(p.name).help(help)
    });
    PossibleValuesParser::new(names)
        .map(|name| Network::from_name(&name).expect("clap only passes listed names"))
}

/// `IP:PORT`, `localhost:PORT`, or a bare `PORT` on 127.0.0.1.
fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        if let Ok(port) = port.parse::<u16>() {
            return Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
        }
    }
    text.parse().map_err(|_| {
        format!(
            "expected IP:PORT such as 127.0.0.1:5555, or a bare PORT for 127.0.0.1, not {text:?}"
        )
    })
}

/// `NAME=IP`.
fn parse_host(text: &str) -> Result<(String, IpAddr), String> {
    let usage = "expected NAME=IP, such as broker.example.com=127.0.0.1";
    let (name, ip) = text
        .split_once('=')
        .ok_or_else(|| format!("{usage}, not {text:?}"))?;
    if name.is_empty() {
        return Err(format!("{usage}; the name is missing in {text:?}"));
    }
    let ip = ip
        .parse()
        .map_err(|_| format!("{usage}; {ip:?} is not an IP address"))?;
    Ok((name.to_owned(), ip))
}

fn parse_plmn(text: &str) -> Result<String, String> {
    Operator::new(text, "x")
        .map(|op| op.plmn().to_owned())
        .map_err(|e| e.to_string())
}

fn parse_operator_name(text: &str) -> Result<String, String> {
    Operator::new("00101", text)
        .map(|op| op.long_name().to_owned())
        .map_err(|e| e.to_string())
}

impl RunArgs {
    /// The simulated network's operator from --plmn and --operator-name.
    pub(crate) fn operator(&self) -> Operator {
        let default = Operator::default();
        let built = match &self.operator_name {
            Some(name) => Operator::new(&self.plmn, name),
            None => Operator::with_names(&self.plmn, default.long_name(), default.short_name()),
        };
        // Both parts were checked by their parsers.
        built.unwrap_or(default)
    }
}

/// A standard baud rate.
fn parse_baud(text: &str) -> Result<u32, String> {
    text.parse()
        .ok()
        .filter(|b| vmodem_client::serial::BAUD_RATES.contains(b))
        .ok_or_else(|| {
            format!(
                "expected a standard baud rate such as 115200 (one of {:?}), not {text:?}",
                vmodem_client::serial::BAUD_RATES
            )
        })
}

/// Milliseconds.
fn parse_ms(text: &str) -> Result<Duration, String> {
    text.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("expected a number of milliseconds such as 100, not {text:?}"))
}

/// Seconds, fractions allowed.
/// `2048`, `64K`, `12M` (1024-based; K and M in either case).
fn parse_size(text: &str) -> Result<usize, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((i, 'k' | 'K')) => (&text[..i], 1024),
        Some((i, 'm' | 'M')) => (&text[..i], 1024 * 1024),
        _ => (text, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| {
            format!("`{text}` is not a size: give bytes, or a number with K or M, e.g. 64K")
        })
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("expected a number of seconds such as 5 or 0.5, not {text:?}"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn listen_addresses_default_to_loopback() {
        assert_eq!(parse_listen("5555"), Ok("127.0.0.1:5555".parse().unwrap()));
        assert_eq!(
            parse_listen("localhost:1"),
            Ok("127.0.0.1:1".parse().unwrap())
        );
        assert_eq!(
            parse_listen("0.0.0.0:1883"),
            Ok("0.0.0.0:1883".parse().unwrap())
        );
        assert_eq!(
            parse_listen("[::1]:1883"),
            Ok("[::1]:1883".parse().unwrap())
        );
        assert!(parse_listen("example.com:1883")
            .unwrap_err()
            .contains("IP:PORT"));
    }

    #[test]
    fn host_overrides_are_name_equals_ip() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(
            parse_host("broker.test=127.0.0.1"),
            Ok(("broker.test".into(), ip))
        );
        assert!(parse_host("broker.test").unwrap_err().contains("NAME=IP"));
        assert!(parse_host("=127.0.0.1")
            .unwrap_err()
            .contains("name is missing"));
        assert!(parse_host("a=b").unwrap_err().contains("not an IP address"));
    }

    #[test]
    fn broker_users_are_name_colon_password_and_repeat() {
        assert_eq!(
            parse_user("meter-42:s3:cret"),
            Ok(("meter-42".into(), "s3:cret".into()))
        );
        assert!(parse_user("meter-42").unwrap_err().contains("no colon"));
        assert!(parse_user(":pw")
            .unwrap_err()
            .contains("user name is empty"));
        assert!(parse_user("name:")
            .unwrap_err()
            .contains("password is empty"));
        let cli = Cli::try_parse_from([
            "vmodem",
            "run",
            "--broker-user",
            "a:1",
            "--broker-user",
            "b:2",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(
            args.broker_users,
            [("a".to_owned(), "1".to_owned()), ("b".into(), "2".into())]
        );
        assert!(
            Cli::try_parse_from(["vmodem", "run", "--no-broker", "--broker-user", "a:1"]).is_err()
        );
    }

    #[test]
    fn run_flags_parse_with_their_defaults() {
        let cli = Cli::try_parse_from(["vmodem", "run"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.model, Model::Ec25);
        assert_eq!(args.timing, Timing::Fast);
        assert_eq!(args.broker_listen, "127.0.0.1:1883".parse().unwrap());
        assert_eq!(args.power_on_after, None);
        assert_eq!((args.network, args.seed), (None, None));
        assert_eq!(args.operator(), Operator::default());

        let cli = Cli::try_parse_from([
            "vmodem",
            "run",
            "--tcp",
            "5555",
            "--model",
            "BG96",
            "--timing",
            "realistic",
            "--hosts",
            "a=10.0.0.1",
            "--hosts",
            "b=::1",
            "--power-on-after",
            "0.5",
            "--network",
            "NBIoT",
            "--seed",
            "42",
            "--plmn",
            "310260",
            "--operator-name",
            "T-Mobile",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.tcp, Some("127.0.0.1:5555".parse().unwrap()));
        assert_eq!(args.model, Model::Bg96);
        assert_eq!(args.timing, Timing::Realistic);
        assert_eq!(args.hosts.len(), 2);
        assert_eq!(args.power_on_after, Some(Duration::from_millis(500)));
        assert_eq!((args.network, args.seed), (Some(Network::NbIot), Some(42)));
        assert_eq!(
            args.operator(),
            Operator::new("310260", "T-Mobile").unwrap()
        );
        let cli = Cli::try_parse_from(["vmodem", "run", "--plmn", "26201"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.operator().plmn(), "26201");
        assert_eq!(args.operator().long_name(), "VMODEM NET");
        for bad in [
            &["--plmn", "3102"][..],
            &["--plmn", "31026x"],
            &["--operator-name", "a \"quoted\" name"],
            &["--operator-name", "a name of more than 16"],
        ] {
            let err = Cli::try_parse_from(["vmodem", "run"].iter().chain(bad)).unwrap_err();
            let text = err.to_string();
            assert!(
                text.contains("310260") || text.contains("T-Mobile"),
                "{bad:?}: {text}"
            );
        }
    }

    #[test]
    fn at_and_conformance_flags_parse() {
        let cli = Cli::try_parse_from([
            "vmodem",
            "at",
            "--port",
            "/dev/ttyUSB2",
            "--baud",
            "921600",
            "AT+CPIN?",
            "ATI",
            "--expect",
            "+CPIN: READY",
            "--payload",
            "hello\\r\\n",
            "--timeout",
            "2.5",
        ])
        .unwrap();
        let Command::At(args) = cli.command else {
            panic!("not at")
        };
        assert_eq!(args.lines, ["AT+CPIN?", "ATI"]);
        assert_eq!(
            args.target.target(),
            Some(Target::Serial {
                path: "/dev/ttyUSB2".into(),
                baud: 921_600
            })
        );
        assert_eq!(args.timeout, Some(Duration::from_millis(2500)));

        let cli = Cli::try_parse_from([
            "vmodem",
            "conformance",
            "--tcp",
            "5555",
            "--broker",
            "127.0.0.1:1883",
            "--skip",
            "basic-at",
        ])
        .unwrap();
        let Command::Conformance(args) = cli.command else {
            panic!("not conformance")
        };
        assert_eq!(
            args.target.target(),
            Some(Target::Tcp("127.0.0.1:5555".into()))
        );
        assert_eq!(args.broker.as_deref(), Some("127.0.0.1:1883"));
        assert_eq!(args.settle, Duration::from_millis(100));

        for bad in [
            &["vmodem", "at", "--port", "/dev/x", "--tcp", "1", "AT"][..],
            &["vmodem", "at", "--port", "/dev/x", "--baud", "115201", "AT"],
            &["vmodem", "at", "--port", "/dev/x", "-f", "s.at", "AT"],
            &["vmodem", "conformance", "--broker", "nohost"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn contradictory_flags_are_refused() {
        for flags in [
            &["--tcp", "5555", "--stdio"][..],
            &["--link", "/tmp/x", "--tcp", "1"],
            &["--no-broker", "--broker-listen", "1883"],
            &["--network", "5g"],
            &["--seed", "-1"],
        ] {
            let argv = ["vmodem", "run"].iter().chain(flags);
            assert!(Cli::try_parse_from(argv).is_err(), "{flags:?} accepted");
        }
    }
}
