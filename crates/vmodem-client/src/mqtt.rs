//! Typed MQTT commands (note ch. 3): one method per AT+QMT command, each with the note's
//! maximum response time and argument ranges.
//!
//! Commands whose outcome is a URC (open, close, conn, disc, sub, uns, pub) send the command,
//! require `OK`, then wait for their URC (matched by client index, and msgID where there is
//! one). That URC is *also* delivered to the URC stream: a caller watching the stream sees
//! every URC, and the typed call returns the result. `result 1` (retransmission) lines are
//! counted and waiting goes on for the final one; a `+QMTSTAT` for the same client while
//! waiting for conn/sub/uns/pub ends the wait with [`Error::LinkClosed`].

use std::time::Duration;

use crate::basic::{first_params, unexpected};
use crate::client::{Client, PacketTiming, UrcWait, MQTT_CLIENTS};
use crate::codes::{CloseResult, ConnReturnCode, ConnState, OpenResult, PacketResult};
use crate::command::Command;
use crate::error::Error;
use crate::params::{int_at, parse_params, quote, str_at, Param};
use crate::recv::{self, Message, RecvLine};
use crate::urc::{PubForm, Urc};

/// MQTT protocol version for `AT+QMTCFG="version"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MqttVersion {
    /// 3: MQTT 3.1.
    V31,
    /// 4: MQTT 3.1.1.
    V311,
}

/// Where received messages go, for `AT+QMTCFG="recv/mode"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecvMode {
    /// 0: in the `+QMTRECV` URC.
    Urc,
    /// 1: into the module's buffers, announced by `+QMTRECV: <client>,<recv_id>`; read them
    /// with [`Client::qmt_recv_read`].
    Buffer,
}

/// Will message for `AT+QMTCFG="will"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Will {
    /// QoS 0–2.
    pub qos: u8,
    /// Retain flag.
    pub retain: bool,
    /// Will topic.
    pub topic: String,
    /// Will message (an AT string: no `"`, CR or LF; may be empty).
    pub message: String,
}

/// Outcome of a SUBSCRIBE, UNSUBSCRIBE or PUBLISH.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketOutcome {
    /// The final result: `Sent` or `Failed` (never `Retransmission`).
    pub result: PacketResult,
    /// Final `<value>`s: granted QoS per topic for a subscribe (128 = refused); empty otherwise.
    pub values: Vec<u32>,
    /// How many `result 1` (retransmission) URCs came before the final one.
    pub retransmissions: u32,
}

impl PacketOutcome {
    /// `true` if the packet was sent and acknowledged.
    pub fn is_sent(&self) -> bool {
        self.result == PacketResult::Sent
    }
}

/// Outcome of AT+QMTCONN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnOutcome {
    /// The final result: `Sent` (CONNACK received) or `Failed`.
    pub result: PacketResult,
    /// The broker's CONNACK return code, when one arrived.
    pub ret_code: Option<ConnReturnCode>,
    /// How many `result 1` URCs came before the final one.
    pub retransmissions: u32,
}

impl ConnOutcome {
    /// `true` if the broker accepted the connection.
    pub fn is_accepted(&self) -> bool {
        self.result == PacketResult::Sent && self.ret_code == Some(ConnReturnCode::Accepted)
    }
}

/// One line of `AT+QMTOPEN?`: an open network.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OpenStatus {
    /// `<client_idx>`.
    pub client: u8,
    /// `<host_name>`.
    pub host: String,
    /// `<port>`.
    pub port: u16,
}

/// One line of `AT+QMTRECV?`: which buffers of a client hold a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecvStatus {
    /// `<client_idx>`.
    pub client: u8,
    /// `<store_status_0..4>`: `true` if buffer *i* holds a message.
    pub stored: Vec<bool>,
}

/// The `(msg_id, result, values)` of one packet command's own result URC.
type Extract = fn(&Urc) -> Option<(u16, PacketResult, Vec<u32>)>;

fn invalid(argument: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        argument,
        reason: reason.into(),
    }
}

fn check_client(client: u8) -> Result<(), Error> {
    if usize::from(client) < MQTT_CLIENTS {
        Ok(())
    } else {
        Err(invalid(
            "client",
            format!("{client} is not a client index 0-5"),
        ))
    }
}

fn check_range(argument: &'static str, value: u32, min: u32, max: u32) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(invalid(argument, format!("{value} is outside {min}-{max}")))
    }
}

