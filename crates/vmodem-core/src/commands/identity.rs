//! Identification: `AT+CGMI`/`GMI`, `AT+CGMM`/`GMM`, `AT+CGMR`/`GMR`,
//! `AT+CGSN`/`GSN` (27.007 §5), `AT+CIMI`, `AT+QCCID`.

use vmodem_at::{CmeError, Command, Form, Name};

use super::{CmdResult, Done, Fail, Reply};
use crate::modem::Modem;

pub(super) fn execute(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    match cmd.form {
        Form::Exec => {}
        // 27.007: the test form of these commands answers OK.
        Form::Test => return Ok(Done::Ok),
        _ => return Err(Fail::Error),
    }
    let p = m.config.model.profile();
    match name.as_str() {
        "+CGMI" | "+GMI" => r.line(p.manufacturer),
        "+CGMM" | "+GMM" => r.line(p.model),
        "+CGMR" | "+GMR" => r.line(p.revision),
        "+CGSN" | "+GSN" => r.line(m.identity.imei.as_str()),
        "+CIMI" => {
            sim_available(m)?;
            r.line(m.identity.imsi.as_str());
        }
        "+QCCID" => {
            sim_available(m)?;
            r.line(format!("+QCCID: {}", m.identity.iccid));
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// SIM data can be read once the SIM is initialised and powered.
pub(super) fn sim_available(m: &Modem) -> Result<(), Fail> {
    if m.device.cfun == 0 {
        Err(Fail::Cme(CmeError::SIM_FAILURE))
    } else if !m.device.sim_ready {
        Err(Fail::Cme(CmeError::SIM_BUSY))
    } else {
        Ok(())
    }
}
