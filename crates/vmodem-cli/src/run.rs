//! `vmodem run`: one module on one serial line, the built-in broker, until a signal.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;
use vmodem_core::{Config, Model, Network, Operator, Timing};
use vmodem_tokio::control::{ModuleEntry, Registry, SerialLine};
use vmodem_tokio::{
    spawn_module, BrokerCerts, BrokerError, BrokerOptions, EmbeddedBroker, HostPort, ModuleError,
    ModuleHandle, ModuleOptions, PortError, PowerOn, PtyPort, StdioPort, TcpSerialPort,
    BROKER_PROTOCOLS,
};

use crate::args::RunArgs;

/// Where the serial line is, for the start-up message.
enum Serial {
    Pty {
        path: PathBuf,
        link: Option<PathBuf>,
    },
    Tcp(SocketAddr),
    Stdio,
}

/// The name the start-up message gives the broker's CA in the module's RAM.
const CA_FILE: &str = "RAM:vmodem-ca.pem";

/// The SSL context the start-up message configures.
const SSL_CONTEXT: u8 = 2;

/// Runs one module until Ctrl-C, SIGTERM, or (with `--stdio`) end of stdin.
pub(crate) async fn run(args: RunArgs) -> Result<()> {
    // control: checked and bound first, so a refused or busy address fails at once.
    let control = bind_control(args.control, args.control_token.as_deref()).await?;
    let state = state_dir(args.state_dir.as_deref());
    let certs = match (args.broker_tls, &state) {
        (true, Some(state)) => {
            let dir = state.join("broker-tls");
            // Each --hosts name goes into the certificate too (issue 9).
            let names: Vec<String> = args.hosts.iter().map(|(name, _)| name.clone()).collect();
            Some(
                BrokerCerts::load_or_create_for(&dir, &names).with_context(|| {
                    format!(
                        "cannot make or read the built-in broker's TLS certificates in {}: pass \
                         --state-dir with a writable directory, and --hosts names that are DNS \
                         names",
                        dir.display()
                    )
                })?,
            )
        }
        (true, None) => anyhow::bail!(
            "--broker-tls keeps its certificates in the state directory, and there is none \
             (neither $XDG_STATE_HOME nor $HOME is set): pass --state-dir DIR"
        ),
        (false, _) => None,
    };
    let broker = match args.no_broker {
        true => None,
        false => {
            let tls = certs.as_ref().map(|certs| (args.broker_tls_listen, certs));
            crate::exposure::warn_if_exposed("--broker-listen", args.broker_listen);
            if tls.is_some() {
                crate::exposure::warn_if_exposed("--broker-tls-listen", args.broker_tls_listen);
            }
            Some(start_broker(args.broker_listen, tls, &args.broker_users).await?)
        }
    };
    let (port, serial) = open_serial(&args).await?;
    let network = args
        .network
        .unwrap_or_else(|| Network::default_for(args.timing));
    let seed = args.seed.unwrap_or_else(fresh_seed);
    let operator = args.operator();
    // control: one registry for the one module, its timeline for /v1/events.
    let registry = Registry::with_seed(seed);
    let options = ModuleOptions {
        config: Config {
            model: args.model,
            timing: args.timing,
            network: Some(network),
            seed,
            unix_time_ms: unix_time_ms(),
            ram_capacity: args.ram_size,
            ufs_capacity: args.ufs_size,
            operator: operator.clone(),
            ..Config::default()
        },
        power_on: args.power_on,
        power_on_after: args.power_on_after,
        hosts: args.hosts.into_iter().collect(),
        trace: args.trace.clone(),
        trace_secrets: args.trace_secrets,
        ufs_dir: state
            .as_ref()
            .map(|state| state.join("module-0").join("ufs")),
        timeline: control.as_ref().map(|_| registry.timeline_sender(0)),
        scenario: args.scenario.as_ref().map(|s| (*s.scenario).clone()),
        ..ModuleOptions::default()
    };
    let module = spawn_module(port, options).map_err(|e| {
        let hint = match e {
            ModuleError::Ufs { .. } => {
                "cannot read the module's saved UFS files: pass --state-dir with a readable \
                 directory"
                    .to_owned()
            }
            _ => format!(
                "--trace {}: pass a path vmodem can write",
                path_of(&args.trace)
            ),
        };
        anyhow::Error::new(e).context(hint)
    })?;
    let control_addr = match control {
        Some(listener) => Some(serve_control(
            listener,
            args.control_token.clone(),
            &registry,
            &module,
            &serial,
        )?),
        None => None,
    };
    // With --stdio, stdout is the serial line: people-facing text goes to stderr.
    let mut out: Box<dyn Write> = match serial {
        Serial::Stdio => Box::new(io::stderr()),
        _ => Box::new(io::stdout()),
    };
    let broker_addr = broker
        .as_ref()
        .map(|b| (b.local_addr(), broker_auth(&args.broker_users)));
    let tls = broker
        .as_ref()
        .and_then(EmbeddedBroker::tls_addr)
        .zip(certs.as_ref());
    let radio = (network, seed);
    write_banner(
        &mut out,
        args.model,
        args.timing,
        (radio.0, radio.1, &operator),
        &serial,
        broker_addr,
        tls,
        control_addr,
    )
        .and_then(|()| match (&serial, args.power_on) {
            (Serial::Stdio, _) | (_, PowerOn::AtStart) => Ok(()),
            _ => writeln!(
                out,
                "power:  the module powers up (RDY) when a host opens the line; --power-on start boots it now"
            ),
        })
        .context("cannot print the start-up message")?;
    if let Some(s) = &args.scenario {
        // --scenario (ws-timeline): after the banner, which tests read up to `stop:`.
        writeln!(out, "{}", scenario_banner(s))
            .and_then(|()| out.flush())
            .context("cannot print the start-up message")?;
    }
    wait_for_stop(module).await
}

