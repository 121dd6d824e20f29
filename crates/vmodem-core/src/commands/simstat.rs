//! `AT+QSIMSTAT`: (U)SIM card insertion status report (EC2x AT manual,
//! "AT+QSIMSTAT (U)SIM Card Insertion Status Report").
//!
//! `AT+QSIMSTAT=<enable>` turns the report on or off, `AT+QSIMSTAT?` answers
//! `+QSIMSTAT: <enable>,<inserted_status>` (0 removed, 1 inserted, 2 unknown
//! before the SIM is initialised), and with the report on the module writes
//! `+QSIMSTAT: <enable>,<inserted_status>` when the card comes or goes — the
//! URC firmware watches for a hot-plugged SIM. Quectel's hot-swap FAQ ("How
//! to enable hot swap function of SIM card") lists `+CPIN: NOT READY` and
//! `+QSIMSTAT: 1,0` / `1,1`; drivers in the field look for the two together
//! on removal. The report is written first, then what the SIM's going or
//! coming does (`+CPIN: …`, registration), as the detection pin comes first.

use vmodem_at::{Command, Form};

use super::{at_most, int_arg, CmdResult, Done, Fail, Reply};
use crate::modem::Modem;

/// `<inserted_status>` now.
fn inserted_status(m: &Modem) -> u8 {
    if m.device.env.sim_removed {
        0
    } else if m.device.sim_ready {
        1
    } else {
        2
    }
}

pub(super) fn qsimstat(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => r.line("+QSIMSTAT: (0,1)"),
        Form::Read => r.line(format!(
            "+QSIMSTAT: {},{}",
            u8::from(m.device.qsimstat),
            inserted_status(m)
        )),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            m.device.qsimstat = int_arg(cmd, 0, 0..=1)? == 1;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

impl Modem {
    /// The card was taken out (`inserted` false) or put back: the report,
    /// when it is on.
    pub(crate) fn report_sim_insertion(&mut self, inserted: bool) {
        if self.device.qsimstat && self.device.powered {
            self.urc(format!("+QSIMSTAT: 1,{}", u8::from(inserted)));
        }
    }
}
