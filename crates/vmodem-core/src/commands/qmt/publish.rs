//! Publishing, in the three dialects of module-behaviour.md, as the model
//! profile allows them:
//! - `AT+QMTPUBEX=c,m,q,r,"topic",len`, then exactly `len` bytes after `> `
//!   (EC2x; application note §3.2.8);
//! - `AT+QMTPUB=c,m,q,r,"topic"`, then data ended by Ctrl-Z, ESC cancelling,
//!   and its fixed-length variant `AT+QMTPUB=c,m,q,r,"topic",len`;
//! - `AT+QMTPUBEX=c,m,q,r,"topic","payload"` with the payload inline (BG96,
//!   BG95), reported by `+QMTPUB:` as a BG95-M3 log shows.

use core::time::Duration;

use vmodem_at::{Arg, Command, Form};
use vmodem_mqtt::{Publish, QoS};

use super::super::{
    arg, arg_count, int_arg, CmdResult, DataEnd, DataEntry, DataInput, DataTarget, Done, Fail,
    Reply,
};
use super::{client_arg, test_line, with_client};
use crate::model::PublishUrc;
use crate::modem::Modem;
use crate::mqtt::PubCommand;
use crate::time::Instant;

/// Most payload bytes one publish takes (AT+QMTPUBEX note 2).
pub(crate) const MAX_PAYLOAD: usize = 1500;

/// How long the module waits for the next payload byte after `> `.
/// The note gives no figure; docs/decisions.md, "Data entry timeout".
const DATA_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// A publish waiting for its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublishTarget {
    client: usize,
    command: PubCommand,
    msg_id: u16,
    qos: QoS,
    retain: bool,
    topic: String,
}

/// Reads and checks `c,msgid,qos,retain,"topic"`; the client must have room.
fn header(m: &Modem, cmd: &Command, command: PubCommand) -> Result<PublishTarget, Fail> {
    let client = client_arg(cmd, 0)?;
    let msg_id = int_arg(cmd, 1, 0..=65535)? as u16;
    let qos = QoS::from_u8(int_arg(cmd, 2, 0..=2)? as u8).ok_or(Fail::Error)?;
    let retain = int_arg(cmd, 3, 0..=1)? == 1;
    let topic = arg(cmd, 4).text()?.to_string();
    // "<msgID> ... It will be 0 only when <qos>=0."
    if (qos == QoS::AtMostOnce) != (msg_id == 0) {
        return Err(Fail::Error);
    }
    if topic.is_empty() || topic.contains(['+', '#']) || topic.contains('\0') {
        return Err(Fail::Error);
    }
    if !m.mqtt.clients[client].can_send(msg_id) {
        return Err(Fail::Error);
    }
    Ok(PublishTarget {
        client,
        command,
        msg_id,
        qos,
        retain,
        topic,
    })
}

fn prompt(target: PublishTarget, end: DataEnd) -> CmdResult {
    Ok(Done::Prompt(DataEntry {
        prompt: b"\r\n> ".to_vec(),
        end,
        echo: true,
        idle_timeout: DATA_IDLE_TIMEOUT,
        target: DataTarget::Publish(target),
    }))
}

fn length(cmd: &Command, i: usize) -> Result<usize, Fail> {
    Ok(int_arg(cmd, i, 0..=MAX_PAYLOAD as i64)? as usize)
}

pub(super) fn pubex(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let dialects = m.config.model.profile().publish;
    // The test form advertises only the forms this model's write accepts.
    let test = format!("+QMTPUBEX: {}", dialects.pubex_test);
    if let Some(done) = test_line(cmd, r, &test) {
        return done;
    }
    if !matches!(cmd.form, Form::Write(_)) || arg_count(cmd) != 6 {
        return Err(Fail::Error);
    }
    // EC2x report a publish by AT+QMTPUBEX as +QMTPUBEX, BG9x as +QMTPUB.
    let urc = match dialects.pubex_urc {
        PublishUrc::QmtPubEx => PubCommand::PubEx,
        PublishUrc::QmtPub => PubCommand::Pub,
    };
    match arg(cmd, 5) {
        Arg::Token(_) if dialects.pubex_fixed_length => {
            let target = header(m, cmd, urc)?;
            prompt(target, DataEnd::Fixed(length(cmd, 5)?))
        }
        Arg::Str(inline) if dialects.pubex_inline => {
            if inline.len() > MAX_PAYLOAD {
                return Err(Fail::Error);
            }
            let data = inline.clone();
            let target = header(m, cmd, urc)?;
            send(m, now, target, data)
        }
        _ => Err(Fail::Error),
    }
}

pub(super) fn publish(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(cmd, r, "+QMTPUB: (0-5),<msgid>,(0-2),(0,1),\"topic\"") {
        return done;
    }
    if !matches!(cmd.form, Form::Write(_)) || !m.config.model.profile().publish.pub_ctrl_z {
        return Err(Fail::Error);
    }
    let end = match arg_count(cmd) {
        5 => DataEnd::CtrlZ { max: MAX_PAYLOAD },
        6 => DataEnd::Fixed(length(cmd, 5)?),
        _ => return Err(Fail::Error),
    };
    let target = header(m, cmd, PubCommand::Pub)?;
    prompt(target, end)
}

pub(super) fn complete(
    m: &mut Modem,
    now: Instant,
    target: PublishTarget,
    input: DataInput,
    _r: &mut Reply,
) -> CmdResult {
    match input {
        DataInput::Complete(data) => send(m, now, target, data),
        // ESC: nothing is sent (as for SMS text entry, 27.005 §3.5.1).
        DataInput::Cancelled => Ok(Done::Ok),
        DataInput::TimedOut => Err(Fail::Error),
    }
}

fn send(m: &mut Modem, now: Instant, t: PublishTarget, data: Vec<u8>) -> CmdResult {
    let packet = Publish {
        dup: false,
        qos: t.qos,
        retain: t.retain,
        topic: t.topic,
        pkid: t.msg_id,
        payload: data.into(),
    };
    with_client(m, t.client, |client, sink| {
        // The link may have dropped while the host was typing.
        if !client.can_send(t.msg_id) {
            return Err(Fail::Error);
        }
        client.publish(now, t.command, packet, sink);
        Ok(Done::Ok)
    })
}
