//! The [`Packet`] enum over all 14 control packets, its encoder, and the
//! streaming [`decode`] function.

use bytes::BufMut;

use crate::connack::Connack;
use crate::connect::Connect;
use crate::error::{DecodeError, EncodeError};
use crate::header::{
    read_fixed_header, remaining_length_len, write_remaining_length, PacketType,
    MAX_REMAINING_LENGTH,
};
use crate::protocol::Protocol;
use crate::publish::Publish;
use crate::subscribe::{Suback, Subscribe, Unsubscribe};
use crate::wire::{check_pkid, Reader};

/// One MQTT control packet, of either revision and either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT, client to server.
    Connect(Connect),
    /// CONNACK, server to client.
    Connack(Connack),
    /// PUBLISH, either way.
    Publish(Publish),
    /// PUBACK: QoS 1 acknowledgement.
    Puback {
        /// Identifier of the PUBLISH acknowledged.
        pkid: u16,
    },
    /// PUBREC: QoS 2, first answer.
    Pubrec {
        /// Identifier of the PUBLISH received.
        pkid: u16,
    },
    /// PUBREL: QoS 2, release.
    Pubrel {
        /// Identifier of the PUBLISH released.
        pkid: u16,
    },
    /// PUBCOMP: QoS 2, complete.
    Pubcomp {
        /// Identifier of the PUBLISH completed.
        pkid: u16,
    },
    /// SUBSCRIBE, client to server.
    Subscribe(Subscribe),
    /// SUBACK, server to client.
    Suback(Suback),
    /// UNSUBSCRIBE, client to server.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK, server to client.
    Unsuback {
        /// Identifier of the UNSUBSCRIBE acknowledged.
        pkid: u16,
    },
    /// PINGREQ, client to server.
    Pingreq,
    /// PINGRESP, server to client.
    Pingresp,
    /// DISCONNECT, client to server.
    Disconnect,
}

impl Packet {
    /// The control packet type.
    pub fn packet_type(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::Connack(_) => PacketType::Connack,
            Packet::Publish(_) => PacketType::Publish,
            Packet::Puback { .. } => PacketType::Puback,
            Packet::Pubrec { .. } => PacketType::Pubrec,
            Packet::Pubrel { .. } => PacketType::Pubrel,
            Packet::Pubcomp { .. } => PacketType::Pubcomp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::Suback(_) => PacketType::Suback,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::Unsuback { .. } => PacketType::Unsuback,
            Packet::Pingreq => PacketType::Pingreq,
            Packet::Pingresp => PacketType::Pingresp,
            Packet::Disconnect => PacketType::Disconnect,
        }
    }

    fn first_byte(&self) -> u8 {
        match self {
            Packet::Publish(p) => p.first_byte(),
            other => {
                let t = other.packet_type();
                // Every other type has a fixed nibble (§2.2.2).
                (t.as_u8() << 4) | t.fixed_flags().unwrap_or(0)
            }
        }
    }

    /// Validates every field and returns the remaining length.
    fn remaining_length(&self) -> Result<usize, EncodeError> {
        let len = match self {
            Packet::Connect(c) => c.body_len()?,
            Packet::Connack(c) => c.body_len()?,
            Packet::Publish(p) => p.body_len()?,
            Packet::Puback { pkid }
            | Packet::Pubrec { pkid }
            | Packet::Pubrel { pkid }
            | Packet::Pubcomp { pkid }
            | Packet::Unsuback { pkid } => {
                check_pkid(*pkid, self.packet_type())?;
                2
            }
            Packet::Subscribe(s) => s.body_len()?,
            Packet::Suback(s) => s.body_len()?,
            Packet::Unsubscribe(u) => u.body_len()?,
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => 0,
        };
        if len > MAX_REMAINING_LENGTH {
            return Err(EncodeError::PacketTooLarge {
                remaining_length: len,
            });
        }
        Ok(len)
    }

    /// The number of bytes [`Packet::encode`] would write, or the error it would
    /// return.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        let len = self.remaining_length()?;
        Ok(1 + remaining_length_len(len) + len)
    }

    /// Appends the packet's bytes to `out` and returns how many were written.
    ///
    /// Every field is checked before the first byte is written, so on error `out`
    /// is unchanged. The encoder refuses everything the 3.1.1 decoder would refuse
    /// (and so, apart from the CONNECT protocol name and level, writes the same
    /// bytes for both revisions); see [`EncodeError`] for what that is.
    pub fn encode<B: BufMut>(&self, out: &mut B) -> Result<usize, EncodeError> {
        let len = self.remaining_length()?;
        let needed = 1 + remaining_length_len(len) + len;
        let available = out.remaining_mut();
        if available < needed {
            return Err(EncodeError::BufferTooSmall { needed, available });
        }
        out.put_u8(self.first_byte());
        write_remaining_length(out, len);
        match self {
            Packet::Connect(c) => c.write_body(out),
            Packet::Connack(c) => c.write_body(out),
            Packet::Publish(p) => p.write_body(out),
            Packet::Puback { pkid }
            | Packet::Pubrec { pkid }
            | Packet::Pubrel { pkid }
            | Packet::Pubcomp { pkid }
            | Packet::Unsuback { pkid } => out.put_u16(*pkid),
            Packet::Subscribe(s) => s.write_body(out),
            Packet::Suback(s) => s.write_body(out),
            Packet::Unsubscribe(u) => u.write_body(out),
            Packet::Pingreq | Packet::Pingresp | Packet::Disconnect => {}
        }
        Ok(needed)
    }
}

