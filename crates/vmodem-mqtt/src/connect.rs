//! CONNECT (MQTT 3.1 "CONNECT – Client requests a connection to a server",
//! MQTT 3.1.1 §3.1).

use bytes::{BufMut, Bytes};

use crate::error::{DecodeError, EncodeError};
use crate::protocol::{Protocol, QoS};
use crate::topic::check_topic_name;
use crate::wire::{binary_len, put_binary, string_len, Reader};

/// Connect flags byte bits (§3.1.2.3, Figure 3.4; 3.1 "Connect flags").
mod flag {
    pub(super) const RESERVED: u8 = 0x01;
    pub(super) const CLEAN_SESSION: u8 = 0x02;
    pub(super) const WILL: u8 = 0x04;
    pub(super) const WILL_QOS_SHIFT: u8 = 3;
    pub(super) const WILL_QOS_MASK: u8 = 0x18;
    pub(super) const WILL_RETAIN: u8 = 0x20;
    pub(super) const PASSWORD: u8 = 0x40;
    pub(super) const USERNAME: u8 = 0x80;
}

/// The first packet a client sends.
///
/// No field is checked against a server's policy: a 3.1 client identifier outside
/// 1–23 characters, or an empty 3.1.1 one without clean session, encodes and
/// decodes here, and it is the server's job to answer CONNACK 0x02 (MQTT 3.1
/// "Client Identifier"; 3.1.1 §3.1.3.1 [MQTT-3.1.3-8]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Revision; decides the protocol name and level written.
    pub protocol: Protocol,
    /// Client identifier (may be empty; see above).
    pub client_id: String,
    /// Clean session flag (§3.1.2.4).
    pub clean_session: bool,
    /// Keep alive in seconds; 0 turns keep alive off (§3.1.2.10).
    pub keep_alive: u16,
    /// Will message, published by the server if the connection drops (§3.1.2.5).
    pub will: Option<Will>,
    /// User name (§3.1.3.4).
    pub username: Option<String>,
    /// Password. Binary data in 3.1.1 (§3.1.3.5); a string in 3.1, but carried as
    /// bytes in both since the length-prefixed encoding is the same. The encoder
    /// refuses it without a user name, in both revisions (see the crate documentation).
    pub password: Option<Vec<u8>>,
}

/// Will message of a CONNECT (§3.1.2.5–§3.1.2.7, §3.1.3.2–§3.1.3.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Will topic: a topic name, so non-empty and without wildcards.
    pub topic: String,
    /// Will message. Binary in 3.1.1; 3.1 calls it a string but encodes it the same.
    pub payload: Bytes,
    /// QoS the will is published with.
    pub qos: QoS,
    /// Whether the will is retained.
    pub retain: bool,
}

impl Connect {
    /// Checks the fields and returns the remaining length.
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        let mut len = 2 + self.protocol.name().len() + 1 + 1 + 2;
        len += string_len("client_id", &self.client_id)?;
        if let Some(will) = &self.will {
            check_topic_name(&will.topic)?;
            len += string_len("will topic", &will.topic)?;
            len += binary_len("will payload", &will.payload)?;
        }
        if let Some(username) = &self.username {
            len += string_len("username", username)?;
        }
        if let Some(password) = &self.password {
            if self.username.is_none() {
                return Err(EncodeError::PasswordWithoutUsername);
            }
            len += binary_len("password", password)?;
        }
        Ok(len)
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.clean_session {
            flags |= flag::CLEAN_SESSION;
        }
        if let Some(will) = &self.will {
            flags |= flag::WILL | (will.qos.as_u8() << flag::WILL_QOS_SHIFT);
            if will.retain {
                flags |= flag::WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= flag::USERNAME;
        }
        if self.password.is_some() {
            flags |= flag::PASSWORD;
        }
        flags
    }

    /// Writes the variable header and payload; [`Connect::body_len`] has passed.
    pub(crate) fn write_body<B: BufMut>(&self, out: &mut B) {
        put_binary(out, self.protocol.name().as_bytes());
        out.put_u8(self.protocol.level());
        out.put_u8(self.flags());
        out.put_u16(self.keep_alive);
        put_binary(out, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            put_binary(out, will.topic.as_bytes());
            put_binary(out, &will.payload);
        }
        if let Some(username) = &self.username {
            put_binary(out, username.as_bytes());
        }
        if let Some(password) = &self.password {
            put_binary(out, password);
        }
    }

    /// Reads a CONNECT body. The revision comes from the packet's own protocol
    /// name and level, not from the caller: a server learns it here.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Connect, DecodeError> {
        let protocol = match r.binary()? {
            b"MQTT" => Protocol::V311,
            b"MQIsdp" => Protocol::V31,
            other => return Err(DecodeError::InvalidProtocolName(other.to_vec())),
        };
        let level = r.u8()?;
        if level != protocol.level() {
            return Err(DecodeError::UnsupportedProtocolLevel(level));
        }
        let flags = r.u8()?;
        let has_will = flags & flag::WILL != 0;
        let has_username = flags & flag::USERNAME != 0;
        let has_password = flags & flag::PASSWORD != 0;
        // 3.1 has no rule for these combinations and real 3.1 servers ignore them;
        // 3.1.1 makes each one malformed (see the crate documentation).
        if protocol == Protocol::V311 {
            if flags & flag::RESERVED != 0 {
                return Err(DecodeError::ReservedConnectFlag);
            }
            if !has_will && flags & (flag::WILL_QOS_MASK | flag::WILL_RETAIN) != 0 {
                return Err(DecodeError::WillFlagsWithoutWill(flags));
            }
            if has_password && !has_username {
                return Err(DecodeError::PasswordWithoutUsername);
            }
        }
        let will_qos = if has_will {
            let bits = (flags & flag::WILL_QOS_MASK) >> flag::WILL_QOS_SHIFT;
            Some(QoS::from_u8(bits).ok_or(DecodeError::InvalidQoS(bits))?)
        } else {
            None
        };
        let keep_alive = r.u16()?;
        let client_id = r.string()?.to_owned();
        let will = match will_qos {
            Some(qos) => {
                let topic = r.string()?;
                check_topic_name(topic)?;
                let payload = Bytes::copy_from_slice(r.binary()?);
                Some(Will {
                    topic: topic.to_owned(),
                    payload,
                    qos,
                    retain: flags & flag::WILL_RETAIN != 0,
                })
            }
            None => None,
        };
        let username = if has_username {
            Some(r.string()?.to_owned())
        } else {
            None
        };
        let password = if has_password {
            Some(r.binary()?.to_vec())
        } else {
            None
        };
        Ok(Connect {
            protocol,
            client_id,
            clean_session: flags & flag::CLEAN_SESSION != 0,
            keep_alive,
            will,
            username,
            password,
        })
    }
}
