//! Scenario player: timed and seeded random faults, sans-I/O (issue 10 item 3).
//!
//! A CI job that must not script HTTP describes what the field does to the
//! module in a scenario file (`vmodem run --scenario FILE.toml`, see
//! `docs/scenarios.md`). The driver parses the TOML into a plain
//! [`Scenario`] and feeds a [`Player`] with the lines the module wrote to the
//! host and with `now`; the player answers which faults to start, and when it
//! next needs to be woken. It reads no clock and draws its randomness from the
//! scenario's seed, so the same seed and the same host lines give the same
//! fault times and parameters, and tests run it in virtual time.
//!
//! Faults are handed out as a kind and `key=value` parameters
//! ([`FaultSpec`]): the driver turns them into a fault with the one parser
//! the HTTP API also uses (`Fault::parse`), so a scenario's errors read like
//! the API's. Durations go with the fault to the module, which ends it by
//! itself, so the player never has to issue an "end".

use core::time::Duration;
use std::collections::VecDeque;

use crate::{Fault, FaultId, Instant, Modem};

/// A fault to start: its kind and parameters as the fault parser takes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// One of the fault kinds, e.g. `"network_loss"`.
    pub kind: String,
    /// Parameters as `key=value` strings, e.g. `("stat", "2")`.
    pub params: Vec<(String, String)>,
}

/// What starts a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// A fixed time after the player started (power-up).
    At(Duration),
    /// The first host line equal to this text (trimmed of CR/LF), plus the
    /// step's delay.
    After(String),
}

/// One scheduled fault (`[[step]]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// When the first occurrence is due.
    pub trigger: Trigger,
    /// Added to the trigger (for `After`: wait after the line was seen).
    pub delay: Duration,
    /// The fault.
    pub fault: FaultSpec,
    /// How long each occurrence lasts; `None` = until cleared.
    pub duration: Option<Duration>,
    /// Repeat period after the first occurrence.
    pub every: Option<Duration>,
    /// Occurrences in all; `None` with `every` = forever, without = once.
    pub count: Option<u32>,
}

/// A parameter of a random fault: fixed, or drawn uniformly from a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// Always this text.
    Fixed(String),
    /// An integer drawn uniformly from `lo..=hi`.
    Range(i64, i64),
}

/// Faults of one kind at random times (`[[random]]`): a Poisson process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomFault {
    /// The fault kind.
    pub kind: String,
    /// Parameters, each fixed or a range.
    pub params: Vec<(String, ParamValue)>,
    /// Mean time between occurrences (`rate = "1/10m"` → 10 minutes).
    pub mean_interval: Duration,
    /// Duration of each occurrence, drawn uniformly from `lo..=hi`; `None` =
    /// until cleared.
    pub duration: Option<(Duration, Duration)>,
    /// Occurrences in all; `None` = unbounded.
    pub count: Option<u32>,
}

/// A whole scenario file, as plain data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scenario {
    /// Seed of the random faults.
    pub seed: u64,
    /// Scheduled faults.
    pub steps: Vec<Step>,
    /// Random faults.
    pub random: Vec<RandomFault>,
}

/// A fault the player wants started now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start {
    /// Where it comes from: `"step[0]"`, `"random[1]"` (for the timeline).
    pub source: String,
    /// The fault.
    pub fault: FaultSpec,
    /// How long it lasts.
    pub duration: Option<Duration>,
    /// When it was due (`now` at a poll may be later).
    pub due: Instant,
}

#[derive(Clone, Debug)]
struct StepState {
    /// Next due time; `None` = waiting for the trigger line, or done.
    due: Option<Instant>,
    fired: u32,
    done: bool,
}

#[derive(Clone, Debug)]
struct RandomState {
    due: Option<Instant>,
    fired: u32,
}

/// Plays a [`Scenario`]: deterministic in its inputs.
#[derive(Clone, Debug)]
pub struct Player {
    scenario: Scenario,
    steps: Vec<StepState>,
    random: Vec<RandomState>,
    rng: SplitMix64,
}

