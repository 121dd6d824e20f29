//! `vmodem-bench`: the MQTT benchmark of vmodem against plain rumqttc clients.
use std::process::ExitCode;

use clap::Parser;
use vmodem_bench::{run, Publisher, Settings};

/// MQTT through vmodem's AT interface vs plain rumqttc, in one process, on one broker.
///
/// Starts the built-in broker on a free loopback port, N virtual EC25 modules on
/// loopback TCP serial ports, and N plain rumqttc clients, then measures:
///
/// THROUGHPUT: each module publishes M QoS 1 messages with AT+QMTPUBEX, keeping
/// its window of 5 full (driven by vmodem-client; completions are the
/// +QMTPUBEX: 0,<id>,0 URCs), against N rumqttc clients with inflight 5
/// publishing the same. The msg/s are medians over rounds that rotate the
/// order. A third line drives other modules from a minimal AT host on the raw
/// socket, which shows how much of the gap is the host library's.
///
/// LATENCY: a rumqttc publisher sends timestamped QoS 0 messages at a fixed
/// modest rate; a module subscribed through AT (+QMTRECV seen by
/// vmodem-client) and a rumqttc subscriber receive the same messages at once.
/// p50/p99 of publish → application for each, their ratio, and the
/// difference vmodem − raw per message, which cancels what both share.
///
/// WHERE THE TIME GOES: idle round trips one at a time (AT → OK; a publish
/// phase by phase: command → "> ", payload → OK, OK → +QMTPUBEX), the mean
/// AT+QMTPUBEX exchange under load, and CPU time (user + kernel) and context
/// switches per message on the benchmark's threads vs the broker's (from
/// /proc, 10 ms resolution). crates/vmodem-bench/README.md has the findings.
///
/// HOW TO READ IT: only the ratios mean something. The machine is shared and
/// noisy, so absolute msg/s and ms vary from run to run; both sides of each
/// ratio ran in the same process against the same broker, seconds apart.
/// Goals: throughput ratio >= 0.8x, p99 latency ratio <= 2x.
///
/// Progress goes to stderr, the table (or --json) to stdout. The defaults
/// finish in well under a minute on 2 cores. RUST_LOG=debug shows more;
/// VMODEM_BENCH_TRACE_DIR=dir records every
/// module's serial line there as JSON lines.
#[derive(Debug, Parser)]
#[command(name = "vmodem-bench", version, verbatim_doc_comment)]
struct Args {
    /// N: modules, and as many rumqttc publishers.
    #[arg(long, default_value_t = 4)]
    modules: usize,
    /// M: QoS 1 messages per publisher per round.
    #[arg(long, default_value_t = 5000)]
    messages: u64,
    /// Payload bytes of every message (latency payloads are at least 32).
    #[arg(long, default_value_t = 64)]
    payload: usize,
    /// Publishes in flight per publisher, 1-5 (5 is the module's window).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=5))]
    window: u16,
    /// Throughput rounds (the median is reported).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// K: latency samples.
    #[arg(long, default_value_t = 1000)]
    latency_samples: u64,
    /// Latency publisher rate, messages per second.
    #[arg(long, default_value_t = 200)]
    latency_rate: u32,
    /// QoS of the latency messages and subscriptions.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=1))]
    latency_qos: u8,
    /// Samples of each idle round trip.
    #[arg(long, default_value_t = 200)]
    probe_samples: usize,
    /// Worker threads of the benchmark's runtime (default: the CPUs available).
    #[arg(long)]
    threads: Option<usize>,
    /// Run only this publisher's throughput rounds, nothing else: to profile it, e.g.
    /// `perf stat -e raw_syscalls:sys_enter,context-switches vmodem-bench --only vmodem`.
    #[arg(long, value_enum)]
    only: Option<Only>,
    /// Print the report as JSON instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Only {
    /// Modules driven by vmodem-client.
    Vmodem,
    /// Plain rumqttc clients.
    Raw,
    /// Modules driven by the minimal AT host.
    MinimalHost,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = Args::parse();
    let defaults = Settings::default();
    let settings = Settings {
        modules: args.modules,
        messages: args.messages,
        payload: args.payload,
        window: args.window,
        rounds: args.rounds,
        latency_samples: args.latency_samples,
        latency_rate: args.latency_rate,
        latency_qos: args.latency_qos,
        probe_samples: args.probe_samples,
        worker_threads: args.threads.unwrap_or(defaults.worker_threads),
        only: args.only.map(|only| match only {
            Only::Vmodem => Publisher::Vmodem,
            Only::Raw => Publisher::Raw,
            Only::MinimalHost => Publisher::MinimalHost,
        }),
        progress: true,
    };
    match run(&settings) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(json) => println!("{json}"),
                    Err(e) => {
                        eprintln!("vmodem-bench: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            } else {
                print!("{}", report.table());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("vmodem-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}
