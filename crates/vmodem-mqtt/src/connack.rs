//! CONNACK (MQTT 3.1 "CONNACK – Acknowledge connection request", MQTT 3.1.1 §3.2).

use bytes::BufMut;

use crate::error::{DecodeError, EncodeError};
use crate::protocol::Protocol;
use crate::wire::Reader;

/// The server's answer to CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connack {
    /// Session present (3.1.1 §3.2.2.2). 3.1 has no such flag: its byte 1 is
    /// "reserved/not used", so a 3.1 CONNACK always decodes with `false` and a
    /// 3.1 server should encode `false`. Must be `false` when `code` is not
    /// [`ConnectReturnCode::Accepted`] ([MQTT-3.2.2-4]).
    pub session_present: bool,
    /// Return code.
    pub code: ConnectReturnCode,
}

/// CONNACK return code, the same six values in both revisions (3.1.1 §3.2.2.3
/// Table 3.1; MQTT 3.1 "Connect Return code"). 6–255 are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectReturnCode {
    /// 0x00: connection accepted.
    Accepted = 0,
    /// 0x01: the server does not support the requested protocol level.
    UnacceptableProtocolVersion = 1,
    /// 0x02: client identifier rejected (3.1: not 1–23 characters).
    IdentifierRejected = 2,
    /// 0x03: server unavailable.
    ServerUnavailable = 3,
    /// 0x04: bad user name or password.
    BadUsernameOrPassword = 4,
    /// 0x05: not authorized.
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    /// The code for a wire value, or `None` for the reserved 6–255.
    pub const fn from_u8(value: u8) -> Option<ConnectReturnCode> {
        Some(match value {
            0 => ConnectReturnCode::Accepted,
            1 => ConnectReturnCode::UnacceptableProtocolVersion,
            2 => ConnectReturnCode::IdentifierRejected,
            3 => ConnectReturnCode::ServerUnavailable,
            4 => ConnectReturnCode::BadUsernameOrPassword,
            5 => ConnectReturnCode::NotAuthorized,
            _ => return None,
        })
    }

    /// The wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl Connack {
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        if self.session_present && self.code != ConnectReturnCode::Accepted {
            return Err(EncodeError::SessionPresentOnRefusal);
        }
        Ok(2)
    }

    pub(crate) fn write_body<B: BufMut>(&self, out: &mut B) {
        out.put_u8(u8::from(self.session_present));
        out.put_u8(self.code.as_u8());
    }

    pub(crate) fn decode(r: &mut Reader<'_>, protocol: Protocol) -> Result<Connack, DecodeError> {
        let flags = r.u8()?;
        let code = r.u8()?;
        let session_present = match protocol {
            // 3.1: "Topic Name Compression Response", reserved and not used.
            Protocol::V31 => false,
            Protocol::V311 if flags & !1 != 0 => {
                return Err(DecodeError::InvalidConnackFlags(flags))
            }
            Protocol::V311 => flags == 1,
        };
        let code =
            ConnectReturnCode::from_u8(code).ok_or(DecodeError::InvalidConnectReturnCode(code))?;
        if session_present && code != ConnectReturnCode::Accepted {
            return Err(DecodeError::SessionPresentOnRefusal);
        }
        Ok(Connack {
            session_present,
            code,
        })
    }
}