impl Player {
    /// Starts playing at `start` (the module's power-up).
    pub fn new(scenario: Scenario, start: Instant) -> Player {
        let mut rng = SplitMix64(scenario.seed);
        let steps = scenario
            .steps
            .iter()
            .map(|s| StepState {
                due: match s.trigger {
                    Trigger::At(at) => Some(start + at + s.delay),
                    Trigger::After(_) => None,
                },
                fired: 0,
                done: s.count == Some(0),
            })
            .collect();
        let random = scenario
            .random
            .iter()
            .map(|r| RandomState {
                due: (r.count != Some(0)).then(|| start + rng.exponential(r.mean_interval)),
                fired: 0,
            })
            .collect();
        Player {
            scenario,
            steps,
            random,
            rng,
        }
    }

    /// A line the module wrote to the host (any line ending is ignored).
    /// Arms the `after` steps waiting for exactly this line; returns those
    /// armed (index in the file's steps, and when each is due).
    pub fn host_line(&mut self, now: Instant, line: &str) -> Vec<(usize, Instant)> {
        let line = line.trim_end_matches(['\r', '\n']);
        let mut armed = Vec::new();
        for (i, (step, state)) in self.scenario.steps.iter().zip(&mut self.steps).enumerate() {
            if let Trigger::After(want) = &step.trigger {
                if !state.done && state.due.is_none() && state.fired == 0 && want == line {
                    let due = now + step.delay;
                    state.due = Some(due);
                    armed.push((i, due));
                }
            }
        }
        armed
    }

    /// Whether some `after` step still waits for its line (the driver need
    /// not look at host lines otherwise).
    pub fn wants_lines(&self) -> bool {
        self.scenario
            .steps
            .iter()
            .zip(&self.steps)
            .any(|(step, state)| {
                matches!(step.trigger, Trigger::After(_))
                    && !state.done
                    && state.due.is_none()
                    && state.fired == 0
            })
    }

    /// The faults due at `now`, in a stable order (steps, then random).
    pub fn poll(&mut self, now: Instant) -> Vec<Start> {
        let mut out = Vec::new();
        for (i, (step, state)) in self.scenario.steps.iter().zip(&mut self.steps).enumerate() {
            while let Some(due) = state.due.filter(|d| *d <= now && !state.done) {
                out.push(Start {
                    source: format!("step[{i}]"),
                    fault: step.fault.clone(),
                    duration: step.duration,
                    due,
                });
                state.fired += 1;
                let more = match (step.every, step.count) {
                    (None, c) => state.fired < c.unwrap_or(1),
                    (Some(_), None) => true,
                    (Some(_), Some(c)) => state.fired < c,
                };
                match step.every.filter(|_| more) {
                    // An `every` of zero would loop forever: one per poll.
                    Some(period) if !period.is_zero() => state.due = Some(due + period),
                    Some(_) => {
                        state.due = Some(now + Duration::from_millis(1));
                        break;
                    }
                    None => {
                        state.due = None;
                        state.done = true;
                    }
                }
            }
        }
        for (i, (r, state)) in self
            .scenario
            .random
            .iter()
            .zip(&mut self.random)
            .enumerate()
        {
            while let Some(due) = state.due.filter(|d| *d <= now) {
                let params = r
                    .params
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            ParamValue::Fixed(s) => s.clone(),
                            ParamValue::Range(lo, hi) => self.rng.range_i64(*lo, *hi).to_string(),
                        };
                        (k.clone(), v)
                    })
                    .collect();
                let duration = r.duration.map(|(lo, hi)| {
                    let (lo, hi) = (lo.as_millis() as i64, hi.as_millis() as i64);
                    Duration::from_millis(self.rng.range_i64(lo, hi.max(lo)) as u64)
                });
                out.push(Start {
                    source: format!("random[{i}]"),
                    fault: FaultSpec {
                        kind: r.kind.clone(),
                        params,
                    },
                    duration,
                    due,
                });
                state.fired += 1;
                state.due = if r.count.is_some_and(|c| state.fired >= c) {
                    None
                } else {
                    // At least 1 ms apart, so a tiny mean cannot spin.
                    let gap = self.rng.exponential(r.mean_interval);
                    Some(due + gap.max(Duration::from_millis(1)))
                };
            }
        }
        out
    }

    /// When [`poll`](Self::poll) next has something; `None` = only a host
    /// line can bring more.
    pub fn next_deadline(&self) -> Option<Instant> {
        let steps = self.steps.iter().filter(|s| !s.done).filter_map(|s| s.due);
        let random = self.random.iter().filter_map(|r| r.due);
        steps.chain(random).min()
    }
}

