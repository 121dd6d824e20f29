//! `vmodem fleet`: many modules in one process (issue 13), each on the
//! ordinary module task with its own identity (`Config::instance` = its fleet
//! index, so IMEI, ICCID and IMSI are distinct and stable across runs).
//!
//! Decisions where the issue is silent: a shard's share is a contiguous range
//! of indices (`count * i / n .. count * (i + 1) / n`), so shard identities
//! are disjoint and their union is the fleet; `--tcp-base` ports count from
//! the fleet index, so every shard on one machine uses its own ports.

mod host;
mod report;
pub(crate) mod script;

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use nix::sys::resource::{getrlimit, Resource};
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;
use tokio::time::Instant;
use vmodem_core::{Config, Network};
use vmodem_tokio::control::{ModuleEntry, Registry, SerialLine};
use vmodem_tokio::{
    spawn_module, HostPort, ModuleHandle, ModuleOptions, PtyPort, SourceAddrs, TcpSerialPort,
};

use self::host::{Host, Ident, Shared};
use self::report::{RunInfo, Stats};
use self::script::Script;
use crate::args::FleetArgs;
use crate::run::{bind_control, control_banner, start_broker, unix_time_ms};

/// Bytes each direction of an in-process serial line holds unread: enough
/// for a burst of URCs; past it the module's output waits in the core.
const IN_PROCESS_BUFFER: usize = 4096;

/// How long a fleet whose scripts have all ended runs on, reading: the last
/// publishes' deliveries and acknowledgements arrive meanwhile.
const LINGER: Duration = Duration::from_secs(1);

/// About how many ptys the kernel hands out (`/proc/sys/kernel/pty/max` is
/// 4096 by default, shared by the whole machine).
const PTY_LIMIT: u32 = 4000;

/// Descriptors the process needs besides its modules (stdio, epoll, the
/// broker's listeners, signal pipes, the runtime).
const BASE_FDS: u64 = 64;

/// The modules this process runs: shard `i` of `n` of a fleet of `count`.
pub(crate) fn share(count: u32, (i, n): (u32, u32)) -> Range<u32> {
    let at = |k: u32| (u64::from(count) * u64::from(k) / u64::from(n)) as u32;
    at(i)..at(i + 1)
}

/// `--shard`, else `$JOB_COMPLETION_INDEX` of `--shard-count`, else the whole fleet.
fn shard_of(args: &FleetArgs) -> Result<(u32, u32)> {
    if let Some(shard) = args.shard {
        return Ok(shard);
    }
    match (std::env::var("JOB_COMPLETION_INDEX"), args.shard_count) {
        (Ok(index), Some(n)) => {
            let i: u32 = index
                .trim()
                .parse()
                .with_context(|| format!("JOB_COMPLETION_INDEX={index:?} is not a shard number"))?;
            if n == 0 || i >= n {
                bail!("JOB_COMPLETION_INDEX={i} is not below --shard-count {n}: make the Job's completions equal --shard-count");
            }
            Ok((i, n))
        }
        (Ok(_), None) => bail!(
            "JOB_COMPLETION_INDEX is set but --shard-count is not: pass --shard-count with the \
             Job's completions (or --shard I/N)"
        ),
        (Err(_), _) => Ok((0, 1)),
    }
}

/// Checks the open-file limit against what `modules` need, and says what to
/// do when it does not fit, before anything is opened.
fn check_files(modules: u32, serial: bool, broker: bool) -> Result<()> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("cannot read RLIMIT_NOFILE")?;
    let m = u64::from(modules);
    // Per module: its serial line (listener + a connected host, or a pty
    // master) and one MQTT link; the built-in broker holds the far end of each link.
    let per_module = u64::from(serial) * 2 + 1 + u64::from(broker);
    let need = BASE_FDS + m * per_module;
    if need > soft {
        let fit = soft.saturating_sub(BASE_FDS) / per_module;
        bail!(
            "{modules} modules need about {need} open files (serial lines, MQTT links{}), and \
             this process may open {soft} (hard limit {hard}). Raise the limit (ulimit -n {}), \
             run the fleet in shards (--shard I/N in several processes or pods), use --no-broker \
             with a broker in another process, or run at most {fit} modules here",
            if broker {
                ", the built-in broker's ends"
            } else {
                ""
            },
            need.min(hard),
        );
    }
    Ok(())
}

