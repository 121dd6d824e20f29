//! PUBLISH (MQTT 3.1 "PUBLISH – Publish message", MQTT 3.1.1 §3.3).

use bytes::{BufMut, Bytes};

use crate::error::{DecodeError, EncodeError};
use crate::header::PacketType;
use crate::protocol::QoS;
use crate::topic::check_topic_name;
use crate::wire::{check_pkid, put_binary, string_len, Reader};

/// An application message, in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP: this is a re-delivery (§3.3.1.1). Must be `false` at QoS 0.
    pub dup: bool,
    /// QoS (§3.3.1.2).
    pub qos: QoS,
    /// RETAIN (§3.3.1.3).
    pub retain: bool,
    /// Topic name: non-empty, no wildcards (§3.3.2.1).
    pub topic: String,
    /// Packet identifier: non-zero at QoS 1 and 2, 0 at QoS 0 where the packet
    /// has none (§2.3.1 [MQTT-2.3.1-5]).
    pub pkid: u16,
    /// Application payload, any bytes (§3.3.3). `Bytes` so that keeping a copy
    /// for re-delivery is a reference count, not a copy.
    pub payload: Bytes,
}

impl Publish {
    pub(crate) fn first_byte(&self) -> u8 {
        (PacketType::Publish.as_u8() << 4)
            | (u8::from(self.dup) << 3)
            | (self.qos.as_u8() << 1)
            | u8::from(self.retain)
    }

    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        check_topic_name(&self.topic)?;
        let mut len = string_len("topic", &self.topic)?;
        if self.qos == QoS::AtMostOnce {
            if self.dup {
                return Err(EncodeError::DupOnQoS0);
            }
            if self.pkid != 0 {
                return Err(EncodeError::PacketIdOnQoS0 { pkid: self.pkid });
            }
        } else {
            check_pkid(self.pkid, PacketType::Publish)?;
            len += 2;
        }
        // The payload has no length prefix: it is whatever the remaining length
        // leaves, so only the total is bounded (checked by the caller).
        Ok(len.saturating_add(self.payload.len()))
    }

    pub(crate) fn write_body<B: BufMut>(&self, out: &mut B) {
        put_binary(out, self.topic.as_bytes());
        if self.qos != QoS::AtMostOnce {
            out.put_u16(self.pkid);
        }
        out.put_slice(&self.payload);
    }

    /// Reads a PUBLISH body; `flags` were checked with the fixed header
    /// (QoS 3 and DUP at QoS 0 are refused there).
    pub(crate) fn decode(r: &mut Reader<'_>, flags: u8) -> Result<Publish, DecodeError> {
        let qos_bits = (flags >> 1) & 0b11;
        let qos = QoS::from_u8(qos_bits).ok_or(DecodeError::InvalidQoS(qos_bits))?;
        let topic = r.string()?;
        check_topic_name(topic)?;
        let pkid = if qos == QoS::AtMostOnce { 0 } else { r.pkid()? };
        let payload = Bytes::copy_from_slice(r.rest());
        Ok(Publish {
            dup: flags & 0b1000 != 0,
            qos,
            retain: flags & 0b0001 != 0,
            topic: topic.to_owned(),
            pkid,
            payload,
        })
    }
}
