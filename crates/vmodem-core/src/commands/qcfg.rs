//! `AT+QCFG="<name>"[,<values>…[,<effect>]]`: the extended settings drivers
//! write at start, each in the model's own layout (model profile
//! [`QcfgProfile`](crate::QcfgProfile)).
//!
//! Known settings are stored and read back; they are non-volatile, as on the
//! module (kept across `AT+CFUN=1,1`). The trailing `<effect>` (0 after a
//! reboot, 1 at once) is accepted and makes no difference. Unknown names and
//! malformed values answer `ERROR` (the capture: `AT+QCFG="nope"` → `ERROR`).
//!
//! | name | values | sources |
//! |---|---|---|
//! | `nwscanseq` | `00` or 2-digit RAT codes, each once | EC25/BG96 AT manuals; BG770A capture |
//! | `nwscanmode` | EC2x 0–3, BG9x 0, 1, 3 | a BG96 `AT+QCFG=?` listing |
//! | `servicedomain` | EC2x 0–2, BG9x 1–2 | BG96 listing; BG770A capture |
//! | `roamservice` | 1, 2, 255 | BG96 listing |
//! | `iotopmode` (BG9x) | 0–2 | BG96 listing |
//! | `band` | three hex masks, `0x` optional | BG96, BG95, EG95 reads; drivers write `F,400A0E189F,A0E189F,1` |

use vmodem_at::{Arg, Command, Form};

use super::{arg, CmdResult, Done, Fail, Reply};
use crate::modem::Modem;
use crate::time::Instant;

/// The test form's lines, in the order of a BG96's `AT+QCFG=?`.
fn test(m: &Modem, r: &mut Reply) {
    let q = &m.config.model.profile().qcfg;
    r.line(format!(
        "+QCFG: \"nwscanmode\",{},(0,1)",
        list(q.nwscanmodes)
    ));
    r.line(format!("+QCFG: \"nwscanseq\",{},(0,1)", q.nwscanseq_test));
    r.line(format!(
        "+QCFG: \"servicedomain\",{},(0,1)",
        list(q.servicedomains)
    ));
    r.line("+QCFG: \"roamservice\",(1,2,255),(0,1)");
    r.line(format!("+QCFG: \"band\",{}", q.band_test));
    if q.iotopmode {
        r.line("+QCFG: \"iotopmode\",(0-2),(0,1)");
    }
}

/// `(0-3)` for a run of three or more, `(0,1,3)` otherwise (27.007 §4.1).
pub(super) fn list(values: &[u8]) -> String {
    let run = values.len() >= 3 && values.windows(2).all(|w| w[1] == w[0] + 1);
    if run {
        format!("({}-{})", values[0], values[values.len() - 1])
    } else {
        let items: Vec<String> = values.iter().map(u8::to_string).collect();
        format!("({})", items.join(","))
    }
}

pub(super) fn qcfg(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let before = m.camped_act();
    let result = setting_command(m, cmd, r);
    // "iotopmode" and "nwscanseq" with <effect> 1 apply at once: a BG9x
    // camped on another RAT than they now choose registers anew.
    m.reselect_if_rat_changed(now, before);
    result
}

