//! `AT+QMTRECV` (application note §3.2.9): reading messages kept in buffer mode.

use vmodem_at::{Command, Form};

use super::super::{arg_count, at_most, opt_int_arg, CmdResult, Done, Fail, Reply};
use super::client_arg;
use crate::modem::Modem;
use crate::mqtt::SLOTS;
use crate::time::Instant;

pub(super) fn recv(m: &mut Modem, _now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {}
        Form::Read => {
            // "If there is no MQTT connection, response: OK".
            for c in &m.mqtt.clients {
                if c.conn().is_some() {
                    r.line(format!("+QMTRECV: {},{}", c.idx, c.slots.status()));
                }
            }
        }
        Form::Write(_) => {
            at_most(cmd, 2)?;
            let c = client_arg(cmd, 0)?;
            let recv_id = if arg_count(cmd) == 2 {
                Some(opt_int_arg(cmd, 1, 0..=(SLOTS as i64 - 1), 0)? as usize)
            } else {
                None
            };
            let client = &mut m.mqtt.clients[c];
            // "If there is no MQTT connection, response: ERROR".
            if client.conn().is_none() {
                return Err(Fail::Error);
            }
            let with_length = client.cfg.recv_with_length;
            for msg in client.slots.take(recv_id) {
                r.line(msg.line(c as u8, with_length));
            }
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}
