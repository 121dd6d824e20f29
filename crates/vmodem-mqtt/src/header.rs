//! The fixed header: packet type, flags and the variable-length "remaining length"
//! (MQTT 3.1 "Fixed header", MQTT 3.1.1 §2.2).

use bytes::BufMut;

use crate::error::DecodeError;
use crate::protocol::{Protocol, QoS};

/// The largest remaining length the four-byte encoding can express
/// (MQTT 3.1.1 §2.2.3: 268,435,455, i.e. 256 MiB − 1; same in 3.1).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The 14 control packet types, numbered as in byte 1 bits 7–4 of the fixed
/// header (MQTT 3.1.1 §2.2.1, Table 2.1; MQTT 3.1 "Message Type").
///
/// Values 0 and 15 are reserved in both revisions and have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// Client request to connect to the server.
    Connect = 1,
    /// Connect acknowledgment.
    Connack = 2,
    /// Publish message.
    Publish = 3,
    /// Publish acknowledgment (QoS 1).
    Puback = 4,
    /// Publish received (QoS 2, part 1).
    Pubrec = 5,
    /// Publish release (QoS 2, part 2).
    Pubrel = 6,
    /// Publish complete (QoS 2, part 3).
    Pubcomp = 7,
    /// Client subscribe request.
    Subscribe = 8,
    /// Subscribe acknowledgment.
    Suback = 9,
    /// Unsubscribe request.
    Unsubscribe = 10,
    /// Unsubscribe acknowledgment.
    Unsuback = 11,
    /// PING request.
    Pingreq = 12,
    /// PING response.
    Pingresp = 13,
    /// Client is disconnecting.
    Disconnect = 14,
}

impl PacketType {
    /// The packet type for the four-bit type value, or `None` for the reserved
    /// values 0 and 15.
    pub const fn from_u8(value: u8) -> Option<PacketType> {
        Some(match value {
            1 => PacketType::Connect,
            2 => PacketType::Connack,
            3 => PacketType::Publish,
            4 => PacketType::Puback,
            5 => PacketType::Pubrec,
            6 => PacketType::Pubrel,
            7 => PacketType::Pubcomp,
            8 => PacketType::Subscribe,
            9 => PacketType::Suback,
            10 => PacketType::Unsubscribe,
            11 => PacketType::Unsuback,
            12 => PacketType::Pingreq,
            13 => PacketType::Pingresp,
            14 => PacketType::Disconnect,
            _ => return None,
        })
    }

    /// The four-bit type value (1–14).
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The flag nibble every packet of this type carries, `None` for PUBLISH
    /// whose nibble is DUP/QoS/RETAIN (MQTT 3.1.1 §2.2.2, Table 2.2). PUBREL,
    /// SUBSCRIBE and UNSUBSCRIBE carry 0b0010 (3.1: "QoS level 1").
    pub(crate) const fn fixed_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::Pubrel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// The only remaining length a packet of this type can have, for the types
    /// whose size is fixed. Knowing it from the header lets the decoder refuse a
    /// wrong length before waiting for the bytes.
    pub(crate) const fn fixed_remaining_length(self) -> Option<usize> {
        match self {
            PacketType::Connack
            | PacketType::Puback
            | PacketType::Pubrec
            | PacketType::Pubrel
            | PacketType::Pubcomp
            | PacketType::Unsuback => Some(2),
            PacketType::Pingreq | PacketType::Pingresp | PacketType::Disconnect => Some(0),
            _ => None,
        }
    }
}

/// A fixed header that has been read and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixedHeader {
    pub(crate) packet_type: PacketType,
    pub(crate) flags: u8,
    /// Bytes taken by byte 1 plus the remaining-length field.
    pub(crate) header_len: usize,
    pub(crate) remaining_length: usize,
}

