//! Clock, UART and housekeeping: `AT+CCLK` (27.007 §8.15), `AT+CTZU`,
//! `AT+CTZR` (§6.x), `AT+QLTS`, `AT+CSCS`, `AT+IPR` (V.250 §6.2.10), `AT+IFC`,
//! `AT+QURCCFG`, `AT+QPOWD`.

use core::time::Duration;

use vmodem_at::{Command, Form, Name};

use super::{arg, arg_count, at_most, int_arg, opt_int_arg, CmdResult, Done, Fail, Reply};
use crate::clock::CivilTime;
use crate::io::ModemEvent;
use crate::modem::Modem;
use crate::time::Instant;
use crate::timers::Timer;

pub(super) fn execute(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    match name.as_str() {
        "+CCLK" => cclk(m, now, cmd, r),
        "+CSCS" => cscs(m, cmd, r),
        "+IPR" => ipr(m, cmd, r),
        "+QURCCFG" => qurccfg(m, cmd, r),
        "+QCFG" => super::qcfg::qcfg(m, now, cmd, r),
        "+QPOWD" => qpowd(m, now, cmd, r),
        "+QLTS" => qlts(m, now, cmd, r),
        "+CTZU" => ctzu(m, cmd, r),
        "+CTZR" => ctzr(m, cmd, r),
        "+IFC" => ifc(m, cmd, r),
        _ => Err(Fail::Error),
    }
}

/// `AT+CCLK?` shows the network time; `AT+CCLK="yy/MM/dd,hh:mm:ss±zz"` sets it.
fn cclk(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            let unix = m.unix_ms(now).div_euclid(1000);
            r.line(format!(
                "+CCLK: \"{}\"",
                CivilTime::format_cclk(unix, m.device.clock_zone)
            ));
        }
        Form::Test => {}
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let (unix, zone) = CivilTime::parse_cclk(arg(cmd, 0).text()?).ok_or(Fail::Error)?;
            let current = m.unix_ms(now) - m.device.clock_offset_ms;
            m.device.clock_offset_ms = unix * 1000 - current;
            m.device.clock_zone = zone;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

const CHARSETS: [&str; 3] = ["GSM", "IRA", "UCS2"];

