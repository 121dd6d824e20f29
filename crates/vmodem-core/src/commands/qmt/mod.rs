//! The MQTT commands of the application note (chapter 3): one file per
//! family. They check parameters, then hand the work to the client state
//! machines in [`crate::mqtt`]; results come later as URCs.
//!
//! Parameters that are not numbers or strings where the note says so, or a
//! `<client_idx>` outside 0–5, answer `ERROR`; a command that does not fit the
//! client's state (`AT+QMTCONN` before `+QMTOPEN: c,0`, `AT+QMTSUB` before
//! `+QMTCONN: c,0,0`, a full in-flight window) answers `ERROR` too
//! (docs/decisions.md, "MQTT command errors").

mod cfg;
mod link;
mod publish;
mod recv;
mod sub;

use vmodem_at::{Command, Form, Name};

pub(crate) use publish::PublishTarget;

use super::{int_arg, CmdResult, DataInput, Fail, Reply};
use crate::modem::Modem;
use crate::mqtt::{Client, Sink};
use crate::time::Instant;

pub(super) fn execute(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    match name.as_str() {
        "+QMTCFG" => cfg::qmtcfg(m, cmd, r),
        "+QMTOPEN" => link::open(m, now, cmd, r),
        "+QMTCLOSE" => link::close(m, cmd, r),
        "+QMTCONN" => link::conn(m, now, cmd, r),
        "+QMTDISC" => link::disc(m, now, cmd, r),
        "+QMTSUB" => sub::sub(m, now, cmd, r),
        "+QMTUNS" => sub::uns(m, now, cmd, r),
        "+QMTPUBEX" => publish::pubex(m, now, cmd, r),
        "+QMTPUB" => publish::publish(m, cmd, r),
        "+QMTRECV" => recv::recv(m, now, cmd, r),
        _ => Err(Fail::Error),
    }
}

pub(super) fn complete_data(
    m: &mut Modem,
    now: Instant,
    target: PublishTarget,
    input: DataInput,
    r: &mut Reply,
) -> CmdResult {
    publish::complete(m, now, target, input, r)
}

/// `<client_idx>`, 0–5.
fn client_arg(cmd: &Command, i: usize) -> Result<usize, Fail> {
    Ok(int_arg(cmd, i, 0..=5)? as usize)
}

/// Runs `f` on client `c` with a sink into the rest of the module.
fn with_client<R>(m: &mut Modem, c: usize, f: impl FnOnce(&mut Client, &mut Sink<'_>) -> R) -> R {
    let Modem {
        mqtt,
        engine,
        net,
        radio,
        ..
    } = m;
    let shaped = radio.is_some();
    let mut sink = Sink {
        engine,
        net,
        shaped,
    };
    f(&mut mqtt.clients[c], &mut sink)
}

/// The test form's answer of the QMT commands other than `AT+QMTCFG`: one line
/// directly followed by `OK`, with no empty line between — as the note's
/// chapter 5 examples and the bench capture (`AT+QMTOPEN=?`) show.
fn test_line(cmd: &Command, r: &mut Reply, line: &str) -> Option<CmdResult> {
    if cmd.form == Form::Test {
        r.line(line);
        r.glue_result = true;
        Some(Ok(super::Done::Ok))
    } else {
        None
    }
}
