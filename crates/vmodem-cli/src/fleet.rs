//! `vmodem fleet`: many modules in one process (issue 13), each on the
//! ordinary module task with its own identity (`Config::instance` = its fleet
//! index, so IMEI, ICCID and IMSI are distinct and stable across runs).
//!
//! Decisions where the issue is silent: a shard's share is a contiguous range
//! of indices (`count * i / n .. count * (i + 1) / n`), so shard identities
//! are disjoint and their union is the fleet; `--tcp-base` ports count from
//! the fleet index, so every shard on one machine uses its own ports.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::Path;

use anyhow::{bail, Context, Result};
use nix::sys::resource::{getrlimit, Resource};
use tokio::signal::unix::{signal, SignalKind};
use vmodem_core::{Config, Network};
use vmodem_tokio::{spawn_module, HostPort, ModuleHandle, ModuleOptions, PtyPort, TcpSerialPort};

use crate::args::FleetArgs;
use crate::run::{start_broker, unix_time_ms};

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

/// Runs this shard's modules until Ctrl-C, SIGTERM or `--duration`.
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
    let serial = args.tcp_base.is_some() || args.pty_dir.is_some();
    if !serial {
        bail!("pass --tcp-base ADDR or --pty-dir DIR: a fleet without serial lines is driven by --script, which is not built yet");
    }
    check_files(modules, serial, !args.no_broker)?;
    let broker = match args.no_broker {
        true => None,
        false => Some(start_broker(args.broker_listen, None, &[]).await?),
    };
    if let Some(dir) = &args.pty_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("--pty-dir {}: cannot create it", dir.display()))?;
    }
    let network = Network::default_for(args.timing);
    let now_ms = unix_time_ms();
    let mut handles: Vec<ModuleHandle> = Vec::with_capacity(ids.len());
    for id in ids.clone() {
        let port = open_port(&args, id).await?;
        let options = ModuleOptions {
            config: Config {
                model: args.model,
                timing: args.timing,
                network: Some(network),
                seed: args.seed.wrapping_add(u64::from(id)),
                unix_time_ms: now_ms,
                instance: id,
                ..Config::default()
            },
            power_on: args.power_on,
            ..ModuleOptions::default()
        };
        handles.push(spawn_module(port, options).context("cannot start a module")?);
    }
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
            _ => "no serial lines".to_owned(),
        }
    );
    match &broker {
        Some(b) => println!("broker: {} (built in)", b.local_addr()),
        None => println!("broker: none built in (--no-broker)"),
    }
    wait(args.duration).await?;
    for module in handles {
        let _ = module.shutdown().await;
    }
    Ok(())
}

async fn open_port(args: &FleetArgs, id: u32) -> Result<HostPort> {
    if let Some(base) = args.tcp_base {
        let port = u32::from(base.port()) + id;
        let port = u16::try_from(port).ok().with_context(|| {
            format!("--tcp-base {base}: module {id} would need port {port}, past 65535; pass a lower base")
        })?;
        let addr = SocketAddr::new(base.ip(), port);
        let p = TcpSerialPort::bind(addr)
            .await
            .with_context(|| format!("module {id}: cannot listen on {addr}"))?;
        return Ok(p.into());
    }
    let dir: &Path = args.pty_dir.as_deref().expect("checked above");
    let link = dir.join(format!("tty{id}"));
    let p = PtyPort::open(Some(&link)).with_context(|| {
        format!(
            "module {id}: cannot make a pty linked at {}",
            link.display()
        )
    })?;
    Ok(p.into())
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