/// Checks byte 1 of the fixed header on its own, so that garbage is refused as
/// soon as one byte of it has arrived.
fn check_first_byte(byte: u8, protocol: Protocol) -> Result<(PacketType, u8), DecodeError> {
    let type_bits = byte >> 4;
    let flags = byte & 0x0F;
    let packet_type =
        PacketType::from_u8(type_bits).ok_or(DecodeError::ReservedPacketType(type_bits))?;
    match packet_type.fixed_flags() {
        None => {
            // PUBLISH: QoS 3 is malformed (3.1.1 §3.3.1.2 [MQTT-3.3.1-4]); DUP must be 0
            // at QoS 0 (§3.3.1.1 [MQTT-3.3.1-2]; 3.1 "DUP" only applies to QoS > 0).
            let qos_bits = (flags >> 1) & 0b11;
            if QoS::from_u8(qos_bits).is_none() {
                return Err(DecodeError::InvalidQoS(qos_bits));
            }
            if qos_bits == 0 && flags & 0b1000 != 0 {
                return Err(DecodeError::DupOnQoS0);
            }
        }
        Some(expected) => {
            // 3.1 sends PUBREL/SUBSCRIBE/UNSUBSCRIBE "with QoS 1" and sets DUP when it
            // re-sends them (MQTT 3.1 "DUP"); 3.1.1 §2.2.2 made the nibble fixed.
            let v31_dup = protocol == Protocol::V31 && expected == 0b0010 && flags == 0b1010;
            if flags != expected && !v31_dup {
                return Err(DecodeError::InvalidFlags { packet_type, flags });
            }
        }
    }
    Ok((packet_type, flags))
}

/// Reads the fixed header at the start of `buf`.
///
/// `Ok(None)` means more bytes are needed. Every check that the header alone
/// allows is done here, before the caller waits for the body: the packet type and
/// flags, the at-most-four-byte length (§2.2.3), the caller's size limit, and the
/// exact length of the fixed-size packets.
pub(crate) fn read_fixed_header(
    buf: &[u8],
    protocol: Protocol,
    max_remaining_length: usize,
) -> Result<Option<FixedHeader>, DecodeError> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let (packet_type, flags) = check_first_byte(first, protocol)?;

    let mut remaining_length = 0usize;
    let mut length_bytes = 0usize;
    loop {
        if length_bytes == 4 {
            // A fourth byte with its continuation bit set (§2.2.3).
            return Err(DecodeError::MalformedRemainingLength);
        }
        let Some(&byte) = rest.get(length_bytes) else {
            return Ok(None);
        };
        remaining_length |= usize::from(byte & 0x7F) << (7 * length_bytes);
        length_bytes += 1;
        if byte & 0x80 == 0 {
            break;
        }
    }

    // The more specific error first: a fixed-size packet of the wrong size is
    // malformed whatever the caller's limit.
    if let Some(expected) = packet_type.fixed_remaining_length() {
        if remaining_length != expected {
            return Err(DecodeError::InvalidRemainingLength {
                packet_type,
                expected,
                remaining_length,
            });
        }
    }
    if remaining_length > max_remaining_length {
        return Err(DecodeError::PacketTooLarge {
            remaining_length,
            max: max_remaining_length,
        });
    }
    Ok(Some(FixedHeader {
        packet_type,
        flags,
        header_len: 1 + length_bytes,
        remaining_length,
    }))
}

/// How many bytes the remaining-length field takes for `len` (1–4; §2.2.3 Table 2.4).
pub(crate) const fn remaining_length_len(len: usize) -> usize {
    if len < 128 {
        1
    } else if len < 16_384 {
        2
    } else if len < 2_097_152 {
        3
    } else {
        4
    }
}

/// Writes `len` as the variable-length remaining-length field. The caller has
/// checked `len <= MAX_REMAINING_LENGTH`.
pub(crate) fn write_remaining_length<B: BufMut>(out: &mut B, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if len == 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The boundaries of MQTT 3.1.1 §2.2.3 Table 2.4 (same table in 3.1).
    const TABLE_2_4: &[(usize, &[u8])] = &[
        (0, &[0x00]),
        (127, &[0x7F]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xFF, 0x7F]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xFF, 0xFF, 0x7F]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xFF, 0xFF, 0xFF, 0x7F]),
    ];

    #[test]
    fn remaining_length_matches_table_2_4() {
        for &(value, bytes) in TABLE_2_4 {
            let mut out = Vec::new();
            write_remaining_length(&mut out, value);
            assert_eq!(out, bytes, "encoding {value}");
            assert_eq!(
                remaining_length_len(value),
                bytes.len(),
                "length of {value}"
            );

            // PUBLISH has no fixed size, so any length reads back.
            let mut buf = vec![0x30];
            buf.extend_from_slice(bytes);
            let header = read_fixed_header(&buf, Protocol::V311, MAX_REMAINING_LENGTH)
                .expect("valid header")
                .expect("complete header");
            assert_eq!(header.remaining_length, value);
            assert_eq!(header.header_len, 1 + bytes.len());
            // Every strict prefix of the length field asks for more bytes.
            for cut in 1..buf.len() {
                assert_eq!(
                    read_fixed_header(&buf[..cut], Protocol::V311, usize::MAX),
                    Ok(None)
                );
            }
        }
    }
}