pub(crate) async fn start_broker(
    listen: SocketAddr,
    tls: Option<(SocketAddr, &BrokerCerts)>,
    users: &[(String, String)],
) -> Result<EmbeddedBroker> {
    let mut options = BrokerOptions::new(listen);
    options.tls = tls.map(|(addr, certs)| (addr, certs.clone()));
    options.users = users.to_vec();
    EmbeddedBroker::start_with(options).await.map_err(|e| {
        let hint = match e {
            BrokerError::AddrInUse { addr } if tls.is_some_and(|(tls, _)| tls == addr) => {
                format!(
                    "the built-in broker's TLS listener cannot listen on {addr}: pass \
                 --broker-tls-listen 127.0.0.1:PORT to listen elsewhere"
                )
            }
            BrokerError::AddrInUse { .. } => format!(
                "the built-in MQTT broker cannot listen on {listen}: pass --broker-listen \
                 127.0.0.1:PORT to listen elsewhere, or --no-broker to use the broker already there"
            ),
            _ => "cannot start the built-in MQTT broker: pass --broker-listen with another \
                  address, or --no-broker to run without it"
                .to_owned(),
        };
        anyhow::Error::new(e).context(hint)
    })
}

async fn open_serial(args: &RunArgs) -> Result<(HostPort, Serial)> {
    if args.stdio {
        let port = StdioPort::open()?;
        return Ok((port.into(), Serial::Stdio));
    }
    if let Some(addr) = args.tcp {
        crate::exposure::warn_if_exposed("--tcp", addr);
        let port = TcpSerialPort::bind(addr).await.map_err(|e| {
            let hint = match e {
                PortError::AddrInUse { .. } => {
                    format!("--tcp {addr}: pass another port, e.g. --tcp 127.0.0.1:5556")
                }
                _ => format!("--tcp {addr}: pass an address of this machine"),
            };
            anyhow::Error::new(e).context(hint)
        })?;
        let addr = port
            .local_addr()
            .context("cannot read the TCP serial address")?;
        return Ok((port.into(), Serial::Tcp(addr)));
    }
    let port = PtyPort::open(args.link.as_deref()).map_err(|e| {
        let hint = match e {
            PortError::LinkOccupied { .. } | PortError::Link { .. } => {
                format!("--link {}: choose another path", path_of(&args.link))
            }
            _ => "cannot create the pseudo-terminal; --tcp 127.0.0.1:PORT serves the serial \
                  line without one"
                .to_owned(),
        };
        anyhow::Error::new(e).context(hint)
    })?;
    let serial = Serial::Pty {
        path: port.path().to_owned(),
        link: port.link().map(ToOwned::to_owned),
    };
    Ok((port.into(), serial))
}

