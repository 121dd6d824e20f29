//! `vmodem run`: one module on one serial line, the built-in broker, until a signal.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;
use vmodem_core::{Config, Model, Timing};
use vmodem_tokio::{
    spawn_module, BrokerError, EmbeddedBroker, HostPort, ModuleHandle, ModuleOptions, PortError,
    PowerOn, PtyPort, StdioPort, TcpSerialPort,
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

/// Runs one module until Ctrl-C, SIGTERM, or (with `--stdio`) end of stdin.
pub(crate) async fn run(args: RunArgs) -> Result<()> {
    let broker = match args.no_broker {
        true => None,
        false => Some(start_broker(args.broker_listen).await?),
    };
    let (port, serial) = open_serial(&args).await?;
    let options = ModuleOptions {
        config: Config {
            model: args.model,
            timing: args.timing,
            unix_time_ms: unix_time_ms(),
            ..Config::default()
        },
        power_on: args.power_on,
        power_on_after: args.power_on_after,
        hosts: args.hosts.into_iter().collect(),
        trace: args.trace.clone(),
        ..ModuleOptions::default()
    };
    let module = spawn_module(port, options).with_context(|| {
        format!(
            "--trace {}: pass a path vmodem can write",
            path_of(&args.trace)
        )
    })?;
    // With --stdio, stdout is the serial line: people-facing text goes to stderr.
    let mut out: Box<dyn Write> = match serial {
        Serial::Stdio => Box::new(io::stderr()),
        _ => Box::new(io::stdout()),
    };
    let broker_addr = broker.as_ref().map(EmbeddedBroker::local_addr);
    write_banner(&mut out, args.model, args.timing, &serial, broker_addr)
        .and_then(|()| match (&serial, args.power_on) {
            (Serial::Stdio, _) | (_, PowerOn::AtStart) => Ok(()),
            _ => writeln!(
                out,
                "power:  the module powers up (RDY) when a host opens the line; --power-on start boots it now"
            ),
        })
        .context("cannot print the start-up message")?;
    wait_for_stop(module).await
}

async fn start_broker(listen: SocketAddr) -> Result<EmbeddedBroker> {
    EmbeddedBroker::start(listen).await.map_err(|e| {
        let hint = match e {
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
fn write_banner(
    out: &mut dyn Write,
    model: Model,
    timing: Timing,
    serial: &Serial,
    broker: Option<SocketAddr>,
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
        Some(addr) => {
            writeln!(out, "broker: {addr} (built in, MQTT 3.1.1)")?;
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
    if !matches!(serial, Serial::Stdio) {
        writeln!(out, "stop:   Ctrl-C")?;
    }
    out.flush()
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

fn unix_time_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn path_of(path: &Option<PathBuf>) -> String {
    path.as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
