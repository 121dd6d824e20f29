//! The MQTT benchmark of vmodem: how a fleet of virtual modules driven through
//! AT compares with plain MQTT clients on the same broker, in one process.
//!
//! Every figure is a ratio against a peer run in the same process, on the same
//! embedded broker, one after the other (machines are shared and noisy):
//!
//! - **Throughput**: N modules each publish M QoS 1 messages with
//!   `AT+QMTPUBEX`, keeping the module's window of 5 full (the next command
//!   goes out as soon as the previous `OK` is in; completions are the
//!   `+QMTPUBEX: 0,<id>,0` URCs), driven by [`vmodem_client::Client`]; the
//!   peer is N rumqttc clients with `inflight = 5` publishing the same. A third
//!   line drives the modules from a minimal hand-written AT host on the raw
//!   socket, to separate the host library's cost from the module's. Rounds
//!   rotate the order; medians are reported.
//! - **Latency**: a rumqttc publisher sends timestamped QoS 0 messages at a
//!   fixed rate; a module subscribed through AT (`+QMTRECV` seen by the client)
//!   and a rumqttc subscriber receive the same messages at the same time.
//! - **Where the time goes**: idle round trips, one at a time (an `AT`, one
//!   publish phase by phase), and CPU time per message by thread group.
//!
//! [`run`] does it all and returns a [`Report`]; the `vmodem-bench` binary
//! prints it.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::task::JoinSet;
use vmodem_tokio::{EmbeddedBroker, ModuleHandle};

pub mod fleet;
mod latency;
mod minimal;
mod raw;
mod report;
mod stats;
mod vmodem;

pub use latency::{Extra, Latency};
pub use stats::Percentiles;

use minimal::{MinimalHost, PublishPhases};
use raw::RawPeer;
use stats::{median, ratio, CpuSnapshot, ThreadGroup, Usage};
use vmodem::{start_module, ClientHost, PipelineTimes};

/// What to run, and how much of it.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// N: modules, and as many rumqttc publishers.
    pub modules: usize,
    /// M: QoS 1 messages each publisher sends per round.
    pub messages: u64,
    /// Payload bytes of every message.
    pub payload: usize,
    /// Publishes in flight per publisher (the module's window is 5).
    pub window: u16,
    /// Throughput rounds; each variant runs once per round, in rotating order.
    pub rounds: usize,
    /// K: latency samples (QoS 0 messages counted at each subscriber).
    pub latency_samples: u64,
    /// Rate of the latency publisher, messages per second.
    pub latency_rate: u32,
    /// QoS of the latency publisher and subscriptions, 0 or 1.
    pub latency_qos: u8,
    /// Samples of each idle round trip in the "where the time goes" section.
    pub probe_samples: usize,
    /// Worker threads of the benchmark's tokio runtime (the broker has its own).
    pub worker_threads: usize,
    /// Run only this publisher's throughput rounds (no latency, no probes): for
    /// profiling one of them with `perf`.
    pub only: Option<Publisher>,
    /// Report progress on stderr.
    #[serde(skip)]
    pub progress: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            modules: 4,
            messages: 5000,
            payload: 64,
            window: 5,
            rounds: 5,
            latency_samples: 1000,
            latency_rate: 200,
            latency_qos: 0,
            probe_samples: 200,
            worker_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            only: None,
            progress: false,
        }
    }
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Where the embedded broker listened.
    pub broker: String,
    /// What was run.
    pub settings: Settings,
    /// Publishing QoS 1 at full window.
    pub throughput: Throughput,
    /// Broker → subscriber latency (not with [`Settings::only`]).
    pub latency: Option<Latency>,
    /// Idle round trips, one at a time (not with [`Settings::only`]).
    pub probes: Option<Probes>,
}

