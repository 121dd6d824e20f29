//! What a fleet run reports (issue 13 §3), as load tools do (emqtt-bench,
//! mqtt-stresser): a live progress line, a summary with latency percentiles,
//! and `--json FILE` for CI (schema in `docs/scale.md`, "Report").
//!
//! Every module's host adds to one shared [`Stats`]: counters are atomics,
//! the tables (errors by result code, `+QMTSTAT` by code, histograms) sit
//! behind mutexes held for one insert, so thousands of hosts share them
//! without a queue. Latencies are HDR histograms in microseconds (1 µs to
//! 1 h, 3 significant digits: ~100 KB whatever the number of samples).

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::time::Instant;

/// Publishes remembered for publish → delivery, at most: past this, new
/// ones are not timed (a subscriber that never gets them cannot grow memory).
const MAX_IN_FLIGHT: usize = 200_000;

/// How long a publish is remembered for its deliveries.
const DELIVERY_WINDOW: Duration = Duration::from_secs(120);

/// Shared counters of one fleet run.
pub(crate) struct Stats {
    pub(crate) started: AtomicU64,
    /// Modules with an MQTT client connected now (`+QMTCONN: c,0,0` seen, no
    /// `+QMTSTAT`/`+QMTDISC`/`+QMTCLOSE` since).
    pub(crate) connected: AtomicI64,
    pub(crate) connected_max: AtomicI64,
    pub(crate) connects: AtomicU64,
    pub(crate) commands: AtomicU64,
    /// `+QMTPUB(EX): c,id,0`.
    pub(crate) published: AtomicU64,
    /// `+QMTRECV`.
    pub(crate) received: AtomicU64,
    pub(crate) finished: AtomicU64,
    pub(crate) failed: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
    qmtstat: Mutex<BTreeMap<u32, u64>>,
    latency: Mutex<BTreeMap<String, Histogram<u64>>>,
    delivery: Mutex<Histogram<u64>>,
    /// Hash of (topic, payload) → when it was published.
    in_flight: Mutex<HashMap<u64, Instant>>,
    pub(crate) begun: Instant,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

impl Stats {
    pub(crate) fn new() -> Stats {
        Stats {
            started: AtomicU64::new(0),
            connected: AtomicI64::new(0),
            connected_max: AtomicI64::new(0),
            connects: AtomicU64::new(0),
            commands: AtomicU64::new(0),
            published: AtomicU64::new(0),
            received: AtomicU64::new(0),
            finished: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            errors: Mutex::default(),
            qmtstat: Mutex::default(),
            latency: Mutex::default(),
            delivery: Mutex::new(histogram()),
            in_flight: Mutex::default(),
            begun: Instant::now(),
        }
    }

    pub(crate) fn error(&self, what: &str) {
        let mut errors = lock(&self.errors);
        match errors.get_mut(what) {
            Some(n) => *n += 1,
            None => {
                errors.insert(what.to_owned(), 1);
            }
        }
    }

    pub(crate) fn qmtstat(&self, code: u32) {
        *lock(&self.qmtstat).entry(code).or_default() += 1;
    }

    pub(crate) fn connected(&self, up: bool) {
        if up {
            self.connects.fetch_add(1, Relaxed);
            let now = self.connected.fetch_add(1, Relaxed) + 1;
            self.connected_max.fetch_max(now, Relaxed);
        } else {
            self.connected.fetch_sub(1, Relaxed);
        }
    }

    /// A command (`AT+QMTCONN`) got its result URC after `took`.
    pub(crate) fn latency(&self, command: &str, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let mut table = lock(&self.latency);
        if !table.contains_key(command) {
            table.insert(command.to_owned(), histogram());
        }
        if let Some(h) = table.get_mut(command) {
            h.saturating_record(us);
        }
    }

    /// A publish of `key` (hash of topic and payload) left at `at`.
    pub(crate) fn published_at(&self, key: u64, at: Instant) {
        let mut map = lock(&self.in_flight);
        if map.len() < MAX_IN_FLIGHT {
            map.insert(key, at);
        }
    }

    /// A message of `key` was delivered now.
    pub(crate) fn delivered(&self, key: u64) {
        let sent = lock(&self.in_flight).get(&key).copied();
        if let Some(sent) = sent {
            let us = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
            lock(&self.delivery).saturating_record(us.max(1));
        }
    }

    /// Forgets publishes older than the delivery window.
    pub(crate) fn expire(&self) {
        let now = Instant::now();
        lock(&self.in_flight).retain(|_, at| now.duration_since(*at) < DELIVERY_WINDOW);
    }

    fn error_total(&self) -> u64 {
        lock(&self.errors).values().sum()
    }

    /// The `--json` report (schema in docs/scale.md).
    pub(crate) fn json(&self, run: &RunInfo) -> Value {
        let elapsed = self.begun.elapsed();
        let secs = elapsed.as_secs_f64().max(1e-3);
        let published = self.published.load(Relaxed);
        let received = self.received.load(Relaxed);
        let latency: serde_json::Map<String, Value> = lock(&self.latency)
            .iter()
            .map(|(k, h)| (k.clone(), percentiles(h)))
            .collect();
        let delivery = lock(&self.delivery);
        json!({
            "vmodem": env!("CARGO_PKG_VERSION"),
            "fleet": {
                "count": run.count,
                "shard": [run.shard.0, run.shard.1],
                "ids": [run.ids.0, run.ids.1],
                "modules": run.ids.1 - run.ids.0,
            },
            "duration_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            "modules": {
                "started": self.started.load(Relaxed),
                "scripts_finished": self.finished.load(Relaxed),
                "scripts_failed": self.failed.load(Relaxed),
            },
            "connected": {
                "now": self.connected.load(Relaxed).max(0),
                "max": self.connected_max.load(Relaxed),
                "connects": self.connects.load(Relaxed),
            },
            "commands": self.commands.load(Relaxed),
            "published": published,
            "received": received,
            "publish_rate": published as f64 / secs,
            "receive_rate": received as f64 / secs,
            "errors": *lock(&self.errors),
            "qmtstat": lock(&self.qmtstat)
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<serde_json::Map<_, _>>(),
            "latency_ms": latency,
            "delivery_ms": if delivery.is_empty() { Value::Null } else { percentiles(&delivery) },
        })
    }
}

