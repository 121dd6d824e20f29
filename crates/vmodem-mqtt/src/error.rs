//! What can go wrong when encoding or decoding, as typed values.

use crate::header::PacketType;

/// Why a topic name or topic filter is not valid (MQTT 3.1.1 §4.7; MQTT 3.1
/// "Topic wildcards").
///
/// Shared by [`EncodeError::InvalidTopic`] and [`DecodeError::InvalidTopic`]
/// because the encoder refuses exactly what the decoder would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// A topic name or filter must be at least one character long
    /// (§4.7.3 [MQTT-4.7.3-1]).
    #[error("topic is empty")]
    Empty,
    /// A topic name (PUBLISH, will) must not contain `+` or `#`
    /// (§3.3.2.1 [MQTT-3.3.2-2]).
    #[error("topic name contains a wildcard")]
    WildcardInName,
    /// In a topic filter, `#` must stand alone as the last level and `+` must
    /// stand alone in its level (§4.7.1.2 [MQTT-4.7.1-2], §4.7.1.3 [MQTT-4.7.1-3]).
    #[error("topic filter uses a wildcard in the wrong place")]
    MisplacedWildcard,
}

/// Why a packet cannot be encoded. Nothing is written when encoding fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string or binary field is longer than its two-byte length prefix can
    /// say (65,535 bytes; §1.5.3, §1.5.2 of 3.1.1; 3.1 "UTF-8 encoded strings").
    #[error("{field} is {len} bytes, more than 65535")]
    FieldTooLong {
        /// Which field, e.g. `"client_id"` or `"topic"`.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
    },
    /// The remaining length would exceed 268,435,455 (§2.2.3).
    #[error("remaining length {remaining_length} exceeds 268435455")]
    PacketTooLarge {
        /// The remaining length the packet would need.
        remaining_length: usize,
    },
    /// A packet identifier of 0 where one is needed; 0 is not a valid
    /// identifier (§2.3.1 [MQTT-2.3.1-1]; 3.1 "Message Identifier": 0 is reserved).
    #[error("{packet_type:?} needs a non-zero packet identifier")]
    ZeroPacketId {
        /// The packet that needed one.
        packet_type: PacketType,
    },
    /// A QoS 0 PUBLISH has no packet identifier (§2.3.1 [MQTT-2.3.1-5]); set
    /// `pkid` to 0.
    #[error("QoS 0 PUBLISH cannot carry packet identifier {pkid}")]
    PacketIdOnQoS0 {
        /// The identifier that was set.
        pkid: u16,
    },
    /// DUP must be 0 on a QoS 0 PUBLISH (§3.3.1.1 [MQTT-3.3.1-2]).
    #[error("DUP set on a QoS 0 PUBLISH")]
    DupOnQoS0,
    /// A string contains U+0000 (§1.5.3 [MQTT-1.5.3-2]).
    #[error("{field} contains U+0000")]
    NulCharacter {
        /// Which field.
        field: &'static str,
    },
    /// A topic name or filter is not valid.
    #[error("invalid topic: {0}")]
    InvalidTopic(#[from] TopicError),
    /// SUBSCRIBE and UNSUBSCRIBE need at least one topic filter, SUBACK at
    /// least one return code (§3.8.3 [MQTT-3.8.3-3], §3.10.3 [MQTT-3.10.3-2], §3.9.3).
    #[error("{packet_type:?} needs at least one entry")]
    EmptyPayload {
        /// The packet whose list is empty.
        packet_type: PacketType,
    },
    /// A password needs a user name (§3.1.2.9 [MQTT-3.1.2-22]); refused for 3.1
    /// too, see the crate documentation.
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// Session present must be 0 when the connection is refused
    /// (§3.2.2.2 [MQTT-3.2.2-4]).
    #[error("session present set on a refused connection")]
    SessionPresentOnRefusal,
    /// The output buffer cannot grow to hold the packet (only for fixed-size
    /// [`BufMut`](bytes::BufMut)s such as `&mut [u8]`).
    #[error("packet needs {needed} bytes, buffer has room for {available}")]
    BufferTooSmall {
        /// Bytes the packet needs.
        needed: usize,
        /// Bytes the buffer can still take.
        available: usize,
    },
}