fn check_qos(qos: u8) -> Result<(), Error> {
    check_range("qos", qos.into(), 0, 2)
}

/// QoS 0 publishes use msgID 0, QoS 1/2 use 1–65535 (note ch. 3, AT+QMTPUBEX `<msgID>`).
fn check_pub_msg_id(qos: u8, msg_id: u16) -> Result<(), Error> {
    match (qos, msg_id) {
        (0, 0) => Ok(()),
        (0, _) => Err(invalid("msg_id", "must be 0 for a QoS 0 publish")),
        (_, 0) => Err(invalid("msg_id", "must be 1-65535 for a QoS 1/2 publish")),
        _ => Ok(()),
    }
}

/// Maximum response time of AT+QMTCFG (note ch. 3).
const CFG_TIMEOUT: Duration = Duration::from_millis(300);
/// Maximum response time of AT+QMTOPEN (note ch. 3).
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);
/// Maximum response time of AT+QMTCLOSE and AT+QMTDISC (note ch. 3).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

impl Client {
    async fn qmt_cfg(&self, client: u8, name: &str, args: &str) -> Result<(), Error> {
        check_client(client)?;
        let text = format!("AT+QMTCFG=\"{name}\",{client}{args}");
        self.command_ok(Command::new(text).with_documented_timeout(CFG_TIMEOUT))
            .await
            .map(drop)
    }

    /// `AT+QMTCFG="version",<client>,<vsn>`.
    pub async fn qmt_cfg_version(&self, client: u8, version: MqttVersion) -> Result<(), Error> {
        let vsn = match version {
            MqttVersion::V31 => 3,
            MqttVersion::V311 => 4,
        };
        self.qmt_cfg(client, "version", &format!(",{vsn}")).await
    }

    /// `AT+QMTCFG="pdpcid",<client>,<cid>` (cid 1–16).
    pub async fn qmt_cfg_pdpcid(&self, client: u8, cid: u8) -> Result<(), Error> {
        check_range("cid", cid.into(), 1, 16)?;
        self.qmt_cfg(client, "pdpcid", &format!(",{cid}")).await
    }

    /// `AT+QMTCFG="ssl",<client>,0` (`None`) or `…,1,<ctx>` (`Some(ctx)`, ctx 0–5; configure
    /// the context with AT+QSSLCFG first).
    pub async fn qmt_cfg_ssl(&self, client: u8, ssl_ctx: Option<u8>) -> Result<(), Error> {
        let args = match ssl_ctx {
            None => ",0".to_string(),
            Some(ctx) => {
                check_range("ssl_ctx", ctx.into(), 0, 5)?;
                format!(",1,{ctx}")
            }
        };
        self.qmt_cfg(client, "ssl", &args).await
    }

    /// `AT+QMTCFG="keepalive",<client>,<seconds>` (0–3600; 0 disables).
    pub async fn qmt_cfg_keepalive(&self, client: u8, seconds: u16) -> Result<(), Error> {
        check_range("seconds", seconds.into(), 0, 3600)?;
        self.qmt_cfg(client, "keepalive", &format!(",{seconds}"))
            .await
    }

    /// `AT+QMTCFG="session",<client>,<clean_session>`.
    pub async fn qmt_cfg_session(&self, client: u8, clean: bool) -> Result<(), Error> {
        self.qmt_cfg(client, "session", &format!(",{}", u8::from(clean)))
            .await
    }

    /// `AT+QMTCFG="timeout",<client>,<pkt_timeout>,<retry_times>,<timeout_notice>`
    /// (1–60 s, 0–10). The client remembers the values to time conn/sub/uns/pub results.
    pub async fn qmt_cfg_timeout(
        &self,
        client: u8,
        pkt_timeout: u8,
        retry_times: u8,
        timeout_notice: bool,
    ) -> Result<(), Error> {
        check_range("pkt_timeout", pkt_timeout.into(), 1, 60)?;
        check_range("retry_times", retry_times.into(), 0, 10)?;
        let args = format!(",{pkt_timeout},{retry_times},{}", u8::from(timeout_notice));
        self.qmt_cfg(client, "timeout", &args).await?;
        self.set_timing(
            client,
            PacketTiming {
                pkt_timeout,
                retry_times,
            },
        );
        Ok(())
    }