/// Who ran: the fleet, the shard, its ids.
pub(crate) struct RunInfo {
    pub(crate) count: u32,
    pub(crate) shard: (u32, u32),
    pub(crate) ids: (u32, u32),
}

fn percentiles(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| us as f64 / 1000.0;
    json!({
        "count": h.len(),
        "min": ms(h.min()),
        "mean": h.mean() / 1000.0,
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p99": ms(h.value_at_quantile(0.99)),
        "p999": ms(h.value_at_quantile(0.999)),
        "max": ms(h.max()),
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Prints progress while the fleet runs: a line rewritten in place every
/// second on a terminal, a plain line every 10 s otherwise (CI logs).
pub(crate) async fn progress(stats: &Stats, total: u64) {
    let tty = std::io::stderr().is_terminal();
    let every = if tty {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    };
    let mut tick = tokio::time::interval_at(Instant::now() + every, every);
    let mut last = (Instant::now(), 0u64, 0u64);
    loop {
        tick.tick().await;
        stats.expire();
        let now = Instant::now();
        let (published, received) = (stats.published.load(Relaxed), stats.received.load(Relaxed));
        let secs = now.duration_since(last.0).as_secs_f64().max(1e-3);
        let line = progress_line(
            stats,
            total,
            (published - last.1) as f64 / secs,
            (received - last.2) as f64 / secs,
        );
        last = (now, published, received);
        let mut err = std::io::stderr().lock();
        let _ = if tty {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
    }
}

fn progress_line(stats: &Stats, total: u64, pub_rate: f64, recv_rate: f64) -> String {
    let mut line = format!(
        "[{:>6.1}s] started {}/{total} connected {} pub {} ({pub_rate:.0}/s) recv {} ({recv_rate:.0}/s) errors {}",
        stats.begun.elapsed().as_secs_f64(),
        stats.started.load(Relaxed),
        stats.connected.load(Relaxed).max(0),
        stats.published.load(Relaxed),
        stats.received.load(Relaxed),
        stats.error_total(),
    );
    let errors = lock(&stats.errors);
    if !errors.is_empty() {
        let mut top: Vec<_> = errors.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1));
        let shown: Vec<String> = top
            .iter()
            .take(3)
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        line.push_str(&format!(" ({})", shown.join(", ")));
    }
    let stat = lock(&stats.qmtstat);
    if !stat.is_empty() {
        let shown: Vec<String> = stat.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        line.push_str(&format!(" +QMTSTAT {{{}}}", shown.join(", ")));
    }
    line
}

/// The summary printed at the end of a run.
pub(crate) fn summary(stats: &Stats, run: &RunInfo) -> String {
    let report = stats.json(run);
    let mut out = String::new();
    let secs = report["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
    out.push_str(&format!(
        "fleet summary: modules {}..{} of {} (shard {}/{}), {secs:.1} s\n",
        run.ids.0, run.ids.1, run.count, run.shard.0, run.shard.1
    ));
    out.push_str(&format!(
        "  started {}, scripts finished {}, failed {}\n",
        report["modules"]["started"],
        report["modules"]["scripts_finished"],
        report["modules"]["scripts_failed"]
    ));
    out.push_str(&format!(
        "  connected {} (max {}, connects {}), commands {}\n",
        report["connected"]["now"],
        report["connected"]["max"],
        report["connected"]["connects"],
        report["commands"]
    ));
    out.push_str(&format!(
        "  published {} ({:.1}/s), received {} ({:.1}/s)\n",
        report["published"],
        report["publish_rate"].as_f64().unwrap_or(0.0),
        report["received"],
        report["receive_rate"].as_f64().unwrap_or(0.0),
    ));
    let table = |title: &str, obj: &Value, out: &mut String| {
        if let Some(map) = obj.as_object().filter(|m| !m.is_empty()) {
            out.push_str(&format!("  {title}:\n"));
            for (k, v) in map {
                out.push_str(&format!("    {k:<32} {v}\n"));
            }
        }
    };
    table("errors", &report["errors"], &mut out);
    table("+QMTSTAT by code", &report["qmtstat"], &mut out);
    let mut lat = Vec::new();
    if let Some(map) = report["latency_ms"].as_object() {
        for (k, v) in map {
            lat.push((format!("{k} → result URC"), v.clone()));
        }
    }
    if !report["delivery_ms"].is_null() {
        lat.push((
            "publish → delivery".to_owned(),
            report["delivery_ms"].clone(),
        ));
    }
    if !lat.is_empty() {
        out.push_str(&format!(
            "  latency (ms)                       {:>7} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
            "count", "p50", "p90", "p99", "p99.9", "max"
        ));
        for (name, v) in lat {
            let f = |k: &str| v[k].as_f64().unwrap_or(0.0);
            out.push_str(&format!(
                "    {name:<32} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}\n",
                v["count"],
                f("p50"),
                f("p90"),
                f("p99"),
                f("p999"),
                f("max")
            ));
        }
    }
    out
}