impl From<Connect> for Packet {
    fn from(p: Connect) -> Self {
        Packet::Connect(p)
    }
}

impl From<Connack> for Packet {
    fn from(p: Connack) -> Self {
        Packet::Connack(p)
    }
}

impl From<Publish> for Packet {
    fn from(p: Publish) -> Self {
        Packet::Publish(p)
    }
}

impl From<Subscribe> for Packet {
    fn from(p: Subscribe) -> Self {
        Packet::Subscribe(p)
    }
}

impl From<Suback> for Packet {
    fn from(p: Suback) -> Self {
        Packet::Suback(p)
    }
}

impl From<Unsubscribe> for Packet {
    fn from(p: Unsubscribe) -> Self {
        Packet::Unsubscribe(p)
    }
}

/// Decodes the first packet in `buf`.
///
/// - `Ok(Some((packet, consumed)))`: a packet, made of the first `consumed`
///   bytes of `buf`; drop them and call again for the next one.
/// - `Ok(None)`: `buf` holds only the start of a packet (or nothing); call again
///   when more bytes have arrived. This only happens once the fixed header has
///   passed every check it allows, so the caller never buffers more than
///   5 + `max_remaining_length` bytes for one packet.
/// - `Err(_)`: the bytes are not a valid packet; MQTT says to close the
///   connection (3.1.1 §4.8). Nothing is consumed.
///
/// `protocol` is the connection's revision, which changes how CONNACK byte 1 and
/// the DUP bit of PUBREL/SUBSCRIBE/UNSUBSCRIBE are read (see the crate
/// documentation). A CONNECT is read by its own protocol name and level whatever
/// `protocol` says, so a server can pass either value until it has seen it.
///
/// `max_remaining_length` bounds the remaining length (the packet minus its
/// 2–5 byte fixed header); a larger one is [`DecodeError::PacketTooLarge`] as
/// soon as the remaining-length field has been read.
pub fn decode(
    buf: &[u8],
    protocol: Protocol,
    max_remaining_length: usize,
) -> Result<Option<(Packet, usize)>, DecodeError> {
    let Some(header) = read_fixed_header(buf, protocol, max_remaining_length)? else {
        return Ok(None);
    };
    let Some(body) = buf
        .get(header.header_len..)
        .and_then(|rest| rest.get(..header.remaining_length))
    else {
        return Ok(None);
    };
    let mut r = Reader::new(body, header.packet_type);
    let packet = match header.packet_type {
        PacketType::Connect => Packet::Connect(Connect::decode(&mut r)?),
        PacketType::Connack => Packet::Connack(Connack::decode(&mut r, protocol)?),
        PacketType::Publish => Packet::Publish(Publish::decode(&mut r, header.flags)?),
        PacketType::Puback => Packet::Puback { pkid: r.pkid()? },
        PacketType::Pubrec => Packet::Pubrec { pkid: r.pkid()? },
        PacketType::Pubrel => Packet::Pubrel { pkid: r.pkid()? },
        PacketType::Pubcomp => Packet::Pubcomp { pkid: r.pkid()? },
        PacketType::Subscribe => Packet::Subscribe(Subscribe::decode(&mut r)?),
        PacketType::Suback => Packet::Suback(Suback::decode(&mut r)?),
        PacketType::Unsubscribe => Packet::Unsubscribe(Unsubscribe::decode(&mut r)?),
        PacketType::Unsuback => Packet::Unsuback { pkid: r.pkid()? },
        PacketType::Pingreq => Packet::Pingreq,
        PacketType::Pingresp => Packet::Pingresp,
        PacketType::Disconnect => Packet::Disconnect,
    };
    r.finish()?;
    Ok(Some((packet, header.header_len + header.remaining_length)))
}