    /// `AT+QMTCFG="will",<client>,0` (`None`) or `…,1,<qos>,<retain>,"<topic>","<msg>"`.
    pub async fn qmt_cfg_will(&self, client: u8, will: Option<&Will>) -> Result<(), Error> {
        let args = match will {
            None => ",0".to_string(),
            Some(w) => {
                check_qos(w.qos)?;
                format!(
                    ",1,{},{},{},{}",
                    w.qos,
                    u8::from(w.retain),
                    quote("topic", &w.topic)?,
                    quote("message", &w.message)?
                )
            }
        };
        self.qmt_cfg(client, "will", &args).await
    }

    /// `AT+QMTCFG="recv/mode",<client>,<mode>,<length_in_urc>`. With `length_in_urc` the URC
    /// carries the payload length, the only binary-safe framing (see the crate docs).
    pub async fn qmt_cfg_recv_mode(
        &self,
        client: u8,
        mode: RecvMode,
        length_in_urc: bool,
    ) -> Result<(), Error> {
        let mode = match mode {
            RecvMode::Urc => 0,
            RecvMode::Buffer => 1,
        };
        let args = format!(",{mode},{}", u8::from(length_in_urc));
        self.qmt_cfg(client, "recv/mode", &args).await
    }

    /// `AT+QMTCFG="aliauth",<client>,"<product_key>","<device_name>","<device_secret>"`.
    pub async fn qmt_cfg_aliauth(
        &self,
        client: u8,
        product_key: &str,
        device_name: &str,
        device_secret: &str,
    ) -> Result<(), Error> {
        let args = format!(
            ",{},{},{}",
            quote("product_key", product_key)?,
            quote("device_name", device_name)?,
            quote("device_secret", device_secret)?
        );
        self.qmt_cfg(client, "aliauth", &args).await
    }

    /// `AT+QMTCFG="qmtping",<client>,<seconds>` (5–60, default 5): how long after a
    /// `+QMTPING: <client>,1` (no PINGRESP) the module reports `+QMTSTAT: <client>,2`.
    pub async fn qmt_cfg_qmtping(&self, client: u8, seconds: u8) -> Result<(), Error> {
        check_range("seconds", seconds.into(), 5, 60)?;
        self.qmt_cfg(client, "qmtping", &format!(",{seconds}"))
            .await
    }

    /// Queries one setting: `AT+QMTCFG="<name>",<client>` → the fields after the name in
    /// `+QMTCFG: "<name>",…` (e.g. `[Int(120)]` for `"keepalive"`). An unset `aliauth` gives
    /// no fields.
    pub async fn qmt_cfg_query(&self, client: u8, name: &str) -> Result<Vec<Param>, Error> {
        check_client(client)?;
        let text = format!("AT+QMTCFG={},{client}", quote("name", name)?);
        let resp = self
            .command_ok(Command::new(text.as_str()).with_documented_timeout(CFG_TIMEOUT))
            .await?;
        if resp.prefixed("+QMTCFG:").next().is_none() {
            return Ok(Vec::new());
        }
        let mut p = first_params(&resp, "+QMTCFG:", &text)?;
        match p.first() {
            Some(Param::Str(n)) if n.eq_ignore_ascii_case(name) => {
                p.remove(0);
                Ok(p)
            }
            _ => Err(unexpected(
                &text,
                format!("expected \"{name}\" first, got {p:?}"),
            )),
        }
    }

    /// `AT+QMTOPEN=<client>,"<host>",<port>`, then waits (up to 120 s, scaled) for
    /// `+QMTOPEN: <client>,<result>`. Failures the module reports are `Ok(result)`.
    pub async fn qmt_open(&self, client: u8, host: &str, port: u16) -> Result<OpenResult, Error> {
        check_client(client)?;
        check_range("port", port.into(), 1, 65535)?;
        let text = format!("AT+QMTOPEN={client},{},{port}", quote("host", host)?);
        let mut wait = self
            .command_then_urcs(
                Command::new(text),
                None,
                "+QMTOPEN",
                OPEN_TIMEOUT,
                move |u| matches!(u, Urc::QmtOpen { client: c, .. } if *c == client),
            )
            .await?;
        match wait.next().await? {
            Urc::QmtOpen { result, .. } => Ok(result),
            other => Err(wait.unexpected(format!("awaited +QMTOPEN, got {other}"))),
        }
    }