/// Throughput of the three publishers.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// Modules driven by `vmodem_client::Client`: the measured figure.
    pub vmodem: Variant,
    /// Plain rumqttc clients: the peer.
    pub raw: Variant,
    /// Modules driven by a minimal AT host on the raw socket (no `vmodem_client`).
    pub minimal_host: Variant,
    /// vmodem median / raw median.
    pub ratio: f64,
    /// minimal-host median / raw median.
    pub minimal_host_ratio: f64,
}

/// One publisher kind's throughput over the rounds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Variant {
    /// msg/s of each round, in round order.
    pub rounds_msg_per_s: Vec<f64>,
    /// Median over the rounds.
    pub median_msg_per_s: f64,
    /// Cost per message on the benchmark's tokio workers (modules, their
    /// links, AT hosts, rumqttc clients), over all rounds.
    pub bench: PerMessage,
    /// Cost per message on the built-in broker's thread, over all rounds.
    pub broker: PerMessage,
    /// AT hosts only: mean time of one `AT+QMTPUBEX` exchange (command line →
    /// `> ` → payload → `OK`) under load, µs.
    pub exchange_us: f64,
    /// AT hosts only: share of the publishers' time spent waiting with a full
    /// window (or for the last results) rather than in an AT exchange.
    pub window_wait_share: f64,
    /// Retransmissions reported by the modules (should be 0).
    pub retransmissions: u64,
}

/// What one message cost a group of threads, on average.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct PerMessage {
    /// User-mode CPU, µs.
    pub user_us: f64,
    /// Kernel-mode CPU (system calls, loopback TCP), µs.
    pub sys_us: f64,
    /// Context switches (a thread parking in `epoll_wait` and waking is one).
    pub switches: f64,
}

impl PerMessage {
    fn of(usage: Usage, messages: u64) -> PerMessage {
        let n = messages as f64;
        PerMessage {
            user_us: ratio(usage.user_s * 1e6, n),
            sys_us: ratio(usage.sys_s * 1e6, n),
            switches: ratio(usage.switches as f64, n),
        }
    }
}

/// Idle round trips, one at a time, on one module or client.
#[derive(Debug, Clone, Serialize)]
pub struct Probes {
    /// `AT` → `OK` through `vmodem_client::Client`.
    pub at_client: Percentiles,
    /// `AT` → `OK` from the minimal host (echo off).
    pub at_minimal: Percentiles,
    /// QoS 1 `qmt_pubex` → its `+QMTPUBEX` result, through `vmodem_client::Client`.
    pub publish_client: Percentiles,
    /// QoS 1 publish from the minimal host, whole.
    pub publish_minimal: Percentiles,
    /// … command line → `> `.
    pub publish_minimal_to_prompt: Percentiles,
    /// … payload → `OK`.
    pub publish_minimal_to_ok: Percentiles,
    /// … `OK` → `+QMTPUBEX: 0,<id>,0` (module → broker → module).
    pub publish_minimal_to_result: Percentiles,
    /// QoS 1 publish → PUBACK through rumqttc.
    pub publish_raw: Percentiles,
}

/// Runs the whole benchmark on a runtime of its own and returns the figures.
pub fn run(settings: &Settings) -> Result<Report> {
    anyhow::ensure!(settings.modules > 0, "at least one module");
    anyhow::ensure!(settings.messages > 0, "at least one message");
    anyhow::ensure!((1..=5).contains(&settings.window), "the window is 1-5");
    anyhow::ensure!(settings.rounds > 0, "at least one round");
    anyhow::ensure!(settings.latency_rate > 0, "a latency rate above 0");
    anyhow::ensure!(settings.latency_qos <= 1, "latency QoS 0 or 1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.worker_threads.max(1))
        .thread_name(stats::WORKER_NAME)
        .enable_all()
        .build()?;
    runtime.block_on(run_async(settings))
}

fn say(settings: &Settings, what: impl std::fmt::Display) {
    if settings.progress {
        eprintln!("[vmodem-bench] {what}");
    }
}

/// The three kinds of publisher in the throughput rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Publisher {
    /// Modules driven through AT by `vmodem_client::Client`.
    Vmodem,
    /// Plain rumqttc clients.
    Raw,
    /// Modules driven through AT by the minimal host on the raw socket.
    MinimalHost,
}

