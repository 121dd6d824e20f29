//! PDP contexts: `AT+CGDCONT`, `AT+CGACT`, `AT+CGPADDR`, `AT+CGEREP`
//! (27.007 §10.1), and Quectel's `AT+QICSGP`, `AT+QIACT`, `AT+QIDEACT`,
//! `AT+QIDNSCFG`, `AT+QIGETERROR` (TCP/IP AT manual).
//!
//! `AT+CGDCONT` and `AT+QICSGP` describe the same contexts; the MQTT client
//! later uses the context its `pdpcid` names.

use std::net::IpAddr;

use vmodem_at::{CmeError, Command, Form, Name};

use super::{arg, arg_count, at_most, int_arg, opt_int_arg, CmdResult, Done, Fail, Reply};
use crate::device::{Device, PdpContext, DEFAULT_DNS};
use crate::modem::Modem;
use crate::time::Instant;

pub(super) fn execute(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    let _ = now;
    let tcpip = match name.as_str() {
        "+CGDCONT" => return cgdcont(m, cmd, r),
        "+CGACT" => return cgact(m, cmd, r),
        "+CGPADDR" => return cgpaddr(m, cmd, r),
        "+CGEREP" => return cgerep(m, cmd, r),
        "+QIGETERROR" => return qigeterror(m, cmd, r),
        "+QICSGP" | "+QIACT" | "+QIDEACT" | "+QIDNSCFG" => name.as_str(),
        _ => return Err(Fail::Error),
    };
    // The TCP/IP commands leave their error for AT+QIGETERROR: 0 on success,
    // the code a handler chose, or 552 "invalid parameters".
    m.device.ip_error = UNSET;
    let result = match tcpip {
        "+QICSGP" => qicsgp(m, cmd, r),
        "+QIACT" => qiact(m, cmd, r),
        "+QIDEACT" => qideact(m, cmd, r),
        _ => qidnscfg(m, cmd, r),
    };
    m.device.ip_error = match (&result, m.device.ip_error) {
        (Ok(_), _) => 0,
        (Err(_), UNSET) => CmeError::IP_INVALID_PARAMETERS.code(),
        (Err(_), code) => code,
    };
    result
}

/// Marks `Device::ip_error` while a TCP/IP command runs.
const UNSET: u16 = u16::MAX;

/// `AT+QIGETERROR`: `+QIGETERROR: <err>,<description>` for the last TCP/IP
/// command, the description as the TCP/IP manual's table words it
/// (logs: `+QIGETERROR: 0,operate successfully`, `552,invalid parameters`).
fn qigeterror(m: &Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Exec => {
            let code = m.device.ip_error;
            let text = if code == 0 {
                "operate successfully"
            } else {
                CmeError::from_code(code).text()
            };
            r.line(format!("+QIGETERROR: {code},{text}"));
        }
        Form::Test => {}
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+CGPADDR[=<cid>[,<cid>…]]`: `+CGPADDR: <cid>,"<ip>"` for an active
/// context, `+CGPADDR: <cid>` for a defined but inactive one; without cids,
/// every defined context.
fn cgpaddr(m: &Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let line = |cid: u8, ctx: &PdpContext| {
        if ctx.active {
            format!(
                "+CGPADDR: {cid},\"{}\"",
                Device::context_ip(m.config.instance, cid)
            )
        } else {
            format!("+CGPADDR: {cid}")
        }
    };
    match &cmd.form {
        Form::Exec => {
            for (cid, ctx) in m.device.defined_contexts() {
                r.line(line(cid, ctx));
            }
        }
        Form::Write(_) => {
            for i in 0..arg_count(cmd) {
                let cid = cid_arg(cmd, i)?;
                let ctx = m.device.context(cid).filter(|c| c.defined);
                r.line(line(cid, ctx.ok_or(Fail::Error)?));
            }
        }
        Form::Test => {
            let cids: Vec<String> = m
                .device
                .defined_contexts()
                .map(|(cid, _)| cid.to_string())
                .collect();
            r.line(format!("+CGPADDR: ({})", cids.join(",")));
        }
        Form::Read => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+CGEREP=[<mode>[,<bfr>]]`: packet domain event reporting. Remembered;
/// the module sends no `+CGEV` reports (docs/decisions.md).
fn cgerep(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!(
            "+CGEREP: {},{}",
            m.device.cgerep.0, m.device.cgerep.1
        )),
        Form::Test => r.line("+CGEREP: (0-2),(0,1)"),
        Form::Write(_) => {
            at_most(cmd, 2)?;
            let mode = opt_int_arg(cmd, 0, 0..=2, 0)? as u8;
            let bfr = opt_int_arg(cmd, 1, 0..=1, 0)? as u8;
            m.device.cgerep = (mode, bfr);
        }
        Form::Exec => m.device.cgerep = (0, 0),
    }
    Ok(Done::Ok)
}

