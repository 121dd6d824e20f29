//! The module's deadlines: one slot per kind of timer, no heap.
//!
//! Every timer the module can have is named here, so `poll_timeout` is a
//! minimum over a small fixed array and an idle module costs a few bytes.

use crate::time::Instant;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    /// A command's response is withheld until then (realistic timing).
    Response,
    /// The host stopped sending data after a `>` prompt.
    DataEntry,
    /// The next step of the power-up URC chain.
    Boot,
    /// The network registration state changes.
    Registration,
    /// `AT+QPOWD` completes.
    PowerDown,
    /// `AT+CFUN=1,1` restarts the module.
    Restart,
}

const COUNT: usize = 6;

impl Timer {
    const ALL: [Timer; COUNT] = [
        Timer::Response,
        Timer::DataEntry,
        Timer::Boot,
        Timer::Registration,
        Timer::PowerDown,
        Timer::Restart,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The set of armed deadlines.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    at: [Option<Instant>; COUNT],
}

impl Timers {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.at[timer.index()] = Some(at);
    }

    pub(crate) fn cancel(&mut self, timer: Timer) {
        self.at[timer.index()] = None;
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.at[timer.index()]
    }

    pub(crate) fn clear(&mut self) {
        self.at = [None; COUNT];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.at.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer due at `now`, in `Timer::ALL`
    /// order among equal deadlines (a response is flushed before what follows it).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let (timer, _) = Timer::ALL
            .iter()
            .filter_map(|&t| self.get(t).filter(|&at| at <= now).map(|at| (t, at)))
            .min_by_key(|&(t, at)| (at, t.index()))?;
        self.cancel(timer);
        Some(timer)
    }
}