fn cscs(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+CSCS: \"{}\"", m.device.cscs)),
        Form::Test => r.line("+CSCS: (\"GSM\",\"IRA\",\"UCS2\")"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let want = arg(cmd, 0).text()?;
            m.device.cscs = CHARSETS
                .into_iter()
                .find(|c| c.eq_ignore_ascii_case(want))
                .ok_or(Fail::Error)?;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// Baud rates the EC25's main UART offers.
const RATES: [u32; 10] = [
    4800, 9600, 19200, 38400, 57600, 115_200, 230_400, 460_800, 921_600, 1_000_000,
];

/// `AT+IPR`: accepted and remembered; a pty or TCP port has no baud rate, so
/// the driver is only told ([`ModemEvent::BaudRate`]).
fn ipr(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+IPR: {}", m.device.baud)),
        Form::Test => {
            let list: Vec<String> = RATES.iter().map(u32::to_string).collect();
            r.line(format!("+IPR: ({})", list.join(",")));
        }
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let rate = arg(cmd, 0).int()?;
            let rate = RATES
                .into_iter()
                .find(|&r| i64::from(r) == rate)
                .ok_or(Fail::Error)?;
            m.device.baud = rate;
            m.emit(ModemEvent::BaudRate(rate));
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

const URC_PORTS: [&str; 3] = ["usbat", "usbmodem", "uart1"];

/// `AT+QURCCFG="urcport"[,"<port>"]`: which port URCs go to. Every port of a
/// virtual module is this serial line, so the choice is only remembered.
fn qurccfg(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => r.line("+QURCCFG: \"urcport\",(\"usbat\",\"usbmodem\",\"uart1\")"),
        Form::Write(_) => {
            at_most(cmd, 2)?;
            if !arg(cmd, 0).text()?.eq_ignore_ascii_case("urcport") {
                return Err(Fail::Error);
            }
            if arg_count(cmd) == 1 {
                r.line(format!("+QURCCFG: \"urcport\",\"{}\"", m.device.urcport));
            } else {
                let want = arg(cmd, 1).text()?;
                m.device.urcport = URC_PORTS
                    .into_iter()
                    .find(|p| p.eq_ignore_ascii_case(want))
                    .ok_or(Fail::Error)?;
            }
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+QLTS[=<mode>]`: the time the network sent (NITZ) at registration.
/// Mode 0 (and the execute form) shows that time, 1 the current GMT derived
/// from it, 2 the current local time; each as `"yyyy/MM/dd,hh:mm:ss±zz,<dst>"`,
/// the zone in quarter hours (an EC25: `AT+QLTS=1` → `+QLTS: "2026/09/11,
/// 14:22:25+32,0"`). Before any registration: `+QLTS: ""` (the manual). The
/// simulated network sends zone +00, no daylight saving.
fn qlts(m: &Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let mode = match &cmd.form {
        Form::Test => {
            r.line("+QLTS: (0-2)");
            return Ok(Done::Ok);
        }
        Form::Exec => 0,
        Form::Write(_) => {
            at_most(cmd, 1)?;
            int_arg(cmd, 0, 0..=2)?
        }
        Form::Read => return Err(Fail::Error),
    };
    let Some(synced_ms) = m.device.nitz_unix_ms else {
        r.line("+QLTS: \"\"");
        return Ok(Done::Ok);
    };
    let zone = NETWORK_ZONE;
    // A `clock` fault shifts the time the module believes, the network's
    // included: the field case is a network sending a wrong NITZ (docs/faults.md).
    let shift = m.device.env.clock_offset_s.saturating_mul(1000);
    let network_now = m.network_unix_ms(now) + shift;
    let unix = match mode {
        0 => (synced_ms + shift).div_euclid(1000),
        1 => network_now.div_euclid(1000),
        _ => network_now.div_euclid(1000) + i64::from(zone) * 900,
    };
    r.line(format!(
        "+QLTS: \"{},0\"",
        CivilTime::format_qlts(unix, zone)
    ));
    Ok(Done::Ok)
}

/// The time zone the simulated network announces, in quarter hours.
const NETWORK_ZONE: i32 = 0;

/// `AT+CTZU`: automatic time zone update from NITZ, 0, 1 or 3 (update the RTC
/// with local time). Non-volatile. Factory value per model (EC2x manual
/// example reads 0, a BG96 reads 1).
fn ctzu(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+CTZU: {}", m.device.ctzu)),
        Form::Test => r.line("+CTZU: (0,1,3)"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let v = int_arg(cmd, 0, 0..=3)? as u8;
            if v == 2 {
                return Err(Fail::Error);
            }
            m.device.ctzu = v;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+CTZR`: time zone change reporting (`+CTZV`/`+CTZE`), 0–2. The
/// simulated network never changes zone, so no report is ever due.
fn ctzr(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+CTZR: {}", m.device.ctzr)),
        Form::Test => r.line("+CTZR: (0-2)"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            m.device.ctzr = int_arg(cmd, 0, 0..=2)? as u8;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+IFC=<dce_by_dte>,<dte_by_dce>`: 0 none, 2 RTS/CTS. Remembered; a pty
/// or TCP port has no flow-control lines (drivers send `AT+IFC=2,2` at start).
fn ifc(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+IFC: {},{}", m.device.ifc.0, m.device.ifc.1)),
        Form::Test => r.line("+IFC: (0,2),(0,2)"),
        Form::Write(_) => {
            at_most(cmd, 2)?;
            let mode = |i| -> Result<u8, Fail> {
                match opt_int_arg(cmd, i, 0..=2, 0)? {
                    1 => Err(Fail::Error),
                    v => Ok(v as u8),
                }
            };
            m.device.ifc = (mode(0)?, mode(1)?);
        }
        Form::Exec => m.device.ifc = (0, 0),
    }
    Ok(Done::Ok)
}

/// `AT+QPOWD[=<n>]`: `OK`, then `POWERED DOWN`, then silence until the power key.
fn qpowd(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => r.line("+QPOWD: (0,1)"),
        Form::Exec | Form::Write(_) => {
            at_most(cmd, 1)?;
            let normal = opt_int_arg(cmd, 0, 0..=1, 1)? == 1;
            let delay = match (m.realistic(), normal) {
                (false, _) => Duration::ZERO,
                (true, false) => Duration::from_millis(100),
                (true, true) => Duration::from_millis(1_500),
            };
            m.timers.set(Timer::PowerDown, now + delay);
        }
        Form::Read => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}