/// Tells the person who started vmodem where everything is and how to begin.
// control: one more listener (`control:`) made it 8; a struct is for a later tidy-up.
#[allow(clippy::too_many_arguments)]
fn write_banner(
    out: &mut dyn Write,
    model: Model,
    timing: Timing,
    (network, seed, operator): (Network, u64, &Operator),
    serial: &Serial,
    broker: Option<(SocketAddr, String)>,
    tls: Option<(SocketAddr, &BrokerCerts)>,
    control: Option<SocketAddr>,
) -> io::Result<()> {
    let profile = model.profile();
    let timing = match timing {
        Timing::Fast => "fast",
        Timing::Realistic => "realistic",
    };
    writeln!(
        out,
        "vmodem {}: {} {} (revision {}), timing {timing}",
        env!("CARGO_PKG_VERSION"),
        profile.manufacturer,
        profile.model,
        profile.revision
    )?;
    write_network_banner(out, network, seed)?;
    writeln!(
        out,
        "operator: {} ({}), AT+COPS=1,2,\"{}\" selects it by hand",
        operator.long_name(),
        operator.plmn(),
        operator.plmn()
    )?;
    match serial {
        Serial::Pty { path, link } => {
            writeln!(out, "serial: {}", path.display())?;
            if let Some(link) = link {
                writeln!(out, "link:   {} -> {}", link.display(), path.display())?;
            }
            let device = link.as_ref().unwrap_or(path);
            writeln!(out, "try:    picocom -q {}", device.display())?;
            writeln!(
                out,
                "   or:  socat -,raw,echo=0,escape=0x1d {}  (Ctrl-] quits)",
                device.display()
            )?;
        }
        Serial::Tcp(addr) => {
            writeln!(
                out,
                "serial: tcp {addr} (one host at a time; a new connection replaces it)"
            )?;
            writeln!(
                out,
                "try:    socat -,raw,echo=0,escape=0x1d TCP:{addr}  (Ctrl-] quits)"
            )?;
        }
        Serial::Stdio => {
            writeln!(
                out,
                "serial: stdin/stdout (type AT and press Enter; Ctrl-C quits)"
            )?;
        }
    }
    let open = match broker {
        Some((addr, auth)) => {
            writeln!(out, "broker: {addr} (built in, {BROKER_PROTOCOLS}, {auth})")?;
            let ip = match addr.ip() {
                ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                ip => ip,
            };
            format!("AT+QMTOPEN=0,\"{ip}\",{}", addr.port())
        }
        None => {
            writeln!(
                out,
                "broker: none built in (--no-broker); the module reaches yours"
            )?;
            "AT+QMTOPEN=0,\"<broker host>\",1883".to_owned()
        }
    };
    writeln!(out, "then:   ATI    {open}")?;
    if let Some((addr, certs)) = tls {
        write_tls_banner(out, addr, certs, serial)?;
    }
    if let Some(addr) = control {
        writeln!(out, "{}", control_banner(addr))?;
    }
    if !matches!(serial, Serial::Stdio) {
        writeln!(out, "stop:   Ctrl-C")?;
    }
    out.flush()
}

