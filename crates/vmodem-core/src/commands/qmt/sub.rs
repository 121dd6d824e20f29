//! `AT+QMTSUB` and `AT+QMTUNS` (application note §3.2.6–3.2.7).

use vmodem_at::{Command, Form};
use vmodem_mqtt::{QoS, Subscribe, SubscribeFilter, Unsubscribe};

use super::super::{arg, arg_count, int_arg, CmdResult, Done, Fail, Reply};
use super::{client_arg, test_line, with_client};
use crate::modem::Modem;
use crate::mqtt::client::pending_packet;
use crate::mqtt::session::Pending;
use crate::time::Instant;

pub(super) fn sub(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(cmd, r, "+QMTSUB: (0-5), <msgid>,list of [\"topic\",qos]") {
        return done;
    }
    if !matches!(cmd.form, Form::Write(_)) {
        return Err(Fail::Error);
    }
    let c = client_arg(cmd, 0)?;
    let msg_id = int_arg(cmd, 1, 1..=65535)? as u16;
    let n = arg_count(cmd);
    if n < 4 || (n - 2) % 2 != 0 {
        return Err(Fail::Error);
    }
    let mut filters = Vec::with_capacity((n - 2) / 2);
    for i in (2..n).step_by(2) {
        let filter = arg(cmd, i).text()?.to_string();
        let qos = QoS::from_u8(int_arg(cmd, i + 1, 0..=2)? as u8).ok_or(Fail::Error)?;
        filters.push(SubscribeFilter { filter, qos });
    }
    request(
        m,
        now,
        c,
        Pending::Subscribe(Subscribe {
            pkid: msg_id,
            filters,
        }),
    )
}

pub(super) fn uns(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    if let Some(done) = test_line(cmd, r, "+QMTUNS: (0-5),<msgid>,list of [\"topic\"]") {
        return done;
    }
    if !matches!(cmd.form, Form::Write(_)) {
        return Err(Fail::Error);
    }
    let c = client_arg(cmd, 0)?;
    let msg_id = int_arg(cmd, 1, 1..=65535)? as u16;
    let n = arg_count(cmd);
    if n < 3 {
        return Err(Fail::Error);
    }
    let filters = (2..n)
        .map(|i| Ok(arg(cmd, i).text()?.to_string()))
        .collect::<Result<Vec<_>, Fail>>()?;
    request(
        m,
        now,
        c,
        Pending::Unsubscribe(Unsubscribe {
            pkid: msg_id,
            filters,
        }),
    )
}

/// Sends a SUBSCRIBE or UNSUBSCRIBE for client `c`, if it fits the client's state.
fn request(m: &mut Modem, now: Instant, c: usize, request: Pending) -> CmdResult {
    // A filter the codec refuses (empty, misplaced wildcard) is a wrong parameter.
    pending_packet(&request, false)
        .encoded_len()
        .map_err(|_| Fail::Error)?;
    let msg_id = request.msg_id();
    with_client(m, c, |client, sink| {
        if !client.can_send(msg_id) {
            return Err(Fail::Error);
        }
        client.request(now, request, sink);
        Ok(Done::Ok)
    })
}
