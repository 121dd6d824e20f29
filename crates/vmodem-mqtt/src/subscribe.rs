//! SUBSCRIBE, SUBACK and UNSUBSCRIBE (MQTT 3.1.1 §3.8–§3.10; MQTT 3.1
//! "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE"). UNSUBACK carries only a packet
//! identifier and lives with the other acknowledgements in `packet`.

use bytes::BufMut;

use crate::error::{DecodeError, EncodeError};
use crate::header::PacketType;
use crate::protocol::QoS;
use crate::topic::check_topic_filter;
use crate::wire::{check_pkid, put_binary, string_len, Reader};

/// A client's request for one or more subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier, non-zero.
    pub pkid: u16,
    /// The subscriptions; at least one ([MQTT-3.8.3-3]).
    pub filters: Vec<SubscribeFilter>,
}

/// One topic filter of a SUBSCRIBE with the maximum QoS asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// Topic filter; wildcards allowed where §4.7.1 allows them.
    pub filter: String,
    /// Requested QoS (§3.8.3.1).
    pub qos: QoS,
}

/// The server's answer to SUBSCRIBE: one code per filter, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suback {
    /// Packet identifier of the SUBSCRIBE being answered.
    pub pkid: u16,
    /// One code per requested filter; at least one.
    pub return_codes: Vec<SubackCode>,
}

/// A SUBACK return code (§3.9.3).
///
/// [`SubackCode::Failure`] (0x80) was added by 3.1.1; 3.1 only has the granted
/// QoS, and a 3.1 server refuses silently (3.1: clients are "not informed" of
/// unauthorized subscriptions; mosquitto answers 3.1 with a QoS, never 0x80), so
/// a 3.1 server should not send it. The decoder still accepts 0x80 under 3.1:
/// some servers send it whatever the revision, and in a 3.1 SUBACK it can only
/// mean a refusal, which reading it as "QoS 0 with a reserved bit set" would hide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubackCode {
    /// Subscription accepted with this maximum QoS (0x00, 0x01, 0x02).
    Granted(QoS),
    /// Subscription refused (0x80).
    Failure,
}

impl SubackCode {
    /// The code for a wire value, or `None` for any value other than 0, 1, 2, 0x80.
    pub const fn from_u8(value: u8) -> Option<SubackCode> {
        match value {
            0x80 => Some(SubackCode::Failure),
            v => match QoS::from_u8(v) {
                Some(qos) => Some(SubackCode::Granted(qos)),
                None => None,
            },
        }
    }

    /// The wire value.
    pub const fn as_u8(self) -> u8 {
        match self {
            SubackCode::Granted(qos) => qos.as_u8(),
            SubackCode::Failure => 0x80,
        }
    }
}

/// A client's request to remove subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier, non-zero.
    pub pkid: u16,
    /// Topic filters to remove; at least one ([MQTT-3.10.3-2]).
    pub filters: Vec<String>,
}

fn filter_len(filter: &str) -> Result<usize, EncodeError> {
    check_topic_filter(filter)?;
    string_len("topic filter", filter)
}

fn read_filter(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    let filter = r.string()?;
    check_topic_filter(filter)?;
    Ok(filter.to_owned())
}

fn check_not_empty<T>(list: &[T], packet_type: PacketType) -> Result<(), EncodeError> {
    if list.is_empty() {
        Err(EncodeError::EmptyPayload { packet_type })
    } else {
        Ok(())
    }
}

impl Subscribe {
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        check_pkid(self.pkid, PacketType::Subscribe)?;
        check_not_empty(&self.filters, PacketType::Subscribe)?;
        let mut len = 2usize;
        for f in &self.filters {
            len = len.saturating_add(filter_len(&f.filter)? + 1);
        }
        Ok(len)
    }

    pub(crate) fn write_body<B: BufMut>(&self, out: &mut B) {
        out.put_u16(self.pkid);
        for f in &self.filters {
            put_binary(out, f.filter.as_bytes());
            out.put_u8(f.qos.as_u8());
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Subscribe, DecodeError> {
        let pkid = r.pkid()?;
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = read_filter(r)?;
            // Bits 7–2 reserved, must be 0 (3.1.1 §3.8.3.1 [MQTT-3-8.3-4]); 3.1
            // reserves them too and no 3.1 client is known to set them.
            let options = r.u8()?;
            if options & !0b11 != 0 {
                return Err(DecodeError::InvalidSubscribeOptions(options));
            }
            let qos = QoS::from_u8(options).ok_or(DecodeError::InvalidQoS(options))?;
            filters.push(SubscribeFilter { filter, qos });
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyPayload {
                packet_type: PacketType::Subscribe,
            });
        }
        Ok(Subscribe { pkid, filters })
    }
}

impl Suback {
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        check_pkid(self.pkid, PacketType::Suback)?;
        check_not_empty(&self.return_codes, PacketType::Suback)?;
        Ok(2usize.saturating_add(self.return_codes.len()))
    }

    pub(crate) fn write_body<B: BufMut>(&self, out: &mut B) {
        out.put_u16(self.pkid);
        for code in &self.return_codes {
            out.put_u8(code.as_u8());
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Suback, DecodeError> {
        let pkid = r.pkid()?;
        let mut return_codes = Vec::new();
        while !r.is_empty() {
            let byte = r.u8()?;
            return_codes
                .push(SubackCode::from_u8(byte).ok_or(DecodeError::InvalidSubackCode(byte))?);
        }
        if return_codes.is_empty() {
            return Err(DecodeError::EmptyPayload {
                packet_type: PacketType::Suback,
            });
        }
        Ok(Suback { pkid, return_codes })
    }
}

impl Unsubscribe {
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        check_pkid(self.pkid, PacketType::Unsubscribe)?;
        check_not_empty(&self.filters, PacketType::Unsubscribe)?;
        let mut len = 2usize;
        for f in &self.filters {
            len = len.saturating_add(filter_len(f)?);
        }
        Ok(len)
    }

    pub(crate) fn write_body<B: BufMut>(&self, out: &mut B) {
        out.put_u16(self.pkid);
        for f in &self.filters {
            put_binary(out, f.as_bytes());
        }
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Unsubscribe, DecodeError> {
        let pkid = r.pkid()?;
        let mut filters = Vec::new();
        while !r.is_empty() {
            filters.push(read_filter(r)?);
        }
        if filters.is_empty() {
            return Err(DecodeError::EmptyPayload {
                packet_type: PacketType::Unsubscribe,
            });
        }
        Ok(Unsubscribe { pkid, filters })
    }
}
