//! V.250 basic commands and S-parameters, `ATI`, and `AT+CMEE` (27.007 §9.1).

use vmodem_at::{CmeMode, Command, Form, Name};

use super::{arg, at_most, int_arg, CmdResult, Done, Fail, Reply};
use crate::engine::Profile;
use crate::modem::Modem;
use crate::time::Instant;

pub(super) fn execute(m: &mut Modem, _now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let value = |max: i64| -> Result<u8, Fail> {
        match &cmd.form {
            // V.250 §5.3.1: a basic command without its value means value 0.
            Form::Exec => Ok(0),
            Form::Write(_) => Ok(int_arg(cmd, 0, 0..=max)? as u8),
            _ => Err(Fail::Error),
        }
    };
    let p = &mut m.engine.active;
    match &cmd.name {
        Name::SRegister(n) => return s_register(m, *n, cmd, r),
        Name::Basic(name) => match name.as_str() {
            "E" => p.echo = value(1)? == 1,
            "V" => p.format.verbose = value(1)? == 1,
            "Q" => p.format.quiet = value(1)? == 1,
            "X" => p.x = value(4)?,
            "&C" => p.amp_c = value(2)?,
            "&D" => p.amp_d = value(2)?,
            "H" => {
                value(0)?;
            }
            "Z" => {
                value(0)?;
                m.engine.active = m.engine.stored;
            }
            "&F" => {
                value(0)?;
                m.engine.active = Profile::FACTORY;
            }
            "&W" => {
                value(0)?;
                m.engine.stored = m.engine.active;
            }
            "&V" => {
                value(0)?;
                show_profile(&m.engine.active, r);
            }
            "I" => {
                value(0)?;
                let p = m.config.model.profile();
                r.line(p.manufacturer);
                r.line(p.model);
                r.line(format!("Revision: {}", p.revision));
            }
            _ => return Err(Fail::Error),
        },
        Name::Extended(_) => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT&V`: the active profile, one setting per line, as the EC25 lists it.
fn show_profile(p: &Profile, r: &mut Reply) {
    let f = &p.format;
    for line in [
        format!("&C: {}", p.amp_c),
        format!("&D: {}", p.amp_d),
        "&F: 0".to_string(),
        "&W: 0".to_string(),
        format!("E: {}", u8::from(p.echo)),
        format!("Q: {}", u8::from(f.quiet)),
        format!("V: {}", u8::from(f.verbose)),
        format!("X: {}", p.x),
        "Z: 0".to_string(),
        format!("S0: {}", p.s0),
        format!("S3: {}", f.s3),
        format!("S4: {}", f.s4),
        format!("S5: {}", p.s5),
        format!("S6: {}", p.s6),
        format!("S7: {}", p.s7),
        format!("S8: {}", p.s8),
        format!("S10: {}", p.s10),
    ] {
        r.line(line);
    }
}

/// `ATS<n>?`, `ATS<n>=<v>`, `ATS<n>=?` (V.250 §6.2, §6.3). Values read back
/// as three decimal digits, as V.250 §5.3.2 specifies and Quectel does (`013`).
fn s_register(m: &mut Modem, n: u16, cmd: &Command, r: &mut Reply) -> CmdResult {
    let range: (i64, i64) = match n {
        0 | 8 => (0, 255),
        3..=5 => (0, 127),
        6 => (2, 10),
        7 => (1, 255),
        10 => (1, 254),
        _ => return Err(Fail::Error),
    };
    let p = &mut m.engine.active;
    let slot: &mut u8 = match n {
        0 => &mut p.s0,
        3 => &mut p.format.s3,
        4 => &mut p.format.s4,
        5 => &mut p.s5,
        6 => &mut p.s6,
        7 => &mut p.s7,
        8 => &mut p.s8,
        _ => &mut p.s10,
    };
    match &cmd.form {
        Form::Read => r.line(format!("{:03}", slot)),
        Form::Test => r.line(format!("S{n}: ({}-{})", range.0, range.1)),
        Form::Write(_) => *slot = int_arg(cmd, 0, range.0..=range.1)? as u8,
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+CMEE` (27.007 §9.1): how ME errors are reported. Default 1.
pub(super) fn cmee(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            let n = match m.engine.active.cmee {
                CmeMode::Disabled => 0,
                CmeMode::Numeric => 1,
                CmeMode::Verbose => 2,
            };
            r.line(format!("+CMEE: {n}"));
        }
        Form::Test => r.line("+CMEE: (0-2)"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            m.engine.active.cmee = match arg(cmd, 0).int_in(0..=2)? {
                0 => CmeMode::Disabled,
                1 => CmeMode::Numeric,
                _ => CmeMode::Verbose,
            };
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}
