//! The module's own notion of time.
//!
//! The core never reads a clock: every `handle_*` call carries `now`, and the
//! driver decides what time is (the tokio clock, or a virtual clock in tests
//! that jumps straight to [`Modem::poll_timeout`](crate::Modem::poll_timeout)).
//! Like smoltcp's `Instant`, ours counts milliseconds from an arbitrary epoch
//! chosen by the driver; durations are plain [`core::time::Duration`].

use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time, in milliseconds since an epoch chosen by the driver.
///
/// Must be monotonic across calls into one [`Modem`](crate::Modem); a value
/// older than one already seen is treated as that earlier value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant(0);

    /// An instant `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Instant(ms)
    }

    /// An instant `s` seconds after the epoch.
    pub const fn from_secs(s: u64) -> Self {
        Instant(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        let ms = u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let t = Instant::from_millis(u64::MAX - 1);
        assert_eq!((t + Duration::from_secs(5)).as_millis(), u64::MAX);
        assert_eq!(Instant::ZERO - Instant::from_secs(1), Duration::ZERO);
        assert_eq!(
            Instant::from_secs(2) - Instant::from_millis(500),
            Duration::from_millis(1500)
        );
    }
}