/// Runs this shard's modules until Ctrl-C, SIGTERM, `--duration`, or (with
/// a script that ends and no `--duration`) until every script has ended.
pub(crate) async fn run(args: FleetArgs) -> Result<()> {
    let shard = shard_of(&args)?;
    let ids = share(args.count, shard);
    let modules = ids.len() as u32;
    if args.pty_dir.is_some() && modules > PTY_LIMIT {
        bail!(
            "{modules} modules on ptys: the machine has about {PTY_LIMIT} (kernel.pty.max); \
             use --tcp-base, shards on several machines, or fewer modules"
        );
    }
    let script = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--script {}: cannot read the file", path.display()))?;
            Some(Script::parse(&text).map_err(|e| anyhow!("--script {}: {e}", path.display()))?)
        }
        None => None,
    };
    let serial = args.tcp_base.is_some() || args.pty_dir.is_some();
    if !serial && script.is_none() {
        bail!(
            "say how the modules are driven: --script FILE (an in-process host per module), \
             --tcp-base ADDR (module i on port base+i) or --pty-dir DIR (a pty per module)"
        );
    }
    check_files(modules, serial, !args.no_broker)?;
    // control: bound first, so a refused or busy address fails before any module starts.
    let control = bind_control(args.control, args.control_token.as_deref()).await?;
    let broker = match args.no_broker {
        true => None,
        false => Some(start_broker(args.broker_listen, None, &[]).await?),
    };
    let broker_addr = args.broker.clone().or_else(|| {
        broker.as_ref().map(|b| {
            let addr = b.local_addr();
            let ip = match addr.ip() {
                ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
                ip => ip,
            };
            (ip.to_string(), addr.port())
        })
    });
    if script.is_some() && broker_addr.is_none() {
        // Only an error if the script names the broker; checked cheaply by text.
        let text =
            std::fs::read_to_string(args.script.as_deref().expect("script")).unwrap_or_default();
        if text.contains("{broker_host}") || text.contains("{broker_port}") {
            bail!("the script names {{broker_host}}/{{broker_port}} and there is no broker: pass --broker HOST:PORT with --no-broker");
        }
    }
    if let Some(dir) = &args.pty_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--pty-dir {}: cannot create it", dir.display()))?;
    }
    let stats = Arc::new(Stats::new());
    let ends = script.as_ref().is_some_and(Script::ends) && args.duration.is_none();
    let shared = script.map(|script| {
        Arc::new(Shared {
            script,
            broker: broker_addr.clone(),
            count: args.count,
            shard: shard.0,
            seed: args.seed,
            stats: stats.clone(),
        })
    });
    let registry = Registry::new();
    println!(
        "vmodem fleet: modules {}..{} of {} (shard {}/{}), {}",
        ids.start,
        ids.end,
        args.count,
        shard.0,
        shard.1,
        match (&args.tcp_base, &args.pty_dir) {
            (Some(base), _) => format!(
                "serial tcp {}:{}..{}",
                base.ip(),
                base.port() as u32 + ids.start,
                base.port() as u32 + ids.end
            ),
            (_, Some(dir)) => format!("serial ptys {}/tty<i>", dir.display()),
            _ => "in-process hosts running the script".to_owned(),
        }
    );
    match (&broker, &broker_addr) {
        (Some(b), _) => println!("broker: {} (built in)", b.local_addr()),
        (None, Some((host, port))) => println!("broker: {host}:{port} (--broker)"),
        (None, None) => println!("broker: none built in (--no-broker)"),
    }
    if let Some(listener) = control {
        let addr = listener
            .local_addr()
            .context("cannot read the control API's address")?;
        println!("{}", control_banner(addr));
        let token = args.control_token.clone().filter(|t| !t.is_empty());
        let registry = registry.clone();
        tokio::spawn(async move {
            if let Err(e) = vmodem_tokio::control::serve(listener, token, registry).await {
                tracing::error!(error = %e, "the control API stopped");
            }
        });
    }
    let control = args.control;
    let _ = std::io::stdout().flush();

    let network = Network::default_for(args.timing);
    let now_ms = unix_time_ms();
    let mut handles: Vec<ModuleHandle> = Vec::with_capacity(ids.len());
    let mut hosts = JoinSet::new();
    let progress = shared.as_ref().map(|_| {
        let stats = stats.clone();
        tokio::spawn(async move { report::progress(&stats, u64::from(modules)).await })
    });
    let begun = Instant::now();
    // Issue 13 §4: links from several 127.0.0.x sources, past ~28k per source.
    let sources = args
        .source_ips
        .map(SourceAddrs::loopback)
        .unwrap_or_default();
    let fleet = async {
        for (k, id) in ids.clone().enumerate() {
            if let Some(rate) = args.ramp {
                tokio::time::sleep_until(begun + Duration::from_secs_f64(k as f64 / rate)).await;
            }
            let config = Config {
                model: args.model,
                timing: args.timing,
                network: Some(network),
                seed: args.seed.wrapping_add(u64::from(id)),
                unix_time_ms: now_ms,
                instance: id,
                ..Config::default()
            };
            let [imei, imsi, iccid] = config.identity_numbers();
            let mut serial_line = SerialLine::None;
            let (port, host_end) = match &shared {
                Some(_) => {
                    let (port, end) = HostPort::in_process(IN_PROCESS_BUFFER);
                    (port, Some(end))
                }
                None => {
                    let (port, line) = open_port(&args, id).await?;
                    serial_line = line;
                    (port, None)
                }
            };
            let options = ModuleOptions {
                config,
                power_on: args.power_on,
                timeline: control.as_ref().map(|_| registry.timeline_sender(id)),
                source_addrs: sources.clone(),
                ..ModuleOptions::default()
            };
            let module = spawn_module(port, options).context("cannot start a module")?;
            if control.is_some() {
                let mut entry =
                    ModuleEntry::new(id, module.control(), std::mem::take(&mut serial_line));
                entry.model = args.model.profile().model.to_owned();
                entry.imei = imei.clone();
                registry.register(entry);
            }
            handles.push(module);
            if let (Some(shared), Some(end)) = (&shared, host_end) {
                let host = Host::new(
                    end,
                    Ident {
                        id,
                        imei,
                        imsi,
                        iccid,
                    },
                    shared.clone(),
                );
                hosts.spawn(host.run());
            }
        }
        println!(
            "ready: {modules} modules started in {:.1} s",
            begun.elapsed().as_secs_f64()
        );
        let _ = std::io::stdout().flush();
        if ends {
            // Every script has ended (or failed): a moment more for the last
            // acknowledgements and deliveries, then stop.
            let total = u64::from(modules);
            while stats.finished.load(Relaxed) + stats.failed.load(Relaxed) < total {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(LINGER).await;
            return Ok(());
        }
        std::future::pending::<Result<()>>().await
    };
    tokio::select! {
        r = fleet => r?,
        r = wait(args.duration) => r?,
    }
    hosts.abort_all();
    while hosts.join_next().await.is_some() {}
    if let Some(p) = progress {
        p.abort();
        if std::io::stderr().is_terminal() {
            eprintln!();
        }
    }
    let mut stopping = JoinSet::new();
    for module in handles {
        stopping.spawn(module.shutdown());
    }
    while stopping.join_next().await.is_some() {}
    if shared.is_some() {
        let run = RunInfo {
            count: args.count,
            shard,
            ids: (ids.start, ids.end),
        };
        print!("{}", report::summary(&stats, &run));
        if let Some(path) = &args.json {
            let text = serde_json::to_string_pretty(&stats.json(&run)).expect("a JSON value");
            std::fs::write(path, text + "\n")
                .with_context(|| format!("--json {}: cannot write the report", path.display()))?;
        }
    }
    Ok(())
}

