//! `AT+QMTCFG`: optional parameters of each client (application note §3.2.1).

use bytes::Bytes;
use vmodem_at::{Command, Form};
use vmodem_mqtt::{Protocol, QoS};

use super::super::{arg, arg_count, at_most, int_arg, opt_int_arg, CmdResult, Done, Fail, Reply};
use super::client_arg;
use crate::modem::Modem;
use crate::mqtt::{AliAuth, Link, WillConfig};

const TEST: [&str; 10] = [
    "+QMTCFG: \"version\",(0-5),(3,4)",
    "+QMTCFG: \"pdpcid\",(0-5),(1-16)",
    "+QMTCFG: \"ssl\",(0-5),(0,1),(0-5)",
    "+QMTCFG: \"keepalive\",(0-5),(0-3600)",
    "+QMTCFG: \"session\",(0-5),(0,1)",
    "+QMTCFG: \"timeout\",(0-5),(1-60),(1-10),(0,1)",
    "+QMTCFG: \"will\",(0-5),(0,1),(0-2),(0,1),\"willtopic\",\"willmessage\"",
    "+QMTCFG: \"recv/mode\",(0-5),(0,1),(0,1)",
    "+QMTCFG: \"aliauth\",(0-5),\"productkey\",\"devicename\",\"devicesecret\"",
    "+QMTCFG: \"qmtping\",(0-5),(5-60)",
];

const NAMES: [&str; 10] = [
    "version",
    "pdpcid",
    "ssl",
    "keepalive",
    "session",
    "timeout",
    "will",
    "recv/mode",
    "aliauth",
    "qmtping",
];

pub(super) fn qmtcfg(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {
            for line in TEST {
                r.line(line);
            }
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    let asked = arg(cmd, 0).text()?;
    let name = NAMES
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(asked))
        .ok_or(Fail::Error)?;
    let c = client_arg(cmd, 1)?;
    let client = &mut m.mqtt.clients[c];
    let cfg = &mut client.cfg;
    if arg_count(cmd) == 2 {
        let line = match name {
            "version" => format!("{}", cfg.protocol.level()),
            "pdpcid" => format!("{}", cfg.pdp_cid),
            "ssl" => match cfg.ssl {
                Some(ctx) => format!("1,{ctx}"),
                None => "0".to_string(),
            },
            "keepalive" => format!("{}", cfg.keepalive),
            "session" => format!("{}", u8::from(cfg.clean_session)),
            "timeout" => format!(
                "{},{},{}",
                cfg.pkt_timeout,
                cfg.retry_times,
                u8::from(cfg.timeout_notice)
            ),
            "will" => match &cfg.will {
                Some(w) => format!(
                    "1,{},{},\"{}\",\"{}\"",
                    w.qos.as_u8(),
                    u8::from(w.retain),
                    w.topic,
                    String::from_utf8_lossy(&w.message)
                ),
                None => "0".to_string(),
            },
            "recv/mode" => format!(
                "{},{}",
                u8::from(cfg.recv_buffered),
                u8::from(cfg.recv_with_length)
            ),
            "aliauth" => match &cfg.aliauth {
                Some(a) => format!(
                    "\"{}\",\"{}\",\"{}\"",
                    a.product_key, a.device_name, a.device_secret
                ),
                // Nothing configured: the bracketed line is left out.
                None => return Ok(Done::Ok),
            },
            _ => format!("{}", cfg.qmtping),
        };
        r.line(format!("+QMTCFG: \"{name}\",{line}"));
        return Ok(Done::Ok);
    }
    // "If MQTT connection is not established ... OK. Else ... ERROR."
    if !matches!(client.link, Link::Closed) {
        return Err(Fail::Error);
    }
    let cfg = &mut client.cfg;
    let int = |i: usize, range: core::ops::RangeInclusive<i64>| int_arg(cmd, i, range);
    match name {
        "version" => {
            at_most(cmd, 3)?;
            cfg.protocol = if int(2, 3..=4)? == 3 {
                Protocol::V31
            } else {
                Protocol::V311
            };
        }
        "pdpcid" => {
            at_most(cmd, 3)?;
            cfg.pdp_cid = int(2, 1..=16)? as u8;
        }
        "ssl" => {
            at_most(cmd, 4)?;
            let enable = int(2, 0..=1)? == 1;
            let ctx = if enable {
                Some(int(3, 0..=5)? as u8)
            } else {
                opt_int_arg(cmd, 3, 0..=5, 0)?;
                None
            };
            cfg.ssl = ctx;
        }
        "keepalive" => {
            at_most(cmd, 3)?;
            cfg.keepalive = int(2, 0..=3600)? as u16;
        }
        "session" => {
            at_most(cmd, 3)?;
            cfg.clean_session = int(2, 0..=1)? == 1;
        }
        "timeout" => {
            at_most(cmd, 5)?;
            let pkt = int(2, 1..=60)? as u8;
            let retry = opt_int_arg(cmd, 3, 0..=10, i64::from(cfg.retry_times))? as u8;
            let notice = opt_int_arg(cmd, 4, 0..=1, i64::from(cfg.timeout_notice))? == 1;
            (cfg.pkt_timeout, cfg.retry_times, cfg.timeout_notice) = (pkt, retry, notice);
        }
        "will" => {
            at_most(cmd, 7)?;
            if int(2, 0..=1)? == 0 {
                cfg.will = None;
            } else {
                let qos = QoS::from_u8(int(3, 0..=2)? as u8).ok_or(Fail::Error)?;
                let retain = int(4, 0..=1)? == 1;
                let topic = arg(cmd, 5).text()?.to_string();
                if topic.is_empty() || topic.contains(['+', '#']) {
                    return Err(Fail::Error);
                }
                let message = Bytes::copy_from_slice(arg(cmd, 6).str()?);
                cfg.will = Some(WillConfig {
                    qos,
                    retain,
                    topic,
                    message,
                });
            }
        }
        "recv/mode" => {
            at_most(cmd, 4)?;
            let buffered = int(2, 0..=1)? == 1;
            let with_length = opt_int_arg(cmd, 3, 0..=1, 0)? == 1;
            (cfg.recv_buffered, cfg.recv_with_length) = (buffered, with_length);
        }
        "aliauth" => {
            at_most(cmd, 5)?;
            let text = |i: usize| -> Result<String, Fail> {
                let t = arg(cmd, i).text()?;
                if t.is_empty() {
                    return Err(Fail::Error);
                }
                Ok(t.to_string())
            };
            cfg.aliauth = Some(AliAuth {
                product_key: text(2)?,
                device_name: text(3)?,
                device_secret: text(4)?,
            });
        }
        _ => {
            at_most(cmd, 3)?;
            cfg.qmtping = int(2, 5..=60)? as u8;
        }
    }
    Ok(Done::Ok)
}