/// Longest host line an `after` step can match; the rest of a longer line
/// is not buffered (the line then matches nothing), so a flood of output
/// cannot grow the runner.
pub const MAX_LINE: usize = 1024;

/// What a [`Runner`] did, for the timeline and the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScenarioEvent {
    /// An `after` step saw its line; its first occurrence is due at `due`.
    Armed {
        /// `"step[0]"`…
        source: String,
        /// The host line that armed it.
        line: String,
        /// When it fires.
        due: Instant,
    },
    /// A step or random entry fired and its fault was started as `id`.
    Fired {
        /// `"step[0]"`, `"random[1]"`…
        source: String,
        /// When it was due (the fault starts at the poll's `now`, at or after this).
        due: Instant,
        /// The started fault's id.
        id: FaultId,
        /// The fault.
        fault: Fault,
        /// How long it lasts; `None` = until cleared.
        duration: Option<Duration>,
    },
    /// A fault could not be built from what was drawn (a random parameter
    /// range reaching past what the kind allows); nothing was started.
    Refused {
        /// Where it comes from.
        source: String,
        /// The kind asked for.
        kind: String,
        /// [`Fault::parse`]'s message.
        error: String,
    },
}

/// Plays a scenario on a [`Modem`]: the [`Player`], fed with the lines the
/// module writes to the host, starting each due fault with
/// [`Modem::add_fault`] (whose duration the core then ends by itself). This
/// is the whole of `vmodem run --scenario` apart from the clock, so the
/// driver and the virtual-time tests run the same code.
///
/// Times count from power-up ([`start`](Self::start)): `at = "30s"` is 30 s
/// after the module first powered up; a later reboot does not restart the
/// scenario (steps fire once per run, as a CI job expects).
///
/// Each entry (step or random) has at most one active fault: an occurrence
/// still on when the entry's next one starts is ended first. Occurrences of
/// one entry do not pile up, and a fast `every` cannot grow the module's
/// list of active faults.
#[derive(Clone, Debug)]
pub struct Runner {
    pending: Option<Scenario>,
    player: Option<Player>,
    /// The host line being assembled (at most [`MAX_LINE`] bytes).
    line: Vec<u8>,
    /// The current line outgrew [`MAX_LINE`]; it matches nothing.
    overlong: bool,
    events: VecDeque<ScenarioEvent>,
    /// The last fault each entry started, by source: a new occurrence ends
    /// it if still active, so the scenario holds at most one active fault
    /// per entry however fast it repeats.
    last: Vec<(String, FaultId)>,
}

impl Runner {
    /// A runner that starts playing at [`start`](Self::start).
    pub fn new(scenario: Scenario) -> Runner {
        Runner {
            pending: Some(scenario),
            player: None,
            line: Vec::new(),
            overlong: false,
            events: VecDeque::new(),
            last: Vec::new(),
        }
    }

    /// The module powered up at `now`: times count from here. Later calls
    /// (a power cycle) change nothing.
    pub fn start(&mut self, now: Instant) {
        if let Some(scenario) = self.pending.take() {
            self.player = Some(Player::new(scenario, now));
        }
    }

