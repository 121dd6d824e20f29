//! Fleet benchmarks (issue 13): what one module costs when a process holds
//! thousands, each figure a ratio against a named peer run in the same
//! process or script.
//!
//! - [`memory`]: resident memory per idle module, `(RSS(N) − RSS(1)) / N`,
//!   each count in a child process of its own (an allocator never gives all
//!   memory back, so counts must not share a heap). Kinds: modules on
//!   in-process serial lines ([`HostPort::in_process`], what `vmodem fleet`'s
//!   device scripts use), modules on TCP serial ports (one listener each), and
//!   the peers: idle rumqttc clients (`MqttOptions` + `AsyncClient` +
//!   `EventLoop`, inflight 100 by default, not connected, held by a parked
//!   tokio task — what an MQTT load tool keeps per simulated device) and bare
//!   parked tokio tasks (the floor of any task-per-device design).
//! - [`storm`]: N modules from power-up to `+QMTCONN: 0,0,0`, every one at
//!   once, against N rumqttc clients from creation to CONNACK, on the same
//!   broker in the same process; rounds alternate the order.
//! - [`at_path`]: publishing through the AT path of modules on in-process
//!   serial lines (a minimal AT host keeping the window of 5 full with
//!   `AT+QMTPUBEX`) against rumqttc with inflight 5: messages per CPU-second
//!   (benchmark threads + the built-in broker's thread).

use std::net::{Ipv4Addr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use tokio::io::DuplexStream;
use tokio::task::JoinSet;
use vmodem_core::{Config, Timing};
use vmodem_tokio::{spawn_module, HostPort, ModuleHandle, ModuleOptions, PowerOn, TcpSerialPort};

use crate::minimal::MinimalHost;
use crate::raw::RawPeer;
use crate::stats::{self, median, ratio, CpuSnapshot, Percentiles, ThreadGroup, Usage};
use crate::vmodem::PATIENCE;
use crate::BrokerThread;

/// Bytes each direction of an in-process serial line holds unread: a few
/// command lines or URCs; more waits in the module's core.
pub const IN_PROCESS_LINE: usize = 4096;

/// What is held idle in a memory sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MemKind {
    /// vmodem modules on in-process serial lines, booted, host ends held.
    InProcess,
    /// vmodem modules on loopback TCP serial ports (a listener each), booted, no host.
    Tcp,
    /// The peer: rumqttc `MqttOptions` + `AsyncClient` + `EventLoop` (request
    /// capacity 10, default inflight), not connected, held by a parked tokio task.
    Rumqttc,
    /// The floor: a bare tokio task parked forever.
    Task,
}

impl MemKind {
    fn label(self) -> &'static str {
        match self {
            MemKind::InProcess => "vmodem, in-process serial line",
            MemKind::Tcp => "vmodem, TCP serial port",
            MemKind::Rumqttc => "rumqttc client pair, idle (peer)",
            MemKind::Task => "parked tokio task (floor)",
        }
    }
}

/// The resident set of this process, KiB (`VmRSS` of `/proc/self/status`).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name(stats::WORKER_NAME)
        .enable_all()
        .build()?)
}

fn module_options(instance: u32) -> ModuleOptions {
    ModuleOptions {
        config: Config {
            instance,
            timing: Timing::Fast,
            ..Config::default()
        },
        power_on: PowerOn::AtStart,
        ..ModuleOptions::default()
    }
}