    /// `AT+QMTOPEN?`: the open networks.
    pub async fn qmt_open_status(&self) -> Result<Vec<OpenStatus>, Error> {
        let text = "AT+QMTOPEN?";
        let resp = self.command_ok(text).await?;
        let lines = resp
            .params("+QMTOPEN:")
            .map_err(|e| unexpected(text, e.to_string()))?;
        lines
            .into_iter()
            .map(|p| match (int_at(&p, 0), str_at(&p, 1), int_at(&p, 2)) {
                (Some(client), Some(host), Some(port)) => Ok(OpenStatus { client, host, port }),
                _ => Err(unexpected(text, format!("bad fields {p:?}"))),
            })
            .collect()
    }

    /// `AT+QMTCLOSE=<client>`, then waits (up to 30 s) for `+QMTCLOSE: <client>,<result>`.
    pub async fn qmt_close(&self, client: u8) -> Result<CloseResult, Error> {
        check_client(client)?;
        let mut wait = self
            .command_then_urcs(
                Command::new(format!("AT+QMTCLOSE={client}")),
                None,
                "+QMTCLOSE",
                CLOSE_TIMEOUT,
                move |u| matches!(u, Urc::QmtClose { client: c, .. } if *c == client),
            )
            .await?;
        match wait.next().await? {
            Urc::QmtClose { result, .. } => Ok(result),
            other => Err(wait.unexpected(format!("awaited +QMTCLOSE, got {other}"))),
        }
    }

    /// `AT+QMTCONN=<client>,"<client_id>"[,"<user>"[,"<pass>"]]`, then waits for
    /// `+QMTCONN: <client>,<result>[,<ret_code>]` (up to `pkt_timeout × (retry_times + 1)`).
    pub async fn qmt_conn(
        &self,
        client: u8,
        client_id: &str,
        user: Option<&str>,
        pass: Option<&str>,
    ) -> Result<ConnOutcome, Error> {
        check_client(client)?;
        let mut text = format!("AT+QMTCONN={client},{}", quote("client_id", client_id)?);
        match (user, pass) {
            (None, Some(_)) => {
                return Err(invalid(
                    "pass",
                    "a password needs a user name: the command has no slot for it alone",
                ))
            }
            (Some(user), pass) => {
                text.push(',');
                text.push_str(&quote("user", user)?);
                if let Some(pass) = pass {
                    text.push(',');
                    text.push_str(&quote("pass", pass)?);
                }
            }
            (None, None) => {}
        }
        let budget = self.timing(client).budget();
        let mut wait = self
            .command_then_urcs(
                Command::new(text).with_documented_timeout(budget),
                None,
                "+QMTCONN",
                budget,
                move |u| {
                    matches!(u, Urc::QmtConn { client: c, .. } | Urc::QmtStat { client: c, .. }
                        if *c == client)
                },
            )
            .await?;
        let mut retransmissions = 0;
        loop {
            match wait.next().await? {
                Urc::QmtConn {
                    result: PacketResult::Retransmission,
                    ..
                } => retransmissions += 1,
                Urc::QmtConn {
                    result, ret_code, ..
                } => {
                    return Ok(ConnOutcome {
                        result,
                        ret_code,
                        retransmissions,
                    })
                }
                Urc::QmtStat { code, .. } => return Err(Error::LinkClosed { client, code }),
                other => return Err(wait.unexpected(format!("awaited +QMTCONN, got {other}"))),
            }
        }
    }

    /// `AT+QMTCONN?`: the state of each open client.
    pub async fn qmt_conn_status(&self) -> Result<Vec<(u8, ConnState)>, Error> {
        let text = "AT+QMTCONN?";
        let resp = self.command_ok(text).await?;
        let lines = resp
            .params("+QMTCONN:")
            .map_err(|e| unexpected(text, e.to_string()))?;
        lines
            .into_iter()
            .map(|p| match (int_at(&p, 0), int_at(&p, 1)) {
                (Some(client), Some(state)) => Ok((client, ConnState::from_code(state))),
                _ => Err(unexpected(text, format!("bad fields {p:?}"))),
            })
            .collect()
    }

    /// `AT+QMTDISC=<client>`, then waits (up to 30 s) for `+QMTDISC: <client>,<result>`. The
    /// module then reports `+QMTSTAT: <client>,5` on the URC stream.
    pub async fn qmt_disc(&self, client: u8) -> Result<CloseResult, Error> {
        check_client(client)?;
        let mut wait = self
            .command_then_urcs(
                Command::new(format!("AT+QMTDISC={client}")),
                None,
                "+QMTDISC",
                CLOSE_TIMEOUT,
                move |u| matches!(u, Urc::QmtDisc { client: c, .. } if *c == client),
            )
            .await?;
        match wait.next().await? {
            Urc::QmtDisc { result, .. } => Ok(result),
            other => Err(wait.unexpected(format!("awaited +QMTDISC, got {other}"))),
        }
    }