// ---- control API (issue 10 §1; ws-control) ----

/// Binds `--control`: loopback as given; another address only with a token
/// (anyone who reaches the API can make the module fail, see its status and
/// watch its serial line, credentials included), and then with the exposure
/// warning.
pub(crate) async fn bind_control(
    addr: Option<SocketAddr>,
    token: Option<&str>,
) -> Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let token = token.filter(|t| !t.is_empty());
    if !addr.ip().is_loopback() {
        if token.is_none() {
            anyhow::bail!(
                "--control {addr} would let every host that reaches it start faults and read                  the serial line: add --control-token TOKEN (clients then send Authorization:                  Bearer TOKEN), or listen on loopback, e.g. --control 127.0.0.1:{}",
                addr.port()
            );
        }
        crate::exposure::warn_if_exposed("--control", addr);
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "the control API cannot listen on {addr}: pass --control 127.0.0.1:PORT with a              free port (0 picks one)"
        )
    })?;
    Ok(Some(listener))
}

/// Registers the module and serves the API in the background; the address it
/// listens on.
fn serve_control(
    listener: tokio::net::TcpListener,
    token: Option<String>,
    registry: &Registry,
    module: &ModuleHandle,
    serial: &Serial,
) -> Result<SocketAddr> {
    let addr = listener
        .local_addr()
        .context("cannot read the control API's address")?;
    let line = match serial {
        Serial::Pty { path, link } => SerialLine::Pty {
            path: path.clone(),
            link: link.clone(),
        },
        Serial::Tcp(addr) => SerialLine::Tcp(*addr),
        Serial::Stdio => SerialLine::None,
    };
    registry.register(ModuleEntry::new(0, module.control(), line));
    let token = token.filter(|t| !t.is_empty());
    let registry = registry.clone();
    tokio::spawn(async move {
        if let Err(e) = vmodem_tokio::control::serve(listener, token, registry).await {
            tracing::error!(error = %e, "the control API stopped");
        }
    });
    Ok(addr)
}

/// `control: http://HOST:PORT`, an address a local client can use (loopback
/// for a wildcard bind).
pub(crate) fn control_banner(addr: SocketAddr) -> String {
    let (url, note) = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
            format!(" (listening on {addr}; bearer token required)"),
        ),
        IpAddr::V6(ip) if ip.is_unspecified() => (
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
            format!(" (listening on {addr}; bearer token required)"),
        ),
        ip if !ip.is_loopback() => (addr, " (bearer token required)".to_owned()),
        _ => (addr, String::new()),
    };
    format!("control: http://{url}{note}  (vmodem ctl --url http://{url} status)")
}

/// The radio network, and the seed that repeats its delays.
fn write_network_banner(out: &mut dyn Write, network: Network, seed: u64) -> io::Result<()> {
    let p = network.profile();
    match network {
        Network::None => writeln!(
            out,
            "network: none (no radio delays; --network lte, catm1 or nbiot adds them)"
        ),
        _ => writeln!(
            out,
            "network: {} (round trips {}-{} ms, registration {}-{} s), seed {seed} \
             (--seed {seed} repeats these delays)",
            p.name,
            p.round_trip.min_ms,
            p.round_trip.max_ms,
            p.registration.min_ms / 1000,
            p.registration.max_ms / 1000
        ),
    }
}