/// Holds `count` idle things of `kind` and returns the process's RSS in KiB
/// once every module has booted. Run in a process of its own (the
/// `memory-child` command); the caller exits without dropping anything.
pub fn memory_child(kind: MemKind, count: usize, threads: usize) -> Result<u64> {
    let rt = runtime(threads)?;
    let rss = rt.block_on(async move {
        let mut modules: Vec<ModuleHandle> = Vec::with_capacity(count);
        let mut hosts: Vec<DuplexStream> = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..count {
            match kind {
                MemKind::InProcess => {
                    let (port, host) = HostPort::in_process(IN_PROCESS_LINE);
                    hosts.push(host);
                    modules.push(spawn_module(port, module_options(i as u32))?);
                }
                MemKind::Tcp => {
                    let port = TcpSerialPort::bind((Ipv4Addr::LOCALHOST, 0).into())
                        .await
                        .with_context(|| format!("module {i}: bind a TCP serial port"))?;
                    modules.push(spawn_module(port, module_options(i as u32))?);
                }
                MemKind::Rumqttc => {
                    let options = rumqttc::MqttOptions::new(format!("idle-{i}"), "127.0.0.1", 1883);
                    let (client, eventloop) = rumqttc::AsyncClient::new(options, 10);
                    tasks.push(tokio::spawn(async move {
                        let _held = (client, eventloop);
                        std::future::pending::<()>().await
                    }));
                }
                MemKind::Task => tasks.push(tokio::spawn(std::future::pending::<()>())),
            }
        }
        // Every module has run: it answers a request on its task once booted.
        for m in &modules {
            let control = m.control();
            let deadline = Instant::now() + PATIENCE;
            loop {
                let on = control
                    .with_modem(|m, _| m.status().power == vmodem_core::PowerState::On)
                    .await;
                match on {
                    Ok(true) => break,
                    Ok(false) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(10)).await
                    }
                    Ok(false) => bail!("a module never booted"),
                    Err(e) => bail!("a module stopped: {e}"),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rss = rss_kib();
        std::mem::forget(modules);
        std::mem::forget(hosts);
        std::mem::forget(tasks);
        Ok::<u64, anyhow::Error>(rss)
    })?;
    std::mem::forget(rt);
    Ok(rss)
}

/// One kind at one count.
#[derive(Debug, Clone, Serialize)]
pub struct MemorySample {
    /// What was held.
    pub kind: MemKind,
    /// How many.
    pub count: usize,
    /// RSS with `count` held, KiB.
    pub rss_kib: u64,
    /// RSS with one held, KiB (same kind, its own process).
    pub rss_one_kib: u64,
    /// `(rss − rss_one) / count`, KiB.
    pub per_item_kib: f64,
}

/// Memory per idle item for every kind and count, each in a child process
/// (`exe memory-child --kind K --count N`).
pub fn memory(
    exe: &std::path::Path,
    kinds: &[MemKind],
    counts: &[usize],
    threads: usize,
    progress: bool,
) -> Result<Vec<MemorySample>> {
    let run = |kind: MemKind, count: usize| -> Result<u64> {
        let out = Command::new(exe)
            .args(["memory-child", "--count", &count.to_string(), "--threads"])
            .arg(threads.to_string())
            .arg("--kind")
            .arg(
                clap::ValueEnum::to_possible_value(&kind)
                    .expect("no skipped kinds")
                    .get_name(),
            )
            .stderr(Stdio::inherit())
            .output()
            .context("run the memory child")?;
        if !out.status.success() {
            bail!("memory child {kind:?} × {count} failed: {}", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim()
            .strip_prefix("rss_kib ")
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("memory child said {text:?}"))
    };
    let mut samples = Vec::new();
    for &kind in kinds {
        let one = run(kind, 1)?;
        for &count in counts {
            let rss = run(kind, count)?;
            let per = (rss.saturating_sub(one)) as f64 / count as f64;
            if progress {
                eprintln!(
                    "[fleet-bench] memory {} × {count}: RSS {rss} KiB (one: {one} KiB) → {per:.1} KiB each",
                    kind.label()
                );
            }
            samples.push(MemorySample {
                kind,
                count,
                rss_kib: rss,
                rss_one_kib: one,
                per_item_kib: per,
            });
        }
    }
    Ok(samples)
}

/// The memory table, with each vmodem kind's ratio against the rumqttc peer at the same count.
pub fn memory_table(samples: &[MemorySample]) -> String {
    let mut out = String::from(
        "| kind | N | RSS(N) MiB | RSS(1) MiB | per item KiB | vs rumqttc idle |\n|---|---|---|---|---|---|\n",
    );
    for s in samples {
        let peer = samples
            .iter()
            .find(|p| p.kind == MemKind::Rumqttc && p.count == s.count)
            .map(|p| format!("{:.2}×", ratio(s.per_item_kib, p.per_item_kib)))
            .unwrap_or_else(|| "—".into());
        out.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} |\n",
            s.kind.label(),
            s.count,
            s.rss_kib as f64 / 1024.0,
            s.rss_one_kib as f64 / 1024.0,
            s.per_item_kib,
            peer
        ));
    }
    out
}