    /// `AT+QMTSUB=<client>,<msg_id>,"<topic1>",<qos1>[,…]`, then waits for
    /// `+QMTSUB: <client>,<msg_id>,<result>[,<qos>…]`.
    pub async fn qmt_sub(
        &self,
        client: u8,
        msg_id: u16,
        topics: &[(&str, u8)],
    ) -> Result<PacketOutcome, Error> {
        check_client(client)?;
        check_range("msg_id", msg_id.into(), 1, 65535)?;
        if topics.is_empty() {
            return Err(invalid("topics", "subscribe to at least one topic"));
        }
        let mut text = format!("AT+QMTSUB={client},{msg_id}");
        for (topic, qos) in topics {
            check_qos(*qos)?;
            text.push_str(&format!(",{},{qos}", quote("topic", topic)?));
        }
        self.packet(client, msg_id, text, None, "+QMTSUB", |u| match u {
            Urc::QmtSub {
                msg_id,
                result,
                values,
                ..
            } => Some((*msg_id, *result, values.clone())),
            _ => None,
        })
        .await
    }

    /// `AT+QMTUNS=<client>,<msg_id>,"<topic1>"[,…]`, then waits for
    /// `+QMTUNS: <client>,<msg_id>,<result>`.
    pub async fn qmt_uns(
        &self,
        client: u8,
        msg_id: u16,
        topics: &[&str],
    ) -> Result<PacketOutcome, Error> {
        check_client(client)?;
        check_range("msg_id", msg_id.into(), 1, 65535)?;
        if topics.is_empty() {
            return Err(invalid("topics", "unsubscribe from at least one topic"));
        }
        let mut text = format!("AT+QMTUNS={client},{msg_id}");
        for topic in topics {
            text.push(',');
            text.push_str(&quote("topic", topic)?);
        }
        self.packet(client, msg_id, text, None, "+QMTUNS", |u| match u {
            Urc::QmtUns {
                msg_id,
                result,
                values,
                ..
            } => Some((*msg_id, *result, values.clone())),
            _ => None,
        })
        .await
    }

    /// `AT+QMTPUBEX=<client>,<msg_id>,<qos>,<retain>,"<topic>",<len>`, the payload after `> `,
    /// then waits for `+QMTPUBEX: <client>,<msg_id>,<result>`. The payload is binary-safe.
    /// Retransmissions (`result 1`) are counted in the outcome and visible on the URC stream.
    ///
    /// QoS 0 needs `msg_id` 0; QoS 1/2 need 1–65535. Concurrent QoS 0 publishes on one client
    /// cannot be told apart (all use msgID 0); await each before the next.
    pub async fn qmt_pubex(
        &self,
        client: u8,
        msg_id: u16,
        qos: u8,
        retain: bool,
        topic: &str,
        payload: &[u8],
    ) -> Result<PacketOutcome, Error> {
        check_client(client)?;
        check_qos(qos)?;
        check_pub_msg_id(qos, msg_id)?;
        let text = format!(
            "AT+QMTPUBEX={client},{msg_id},{qos},{},{},{}",
            u8::from(retain),
            quote("topic", topic)?,
            payload.len()
        );
        self.packet(
            client,
            msg_id,
            text,
            Some(payload.to_vec()),
            "+QMTPUBEX",
            |u| match u {
                Urc::QmtPub {
                    msg_id,
                    result,
                    value,
                    form: PubForm::PubEx,
                    ..
                } => Some((*msg_id, *result, value.iter().copied().collect())),
                _ => None,
            },
        )
        .await
    }

