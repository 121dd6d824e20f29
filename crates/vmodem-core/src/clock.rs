//! Wall-clock time for `AT+CCLK`, derived from the driver's `now`.
//!
//! The core never reads the system clock: the driver gives the Unix time that
//! matches its first `now` ([`Config::unix_time_ms`](crate::Config::unix_time_ms)),
//! and the module's clock advances with `now` from there. `AT+CCLK=` moves it.

/// A calendar time as 27.007 §8.15 writes it: `yy/MM/dd,hh:mm:ss±zz`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CivilTime {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

impl CivilTime {
    /// The UTC calendar time of a Unix time in seconds.
    pub(crate) fn from_unix(secs: i64) -> CivilTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        CivilTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// The Unix time in seconds of this UTC calendar time.
    pub(crate) fn to_unix(self) -> i64 {
        let y = self.year - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Parses `yy/MM/dd,hh:mm:ss±zz` (zz in quarter hours); returns UTC Unix seconds and zz.
    pub(crate) fn parse_cclk(s: &str) -> Option<(i64, i32)> {
        let b = s.as_bytes();
        if b.len() != 20
            || b[2] != b'/'
            || b[5] != b'/'
            || b[8] != b','
            || b[11] != b':'
            || b[14] != b':'
        {
            return None;
        }
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
        let sign = match b[17] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (yy, mo, dd, hh, mi, ss, zz) = (
            num(0..2)?,
            num(3..5)?,
            num(6..8)?,
            num(9..11)?,
            num(12..14)?,
            num(15..17)?,
            num(18..20)?,
        );
        let days_in_month = match mo {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (2000 + yy) % 4 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        if dd == 0 || dd > days_in_month || hh > 23 || mi > 59 || ss > 59 || zz > 96 {
            return None;
        }
        let local = CivilTime {
            year: 2000 + i64::from(yy),
            month: mo,
            day: dd,
            hour: hh,
            minute: mi,
            second: ss,
        };
        let zone = sign * zz as i32;
        Some((local.to_unix() - i64::from(zone) * 900, zone))
    }

    /// Formats UTC Unix seconds in zone `zz` (quarter hours) as `yy/MM/dd,hh:mm:ss±zz`.
    pub(crate) fn format_cclk(unix: i64, zone: i32) -> String {
        let t = CivilTime::from_unix(unix + i64::from(zone) * 900);
        let sign = if zone < 0 { '-' } else { '+' };
        format!(
            "{:02}/{:02}/{:02},{:02}:{:02}:{:02}{}{:02}",
            t.year.rem_euclid(100),
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            sign,
            zone.unsigned_abs()
        )
    }
}

impl CivilTime {
    /// Formats Unix seconds as `yyyy/MM/dd,hh:mm:ss±zz` (`AT+QLTS`), the time
    /// as given and `zone` in quarter hours.
    pub(crate) fn format_qlts(unix: i64, zone: i32) -> String {
        let t = CivilTime::from_unix(unix);
        let sign = if zone < 0 { '-' } else { '+' };
        format!(
            "{:04}/{:02}/{:02},{:02}:{:02}:{:02}{}{:02}",
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            sign,
            zone.unsigned_abs()
        )
    }
}

/// A Unix time (seconds) as `2025-01-01 00:00:00 UTC`, for messages about the
/// module's clock (e.g. why a certificate was refused at the module's time).
pub fn utc_text(unix_secs: i64) -> String {
    let t = CivilTime::from_unix(unix_secs);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(CivilTime::format_cclk(0, 0), "70/01/01,00:00:00+00");
        assert_eq!(
            CivilTime::format_cclk(1_735_689_600, 0),
            "25/01/01,00:00:00+00"
        );
        // 2024-02-29T23:59:59Z shown in UTC+8 (32 quarter hours).
        assert_eq!(
            CivilTime::format_cclk(1_709_251_199, 32),
            "24/03/01,07:59:59+32"
        );
        assert_eq!(
            CivilTime::format_cclk(1_735_689_600, -4),
            "24/12/31,23:00:00-04"
        );
    }

    #[test]
    fn qlts_times() {
        assert_eq!(
            CivilTime::format_qlts(1_735_689_600, 0),
            "2025/01/01,00:00:00+00"
        );
        assert_eq!(
            CivilTime::format_qlts(1_709_251_199, -8),
            "2024/02/29,23:59:59-08"
        );
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_text(1_735_689_600), "2025-01-01 00:00:00 UTC");
        assert_eq!(utc_text(951_827_696), "2000-02-29 12:34:56 UTC");
    }

    #[test]
    fn parse_and_format_round_trip() {
        for s in [
            "25/11/25,08:16:29+00",
            "24/02/29,12:00:00+32",
            "99/12/31,23:59:59-48",
        ] {
            let (unix, zone) = CivilTime::parse_cclk(s).unwrap();
            assert_eq!(CivilTime::format_cclk(unix, zone), s);
        }
        for bad in [
            "25/13/01,00:00:00+00",
            "25/02/29,00:00:00+00",
            "25/01/01 00:00:00+00",
            "x",
            "25/01/01,24:00:00+00",
        ] {
            assert_eq!(CivilTime::parse_cclk(bad), None, "{bad}");
        }
    }
}