impl Publisher {
    const ALL: [Publisher; 3] = [Publisher::Vmodem, Publisher::Raw, Publisher::MinimalHost];

    fn label(self) -> &'static str {
        match self {
            Publisher::Vmodem => "vmodem (vmodem-client)",
            Publisher::Raw => "raw rumqttc",
            Publisher::MinimalHost => "vmodem (minimal AT host)",
        }
    }
}

#[derive(Default)]
struct Tally {
    rounds: Vec<f64>,
    messages: u64,
    bench: Usage,
    broker: Usage,
    times: PipelineTimes,
}

impl Tally {
    fn variant(&self) -> Variant {
        let busy = self.times.exchange + self.times.window_wait;
        Variant {
            rounds_msg_per_s: self.rounds.clone(),
            median_msg_per_s: median(&self.rounds),
            bench: PerMessage::of(self.bench, self.messages),
            broker: PerMessage::of(self.broker, self.messages),
            exchange_us: ratio(
                self.times.exchange.as_secs_f64() * 1e6,
                self.times.messages as f64,
            ),
            window_wait_share: ratio(self.times.window_wait.as_secs_f64(), busy.as_secs_f64()),
            retransmissions: self.times.retransmissions,
        }
    }
}

/// The built-in broker on a thread of its own (a one-thread runtime named
/// `vmodem-broker`), so that its CPU time is measured apart from the
/// benchmark's workers; it stops when this is dropped.
pub(crate) struct BrokerThread {
    pub(crate) addr: std::net::SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl BrokerThread {
    pub(crate) fn start() -> Result<BrokerThread> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("vmodem-broker".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::Error::new(e)));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match EmbeddedBroker::start((Ipv4Addr::LOCALHOST, 0).into()).await {
                        Ok(broker) => {
                            let _ = ready_tx.send(Ok(broker.local_addr()));
                            let _ = stopped.await;
                            drop(broker);
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(anyhow::Error::new(e)));
                        }
                    }
                });
            })
            .context("start the broker thread")?;
        let addr = ready_rx.recv().context("the broker thread ended")??;
        Ok(BrokerThread { addr, _stop: stop })
    }
}