const PDP_TYPES: [&str; 4] = ["IP", "IPV6", "IPV4V6", "PPP"];

fn cid_arg(cmd: &Command, i: usize) -> Result<u8, Fail> {
    Ok(int_arg(cmd, i, 1..=16)? as u8)
}

/// `<context_type>` of AT+QICSGP/AT+QIACT: 1 IPv4, 2 IPv6, 3 IPv4v6.
fn context_type(ctx: &PdpContext) -> u8 {
    match ctx.pdp_type {
        "IPV6" => 2,
        "IPV4V6" => 3,
        _ => 1,
    }
}

fn cgdcont(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            for (cid, ctx) in m.device.defined_contexts() {
                r.line(format!(
                    "+CGDCONT: {cid},\"{}\",\"{}\",\"0.0.0.0\",0,0,0,0",
                    ctx.pdp_type, ctx.apn
                ));
            }
        }
        Form::Test => {
            for t in PDP_TYPES {
                r.line(format!(
                    "+CGDCONT: (1-16),\"{t}\",,,(0-3),(0-4),(0,1),(0,1)"
                ));
            }
        }
        Form::Write(_) => {
            at_most(cmd, 8)?;
            let cid = cid_arg(cmd, 0)?;
            let ctx = m.device.context_mut(cid).ok_or(Fail::Error)?;
            if arg_count(cmd) == 1 {
                // 27.007: a cid alone undefines the context.
                if ctx.active {
                    return Err(Fail::Cme(vmodem_at::CmeError::OPERATION_NOT_ALLOWED));
                }
                *ctx = PdpContext::default();
                return Ok(Done::Ok);
            }
            let pdp_type = pdp_type(arg(cmd, 1).text()?)?;
            let apn = opt_text(cmd, 2)?;
            opt_text(cmd, 3)?;
            for i in 4..8 {
                opt_int_arg(cmd, i, 0..=4, 0)?;
            }
            ctx.defined = true;
            ctx.pdp_type = pdp_type;
            ctx.apn = apn;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

fn pdp_type(text: &str) -> Result<&'static str, Fail> {
    PDP_TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(text))
        .ok_or(Fail::Error)
}

fn opt_text(cmd: &Command, i: usize) -> Result<String, Fail> {
    let a = arg(cmd, i);
    if a.is_empty() {
        Ok(String::new())
    } else {
        Ok(a.text()?.to_string())
    }
}

