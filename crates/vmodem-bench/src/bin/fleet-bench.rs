//! `fleet-bench`: what a fleet of modules costs, against named peers (issue 13).
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vmodem_bench::fleet::{self, BrokerKind, MemKind};

/// Fleet benchmarks of vmodem, each printed as a ratio against a peer run in
/// the same process (or, for memory, the same invocation).
///
/// memory:  RSS per idle module, (RSS(N) - RSS(1)) / N, each count in a child
///          process; peers: idle rumqttc client pairs, bare tokio tasks.
/// storm:   N modules power-up -> +QMTCONN: 0,0,0 vs N rumqttc clients ->
///          CONNACK, same broker, rounds alternating.
/// at-path: QoS 1 publishing through AT (in-process serial lines, window 5)
///          vs rumqttc (inflight 5): messages per CPU-second.
///
/// Progress on stderr, the table (or --json) on stdout. Figures and commands:
/// crates/vmodem-bench/README.md, "Fleet".
#[derive(Debug, Parser)]
#[command(name = "fleet-bench", version, verbatim_doc_comment)]
struct Args {
    #[command(subcommand)]
    command: Cmd,
    /// Worker threads of the runtime (default: the CPUs available).
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// Print JSON instead of the table.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Memory per idle module.
    Memory {
        /// Counts to measure (each against a count of 1).
        #[arg(long, value_delimiter = ',', default_values_t = [10_000usize])]
        counts: Vec<usize>,
        /// Kinds to measure.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [MemKind::InProcess, MemKind::Rumqttc, MemKind::Task])]
        kinds: Vec<MemKind>,
    },
    /// One memory sample (run by `memory` in a process of its own).
    #[command(hide = true)]
    MemoryChild {
        #[arg(long, value_enum)]
        kind: MemKind,
        #[arg(long)]
        count: usize,
    },
    /// Connect storm.
    Storm {
        /// N: modules, and as many rumqttc clients.
        #[arg(long, default_value_t = 1000)]
        modules: usize,
        /// Rounds (medians are compared).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// The broker.
        #[arg(long, value_enum, default_value_t = BrokerKind::BuiltIn)]
        broker: BrokerKind,
    },
    /// AT-path throughput per CPU-second.
    AtPath {
        /// N: modules, and as many rumqttc publishers.
        #[arg(long, default_value_t = 4)]
        modules: usize,
        /// M: messages per publisher per round.
        #[arg(long, default_value_t = 5000)]
        messages: u64,
        /// Rounds.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let args = Args::parse();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let result = match args.command {
        Cmd::MemoryChild { kind, count } => match fleet::memory_child(kind, count, threads) {
            Ok(rss) => {
                println!("rss_kib {rss}");
                // Dropping 100,000 modules would take longer than measuring them.
                std::process::exit(0);
            }
            Err(e) => Err(e),
        },
        Cmd::Memory { counts, kinds } => std::env::current_exe()
            .map_err(anyhow::Error::from)
            .and_then(|exe| fleet::memory(&exe, &kinds, &counts, threads, true))
            .map(|samples| {
                if args.json {
                    serde_json::to_string_pretty(&samples).unwrap_or_default()
                } else {
                    format!(
                        "size_of::<Modem>() = {} B\n\n{}",
                        std::mem::size_of::<vmodem_core::Modem>(),
                        fleet::memory_table(&samples)
                    )
                }
            }),
        Cmd::Storm {
            modules,
            rounds,
            broker,
        } => fleet::storm(modules, rounds, broker, threads, true).map(|r| {
            if args.json {
                serde_json::to_string_pretty(&r).unwrap_or_default()
            } else {
                let med = |runs: &[fleet::StormRun], f: fn(&fleet::StormRun) -> f64| {
                    let mut v: Vec<f64> = runs.iter().map(f).collect();
                    v.sort_by(f64::total_cmp);
                    let mid = v.len() / 2;
                    if v.len() % 2 == 0 {
                        (v[mid - 1] + v[mid]) / 2.0
                    } else {
                        v[mid]
                    }
                };
                format!(
                    "| connect storm, N={} on {:?} | total ms (median of {}) | p50 ms | p99 ms |\n|---|---|---|---|\n\
                     | vmodem: power-up → +QMTCONN: 0,0,0 | {:.0} | {:.0} | {:.0} |\n\
                     | rumqttc: new → CONNACK | {:.0} | {:.0} | {:.0} |\n\
                     | **time ratio vmodem / rumqttc** | **{:.2}×** | | |\n",
                    r.modules,
                    r.broker,
                    r.vmodem.len(),
                    med(&r.vmodem, |x| x.total_ms),
                    med(&r.vmodem, |x| x.each.p50_us / 1e3),
                    med(&r.vmodem, |x| x.each.p99_us / 1e3),
                    med(&r.raw, |x| x.total_ms),
                    med(&r.raw, |x| x.each.p50_us / 1e3),
                    med(&r.raw, |x| x.each.p99_us / 1e3),
                    r.ratio
                )
            }
        }),
        Cmd::AtPath {
            modules,
            messages,
            rounds,
        } => fleet::at_path(modules, messages, rounds, threads, true).map(|r| {
            if args.json {
                serde_json::to_string_pretty(&r).unwrap_or_default()
            } else {
                let row = |name: &str, s: &fleet::AtPathSide| {
                    format!(
                        "| {name} | {:.0} | {:.2} + {:.2} | {:.2} + {:.2} | {:.0} | {:.1} |\n",
                        s.msg_per_s,
                        s.bench_cpu.user,
                        s.bench_cpu.sys,
                        s.broker_cpu.user,
                        s.broker_cpu.sys,
                        s.msg_per_cpu_s,
                        1e6 / s.msg_per_cpu_s.max(f64::MIN_POSITIVE)
                    )
                };
                format!(
                    "| AT path, N={} × M={} × {} rounds, QoS 1 | msg/s | bench CPU s (usr + sys) | broker CPU s | msg per CPU-s | CPU µs/msg |\n|---|---|---|---|---|---|\n{}{}\
                     | **ratio vmodem / rumqttc** | {:.2}× | | | **{:.2}×** | |\n",
                    r.publishers,
                    r.messages,
                    rounds,
                    row("vmodem, in-process lines, minimal AT host", &r.vmodem),
                    row("raw rumqttc", &r.raw),
                    r.ratio_per_s,
                    r.ratio_per_cpu_s
                )
            }
        }),
    };
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fleet-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