/// The broker a storm or throughput run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BrokerKind {
    /// The built-in broker, on a thread of its own in this process.
    BuiltIn,
    /// mosquitto (from `$PATH`), started by the benchmark on a free loopback port.
    Mosquitto,
}

/// A broker for the run; stops when dropped.
enum Broker {
    BuiltIn(BrokerThread),
    Mosquitto { addr: SocketAddr, child: Child },
}

impl Broker {
    fn start(kind: BrokerKind) -> Result<Broker> {
        match kind {
            BrokerKind::BuiltIn => Ok(Broker::BuiltIn(BrokerThread::start()?)),
            BrokerKind::Mosquitto => {
                let port = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
                    .local_addr()?
                    .port();
                let dir = std::env::temp_dir().join(format!("fleet-bench-{}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                let conf = dir.join("mosquitto.conf");
                std::fs::write(
                    &conf,
                    format!(
                        "listener {port} 127.0.0.1\nallow_anonymous true\nmax_connections -1\n\
                         persistence false\nlog_dest stderr\nlog_type error\n"
                    ),
                )?;
                let child = Command::new("mosquitto")
                    .arg("-c")
                    .arg(&conf)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .context("start mosquitto (is it on $PATH?)")?;
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                let deadline = Instant::now() + Duration::from_secs(5);
                while std::net::TcpStream::connect(addr).is_err() {
                    if Instant::now() > deadline {
                        bail!("mosquitto did not listen on {addr} within 5 s");
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(Broker::Mosquitto { addr, child })
            }
        }
    }

    fn addr(&self) -> SocketAddr {
        match self {
            Broker::BuiltIn(b) => b.addr,
            Broker::Mosquitto { addr, .. } => *addr,
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Broker::Mosquitto { child, .. } = self {
            // Only the process this benchmark started, by its handle.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One side of one storm round.
#[derive(Debug, Clone, Serialize)]
pub struct StormRun {
    /// Start of the round → the last client connected, ms.
    pub total_ms: f64,
    /// Per client, start of the round → connected.
    pub each: Percentiles,
}

/// Connect storms of both sides over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct StormReport {
    /// The broker.
    pub broker: BrokerKind,
    /// N.
    pub modules: usize,
    /// vmodem: power-up → `+QMTCONN: 0,0,0`, per round.
    pub vmodem: Vec<StormRun>,
    /// rumqttc: creation → CONNACK, per round.
    pub raw: Vec<StormRun>,
    /// Median vmodem total / median raw total.
    pub ratio: f64,
}

/// N modules on in-process lines, powered up at once; each host turns echo
/// off, opens and connects client 0. Returns the timing and the connected
/// modules (kept until the caller drops them).
async fn vmodem_storm(
    n: usize,
    broker: SocketAddr,
    tag: &str,
) -> Result<(StormRun, Vec<(ModuleHandle, MinimalHost<DuplexStream>)>)> {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let (port, line) = HostPort::in_process(IN_PROCESS_LINE);
        handles.push(Some(spawn_module(port, module_options(i as u32))?));
        let id = format!("storm-{tag}-{i}");
        set.spawn(async move {
            let mut host = MinimalHost::over(line, format!("fleet/{id}"));
            host.echo_off().await?;
            host.open_and_connect(broker, &id, t0 + PATIENCE).await?;
            Ok::<_, anyhow::Error>((i, t0.elapsed(), host))
        });
    }
    let mut times = Vec::with_capacity(n);
    let mut kept = Vec::with_capacity(n);
    while let Some(done) = set.join_next().await {
        let (i, at, host) = done??;
        times.push(at);
        kept.push((handles[i].take().expect("one host per module"), host));
    }
    let total = t0.elapsed();
    Ok((
        StormRun {
            total_ms: total.as_secs_f64() * 1e3,
            each: Percentiles::of(&times),
        },
        kept,
    ))
}

async fn raw_storm(n: usize, broker: SocketAddr, tag: &str) -> Result<(StormRun, Vec<RawPeer>)> {
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        let id = format!("storm-{tag}-{i}");
        set.spawn(async move {
            // rumqttc leaves Nagle on; the modules' links set TCP_NODELAY, so the peer does too.
            let peer = RawPeer::connect(broker, &id, 5, true, format!("fleet/{id}")).await?;
            Ok::<_, anyhow::Error>((t0.elapsed(), peer))
        });
    }
    let mut times = Vec::with_capacity(n);
    let mut kept = Vec::with_capacity(n);
    while let Some(done) = set.join_next().await {
        let (at, peer) = done??;
        times.push(at);
        kept.push(peer);
    }
    Ok((
        StormRun {
            total_ms: t0.elapsed().as_secs_f64() * 1e3,
            each: Percentiles::of(&times),
        },
        kept,
    ))
}

async fn stop_modules(kept: Vec<(ModuleHandle, MinimalHost<DuplexStream>)>) {
    let mut set = JoinSet::new();
    for (module, host) in kept {
        drop(host);
        set.spawn(module.shutdown());
    }
    while set.join_next().await.is_some() {}
}

/// Connect storms: `rounds` rounds, each one vmodem storm and one rumqttc
/// storm of `n`, the order alternating; every client is disconnected (its
/// socket closed) before the other side starts.
pub fn storm(
    n: usize,
    rounds: usize,
    broker: BrokerKind,
    threads: usize,
    progress: bool,
) -> Result<StormReport> {
    anyhow::ensure!(n > 0 && rounds > 0, "at least one module and one round");
    let rt = runtime(threads)?;
    let b = Broker::start(broker)?;
    let addr = b.addr();
    let (mut vmodem, mut raw) = (Vec::new(), Vec::new());
    rt.block_on(async {
        for round in 0..rounds {
            for side in [round % 2, 1 - round % 2] {
                let tag = format!("{round}-{side}");
                if side == 0 {
                    let (run, kept) = vmodem_storm(n, addr, &tag).await?;
                    if progress {
                        eprintln!(
                            "[fleet-bench] storm round {round}: {n} modules power-up → +QMTCONN: 0,0,0 in {:.0} ms (p50 {:.0} ms)",
                            run.total_ms,
                            run.each.p50_us / 1e3
                        );
                    }
                    vmodem.push(run);
                    stop_modules(kept).await;
                } else {
                    let (run, kept) = raw_storm(n, addr, &tag).await?;
                    if progress {
                        eprintln!(
                            "[fleet-bench] storm round {round}: {n} rumqttc clients → CONNACK in {:.0} ms (p50 {:.0} ms)",
                            run.total_ms,
                            run.each.p50_us / 1e3
                        );
                    }
                    raw.push(run);
                    drop(kept);
                }
                // Let the broker see every close before the next side.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    drop(b);
    let totals = |runs: &[StormRun]| median(&runs.iter().map(|r| r.total_ms).collect::<Vec<_>>());
    Ok(StormReport {
        broker,
        modules: n,
        ratio: ratio(totals(&vmodem), totals(&raw)),
        vmodem,
        raw,
    })
}

/// One side's throughput.
#[derive(Debug, Clone, Serialize)]
pub struct AtPathSide {
    /// Messages acknowledged.
    pub messages: u64,
    /// Wall time, s.
    pub wall_s: f64,
    /// CPU of the benchmark's workers (modules, links, hosts or rumqttc), s.
    pub bench_cpu: CpuSeconds,
    /// CPU of the built-in broker's thread, s.
    pub broker_cpu: CpuSeconds,
    /// Messages per second of wall time.
    pub msg_per_s: f64,
    /// Messages per CPU-second, benchmark and broker threads together.
    pub msg_per_cpu_s: f64,
}

/// User and kernel CPU seconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuSeconds {
    /// User mode.
    pub user: f64,
    /// Kernel mode.
    pub sys: f64,
}

impl From<Usage> for CpuSeconds {
    fn from(u: Usage) -> Self {
        CpuSeconds {
            user: u.user_s,
            sys: u.sys_s,
        }
    }
}

/// The AT path against rumqttc, per CPU-second.
#[derive(Debug, Clone, Serialize)]
pub struct AtPathReport {
    /// N publishers of each kind.
    pub publishers: usize,
    /// M messages each, per round.
    pub messages: u64,
    /// vmodem on in-process serial lines, summed over the rounds.
    pub vmodem: AtPathSide,
    /// rumqttc, summed over the rounds.
    pub raw: AtPathSide,
    /// vmodem msg per CPU-s / raw msg per CPU-s.
    pub ratio_per_cpu_s: f64,
    /// vmodem msg/s / raw msg/s.
    pub ratio_per_s: f64,
}

struct Meter {
    messages: u64,
    wall: Duration,
    bench: Usage,
    broker: Usage,
}

impl Meter {
    fn side(&self) -> AtPathSide {
        let cpu = self.bench.user_s + self.bench.sys_s + self.broker.user_s + self.broker.sys_s;
        AtPathSide {
            messages: self.messages,
            wall_s: self.wall.as_secs_f64(),
            bench_cpu: self.bench.into(),
            broker_cpu: self.broker.into(),
            msg_per_s: ratio(self.messages as f64, self.wall.as_secs_f64()),
            msg_per_cpu_s: ratio(self.messages as f64, cpu),
        }
    }
}

/// QoS 1 publishing, window 5, 64-byte payloads: N modules on in-process
/// serial lines driven by the minimal AT host, then N rumqttc clients, for
/// `rounds` rounds (order alternating), on the built-in broker's own thread.
pub fn at_path(
    n: usize,
    messages: u64,
    rounds: usize,
    threads: usize,
    progress: bool,
) -> Result<AtPathReport> {
    anyhow::ensure!(
        n > 0 && messages > 0 && rounds > 0,
        "N, M and rounds above 0"
    );
    let rt = runtime(threads)?;
    let b = Broker::start(BrokerKind::BuiltIn)?;
    let addr = b.addr();
    let payload = vec![b'x'; 64];
    let mut v = Meter {
        messages: 0,
        wall: Duration::ZERO,
        bench: Usage::default(),
        broker: Usage::default(),
    };
    let mut r = Meter { ..v };
    rt.block_on(async {
        let (run, mut modules) = vmodem_storm(n, addr, "tp-vmodem").await?;
        let _ = run;
        let mut peers = raw_storm(n, addr, "tp-raw").await?.1;
        for round in 0..rounds {
            for side in [round % 2, 1 - round % 2] {
                let before = CpuSnapshot::take();
                let t0 = Instant::now();
                if side == 0 {
                    let mut set = JoinSet::new();
                    for (module, mut host) in modules.drain(..) {
                        let payload = payload.clone();
                        set.spawn(async move {
                            let times = host.publish_pipelined(messages, 5, &payload).await?;
                            Ok::<_, anyhow::Error>((module, host, times.retransmissions))
                        });
                    }
                    while let Some(done) = set.join_next().await {
                        let (module, host, retx) = done??;
                        if retx > 0 {
                            bail!("{retx} retransmissions: the run is not clean");
                        }
                        modules.push((module, host));
                    }
                } else {
                    let mut set = JoinSet::new();
                    for mut peer in peers.drain(..) {
                        let payload = payload.clone();
                        set.spawn(async move {
                            peer.publish_all(messages, &payload).await?;
                            Ok::<_, anyhow::Error>(peer)
                        });
                    }
                    while let Some(done) = set.join_next().await {
                        peers.push(done??);
                    }
                }
                let wall = t0.elapsed();
                let after = CpuSnapshot::take();
                let m = if side == 0 { &mut v } else { &mut r };
                m.messages += messages * n as u64;
                m.wall += wall;
                m.bench.add(after.since(&before, ThreadGroup::Bench));
                m.broker.add(after.since(&before, ThreadGroup::Broker));
                if progress {
                    eprintln!(
                        "[fleet-bench] at-path round {round}: {} {} msgs in {:.2} s",
                        if side == 0 { "vmodem" } else { "rumqttc" },
                        messages * n as u64,
                        wall.as_secs_f64()
                    );
                }
            }
        }
        stop_modules(modules).await;
        drop(peers);
        Ok::<(), anyhow::Error>(())
    })?;
    drop(b);
    let (vs, rs) = (v.side(), r.side());
    Ok(AtPathReport {
        publishers: n,
        messages,
        ratio_per_cpu_s: ratio(vs.msg_per_cpu_s, rs.msg_per_cpu_s),
        ratio_per_s: ratio(vs.msg_per_s, rs.msg_per_s),
        vmodem: vs,
        raw: rs,
    })
}