/// A seed for a run that was given none: different every run.
fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// The TLS listener, and the AT commands that reach it with the CA verified.
fn write_tls_banner(
    out: &mut dyn Write,
    addr: SocketAddr,
    certs: &BrokerCerts,
    serial: &Serial,
) -> io::Result<()> {
    let ca = certs.ca_path();
    let size = std::fs::metadata(&ca)?.len();
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    writeln!(
        out,
        "tls:    {addr} (built in, {BROKER_PROTOCOLS} over TLS; certificate for {})",
        certs.names().join(", ")
    )?;
    writeln!(out, "ca:     {} ({size} bytes)", ca.display())?;
    writeln!(
        out,
        "tls at: AT+QFUPL=\"{CA_FILE}\",{size},100    (after CONNECT send the CA file's bytes)"
    )?;
    if let Serial::Pty { path, link } = serial {
        let device = link.as_ref().unwrap_or(path);
        writeln!(
            out,
            "        (e.g. from another shell: cat {} > {})",
            ca.display(),
            device.display()
        )?;
    }
    writeln!(
        out,
        "        AT+QSSLCFG=\"cacert\",{SSL_CONTEXT},\"{CA_FILE}\""
    )?;
    writeln!(out, "        AT+QSSLCFG=\"seclevel\",{SSL_CONTEXT},1")?;
    writeln!(out, "        AT+QMTCFG=\"ssl\",0,1,{SSL_CONTEXT}")?;
    writeln!(out, "        AT+QMTOPEN=0,\"{ip}\",{}", addr.port())
}

/// What the banner says of the broker's authentication.
fn broker_auth(users: &[(String, String)]) -> String {
    if users.is_empty() {
        return "no authentication".to_owned();
    }
    let names: Vec<&str> = users.iter().map(|(name, _)| name.as_str()).collect();
    format!(
        "users: {}; a wrong password gives CONNACK 4, no user name CONNACK 5",
        names.join(", ")
    )
}

/// `--state-dir`, or `$XDG_STATE_HOME/vmodem`, or `~/.local/state/vmodem`.
fn state_dir(flag: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = flag {
        return Some(dir.to_owned());
    }
    let non_empty = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(state) = non_empty("XDG_STATE_HOME") {
        return Some(PathBuf::from(state).join("vmodem"));
    }
    non_empty("HOME").map(|home| PathBuf::from(home).join(".local/state/vmodem"))
}

/// The start-up line of `--scenario`: what will be played.
fn scenario_banner(s: &crate::scenario_file::ScenarioArg) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "scenario: {} ({}, {}, seed {}); times count from power-up, steps and faults are logged",
        s.path.display(),
        plural(s.scenario.steps.len(), "step", "steps"),
        plural(s.scenario.random.len(), "random entry", "random entries"),
        s.scenario.seed
    )
}

async fn wait_for_stop(mut module: ModuleHandle) -> Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => {
            interrupted.context("cannot watch for Ctrl-C")?;
            info!("interrupted; shutting down");
        }
        _ = term.recv() => info!("terminated; shutting down"),
        stopped = module.finished() => return stopped.context("the module stopped"),
    }
    module
        .shutdown()
        .await
        .context("the module did not stop cleanly")
}

pub(crate) fn unix_time_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn path_of(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_the_network_and_the_seed_that_repeats_it() {
        let line = |network, seed| {
            let mut out = Vec::new();
            write_network_banner(&mut out, network, seed).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            line(Network::NbIot, 42),
            "network: nbiot (round trips 1000-10000 ms, registration 5-40 s), seed 42 \
             (--seed 42 repeats these delays)\n"
        );
        assert!(line(Network::None, 0).starts_with("network: none (no radio delays;"));
        assert_ne!(fresh_seed(), fresh_seed(), "a new seed each run");
    }

    #[test]
    fn the_control_line_gives_a_url_a_local_client_can_use() {
        assert_eq!(
            control_banner("127.0.0.1:7878".parse().unwrap()),
            "control: http://127.0.0.1:7878  (vmodem ctl --url http://127.0.0.1:7878 status)"
        );
        assert_eq!(
            control_banner("0.0.0.0:7878".parse().unwrap()),
            "control: http://127.0.0.1:7878 (listening on 0.0.0.0:7878; bearer token required)  \
             (vmodem ctl --url http://127.0.0.1:7878 status)"
        );
        assert!(control_banner("[::]:1".parse().unwrap()).starts_with("control: http://[::1]:1 ("));
    }
}