async fn open_port(args: &FleetArgs, id: u32) -> Result<(HostPort, SerialLine)> {
    if let Some(base) = args.tcp_base {
        let port = u32::from(base.port()) + id;
        let port = u16::try_from(port).ok().with_context(|| {
            format!("--tcp-base {base}: module {id} would need port {port}, past 65535; pass a lower base")
        })?;
        let addr = SocketAddr::new(base.ip(), port);
        let p = TcpSerialPort::bind(addr)
            .await
            .with_context(|| format!("module {id}: cannot listen on {addr}"))?;
        return Ok((p.into(), SerialLine::Tcp(addr)));
    }
    let dir: &Path = args.pty_dir.as_deref().expect("checked above");
    let link = dir.join(format!("tty{id}"));
    let p = PtyPort::open(Some(&link)).with_context(|| {
        format!(
            "module {id}: cannot make a pty linked at {}",
            link.display()
        )
    })?;
    let line = SerialLine::Pty {
        path: p.path().to_owned(),
        link: Some(link),
    };
    Ok((p.into(), line))
}

async fn wait(duration: Option<std::time::Duration>) -> Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot watch for SIGTERM")?;
    let timer = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        c = tokio::signal::ctrl_c() => c.context("cannot watch for Ctrl-C")?,
        _ = term.recv() => {}
        () = timer => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_and_cover_the_fleet() {
        for (count, n) in [(10, 3), (7, 7), (2000, 3), (1, 4)] {
            let mut all: Vec<u32> = (0..n).flat_map(|i| share(count, (i, n))).collect();
            all.sort_unstable();
            assert_eq!(all, (0..count).collect::<Vec<_>>(), "{count} in {n}");
        }
    }
}
