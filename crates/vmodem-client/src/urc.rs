//! Unsolicited result codes: the typed [`Urc`] enum and its line parser.
//!
//! MQTT URCs are listed in the note's ch. 4 (`+QMTSTAT`, `+QMTRECV`, `+QMTPING`); the results of
//! AT+QMTOPEN/CLOSE/CONN/DISC/SUB/UNS/PUB(EX) also arrive as URCs after the command's `OK`
//! (note ch. 2, figure 1, and each command's "Response" in ch. 3). Boot and network URCs
//! (`RDY`, `+CFUN`, `+CPIN`, `+CREG`/`+CGREG`/`+CEREG`, `POWERED DOWN`) come from the module
//! notes. A known URC whose fields do not parse is reported as [`Urc::Other`] with its text,
//! never dropped.

use std::fmt;

use crate::codes::{CloseResult, ConnReturnCode, OpenResult, PacketResult, PingResult, StatCode};
use crate::params::{int_at, parse_params, str_at, Param};
use crate::recv::{self, RecvLine};

/// Which AT command a `+QMTPUB`-style result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PubForm {
    /// `+QMTPUB:`, the result of AT+QMTPUB (Ctrl-Z form).
    Pub,
    /// `+QMTPUBEX:`, the result of AT+QMTPUBEX (fixed-length form).
    PubEx,
}

/// Which registration URC: circuit-switched, GPRS or EPS (3GPP TS 27.007 §7.2, §10.1.20,
/// §10.1.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegKind {
    /// `+CREG`.
    Creg,
    /// `+CGREG`.
    Cgreg,
    /// `+CEREG`.
    Cereg,
}

impl RegKind {
    /// The command name without `AT`, e.g. `+CEREG`.
    pub fn name(self) -> &'static str {
        match self {
            RegKind::Creg => "+CREG",
            RegKind::Cgreg => "+CGREG",
            RegKind::Cereg => "+CEREG",
        }
    }
}

/// `<stat>` of the registration URCs and read commands (27.007 §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RegStat {
    /// 0: not registered, not searching.
    NotRegistered,
    /// 1: registered, home network.
    Home,
    /// 2: not registered, searching.
    Searching,
    /// 3: registration denied.
    Denied,
    /// 4: unknown.
    Unknown,
    /// 5: registered, roaming.
    Roaming,
    /// Any other value (SMS-only and emergency states, newer codes).
    Other(u8),
}

impl RegStat {
    /// Maps the integer the module sent.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => RegStat::NotRegistered,
            1 => RegStat::Home,
            2 => RegStat::Searching,
            3 => RegStat::Denied,
            4 => RegStat::Unknown,
            5 => RegStat::Roaming,
            other => RegStat::Other(other),
        }
    }

    /// The integer the module uses for this state.
    pub fn code(self) -> u8 {
        match self {
            RegStat::NotRegistered => 0,
            RegStat::Home => 1,
            RegStat::Searching => 2,
            RegStat::Denied => 3,
            RegStat::Unknown => 4,
            RegStat::Roaming => 5,
            RegStat::Other(other) => other,
        }
    }

    /// `true` for home (1) or roaming (5): what firmware polls for before opening MQTT.
    pub fn is_registered(self) -> bool {
        matches!(self, RegStat::Home | RegStat::Roaming)
    }
}

/// A registration state report: the URC form `+CEREG: <stat>[,<tac>,<ci>[,<AcT>]]`, or the
/// fields after `<n>` in a read response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Registration {
    /// Which registration this is.
    pub kind: RegKind,
    /// `<stat>`.
    pub stat: RegStat,
    /// `<lac>` or `<tac>`, as the hex string sent, when reported (mode 2).
    pub area: Option<String>,
    /// `<ci>`, as the hex string sent, when reported (mode 2).
    pub cell: Option<String>,
    /// `<AcT>`, when reported.
    pub act: Option<u8>,
}

impl Registration {
    /// Builds from the fields starting at `<stat>`.
    pub(crate) fn from_params(kind: RegKind, params: &[Param]) -> Option<Self> {
        Some(Registration {
            kind,
            stat: RegStat::from_code(int_at(params, 0)?),
            area: str_at(params, 1),
            cell: str_at(params, 2),
            act: int_at(params, 3),
        })
    }
}