fn setting_command(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Form::Write(args) = &cmd.form else {
        if cmd.form == Form::Test {
            test(m, r);
            return Ok(Done::Ok);
        }
        return Err(Fail::Error);
    };
    let name = arg(cmd, 0).text()?.to_ascii_lowercase();
    let values = &args[1..];
    let p = m.config.model.profile().qcfg;
    let q = &mut m.device.qcfg;
    let shown = match name.as_str() {
        "nwscanseq" => {
            if let Some(v) = setting(values, 1)? {
                let seq = token(&v[0])?;
                if !scan_sequence_ok(seq, p.nwscanseq_max_code) {
                    return Err(Fail::Error);
                }
                q.nwscanseq = seq.to_string();
            }
            q.nwscanseq.clone()
        }
        "nwscanmode" => {
            if let Some(v) = setting(values, 1)? {
                q.nwscanmode = one_of(&v[0], p.nwscanmodes)?;
            }
            q.nwscanmode.to_string()
        }
        "servicedomain" => {
            if let Some(v) = setting(values, 1)? {
                q.servicedomain = one_of(&v[0], p.servicedomains)?;
            }
            q.servicedomain.to_string()
        }
        "roamservice" => {
            if let Some(v) = setting(values, 1)? {
                q.roamservice = one_of(&v[0], &[1, 2, 255])?;
            }
            q.roamservice.to_string()
        }
        "iotopmode" if p.iotopmode => {
            if let Some(v) = setting(values, 1)? {
                q.iotopmode = one_of(&v[0], &[0, 1, 2])?;
            }
            q.iotopmode.to_string()
        }
        "band" => {
            if let Some(v) = setting(values, 3)? {
                let mut band = q.band;
                for ((slot, supported), value) in band.iter_mut().zip(p.bands).zip(v) {
                    // Hexadecimal, 0x optional (the shared vmodem_at::Arg::hex).
                    let want = value.hex()?;
                    // 0 (and any mask of only unsupported bands, such as the
                    // EC25's 0x40000000) means "no change"; other bits the
                    // model lacks are dropped, as a module drops them.
                    if want & supported != 0 {
                        *slot = want & supported;
                    }
                }
                q.band = band;
            }
            let masks: Vec<String> = q.band.iter().map(|b| format!("0x{b:x}")).collect();
            masks.join(",")
        }
        _ => return Err(Fail::Error),
    };
    if values.is_empty() {
        r.line(format!("+QCFG: \"{name}\",{shown}"));
    }
    Ok(Done::Ok)
}

/// The `count` values of a write, or `None` for a read (no values). A write
/// may add `<effect>` (0 or 1).
fn setting(values: &[Arg], count: usize) -> Result<Option<&[Arg]>, Fail> {
    if values.is_empty() {
        return Ok(None);
    }
    match values.len() {
        n if n == count => {}
        n if n == count + 1 => {
            values[count].int_in(0..=1)?;
        }
        _ => return Err(Fail::Error),
    }
    Ok(Some(&values[..count]))
}

/// An unquoted value as typed (drivers write `030201` and `"030201"` alike).
fn token(a: &Arg) -> Result<&str, Fail> {
    let bytes = match a {
        Arg::Token(t) | Arg::Str(t) => t,
        Arg::Empty => return Err(Fail::Error),
    };
    std::str::from_utf8(bytes).map_err(|_| Fail::Error)
}

fn one_of(a: &Arg, allowed: &[u8]) -> Result<u8, Fail> {
    let v = a.int()?;
    allowed
        .iter()
        .copied()
        .find(|&x| i64::from(x) == v)
        .ok_or(Fail::Error)
}

/// `00` (automatic), or RAT codes `01`..=`max` each at most once.
fn scan_sequence_ok(seq: &str, max: u8) -> bool {
    if seq == "00" {
        return true;
    }
    if seq.is_empty() || seq.len() % 2 != 0 || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let codes: Vec<u8> = seq
        .as_bytes()
        .chunks(2)
        .map(|c| (c[0] - b'0') * 10 + (c[1] - b'0'))
        .collect();
    codes.iter().all(|&c| (1..=max).contains(&c))
        && codes
            .iter()
            .enumerate()
            .all(|(i, c)| !codes[..i].contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_sequences() {
        assert_eq!(list(&[0, 1, 2, 3]), "(0-3)");
        assert_eq!(list(&[0, 1, 3]), "(0,1,3)");
        assert_eq!(list(&[1, 2]), "(1,2)");
        assert!(scan_sequence_ok("00", 3));
        assert!(scan_sequence_ok("020301", 3));
        assert!(!scan_sequence_ok("0204", 3));
        assert!(!scan_sequence_ok("0202", 3));
        assert!(!scan_sequence_ok("2", 3));
        assert!(!scan_sequence_ok("0a", 3));
        assert!(scan_sequence_ok("0403", 5));
    }
}
