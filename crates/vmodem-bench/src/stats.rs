//! Percentiles, medians, and the CPU time of this process's threads.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

/// Distribution of a set of durations, in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// How many samples.
    pub count: usize,
    /// Median, µs.
    pub p50_us: f64,
    /// 99th percentile, µs.
    pub p99_us: f64,
    /// Largest sample, µs.
    pub max_us: f64,
    /// Mean, µs.
    pub mean_us: f64,
}

impl Percentiles {
    /// Summarises `samples` (nearest-rank percentiles); all zero when empty.
    pub(crate) fn of(samples: &[Duration]) -> Percentiles {
        if samples.is_empty() {
            return Percentiles::default();
        }
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p * us.len() as f64).ceil() as usize).clamp(1, us.len()) - 1;
            us[i]
        };
        Percentiles {
            count: us.len(),
            p50_us: rank(0.50),
            p99_us: rank(0.99),
            max_us: us[us.len() - 1],
            mean_us: us.iter().sum::<f64>() / us.len() as f64,
        }
    }
}

/// The median of `values` (mean of the middle two for an even count); 0 when empty.
pub(crate) fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// `a / b`, or 0 when `b` is 0.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Which threads of this process did the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ThreadGroup {
    /// The benchmark's tokio workers: modules, their link tasks, vmodem-client
    /// drivers, rumqttc event loops, the benchmark's own tasks.
    Bench,
    /// The built-in broker's thread (all its connections and its router).
    Broker,
    /// Anything else (main thread, tokio blocking pool).
    Other,
}

/// The worker-thread name prefix of the benchmark's runtime.
pub(crate) const WORKER_NAME: &str = "bench-worker";

fn group_of(comm: &str) -> ThreadGroup {
    if comm.starts_with(WORKER_NAME) {
        ThreadGroup::Bench
    } else if comm == "vmodem-broker" {
        ThreadGroup::Broker
    } else {
        ThreadGroup::Other
    }
}

/// What one group of threads spent: CPU seconds and context switches.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Usage {
    /// User-mode CPU seconds.
    pub(crate) user_s: f64,
    /// Kernel-mode CPU seconds (system calls, the loopback TCP stack).
    pub(crate) sys_s: f64,
    /// Context switches, voluntary (a thread parked, e.g. in `epoll_wait`) and not.
    pub(crate) switches: u64,
}

impl Usage {
    pub(crate) fn add(&mut self, other: Usage) {
        self.user_s += other.user_s;
        self.sys_s += other.sys_s;
        self.switches += other.switches;
    }
}

/// Per-thread CPU time and context switches, read from `/proc/self/task/*/{stat,status}`.
///
/// The kernel counts CPU in clock ticks (USER_HZ, 100 per second on Linux), so
/// the CPU figures mean something only over runs of a second or more. Empty
/// where `/proc` is missing.
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuSnapshot {
    threads: HashMap<(ThreadGroup, u32), (u64, u64, u64)>,
}

/// Clock ticks per second of `/proc/*/stat` (USER_HZ).
const USER_HZ: f64 = 100.0;

impl CpuSnapshot {
    pub(crate) fn take() -> CpuSnapshot {
        let mut threads = HashMap::new();
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return CpuSnapshot { threads };
        };
        for entry in dir.flatten() {
            let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let Some((comm, user, sys)) = parse_stat(&stat) else {
                continue;
            };
            let switches = std::fs::read_to_string(entry.path().join("status"))
                .map(|status| parse_switches(&status))
                .unwrap_or(0);
            threads.insert((group_of(comm), tid), (user, sys, switches));
        }
        CpuSnapshot { threads }
    }

    /// What `group` spent between `earlier` and `self`.
    pub(crate) fn since(&self, earlier: &CpuSnapshot, group: ThreadGroup) -> Usage {
        let mut usage = Usage::default();
        for (key, (user, sys, switches)) in &self.threads {
            if key.0 != group {
                continue;
            }
            let (u0, s0, c0) = earlier.threads.get(key).copied().unwrap_or((0, 0, 0));
            usage.user_s += user.saturating_sub(u0) as f64 / USER_HZ;
            usage.sys_s += sys.saturating_sub(s0) as f64 / USER_HZ;
            usage.switches += switches.saturating_sub(c0);
        }
        usage
    }
}

/// `tid (comm) state …` → (comm, utime, stime). comm may hold spaces and
/// parentheses, so it ends at the last `)`.
fn parse_stat(stat: &str) -> Option<(&str, u64, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?;
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    // Fields 14 and 15 of proc(5) (utime, stime) are 11 and 12 after the state.
    let user = fields.get(11)?.parse().ok()?;
    let sys = fields.get(12)?.parse().ok()?;
    Some((comm, user, sys))
}

/// The sum of `voluntary_ctxt_switches` and `nonvoluntary_ctxt_switches`.
fn parse_switches(status: &str) -> u64 {
    status
        .lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
        })
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
        .sum()
}

/// p50 and p99 (nearest rank) of values that may be negative; zeros when empty.
pub(crate) fn signed_p50_p99(values: &mut [f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    values.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let i = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        values[i]
    };
    (rank(0.5), rank(0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = Percentiles::of(&samples);
        assert_eq!(p.count, 100);
        assert_eq!(p.p50_us.round(), 50.0);
        assert_eq!(p.p99_us.round(), 99.0);
        assert_eq!(p.max_us.round(), 100.0);
        assert_eq!(Percentiles::of(&[]).count, 0);
    }

    #[test]
    fn reads_proc_stat_and_status() {
        let stat = "42 (bench-worker (1)) S 1 2 3 4 5 6 7 8 9 10 250 30 0 0 20 0";
        assert_eq!(parse_stat(stat), Some(("bench-worker (1)", 250, 30)));
        let status = "Name:\tx\nvoluntary_ctxt_switches:\t7\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(parse_switches(status), 10);
        let mut v = vec![3.0, -1.0, 2.0];
        assert_eq!(signed_p50_p99(&mut v), (2.0, 3.0));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