/// SIM state as `+CPIN: <code>` reports it (27.007 §8.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SimState {
    /// `READY`: no PIN needed.
    Ready,
    /// `SIM PIN`: enter the PIN with AT+CPIN="…".
    SimPin,
    /// `SIM PUK`.
    SimPuk,
    /// `PH-SIM PIN`.
    PhSimPin,
    /// `SIM PIN2`.
    SimPin2,
    /// `SIM PUK2`.
    SimPuk2,
    /// Anything else, as sent (`NOT READY`, `NOT INSERTED` on some firmware).
    Other(String),
}

impl SimState {
    /// The text the module uses, e.g. `READY`, `SIM PIN`.
    pub fn as_str(&self) -> &str {
        match self {
            SimState::Ready => "READY",
            SimState::SimPin => "SIM PIN",
            SimState::SimPuk => "SIM PUK",
            SimState::PhSimPin => "PH-SIM PIN",
            SimState::SimPin2 => "SIM PIN2",
            SimState::SimPuk2 => "SIM PUK2",
            SimState::Other(text) => text,
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text.trim() {
            "READY" => SimState::Ready,
            "SIM PIN" => SimState::SimPin,
            "SIM PUK" => SimState::SimPuk,
            "PH-SIM PIN" => SimState::PhSimPin,
            "SIM PIN2" => SimState::SimPin2,
            "SIM PUK2" => SimState::SimPuk2,
            other => SimState::Other(other.to_string()),
        }
    }
}

/// An unsolicited result code from the module.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Urc {
    /// `+QMTOPEN: <client_idx>,<result>`: outcome of AT+QMTOPEN.
    QmtOpen {
        /// `<client_idx>`.
        client: u8,
        /// `<result>`.
        result: OpenResult,
    },
    /// `+QMTCLOSE: <client_idx>,<result>`: outcome of AT+QMTCLOSE.
    QmtClose {
        /// `<client_idx>`.
        client: u8,
        /// `<result>`.
        result: CloseResult,
    },
    /// `+QMTCONN: <client_idx>,<result>[,<ret_code>]`: outcome of AT+QMTCONN.
    QmtConn {
        /// `<client_idx>`.
        client: u8,
        /// `<result>`.
        result: PacketResult,
        /// `<ret_code>`: the broker's CONNACK code, present when a CONNACK arrived.
        ret_code: Option<ConnReturnCode>,
    },
    /// `+QMTDISC: <client_idx>,<result>`: outcome of AT+QMTDISC.
    QmtDisc {
        /// `<client_idx>`.
        client: u8,
        /// `<result>`.
        result: CloseResult,
    },
    /// `+QMTSUB: <client_idx>,<msgID>,<result>[,<value>…]`: outcome of AT+QMTSUB.
    QmtSub {
        /// `<client_idx>`.
        client: u8,
        /// `<msgID>`.
        msg_id: u16,
        /// `<result>`.
        result: PacketResult,
        /// `<value>`s: the granted QoS of each topic when `result` is `Sent` (128 = refused),
        /// the retransmission count when it is `Retransmission`, empty when `Failed`.
        values: Vec<u32>,
    },
    /// `+QMTUNS: <client_idx>,<msgID>,<result>[,<value>…]`: outcome of AT+QMTUNS.
    QmtUns {
        /// `<client_idx>`.
        client: u8,
        /// `<msgID>`.
        msg_id: u16,
        /// `<result>`.
        result: PacketResult,
        /// `<value>`s, as for [`Urc::QmtSub`].
        values: Vec<u32>,
    },
    /// `+QMTPUB:` or `+QMTPUBEX: <client_idx>,<msgID>,<result>[,<value>]`: outcome of a publish.
    QmtPub {
        /// `<client_idx>`.
        client: u8,
        /// `<msgID>`.
        msg_id: u16,
        /// `<result>`.
        result: PacketResult,
        /// `<value>`: the retransmission count when `result` is `Retransmission`.
        value: Option<u32>,
        /// Whether the line was `+QMTPUB` or `+QMTPUBEX`.
        form: PubForm,
    },
    /// `+QMTSTAT: <client_idx>,<err_code>`: the MQTT link changed state and the client is closed
    /// (note ch. 4, table 3 says what to do for each code).
    QmtStat {
        /// `<client_idx>`.
        client: u8,
        /// `<err_code>`.
        code: StatCode,
    },
    /// `+QMTPING: <client_idx>,<result>`: keep-alive failed.
    QmtPing {
        /// `<client_idx>`.
        client: u8,
        /// `<result>`.
        result: PingResult,
    },
    /// `+QMTRECV: <client_idx>,<msgID>,"<topic>",[<len>,]"<payload>"`: a message received in
    /// URC mode (`recv/mode` 0).
    QmtRecv {
        /// `<client_idx>`.
        client: u8,
        /// `<msgID>` (0 for QoS 0).
        msg_id: u16,
        /// `<topic>`.
        topic: String,
        /// `<payload>`, raw bytes.
        payload: Vec<u8>,
    },
    /// `+QMTRECV: <client_idx>,<recv_id>`: a message was stored in buffer `recv_id`
    /// (`recv/mode` 1); read it with AT+QMTRECV.
    QmtRecvStored {
        /// `<client_idx>`.
        client: u8,
        /// `<recv_id>`, 0–4.
        recv_id: u8,
    },
    /// `RDY`: the module has (re)started and accepts AT commands.
    Ready,
    /// `POWERED DOWN`: the module is switching off (AT+QPOWD).
    PoweredDown,
    /// `+CREG`, `+CGREG` or `+CEREG` in URC form.
    Registration(Registration),
    /// `+CFUN: <fun>` (at boot, after a reset).
    Cfun {
        /// `<fun>`: 0 minimum, 1 full, 4 flight mode.
        fun: u8,
    },
    /// `+CPIN: <code>` (at boot).
    Cpin(SimState),
    /// Any other line, as text: `+QUSIM: 1`, `+QIND: SMS DONE`, or a known URC whose fields did
    /// not parse.
    Other(String),
}

