//! `AT+QMTOPEN`, `AT+QMTCLOSE`, `AT+QMTCONN`, `AT+QMTDISC` (application note
//! §3.2.2–3.2.5): the link, and the MQTT connection on it.

use vmodem_at::{Command, Form};

use super::super::{arg, arg_count, at_most, CmdResult, Done, Fail, Reply};
use super::{client_arg, test_line, with_client};
use crate::io::ModemEvent;
use crate::modem::Modem;
use crate::mqtt::{aliauth_sign, Link, OpenResult};
use crate::ssl::MissingFile;
use crate::time::Instant;

/// Longest `<host_name>` (application note: "The maximum size is 100 bytes").
const MAX_HOST: usize = 100;

pub(super) fn open(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(cmd, r, "+QMTOPEN: (0-5),\"hostname\",(1-65536)") {
        return done;
    }
    match &cmd.form {
        Form::Read => {
            for c in &m.mqtt.clients {
                if let Link::Open { host, port, .. } = &c.link {
                    r.line(format!("+QMTOPEN: {},\"{host}\",{port}", c.idx));
                }
            }
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    at_most(cmd, 3)?;
    let c = client_arg(cmd, 0)?;
    let host = arg(cmd, 1).text()?.to_string();
    let port = arg(cmd, 2).int()?;
    let client = &m.mqtt.clients[c];
    let refusal = if !matches!(client.link, Link::Closed) {
        Some(OpenResult::Occupied)
    } else if host.is_empty() || host.len() > MAX_HOST || !(1..=65535).contains(&port) {
        Some(OpenResult::WrongParameter)
    } else if !m
        .device
        .context(client.cfg.pdp_cid)
        .is_some_and(|ctx| ctx.active)
    {
        // module-behaviour.md, "PDP context": the context pdpcid names must be active.
        Some(OpenResult::PdpFailed)
    } else if m.dns_fails(&host) {
        // A dns_fail fault: "failed to parse domain name" (app note, +QMTOPEN <result> 4).
        Some(OpenResult::DnsFailed)
    } else {
        None
    };
    if let Some(result) = refusal {
        m.urc(format!("+QMTOPEN: {c},{}", result as i8));
        return Ok(Done::Ok);
    }
    let tls = match client.cfg.ssl {
        None => None,
        Some(ctx) => {
            let local_time = m.unix_ms(now);
            let settings = m.ssl.contexts[usize::from(ctx)].tls_settings(ctx, &m.files, local_time);
            match settings {
                Ok(settings) => Some(settings),
                // The CA certificate the security level needs is missing: the
                // handshake cannot succeed (crate::ssl, "Decision").
                Err(MissingFile(reason)) => {
                    m.emit(ModemEvent::OpenFailed {
                        client: c as u8,
                        reason,
                    });
                    m.urc(format!("+QMTOPEN: {c},{}", OpenResult::Failed as i8));
                    return Ok(Done::Ok);
                }
            }
        }
    };
    with_client(m, c, |client, sink| {
        client.open(now, host, port as u16, tls, sink)
    });
    Ok(Done::Ok)
}

pub(super) fn close(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(cmd, r, "+QMTCLOSE: (0-5)") {
        return done;
    }
    if !matches!(cmd.form, Form::Write(_)) {
        return Err(Fail::Error);
    }
    at_most(cmd, 1)?;
    let c = client_arg(cmd, 0)?;
    if matches!(m.mqtt.clients[c].link, Link::Closed) {
        return Err(Fail::Error);
    }
    with_client(m, c, |client, sink| client.close(sink));
    Ok(Done::Ok)
}

pub(super) fn conn(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(
        cmd,
        r,
        "+QMTCONN: (0-5),\"clientid\",\"username\",\"password\"",
    ) {
        return done;
    }
    match &cmd.form {
        Form::Read => {
            for c in &m.mqtt.clients {
                if let Some(conn) = c.conn() {
                    r.line(format!("+QMTCONN: {},{}", c.idx, conn.state.number()));
                }
            }
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    at_most(cmd, 4)?;
    let c = client_arg(cmd, 0)?;
    let mut client_id = arg(cmd, 1).text()?.to_string();
    let mut username = optional_text(cmd, 2)?;
    let mut password = optional_text(cmd, 3)?.map(String::into_bytes);
    if password.is_some() && username.is_none() {
        return Err(Fail::Error);
    }
    let client = &m.mqtt.clients[c];
    if let (Some(auth), None) = (&client.cfg.aliauth, &username) {
        // Note 5 of AT+QMTCFG: with aliauth set, user name and password may be omitted.
        let signed = aliauth_sign(
            auth,
            &client_id,
            m.unix_ms(now).max(0) as u64,
            client.cfg.ssl.is_some(),
        );
        client_id = signed.client_id;
        username = Some(signed.username);
        password = Some(signed.password.into_bytes());
    }
    with_client(m, c, |client, sink| {
        client.connect(now, client_id, username, password, sink)
    })
    .map_err(|()| Fail::Error)?;
    Ok(Done::Ok)
}

pub(super) fn disc(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(cmd, r, "+QMTDISC: (0-5)") {
        return done;
    }
    if !matches!(cmd.form, Form::Write(_)) {
        return Err(Fail::Error);
    }
    at_most(cmd, 1)?;
    let c = client_arg(cmd, 0)?;
    with_client(m, c, |client, sink| client.disconnect(now, sink)).map_err(|()| Fail::Error)?;
    Ok(Done::Ok)
}

/// An optional string parameter: omitted → `None`.
fn optional_text(cmd: &Command, i: usize) -> Result<Option<String>, Fail> {
    if i >= arg_count(cmd) || arg(cmd, i).is_empty() {
        Ok(None)
    } else {
        Ok(Some(arg(cmd, i).text()?.to_string()))
    }
}
