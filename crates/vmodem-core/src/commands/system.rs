//! Clock, UART and housekeeping: `AT+CCLK` (27.007 §8.15), `AT+CSCS`,
//! `AT+IPR` (V.250 §6.2.10), `AT+QURCCFG`, `AT+QCFG`, `AT+QPOWD`.

use core::time::Duration;

use vmodem_at::{Command, Form, Name};

use super::{arg, arg_count, at_most, opt_int_arg, CmdResult, Done, Fail, Reply};
use crate::clock::CivilTime;
use crate::io::ModemEvent;
use crate::model::Model;
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
        "+QCFG" => qcfg(m, cmd, r),
        "+QPOWD" => qpowd(m, now, cmd, r),
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

/// `AT+QCFG="<name>"[,<values>…]`: the network-scan settings firmware sets at
/// boot are accepted, stored and read back; unknown names answer `ERROR` (the
/// capture: `AT+QCFG="nope"` → `ERROR`).
fn qcfg(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let is_bg96 = m.config.model == Model::Bg96;
    match &cmd.form {
        Form::Test => {
            r.line("+QCFG: \"nwscanseq\",(00-0403),(0,1)");
            r.line("+QCFG: \"nwscanmode\",(0-3),(0,1)");
            if is_bg96 {
                r.line("+QCFG: \"iotopmode\",(0-2),(0,1)");
            }
            r.line("+QCFG: \"band\",(0-0xFFFFFFFF),(0-0x7FFFFFFFFFFFFFFF),(0-0x7FFFFFFFFFFFFFFF),(0,1)");
        }
        Form::Write(args) => {
            let name = arg(cmd, 0).text()?.to_ascii_lowercase();
            let values = &args[1..];
            // How many values each setting has, before the optional <effect> flag.
            let (count, max): (usize, i64) = match name.as_str() {
                "nwscanseq" => (1, i64::MAX),
                "nwscanmode" => (1, 3),
                "iotopmode" if is_bg96 => (1, 2),
                "band" => (3, i64::MAX),
                _ => return Err(Fail::Error),
            };
            let q = &mut m.device.qcfg;
            let slot = match name.as_str() {
                "nwscanseq" => &mut q.nwscanseq,
                "nwscanmode" => &mut q.nwscanmode,
                "iotopmode" => &mut q.iotopmode,
                _ => &mut q.band,
            };
            if values.is_empty() {
                r.line(format!("+QCFG: \"{name}\",{slot}"));
                return Ok(Done::Ok);
            }
            if values.len() != count && values.len() != count + 1 {
                return Err(Fail::Error);
            }
            let mut shown = Vec::with_capacity(count);
            for v in &values[..count] {
                if name == "band" {
                    // Band masks are hexadecimal (vmodem_at::Arg::hex).
                    v.hex()?;
                } else if !(0..=max).contains(&v.int()?) {
                    return Err(Fail::Error);
                }
                let vmodem_at::Arg::Token(t) = v else {
                    return Err(Fail::Error);
                };
                shown.push(String::from_utf8_lossy(t).into_owned());
            }
            opt_int_arg(cmd, count + 1, 0..=1, 1)?;
            *slot = shown.join(",");
        }
        _ => return Err(Fail::Error),
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