impl Urc {
    /// The MQTT `<client_idx>` this URC is about, if any.
    pub fn client(&self) -> Option<u8> {
        match self {
            Urc::QmtOpen { client, .. }
            | Urc::QmtClose { client, .. }
            | Urc::QmtConn { client, .. }
            | Urc::QmtDisc { client, .. }
            | Urc::QmtSub { client, .. }
            | Urc::QmtUns { client, .. }
            | Urc::QmtPub { client, .. }
            | Urc::QmtStat { client, .. }
            | Urc::QmtPing { client, .. }
            | Urc::QmtRecv { client, .. }
            | Urc::QmtRecvStored { client, .. } => Some(*client),
            _ => None,
        }
    }

    /// Parses a complete line (without terminator). `None` for lines that are not text (binary
    /// noise, control characters), which the digester discards as garbage.
    pub(crate) fn parse(line: &[u8]) -> Option<Urc> {
        if crate::params::strip_prefix_ci(line, recv::PREFIX).is_some() {
            return Some(match recv::parse_line(line) {
                Some(RecvLine::Message(m)) => Urc::QmtRecv {
                    client: m.client,
                    msg_id: m.msg_id,
                    topic: m.topic,
                    payload: m.payload,
                },
                Some(RecvLine::Stored { client, recv_id }) => {
                    Urc::QmtRecvStored { client, recv_id }
                }
                _ => Urc::Other(String::from_utf8_lossy(line).into_owned()),
            });
        }
        let text = std::str::from_utf8(line).ok()?;
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return None;
        }
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(Self::parse_text(text).unwrap_or_else(|| Urc::Other(text.to_string())))
    }

    fn parse_text(text: &str) -> Option<Urc> {
        match text {
            "RDY" => return Some(Urc::Ready),
            "POWERED DOWN" => return Some(Urc::PoweredDown),
            _ => {}
        }
        let (name, rest) = text.split_once(':')?;
        let name = name.trim().to_ascii_uppercase();
        if name == "+CPIN" {
            return Some(Urc::Cpin(SimState::parse(rest)));
        }
        let p = parse_params(rest).ok()?;
        let client = || int_at::<u8>(&p, 0);
        let msg_id = || int_at::<u16>(&p, 1);
        let ints_from = |i: usize| -> Option<Vec<u32>> {
            p.get(i..)
                .unwrap_or_default()
                .iter()
                .map(|v| v.as_int().and_then(|v| u32::try_from(v).ok()))
                .collect()
        };
        let urc = match name.as_str() {
            "+QMTOPEN" if p.len() == 2 => Urc::QmtOpen {
                client: client()?,
                result: OpenResult::from_code(int_at(&p, 1)?),
            },
            "+QMTCLOSE" if p.len() == 2 => Urc::QmtClose {
                client: client()?,
                result: CloseResult::from_code(int_at(&p, 1)?),
            },
            "+QMTDISC" if p.len() == 2 => Urc::QmtDisc {
                client: client()?,
                result: CloseResult::from_code(int_at(&p, 1)?),
            },
            "+QMTCONN" if (2..=3).contains(&p.len()) => Urc::QmtConn {
                client: client()?,
                result: PacketResult::from_code(int_at(&p, 1)?),
                ret_code: match p.get(2) {
                    None => None,
                    Some(_) => Some(ConnReturnCode::from_code(int_at(&p, 2)?)),
                },
            },
            "+QMTSUB" if p.len() >= 3 => Urc::QmtSub {
                client: client()?,
                msg_id: msg_id()?,
                result: PacketResult::from_code(int_at(&p, 2)?),
                values: ints_from(3)?,
            },
            "+QMTUNS" if p.len() >= 3 => Urc::QmtUns {
                client: client()?,
                msg_id: msg_id()?,
                result: PacketResult::from_code(int_at(&p, 2)?),
                values: ints_from(3)?,
            },
            "+QMTPUB" | "+QMTPUBEX" if (3..=4).contains(&p.len()) => Urc::QmtPub {
                client: client()?,
                msg_id: msg_id()?,
                result: PacketResult::from_code(int_at(&p, 2)?),
                value: match p.get(3) {
                    None => None,
                    Some(_) => Some(int_at(&p, 3)?),
                },
                form: if name == "+QMTPUB" {
                    PubForm::Pub
                } else {
                    PubForm::PubEx
                },
            },
            "+QMTSTAT" if p.len() == 2 => Urc::QmtStat {
                client: client()?,
                code: StatCode::from_code(int_at(&p, 1)?),
            },
            "+QMTPING" if p.len() == 2 => Urc::QmtPing {
                client: client()?,
                result: PingResult::from_code(int_at(&p, 1)?),
            },
            "+CREG" => Urc::Registration(Registration::from_params(RegKind::Creg, &p)?),
            "+CGREG" => Urc::Registration(Registration::from_params(RegKind::Cgreg, &p)?),
            "+CEREG" => Urc::Registration(Registration::from_params(RegKind::Cereg, &p)?),
            "+CFUN" if p.len() == 1 => Urc::Cfun {
                fun: int_at(&p, 0)?,
            },
            _ => return None,
        };
        Some(urc)
    }
}