/// `AT+QICSGP=<cid>[,<type>,"<apn>"[,"<user>","<password>"[,<auth>]]]`; the
/// cid alone queries.
fn qicsgp(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => r.line("+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3)"),
        Form::Write(_) => {
            at_most(cmd, 6)?;
            let cid = cid_arg(cmd, 0)?;
            let ctx = m.device.context_mut(cid).ok_or(Fail::Error)?;
            if arg_count(cmd) == 1 {
                r.line(format!(
                    "+QICSGP: {},\"{}\",\"{}\",\"{}\",{}",
                    context_type(ctx),
                    ctx.apn,
                    ctx.user,
                    ctx.password,
                    ctx.auth
                ));
                return Ok(Done::Ok);
            }
            let kind = int_arg(cmd, 1, 1..=3)?;
            let apn = arg(cmd, 2).text()?.to_string();
            let user = opt_text(cmd, 3)?;
            let password = opt_text(cmd, 4)?;
            let auth = opt_int_arg(cmd, 5, 0..=3, 0)? as u8;
            if ctx.active {
                return Err(Fail::Error);
            }
            ctx.defined = true;
            ctx.pdp_type = ["IP", "IPV6", "IPV4V6"][kind as usize - 1];
            ctx.apn = apn;
            ctx.user = user;
            ctx.password = password;
            ctx.auth = auth;
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+QIACT=<cid>` activates a context; module-behaviour.md **decision**:
/// activating one that is already active answers `ERROR`, as does activating
/// without a network or an undefined context.
fn qiact(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            for (cid, ctx) in m.device.defined_contexts().filter(|(_, c)| c.active) {
                r.line(format!(
                    "+QIACT: {cid},1,{},\"{}\"",
                    context_type(ctx),
                    Device::context_ip(m.config.instance, cid)
                ));
            }
        }
        Form::Test => r.line("+QIACT: (1-16)"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let cid = cid_arg(cmd, 0)?;
            activate(m, cid)?;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

fn activate(m: &mut Modem, cid: u8) -> Result<(), Fail> {
    let attached = m.device.attached();
    let ctx = m.device.context_mut(cid).ok_or(Fail::Error)?;
    if ctx.active || !ctx.defined || !attached {
        m.device.ip_error = CmeError::IP_PDP_OPEN_FAILED.code();
        return Err(Fail::Error);
    }
    ctx.active = true;
    Ok(())
}

fn qideact(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => r.line("+QIDEACT: (1-16)"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let cid = cid_arg(cmd, 0)?;
            if let Some(ctx) = m.device.context_mut(cid) {
                ctx.active = false;
            }
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+CGACT=<state>,<cid>` (27.007 §10.1.10), and its read form.
fn cgact(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            for (cid, ctx) in m.device.defined_contexts() {
                r.line(format!("+CGACT: {cid},{}", u8::from(ctx.active)));
            }
        }
        Form::Test => r.line("+CGACT: (0,1)"),
        Form::Write(_) => {
            at_most(cmd, 2)?;
            let state = int_arg(cmd, 0, 0..=1)?;
            let cid = cid_arg(cmd, 1)?;
            if state == 1 {
                let ctx = m.device.context(cid).ok_or(Fail::Error)?;
                if !ctx.active {
                    activate(m, cid)?;
                }
            } else if let Some(ctx) = m.device.context_mut(cid) {
                ctx.active = false;
            }
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+QIDNSCFG=<cid>[,"<pri>"[,"<sec>"]]`; the cid alone queries.
fn qidnscfg(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => r.line("+QIDNSCFG: (1-16),<pridnsaddr>,<secdnsaddr>"),
        Form::Write(_) => {
            at_most(cmd, 3)?;
            let cid = cid_arg(cmd, 0)?;
            if arg_count(cmd) == 1 {
                let ctx = m.device.context(cid).ok_or(Fail::Error)?;
                let (pri, sec) = match &ctx.dns {
                    Some((p, s)) => (p.as_str(), s.as_str()),
                    None => DEFAULT_DNS,
                };
                r.line(format!("+QIDNSCFG: {cid},\"{pri}\",\"{sec}\""));
                return Ok(Done::Ok);
            }
            let pri = ip_text(cmd, 1)?;
            let sec = if arg(cmd, 2).is_empty() {
                "0.0.0.0".to_string()
            } else {
                ip_text(cmd, 2)?
            };
            m.device.context_mut(cid).ok_or(Fail::Error)?.dns = Some((pri, sec));
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

fn ip_text(cmd: &Command, i: usize) -> Result<String, Fail> {
    let text = arg(cmd, i).text()?;
    text.parse::<IpAddr>().map_err(|_| Fail::Error)?;
    Ok(text.to_string())
}
