//! Identification: `AT+CGMI`/`GMI`, `AT+CGMM`/`GMM`, `AT+CGMR`/`GMR`,
//! `AT+CGSN`/`GSN` (27.007 §5), `AT+CIMI`, `AT+QCCID`/`AT+CCID`, `AT+QGMR`.

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
        // The revision with the application version, e.g.
        // `EM12GPAR01A21M4G_02.001.02.001`, `BG770AGLAAR02A05_JP_01.200.01.200`.
        "+QGMR" => r.line(format!("{}{}", p.revision, p.qgmr_suffix)),
        "+CGSN" | "+GSN" => r.line(m.identity.imei.as_str()),
        "+CIMI" => {
            sim_available(m)?;
            r.line(m.identity.imsi.as_str());
        }
        "+QCCID" => {
            sim_available(m)?;
            r.line(format!("+QCCID: {}", m.identity.iccid));
        }
        // Particle's BG96/BG95/EG91 driver reads the ICCID this way:
        // `AT+CCID` → `+CCID: 89014103271407775244`.
        "+CCID" => {
            sim_available(m)?;
            r.line(format!("+CCID: {}", m.identity.iccid));
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// SIM data can be read once the SIM is initialised and powered.
pub(super) fn sim_available(m: &Modem) -> Result<(), Fail> {
    if m.device.cfun == 0 {
        Err(Fail::Cme(CmeError::SIM_FAILURE))
    } else if m.device.env.sim_removed {
        Err(Fail::Cme(CmeError::SIM_NOT_INSERTED))
    } else if !m.device.sim_ready {
        Err(Fail::Cme(CmeError::SIM_BUSY))
    } else {
        Ok(())
    }
}