/// Why bytes are not a valid packet. Every variant is a malformed packet or a
/// protocol violation after which MQTT says to close the connection
/// (MQTT 3.1.1 §4.8; 3.1 "the server should disconnect").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Packet type 0 or 15, reserved in both revisions (§2.2.1).
    #[error("packet type {0} is reserved")]
    ReservedPacketType(u8),
    /// The flag nibble of byte 1 is not the one this packet type must carry
    /// (§2.2.2 [MQTT-2.2.2-1], [MQTT-2.2.2-2]).
    #[error("flags {flags:#06b} are invalid for {packet_type:?}")]
    InvalidFlags {
        /// The packet type.
        packet_type: PacketType,
        /// The flag nibble received.
        flags: u8,
    },
    /// The remaining-length field has a continuation bit on its fourth byte
    /// (§2.2.3: at most four bytes).
    #[error("remaining length field longer than 4 bytes")]
    MalformedRemainingLength,
    /// The remaining length is above the limit the caller passed to
    /// [`decode`](crate::decode); refused before any of the body is buffered.
    #[error("remaining length {remaining_length} exceeds the limit {max}")]
    PacketTooLarge {
        /// The remaining length announced.
        remaining_length: usize,
        /// The caller's limit.
        max: usize,
    },
    /// A fixed-size packet (CONNACK, PUBACK, …, DISCONNECT) announces another size.
    #[error("{packet_type:?} must have remaining length {expected}, not {remaining_length}")]
    InvalidRemainingLength {
        /// The packet type.
        packet_type: PacketType,
        /// The only valid remaining length for it.
        expected: usize,
        /// The remaining length announced.
        remaining_length: usize,
    },
    /// The content needs more bytes than the remaining length gives.
    #[error("{packet_type:?} content runs past its remaining length")]
    Truncated {
        /// The packet type.
        packet_type: PacketType,
    },
    /// Bytes are left over inside the remaining length once the content is read.
    #[error("{packet_type:?} has {count} unexpected bytes at its end")]
    TrailingBytes {
        /// The packet type.
        packet_type: PacketType,
        /// How many bytes were left.
        count: usize,
    },
    /// A QoS field holds the reserved value 3 (PUBLISH flags [MQTT-3.3.1-4],
    /// will QoS [MQTT-3.1.2-14], requested QoS [MQTT-3.8.3-4]).
    #[error("QoS {0} is reserved")]
    InvalidQoS(u8),
    /// A QoS 0 PUBLISH has DUP set (§3.3.1.1 [MQTT-3.3.1-2]).
    #[error("DUP set on a QoS 0 PUBLISH")]
    DupOnQoS0,
    /// A packet identifier of 0 (§2.3.1 [MQTT-2.3.1-1]; 3.1: 0 is reserved).
    #[error("{packet_type:?} has packet identifier 0")]
    ZeroPacketId {
        /// The packet type.
        packet_type: PacketType,
    },
    /// A string field is not well-formed UTF-8 (§1.5.3 [MQTT-1.5.3-1]).
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A string field contains U+0000 (§1.5.3 [MQTT-1.5.3-2]).
    #[error("string contains U+0000")]
    NulCharacter,
    /// A topic name or filter is not valid.
    #[error("invalid topic: {0}")]
    InvalidTopic(#[from] TopicError),
    /// SUBSCRIBE or UNSUBSCRIBE without a topic filter ([MQTT-3.8.3-3],
    /// [MQTT-3.10.3-2]), or SUBACK without a return code.
    #[error("{packet_type:?} has no entries")]
    EmptyPayload {
        /// The packet type.
        packet_type: PacketType,
    },
    /// CONNECT's protocol name is neither `"MQTT"` nor `"MQIsdp"` (the raw bytes).
    #[error("unknown protocol name {0:?}")]
    InvalidProtocolName(Vec<u8>),
    /// CONNECT's protocol level does not belong to its protocol name. A server
    /// answers CONNACK 0x01 before closing (§3.1.2.2 [MQTT-3.1.2-2]).
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolLevel(u8),
    /// 3.1.1 CONNECT with the reserved flag bit 0 set (§3.1.2.3 [MQTT-3.1.2-3]).
    #[error("reserved CONNECT flag set")]
    ReservedConnectFlag,
    /// 3.1.1 CONNECT with will QoS or will retain set but no will flag
    /// ([MQTT-3.1.2-11], [MQTT-3.1.2-13], [MQTT-3.1.2-15]); carries the flags byte.
    #[error("will QoS/retain set without will flag (flags {0:#010b})")]
    WillFlagsWithoutWill(u8),
    /// 3.1.1 CONNECT with the password flag but not the user name flag
    /// (§3.1.2.9 [MQTT-3.1.2-22]).
    #[error("password flag without user name flag")]
    PasswordWithoutUsername,
    /// 3.1.1 CONNACK byte 1 has bits other than session present
    /// (§3.2.2.1: bits 7–1 reserved, must be 0).
    #[error("reserved CONNACK flags {0:#010b}")]
    InvalidConnackFlags(u8),
    /// CONNACK return code above 5, reserved in both revisions (§3.2.2.3, Table 3.1).
    #[error("CONNACK return code {0} is reserved")]
    InvalidConnectReturnCode(u8),
    /// 3.1.1 CONNACK with session present on a refused connection
    /// (§3.2.2.2 [MQTT-3.2.2-4]).
    #[error("session present set on a refused connection")]
    SessionPresentOnRefusal,
    /// SUBSCRIBE requested-QoS byte with any of its reserved bits 7–2 set
    /// (§3.8.3.1 [MQTT-3-8.3-4]); carries the byte.
    #[error("reserved bits set in subscription options {0:#010b}")]
    InvalidSubscribeOptions(u8),
    /// SUBACK return code other than 0, 1, 2 or 0x80 (§3.9.3 [MQTT-3.9.3-2]).
    #[error("SUBACK return code {0:#04x} is reserved")]
    InvalidSubackCode(u8),
}