    /// `AT+QMTPUB=<client>,<msg_id>,<qos>,<retain>,"<topic>"`, the payload after `> ` ended by
    /// Ctrl-Z, then waits for `+QMTPUB: <client>,<msg_id>,<result>`. The payload must not
    /// contain Ctrl-Z or ESC; use [`Client::qmt_pubex`] for binary data.
    pub async fn qmt_pub_ctrl_z(
        &self,
        client: u8,
        msg_id: u16,
        qos: u8,
        retain: bool,
        topic: &str,
        payload: &[u8],
    ) -> Result<PacketOutcome, Error> {
        check_client(client)?;
        check_qos(qos)?;
        check_pub_msg_id(qos, msg_id)?;
        if payload.iter().any(|&b| b == 0x1a || b == 0x1b) {
            return Err(invalid(
                "payload",
                "contains Ctrl-Z or ESC, which end or cancel the data; use qmt_pubex",
            ));
        }
        let text = format!(
            "AT+QMTPUB={client},{msg_id},{qos},{},{}",
            u8::from(retain),
            quote("topic", topic)?
        );
        self.packet(
            client,
            msg_id,
            text,
            Some(payload.to_vec()),
            "+QMTPUB",
            |u| match u {
                Urc::QmtPub {
                    msg_id,
                    result,
                    value,
                    form: PubForm::Pub,
                    ..
                } => Some((*msg_id, *result, value.iter().copied().collect())),
                _ => None,
            },
        )
        .await
    }

    /// Sends a packet command and waits for its final result URC. `extract` picks the
    /// command's own URC kind and returns `(msg_id, result, values)`.
    async fn packet(
        &self,
        client: u8,
        msg_id: u16,
        text: String,
        payload: Option<Vec<u8>>,
        urc: &'static str,
        extract: Extract,
    ) -> Result<PacketOutcome, Error> {
        let budget = self.timing(client).budget();
        let filter = move |u: &Urc| match u {
            Urc::QmtStat { client: c, .. } => *c == client,
            u => u.client() == Some(client) && extract(u).is_some_and(|(m, ..)| m == msg_id),
        };
        let cmd = Command::new(text).with_documented_timeout(budget);
        let mut wait: UrcWait = self
            .command_then_urcs(cmd, payload, urc, budget, filter)
            .await?;
        let mut retransmissions = 0;
        loop {
            let next = wait.next().await?;
            if let Urc::QmtStat { code, .. } = next {
                return Err(Error::LinkClosed { client, code });
            }
            match extract(&next) {
                Some((_, PacketResult::Retransmission, _)) => retransmissions += 1,
                Some((_, result, values)) => {
                    let values = if result == PacketResult::Sent {
                        values
                    } else {
                        Vec::new()
                    };
                    return Ok(PacketOutcome {
                        result,
                        values,
                        retransmissions,
                    });
                }
                None => return Err(wait.unexpected(format!("awaited {urc}, got {next}"))),
            }
        }
    }

    /// `AT+QMTRECV=<client>[,<recv_id>]`: reads stored messages (`recv/mode` 1). Payloads are
    /// raw and binary-safe when the length is enabled in `recv/mode`.
    pub async fn qmt_recv_read(
        &self,
        client: u8,
        recv_id: Option<u8>,
    ) -> Result<Vec<Message>, Error> {
        check_client(client)?;
        let text = match recv_id {
            Some(id) => {
                check_range("recv_id", id.into(), 0, 4)?;
                format!("AT+QMTRECV={client},{id}")
            }
            None => format!("AT+QMTRECV={client}"),
        };
        let resp = self.command_ok(text.as_str()).await?;
        resp.lines
            .iter()
            .map(|line| match recv::parse_line(line) {
                Some(RecvLine::Message(m)) => Ok(m),
                _ => Err(unexpected(
                    &text,
                    format!("not a message line: {:?}", String::from_utf8_lossy(line)),
                )),
            })
            .collect()
    }

    /// `AT+QMTRECV?`: which buffers hold messages, per connected client.
    pub async fn qmt_recv_status(&self) -> Result<Vec<RecvStatus>, Error> {
        let text = "AT+QMTRECV?";
        let resp = self.command_ok(text).await?;
        resp.lines
            .iter()
            .map(|line| {
                let fields = crate::params::strip_prefix_ci(line, recv::PREFIX)
                    .and_then(|rest| std::str::from_utf8(rest).ok())
                    .and_then(|rest| parse_params(rest).ok());
                match fields.as_deref() {
                    Some([client, stored @ ..]) if !stored.is_empty() => {
                        let stored: Option<Vec<bool>> =
                            stored.iter().map(|p| p.as_int().map(|v| v != 0)).collect();
                        match (client.as_int().and_then(|c| u8::try_from(c).ok()), stored) {
                            (Some(client), Some(stored)) => Ok(RecvStatus { client, stored }),
                            _ => Err(unexpected(text, format!("bad fields {fields:?}"))),
                        }
                    }
                    _ => Err(unexpected(
                        text,
                        format!("bad line {:?}", String::from_utf8_lossy(line)),
                    )),
                }
            })
            .collect()
    }
}