async fn run_async(s: &Settings) -> Result<Report> {
    let started = Instant::now();
    let broker = BrokerThread::start().context("start the embedded broker")?;
    let broker_addr = broker.addr;
    say(s, format_args!("built-in broker on {broker_addr}"));

    let n = s.modules;
    let wanted = |p: Publisher| s.only.is_none_or(|only| only == p);
    let kinds: Vec<Publisher> = Publisher::ALL.into_iter().filter(|p| wanted(*p)).collect();
    say(
        s,
        format_args!(
            "connecting {n} publishers of each kind: {}",
            kinds
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let (mut modules, mut client_hosts) = if wanted(Publisher::Vmodem) {
        connect_all(n, 0, |i, serial| async move {
            let topic = format!("bench/vm/{i}");
            ClientHost::connect(serial, broker_addr, &format!("bench-vm-{i}"), topic).await
        })
        .await
        .context("connect the vmodem-client hosts")?
    } else {
        (Vec::new(), Vec::new())
    };
    let mut minimal_hosts = if wanted(Publisher::MinimalHost) {
        let (more, hosts) = connect_all(n, n, |i, serial| async move {
            let topic = format!("bench/min/{i}");
            MinimalHost::connect(serial, broker_addr, &format!("bench-min-{i}"), topic).await
        })
        .await
        .context("connect the minimal hosts")?;
        modules.extend(more);
        hosts
    } else {
        Vec::new()
    };
    let mut raw_peers = Vec::with_capacity(n);
    if wanted(Publisher::Raw) {
        for i in 0..n {
            let topic = format!("bench/raw/{i}");
            // rumqttc as shipped: Nagle on (turning it off made no measurable difference).
            let peer = RawPeer::connect(
                broker_addr,
                &format!("bench-raw-{i}"),
                s.window,
                false,
                topic,
            )
            .await
            .context("connect the rumqttc clients")?;
            raw_peers.push(peer);
        }
    }
    say(
        s,
        format_args!("connected in {:.1} s", started.elapsed().as_secs_f64()),
    );

    let payload: Vec<u8> = (0..s.payload).map(|i| b'a' + (i % 26) as u8).collect();
    let window = u64::from(s.window);
    let m = s.messages;
    let mut tallies = [Tally::default(), Tally::default(), Tally::default()];
    for round in 0..s.rounds {
        let mut order = kinds.clone();
        order.rotate_left(round % kinds.len());
        for kind in order {
            let before = CpuSnapshot::take();
            let t0 = Instant::now();
            let times = match kind {
                Publisher::Vmodem => {
                    for h in &mut client_hosts {
                        h.clear_urcs();
                    }
                    let p = payload.clone();
                    run_round(&mut client_hosts, move |mut h: ClientHost| {
                        let p = p.clone();
                        async move {
                            let r = h.publish_pipelined(m, window, &p).await;
                            (h, r)
                        }
                    })
                    .await?
                }
                Publisher::MinimalHost => {
                    let p = payload.clone();
                    run_round(&mut minimal_hosts, move |mut h: MinimalHost| {
                        let p = p.clone();
                        async move {
                            let r = h.publish_pipelined(m, window, &p).await;
                            (h, r)
                        }
                    })
                    .await?
                }
                Publisher::Raw => {
                    let p = payload.clone();
                    run_round(&mut raw_peers, move |mut h: RawPeer| {
                        let p = p.clone();
                        async move {
                            let r = h.publish_all(m, &p).await.map(|()| PipelineTimes {
                                messages: m,
                                ..PipelineTimes::default()
                            });
                            (h, r)
                        }
                    })
                    .await?
                }
            };
            let elapsed = t0.elapsed();
            let after = CpuSnapshot::take();
            let total = times.messages;
            let rate = total as f64 / elapsed.as_secs_f64();
            let index = Publisher::ALL.iter().position(|k| *k == kind).unwrap_or(0);
            let tally = &mut tallies[index];
            tally.rounds.push(rate);
            tally.messages += total;
            tally.bench.add(after.since(&before, ThreadGroup::Bench));
            tally.broker.add(after.since(&before, ThreadGroup::Broker));
            tally.times.add(&times);
            say(
                s,
                format_args!(
                    "round {}/{}: {:<26} {total} msgs in {:.2} s = {rate:.0} msg/s",
                    round + 1,
                    s.rounds,
                    kind.label(),
                    elapsed.as_secs_f64()
                ),
            );
        }
    }
    let [client_t, raw_t, minimal_t] = tallies;
    let (vm, raw, min) = (client_t.variant(), raw_t.variant(), minimal_t.variant());
    let throughput = Throughput {
        ratio: ratio(vm.median_msg_per_s, raw.median_msg_per_s),
        minimal_host_ratio: ratio(min.median_msg_per_s, raw.median_msg_per_s),
        vmodem: vm,
        raw,
        minimal_host: min,
    };

    let probes = if s.only.is_none() {
        say(
            s,
            format_args!("idle round trips, {} of each", s.probe_samples),
        );
        Some(
            probe(
                s.probe_samples,
                &payload,
                &mut client_hosts[0],
                &mut minimal_hosts[0],
                &mut raw_peers[0],
            )
            .await?,
        )
    } else {
        None
    };

    // The fleets are no longer needed: free the loopback for the latency run.
    drop((client_hosts, minimal_hosts, raw_peers));
    for module in modules {
        let _ = module.shutdown().await;
    }

    let latency = if s.only.is_none() {
        say(
            s,
            format_args!(
                "latency: {} QoS {} messages at {}/s to a +QMTRECV subscriber and a rumqttc one",
                s.latency_samples, s.latency_qos, s.latency_rate
            ),
        );
        Some(
            latency::measure(
                broker_addr,
                s.latency_samples,
                s.latency_rate,
                s.payload,
                s.latency_qos,
            )
            .await?,
        )
    } else {
        None
    };
    say(
        s,
        format_args!("done in {:.1} s", started.elapsed().as_secs_f64()),
    );

    Ok(Report {
        broker: broker_addr.to_string(),
        settings: s.clone(),
        throughput,
        latency,
        probes,
    })
}

/// Starts `n` modules (instances `first..`), and connects a host to each with `connect`.
async fn connect_all<H, F, Fut>(
    n: usize,
    first: usize,
    connect: F,
) -> Result<(Vec<ModuleHandle>, Vec<H>)>
where
    H: Send + 'static,
    F: Fn(usize, SocketAddr) -> Fut,
    Fut: std::future::Future<Output = Result<H>> + Send + 'static,
{
    let mut modules = Vec::with_capacity(n);
    let mut set = JoinSet::new();
    for i in 0..n {
        let (module, serial) = start_module(u32::try_from(first + i)?).await?;
        modules.push(module);
        let fut = connect(i, serial);
        set.spawn(async move { (i, fut.await) });
    }
    let mut hosts: Vec<(usize, H)> = Vec::with_capacity(n);
    while let Some(joined) = set.join_next().await {
        let (i, host) = joined?;
        hosts.push((i, host.with_context(|| format!("module {i}"))?));
    }
    hosts.sort_by_key(|(i, _)| *i);
    Ok((modules, hosts.into_iter().map(|(_, h)| h).collect()))
}

/// Runs `f` on every host at once; returns when all are done, with their times summed.
async fn run_round<H, F, Fut>(hosts: &mut Vec<H>, f: F) -> Result<PipelineTimes>
where
    H: Send + 'static,
    F: Fn(H) -> Fut,
    Fut: std::future::Future<Output = (H, Result<PipelineTimes>)> + Send + 'static,
{
    let tasks: Vec<_> = hosts.drain(..).map(|h| tokio::spawn(f(h))).collect();
    let mut total = PipelineTimes::default();
    let mut first_error = None;
    for task in tasks {
        let (host, result) = task.await?;
        hosts.push(host);
        match result {
            Ok(times) => total.add(&times),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

async fn probe(
    samples: usize,
    payload: &[u8],
    client: &mut ClientHost,
    minimal: &mut MinimalHost,
    raw: &mut RawPeer,
) -> Result<Probes> {
    let mut at_client = Vec::with_capacity(samples);
    let mut at_minimal = Vec::with_capacity(samples);
    let mut pub_client = Vec::with_capacity(samples);
    let mut phases: Vec<PublishPhases> = Vec::with_capacity(samples);
    let mut pub_raw = Vec::with_capacity(samples);
    for _ in 0..samples {
        let t0 = Instant::now();
        client.client.at().await?;
        at_client.push(t0.elapsed());
        at_minimal.push(minimal.at().await?);
        pub_client.push(client.publish_one(payload).await?);
        phases.push(minimal.publish_one(payload).await?);
        pub_raw.push(raw.publish_one(payload).await?);
    }
    let pick =
        |f: fn(&PublishPhases) -> Duration| -> Vec<Duration> { phases.iter().map(f).collect() };
    Ok(Probes {
        at_client: Percentiles::of(&at_client),
        at_minimal: Percentiles::of(&at_minimal),
        publish_client: Percentiles::of(&pub_client),
        publish_minimal: Percentiles::of(&pick(|p| p.to_prompt + p.to_ok + p.to_result)),
        publish_minimal_to_prompt: Percentiles::of(&pick(|p| p.to_prompt)),
        publish_minimal_to_ok: Percentiles::of(&pick(|p| p.to_ok)),
        publish_minimal_to_result: Percentiles::of(&pick(|p| p.to_result)),
        publish_raw: Percentiles::of(&pub_raw),
    })
}