    /// Bytes the module wrote to the host at `now` (each byte once, in
    /// order; any chunking). Complete lines (ended by CR or LF) are offered
    /// to the `after` steps.
    pub fn host_output(&mut self, now: Instant, bytes: &[u8]) {
        let Some(player) = self.player.as_mut().filter(|p| p.wants_lines()) else {
            return;
        };
        for &b in bytes {
            if b == b'\r' || b == b'\n' {
                if !self.line.is_empty() && !self.overlong {
                    let line = String::from_utf8_lossy(&self.line);
                    for (i, due) in player.host_line(now, &line) {
                        self.events.push_back(ScenarioEvent::Armed {
                            source: format!("step[{i}]"),
                            line: line.clone().into_owned(),
                            due,
                        });
                    }
                }
                self.line.clear();
                self.overlong = false;
            } else if self.line.len() < MAX_LINE {
                self.line.push(b);
            } else {
                self.overlong = true;
            }
        }
        if !player.wants_lines() {
            self.line = Vec::new();
        }
    }

    /// Starts on `modem` every fault due by `now`; true if any step fired.
    pub fn poll(&mut self, now: Instant, modem: &mut Modem) -> bool {
        let Some(player) = self.player.as_mut() else {
            return false;
        };
        if player.next_deadline().is_none_or(|d| d > now) {
            return false;
        }
        let starts = player.poll(now);
        let fired = !starts.is_empty();
        for start in starts {
            let params: Vec<(&str, &str)> = start
                .fault
                .params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            match Fault::parse(&start.fault.kind, &params) {
                Ok(fault) => {
                    let previous = self.last.iter_mut().find(|(s, _)| *s == start.source);
                    if let Some((_, prev)) = &previous {
                        // False if it is over already (duration, or ended by hand).
                        modem.end_fault(now, *prev);
                    }
                    let id = modem.add_fault(now, fault.clone(), start.duration);
                    match previous {
                        Some((_, prev)) => *prev = id,
                        None => self.last.push((start.source.clone(), id)),
                    }
                    self.events.push_back(ScenarioEvent::Fired {
                        source: start.source,
                        due: start.due,
                        id,
                        fault,
                        duration: start.duration,
                    });
                }
                Err(e) => self.events.push_back(ScenarioEvent::Refused {
                    source: start.source,
                    kind: start.fault.kind,
                    error: e.message,
                }),
            }
        }
        fired
    }

    /// When [`poll`](Self::poll) next has something to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.player.as_ref().and_then(Player::next_deadline)
    }

    /// What the runner did, oldest first.
    pub fn poll_event(&mut self) -> Option<ScenarioEvent> {
        self.events.pop_front()
    }
}

