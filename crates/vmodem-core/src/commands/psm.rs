//! Power saving requests: `AT+CPSMS` (27.007 §7.38) and `AT+CEDRXS` (§7.40).
//!
//! Drivers write them at start (Particle's BG96/BG95 driver sends
//! `AT+CEDRXS=0` and `AT+CPSMS=0`; PSM guides `AT+CPSMS=1,,,"00000100","00001111"`)
//! and read them back. The simulated network grants what is asked and the
//! module never actually sleeps: the values are stored and shown, nothing more.

use vmodem_at::{Arg, Command, Form, Name};

use super::{arg, at_most, int_arg, CmdResult, Done, Fail, Reply};
use crate::device::Psm;
use crate::modem::Modem;

pub(super) fn execute(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    match name.as_str() {
        "+CPSMS" => cpsms(m, cmd, r),
        "+CEDRXS" => cedrxs(m, cmd, r),
        _ => Err(Fail::Error),
    }
}

/// `AT+CPSMS=[<mode>[,<RAU>[,<GPRS-READY>[,<TAU>[,<Active-Time>]]]]]`: mode
/// 0 off, 1 on, 2 off and back to the factory timers. The timers are 8-bit
/// binary strings; an omitted one keeps its value. Read (as a BG770A):
/// `+CPSMS: 0,,,"00101100","00001010"`. Non-volatile.
fn cpsms(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            let p = m.device.psm;
            let opt = |v: Option<u8>| v.map(|b| format!("\"{b:08b}\"")).unwrap_or_default();
            r.line(format!(
                "+CPSMS: {},{},{},\"{:08b}\",\"{:08b}\"",
                p.mode,
                opt(p.periodic_rau),
                opt(p.gprs_ready),
                p.periodic_tau,
                p.active_time
            ));
        }
        Form::Test => {
            r.line("+CPSMS: (0-2),,,(\"00000000\"-\"11111111\"),(\"00000000\"-\"11111111\")")
        }
        Form::Write(_) => {
            at_most(cmd, 5)?;
            let mode = if arg(cmd, 0).is_empty() {
                0
            } else {
                int_arg(cmd, 0, 0..=2)? as u8
            };
            let timers = [1, 2, 3, 4].map(|i| bits(arg(cmd, i), 8));
            let mut psm = m.device.psm;
            if mode == 2 {
                psm = Psm::default();
            } else {
                psm.mode = mode;
            }
            if let Some(v) = timers[0]? {
                psm.periodic_rau = Some(v);
            }
            if let Some(v) = timers[1]? {
                psm.gprs_ready = Some(v);
            }
            if let Some(v) = timers[2]? {
                psm.periodic_tau = v;
            }
            if let Some(v) = timers[3]? {
                psm.active_time = v;
            }
            m.device.psm = psm;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// A quoted string of `width` binary digits, or `None` when omitted.
fn bits(a: &Arg, width: usize) -> Result<Option<u8>, Fail> {
    if a.is_empty() {
        return Ok(None);
    }
    let s = a.text()?;
    if s.len() != width || !s.bytes().all(|b| b == b'0' || b == b'1') {
        return Err(Fail::Error);
    }
    u8::from_str_radix(s, 2).map(Some).map_err(|_| Fail::Error)
}

/// The requested eDRX value when `AT+CEDRXS=1,<AcT-type>` gives none:
/// `0010`, 20.48 s (TS 24.008 Table 10.5.5.32).
const DEFAULT_EDRX: u8 = 0b0010;

/// `AT+CEDRXS=[<mode>[,<AcT-type>[,"<value>"]]]`: mode 0 off, 1 on, 2 on with
/// `+CEDRXP` reports, 3 off and discard everything. AcT-types per model
/// (4 WB-S1 everywhere, 5 NB-S1 on BG9x). Read: one `+CEDRXS: <AcT-type>,"<value>"`
/// per AcT-type with eDRX on, `+CEDRXS: 0` when none (a BG770A reads so).
fn cedrxs(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let types = m.config.model.profile().edrx_act_types;
    let slot = |t: u8| usize::from(t.saturating_sub(4)).min(1);
    match &cmd.form {
        Form::Read => {
            let mut any = false;
            for &t in types {
                if let Some(v) = m.device.edrx.requested[slot(t)] {
                    r.line(format!("+CEDRXS: {t},\"{v:04b}\""));
                    any = true;
                }
            }
            if !any {
                r.line("+CEDRXS: 0");
            }
        }
        Form::Test => r.line(format!(
            "+CEDRXS: (0-3),{},(\"0000\"-\"1111\")",
            super::qcfg::list(types)
        )),
        Form::Write(_) => {
            at_most(cmd, 3)?;
            let mode = if arg(cmd, 0).is_empty() {
                0
            } else {
                int_arg(cmd, 0, 0..=3)? as u8
            };
            let act = if arg(cmd, 1).is_empty() {
                None
            } else {
                let t = int_arg(cmd, 1, 0..=255)? as u8;
                if !types.contains(&t) {
                    return Err(Fail::Error);
                }
                Some(t)
            };
            let value = bits(arg(cmd, 2), 4)?;
            let edrx = &mut m.device.edrx;
            match (mode, act) {
                (3, _) => *edrx = Default::default(),
                (0, None) => edrx.requested = [None; 2],
                (0, Some(t)) => edrx.requested[slot(t)] = None,
                (_, None) => return Err(Fail::Error),
                (_, Some(t)) => {
                    edrx.requested[slot(t)] = Some(value.unwrap_or(DEFAULT_EDRX));
                    edrx.urc = mode == 2;
                }
            }
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}