/// The line as the module writes it (`+QMTSTAT: 0,1`, `RDY`), rebuilt from the typed fields.
///
/// A `+QMTRECV` message is shown with its length field and its payload escaped where it is not
/// printable ASCII (`\r`, `\n`, `\t`, `\\`, `\xNN`), so the text stays on one line; compare
/// payloads as bytes instead. A registration shows the fields it has.
impl fmt::Display for Urc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values =
            |f: &mut fmt::Formatter<'_>, v: &[u32]| v.iter().try_for_each(|x| write!(f, ",{x}"));
        match self {
            Urc::QmtOpen { client, result } => write!(f, "+QMTOPEN: {client},{}", result.code()),
            Urc::QmtClose { client, result } => {
                write!(f, "+QMTCLOSE: {client},{}", result.code())
            }
            Urc::QmtDisc { client, result } => write!(f, "+QMTDISC: {client},{}", result.code()),
            Urc::QmtConn {
                client,
                result,
                ret_code,
            } => {
                write!(f, "+QMTCONN: {client},{}", result.code())?;
                match ret_code {
                    Some(code) => write!(f, ",{}", code.code()),
                    None => Ok(()),
                }
            }
            Urc::QmtSub {
                client,
                msg_id,
                result,
                values: v,
            } => {
                write!(f, "+QMTSUB: {client},{msg_id},{}", result.code())?;
                values(f, v)
            }
            Urc::QmtUns {
                client,
                msg_id,
                result,
                values: v,
            } => {
                write!(f, "+QMTUNS: {client},{msg_id},{}", result.code())?;
                values(f, v)
            }
            Urc::QmtPub {
                client,
                msg_id,
                result,
                value,
                form,
            } => {
                let name = match form {
                    PubForm::Pub => "+QMTPUB",
                    PubForm::PubEx => "+QMTPUBEX",
                };
                write!(f, "{name}: {client},{msg_id},{}", result.code())?;
                match value {
                    Some(v) => write!(f, ",{v}"),
                    None => Ok(()),
                }
            }
            Urc::QmtStat { client, code } => write!(f, "+QMTSTAT: {client},{}", code.code()),
            Urc::QmtPing { client, result } => write!(f, "+QMTPING: {client},{}", result.code()),
            Urc::QmtRecv {
                client,
                msg_id,
                topic,
                payload,
            } => {
                write!(
                    f,
                    "+QMTRECV: {client},{msg_id},\"{topic}\",{},\"",
                    payload.len()
                )?;
                for &b in payload {
                    match b {
                        b'\\' => f.write_str("\\\\")?,
                        b'\r' => f.write_str("\\r")?,
                        b'\n' => f.write_str("\\n")?,
                        b'\t' => f.write_str("\\t")?,
                        0x20..=0x7e => write!(f, "{}", char::from(b))?,
                        _ => write!(f, "\\x{b:02x}")?,
                    }
                }
                f.write_str("\"")
            }
            Urc::QmtRecvStored { client, recv_id } => write!(f, "+QMTRECV: {client},{recv_id}"),
            Urc::Ready => f.write_str("RDY"),
            Urc::PoweredDown => f.write_str("POWERED DOWN"),
            Urc::Registration(r) => {
                write!(f, "{}: {}", r.kind.name(), r.stat.code())?;
                if r.area.is_some() || r.cell.is_some() {
                    let quoted = |v: &Option<String>| {
                        v.as_ref().map(|v| format!("\"{v}\"")).unwrap_or_default()
                    };
                    write!(f, ",{},{}", quoted(&r.area), quoted(&r.cell))?;
                }
                match r.act {
                    Some(act) if r.area.is_some() || r.cell.is_some() => write!(f, ",{act}"),
                    Some(act) => write!(f, ",,,{act}"),
                    None => Ok(()),
                }
            }
            Urc::Cfun { fun } => write!(f, "+CFUN: {fun}"),
            Urc::Cpin(state) => write!(f, "+CPIN: {}", state.as_str()),
            Urc::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_urc_parses() {
        let reg = |kind, stat, area: Option<&str>, cell: Option<&str>, act| {
            Urc::Registration(Registration {
                kind,
                stat,
                area: area.map(Into::into),
                cell: cell.map(Into::into),
                act,
            })
        };
        let table: Vec<(&[u8], Option<Urc>)> = vec![
            (
                b"+QMTOPEN: 0,0",
                Some(Urc::QmtOpen {
                    client: 0,
                    result: OpenResult::Opened,
                }),
            ),
            (
                b"+QMTOPEN: 1,-1",
                Some(Urc::QmtOpen {
                    client: 1,
                    result: OpenResult::FailedToOpen,
                }),
            ),
            (
                b"+QMTCLOSE: 0,0",
                Some(Urc::QmtClose {
                    client: 0,
                    result: CloseResult::Closed,
                }),
            ),
            (
                b"+QMTCONN: 0,0,0",
                Some(Urc::QmtConn {
                    client: 0,
                    result: PacketResult::Sent,
                    ret_code: Some(ConnReturnCode::Accepted),
                }),
            ),
            (
                b"+QMTCONN: 0,2",
                Some(Urc::QmtConn {
                    client: 0,
                    result: PacketResult::Failed,
                    ret_code: None,
                }),
            ),
            (
                b"+QMTDISC: 5,-1",
                Some(Urc::QmtDisc {
                    client: 5,
                    result: CloseResult::Failed,
                }),
            ),
            (
                b"+QMTSUB: 0,1,0,2",
                Some(Urc::QmtSub {
                    client: 0,
                    msg_id: 1,
                    result: PacketResult::Sent,
                    values: vec![2],
                }),
            ),
            (
                b"+QMTSUB: 0,1,0,1,128",
                Some(Urc::QmtSub {
                    client: 0,
                    msg_id: 1,
                    result: PacketResult::Sent,
                    values: vec![1, 128],
                }),
            ),
            (
                b"+QMTUNS: 0,2,0",
                Some(Urc::QmtUns {
                    client: 0,
                    msg_id: 2,
                    result: PacketResult::Sent,
                    values: vec![],
                }),
            ),
            (
                b"+QMTPUBEX: 0,1,1,2",
                Some(Urc::QmtPub {
                    client: 0,
                    msg_id: 1,
                    result: PacketResult::Retransmission,
                    value: Some(2),
                    form: PubForm::PubEx,
                }),
            ),
            (
                b"+QMTPUB: 0,0,0",
                Some(Urc::QmtPub {
                    client: 0,
                    msg_id: 0,
                    result: PacketResult::Sent,
                    value: None,
                    form: PubForm::Pub,
                }),
            ),
            (
                b"+QMTSTAT: 0,1",
                Some(Urc::QmtStat {
                    client: 0,
                    code: StatCode::ClosedByPeer,
                }),
            ),
            (
                b"+QMTSTAT: 0,8",
                Some(Urc::QmtStat {
                    client: 0,
                    code: StatCode::Unknown(8),
                }),
            ),
            (
                b"+QMTPING: 0,1",
                Some(Urc::QmtPing {
                    client: 0,
                    result: PingResult::Failed,
                }),
            ),
            (
                b"+QMTRECV: 0,0,\"topic/example\",36,\"This is the payload related to topic\"",
                Some(Urc::QmtRecv {
                    client: 0,
                    msg_id: 0,
                    topic: "topic/example".into(),
                    payload: b"This is the payload related to topic".to_vec(),
                }),
            ),
            (
                b"+QMTRECV: 0,4",
                Some(Urc::QmtRecvStored {
                    client: 0,
                    recv_id: 4,
                }),
            ),
            (b"RDY", Some(Urc::Ready)),
            (b"POWERED DOWN", Some(Urc::PoweredDown)),
            (b"+CFUN: 1", Some(Urc::Cfun { fun: 1 })),
            (b"+CPIN: READY", Some(Urc::Cpin(SimState::Ready))),
            (b"+CPIN: SIM PIN", Some(Urc::Cpin(SimState::SimPin))),
            (b"+QUSIM: 1", Some(Urc::Other("+QUSIM: 1".into()))),
            (
                b"+QIND: SMS DONE",
                Some(Urc::Other("+QIND: SMS DONE".into())),
            ),
            (b"+QIND: PB DONE", Some(Urc::Other("+QIND: PB DONE".into()))),
            (
                b"+CREG: 1",
                Some(reg(RegKind::Creg, RegStat::Home, None, None, None)),
            ),
            (
                b"+CGREG: 5,\"1A2B\",\"01A2B3C4\",7",
                Some(reg(
                    RegKind::Cgreg,
                    RegStat::Roaming,
                    Some("1A2B"),
                    Some("01A2B3C4"),
                    Some(7),
                )),
            ),
            (
                b"+CEREG: 2",
                Some(reg(RegKind::Cereg, RegStat::Searching, None, None, None)),
            ),
            // Malformed known URCs are kept as text.
            (b"+QMTSTAT: x", Some(Urc::Other("+QMTSTAT: x".into()))),
            (
                b"+QMTOPEN: 0,0,9",
                Some(Urc::Other("+QMTOPEN: 0,0,9".into())),
            ),
            (b"RING", Some(Urc::Other("RING".into()))),
            // Not text: garbage.
            (b"\xff\xfe", None),
            (b"a\x07b", None),
        ];
        for (line, want) in table {
            assert_eq!(
                Urc::parse(line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
            // Display gives the line back, but for the length a +QMTRECV always shows.
            if let Some(urc) = want {
                let shown = urc.to_string();
                let recv_without_length = matches!(urc, Urc::QmtRecv { .. })
                    && !shown.starts_with(&*String::from_utf8_lossy(line));
                if !recv_without_length && !matches!(urc, Urc::Other(_)) {
                    assert_eq!(Urc::parse(shown.as_bytes()), Some(urc), "{shown}");
                }
            }
        }
    }

    #[test]
    fn display_is_the_wire_form() {
        for line in [
            "+QMTOPEN: 0,-1",
            "+QMTCONN: 1,0,5",
            "+QMTCONN: 1,2",
            "+QMTSUB: 0,1,0,1,128",
            "+QMTPUBEX: 0,3,1,2",
            "+QMTPUB: 0,0,0",
            "+QMTSTAT: 2,8",
            "+QMTRECV: 0,3",
            "+QMTRECV: 0,1,\"t/a\",5,\"he\"lo\"",
            "+CEREG: 1",
            "+CEREG: 5,\"1A2B\",\"0C3D4E5\",7",
            "+CREG: 2,,,7",
            "+CFUN: 1",
            "+CPIN: NOT READY",
            "RDY",
            "POWERED DOWN",
            "+QIND: PB DONE",
        ] {
            assert_eq!(Urc::parse(line.as_bytes()).unwrap().to_string(), line);
        }
        let binary = Urc::QmtRecv {
            client: 0,
            msg_id: 0,
            topic: "t".into(),
            payload: b"a\r\n\\\x00".to_vec(),
        };
        assert_eq!(
            binary.to_string(),
            "+QMTRECV: 0,0,\"t\",5,\"a\\r\\n\\\\\\x00\""
        );
    }

    #[test]
    fn client_accessor() {
        assert_eq!(Urc::parse(b"+QMTSTAT: 3,1").unwrap().client(), Some(3));
        assert_eq!(Urc::Ready.client(), None);
    }
}