/// SplitMix64: tiny, well-known, and the same on every platform.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi` (`hi < lo` gives `lo`).
    fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (self.next() as u128 % span) as i128) as i64
    }

    /// An exponentially distributed gap with the given mean, in whole ms.
    fn exponential(&mut self, mean: Duration) -> Duration {
        // u in (0, 1]: never ln(0).
        let u = ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64;
        let ms = -u.ln() * mean.as_millis() as f64;
        Duration::from_millis(ms.min(u64::MAX as f64 / 2.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str) -> FaultSpec {
        FaultSpec {
            kind: kind.into(),
            params: vec![],
        }
    }

    fn step(trigger: Trigger) -> Step {
        Step {
            trigger,
            delay: Duration::ZERO,
            fault: spec("network_loss"),
            duration: Some(Duration::from_secs(5)),
            every: None,
            count: None,
        }
    }

    #[test]
    fn after_line_waits_for_the_line_then_the_delay() {
        let mut s = step(Trigger::After("+QMTCONN: 0,0,0".into()));
        s.delay = Duration::from_secs(1);
        let scenario = Scenario {
            seed: 1,
            steps: vec![s],
            random: vec![],
        };
        let mut p = Player::new(scenario, Instant::ZERO);
        assert_eq!(p.next_deadline(), None);
        p.host_line(Instant::from_secs(3), "+QMTOPEN: 0,0\r\n");
        assert_eq!(p.next_deadline(), None);
        p.host_line(Instant::from_secs(4), "+QMTCONN: 0,0,0\r\n");
        assert_eq!(p.next_deadline(), Some(Instant::from_secs(5)));
        assert!(p.poll(Instant::from_millis(4999)).is_empty());
        let got = p.poll(Instant::from_secs(5));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].fault.kind, "network_loss");
        assert_eq!(got[0].duration, Some(Duration::from_secs(5)));
        assert_eq!(got[0].source, "step[0]");
        // Once: a second CONNACK URC does not re-arm it.
        p.host_line(Instant::from_secs(20), "+QMTCONN: 0,0,0");
        assert_eq!(p.next_deadline(), None);
        assert!(p.poll(Instant::from_secs(100)).is_empty());
    }

    #[test]
    fn at_with_every_and_count_repeats_exactly_count_times() {
        let mut s = step(Trigger::At(Duration::from_secs(30)));
        s.every = Some(Duration::from_secs(60));
        s.count = Some(3);
        let scenario = Scenario {
            seed: 0,
            steps: vec![s],
            random: vec![],
        };
        let mut p = Player::new(scenario, Instant::from_secs(10));
        let mut times = vec![];
        while let Some(t) = p.next_deadline() {
            assert!(times.len() < 10, "bounded");
            times.extend(p.poll(t).iter().map(|_| t.as_millis() / 1000));
        }
        assert_eq!(times, vec![40, 100, 160]);
    }

    #[test]
    fn a_late_poll_catches_up_every_missed_occurrence() {
        let mut s = step(Trigger::At(Duration::ZERO));
        s.every = Some(Duration::from_secs(1));
        s.count = Some(4);
        let mut p = Player::new(
            Scenario {
                seed: 0,
                steps: vec![s],
                random: vec![],
            },
            Instant::ZERO,
        );
        assert_eq!(p.poll(Instant::from_secs(10)).len(), 4);
        assert_eq!(p.next_deadline(), None);
    }

    fn random_scenario(seed: u64) -> Scenario {
        Scenario {
            seed,
            steps: vec![],
            random: vec![RandomFault {
                kind: "signal".into(),
                params: vec![
                    ("rssi".into(), ParamValue::Range(0, 31)),
                    ("ber".into(), ParamValue::Fixed("99".into())),
                ],
                mean_interval: Duration::from_secs(600),
                duration: Some((Duration::from_secs(5), Duration::from_secs(30))),
                count: Some(20),
            }],
        }
    }

    fn play(seed: u64) -> Vec<(u64, Start)> {
        let mut p = Player::new(random_scenario(seed), Instant::ZERO);
        let mut out = vec![];
        while let Some(t) = p.next_deadline() {
            assert!(out.len() <= 20, "bounded by count");
            out.extend(p.poll(t).into_iter().map(|s| (t.as_millis(), s)));
        }
        out
    }

    #[test]
    fn same_seed_same_times_and_parameters() {
        let a = play(7);
        assert_eq!(a.len(), 20);
        assert_eq!(a, play(7));
        assert_ne!(a, play(8));
        for (_, s) in &a {
            let rssi: i64 = s.fault.params[0].1.parse().unwrap();
            assert!((0..=31).contains(&rssi));
            assert_eq!(s.fault.params[1], ("ber".into(), "99".into()));
            let d = s.duration.unwrap();
            assert!(d >= Duration::from_secs(5) && d <= Duration::from_secs(30));
        }
        // Times increase, and the mean gap is in the right order of magnitude
        // (20 draws of mean 600 s: well within 100..3000 s).
        let times: Vec<u64> = a.iter().map(|(t, _)| *t).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
        let mean = times[19] / 20;
        assert!((100_000..3_000_000).contains(&mean), "mean gap {mean} ms");
    }

    #[test]
    fn count_zero_never_fires() {
        let mut s = step(Trigger::At(Duration::ZERO));
        s.count = Some(0);
        let mut r = random_scenario(1);
        r.random[0].count = Some(0);
        r.steps.push(s);
        let mut p = Player::new(r, Instant::ZERO);
        assert_eq!(p.next_deadline(), None);
        assert!(p.poll(Instant::from_secs(1_000_000)).is_empty());
    }
}
