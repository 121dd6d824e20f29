//! Every [`DecodeError`] variant, reached by real bytes.

use std::collections::BTreeSet;

use crate::{decode, DecodeError, PacketType, Protocol, TopicError};

/// Number of `DecodeError` variants; `variant` below must name each one.
const VARIANTS: usize = 24;

/// Exhaustive inside the crate: adding a variant breaks this match, and adding
/// it here without a case below fails `every_variant_is_reached`.
fn variant(e: &DecodeError) -> usize {
    match e {
        DecodeError::ReservedPacketType(_) => 0,
        DecodeError::InvalidFlags { .. } => 1,
        DecodeError::MalformedRemainingLength => 2,
        DecodeError::PacketTooLarge { .. } => 3,
        DecodeError::InvalidRemainingLength { .. } => 4,
        DecodeError::Truncated { .. } => 5,
        DecodeError::TrailingBytes { .. } => 6,
        DecodeError::InvalidQoS(_) => 7,
        DecodeError::DupOnQoS0 => 8,
        DecodeError::ZeroPacketId { .. } => 9,
        DecodeError::InvalidUtf8 => 10,
        DecodeError::NulCharacter => 11,
        DecodeError::InvalidTopic(_) => 12,
        DecodeError::EmptyPayload { .. } => 13,
        DecodeError::InvalidProtocolName(_) => 14,
        DecodeError::UnsupportedProtocolLevel(_) => 15,
        DecodeError::ReservedConnectFlag => 16,
        DecodeError::WillFlagsWithoutWill(_) => 17,
        DecodeError::PasswordWithoutUsername => 18,
        DecodeError::InvalidConnackFlags(_) => 19,
        DecodeError::InvalidConnectReturnCode(_) => 20,
        DecodeError::SessionPresentOnRefusal => 21,
        DecodeError::InvalidSubscribeOptions(_) => 22,
        DecodeError::InvalidSubackCode(_) => 23,
    }
}

/// A CONNECT: protocol name, level, flags, keep alive 60, then `payload`.
pub(super) fn connect(name: &[u8], level: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&(name.len() as u16).to_be_bytes());
    body.extend_from_slice(name);
    body.extend_from_slice(&[level, flags, 0x00, 0x3C]);
    body.extend_from_slice(payload);
    assert!(
        body.len() < 128,
        "test helper writes a one-byte remaining length"
    );
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    packet
}

/// Client identifier "c".
const CID: &[u8] = &[0x00, 0x01, b'c'];

struct Case {
    what: &'static str,
    protocol: Protocol,
    max: usize,
    bytes: Vec<u8>,
    expected: DecodeError,
}

fn case(what: &'static str, protocol: Protocol, bytes: &[u8], expected: DecodeError) -> Case {
    Case {
        what,
        protocol,
        max: 1 << 20,
        bytes: bytes.to_vec(),
        expected,
    }
}

fn cases() -> Vec<Case> {
    use DecodeError as E;
    use PacketType as T;
    use Protocol::{V31, V311};
    let mut with_tail = connect(b"MQTT", 4, 0x02, CID);
    with_tail[1] += 1;
    with_tail.push(0xAA);
    let mut cases = vec![
        // Fixed header.
        case("type 0", V311, &[0x00], E::ReservedPacketType(0)),
        case("type 15", V31, &[0xF0, 0x00], E::ReservedPacketType(15)),
        case(
            "PUBACK with flags",
            V311,
            &[0x41, 0x02, 0x00, 0x01],
            E::InvalidFlags {
                packet_type: T::Puback,
                flags: 1,
            },
        ),
        case(
            "SUBSCRIBE with flags 0",
            V311,
            &[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00],
            E::InvalidFlags {
                packet_type: T::Subscribe,
                flags: 0,
            },
        ),
        case(
            "PUBREL with DUP is 3.1-only",
            V311,
            &[0x6A, 0x02, 0x00, 0x01],
            E::InvalidFlags {
                packet_type: T::Pubrel,
                flags: 0b1010,
            },
        ),
        case(
            "UNSUBSCRIBE with QoS 2 flags, even in 3.1",
            V31,
            &[0xA4],
            E::InvalidFlags {
                packet_type: T::Unsubscribe,
                flags: 0b0100,
            },
        ),
        case(
            "PINGREQ with flags",
            V31,
            &[0xC8, 0x00],
            E::InvalidFlags {
                packet_type: T::Pingreq,
                flags: 0b1000,
            },
        ),
        case(
            "five length bytes",
            V311,
            &[0x30, 0xFF, 0xFF, 0xFF, 0xFF],
            E::MalformedRemainingLength,
        ),
        case(
            "five length bytes, short",
            V311,
            &[0x30, 0x80, 0x80, 0x80, 0x80],
            E::MalformedRemainingLength,
        ),
        case(
            "PUBREC of 3 bytes",
            V311,
            &[0x50, 0x03, 0x00, 0x01, 0x00],
            E::InvalidRemainingLength {
                packet_type: T::Pubrec,
                expected: 2,
                remaining_length: 3,
            },
        ),
        case(
            "PINGRESP with a body, refused before it arrives",
            V311,
            &[0xD0, 0x01],
            E::InvalidRemainingLength {
                packet_type: T::Pingresp,
                expected: 0,
                remaining_length: 1,
            },
        ),
        case(
            "DISCONNECT with a huge body, refused before it arrives",
            V31,
            &[0xE0, 0xFF, 0xFF, 0xFF, 0x7F],
            E::InvalidRemainingLength {
                packet_type: T::Disconnect,
                expected: 0,
                remaining_length: 268_435_455,
            },
        ),
        case(
            "CONNACK of 1 byte",
            V311,
            &[0x20, 0x01, 0x00],
            E::InvalidRemainingLength {
                packet_type: T::Connack,
                expected: 2,
                remaining_length: 1,
            },
        ),
        // Lengths inside the body.
        case(
            "PUBLISH topic past the end",
            V311,
            &[0x30, 0x02, 0x00, 0x05],
            E::Truncated {
                packet_type: T::Publish,
            },
        ),
        case(
            "PUBLISH QoS 1 without pkid",
            V311,
            &[0x32, 0x03, 0x00, 0x01, b'a'],
            E::Truncated {
                packet_type: T::Publish,
            },
        ),
        case(
            "PUBLISH of 1 byte",
            V311,
            &[0x30, 0x01, 0x00],
            E::Truncated {
                packet_type: T::Publish,
            },
        ),
        case(
            "CONNECT without client id",
            V311,
            &connect(b"MQTT", 4, 0x02, &[]),
            E::Truncated {
                packet_type: T::Connect,
            },
        ),
        case(
            "CONNECT with user name flag but no user name",
            V311,
            &connect(b"MQTT", 4, 0x82, CID),
            E::Truncated {
                packet_type: T::Connect,
            },
        ),
        case(
            "SUBSCRIBE filter without QoS byte",
            V311,
            &[0x82, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'],
            E::Truncated {
                packet_type: T::Subscribe,
            },
        ),
        case(
            "CONNECT with a byte after its payload",
            V311,
            &with_tail,
            E::TrailingBytes {
                packet_type: T::Connect,
                count: 1,
            },
        ),
        // QoS and DUP.
        case("PUBLISH QoS 3", V311, &[0x36], E::InvalidQoS(3)),
        case(
            "will QoS 3",
            V311,
            &connect(b"MQTT", 4, 0x1E, &[0, 1, b'c', 0, 1, b'w', 0, 0]),
            E::InvalidQoS(3),
        ),
        case(
            "will QoS 3 in 3.1 too",
            V31,
            &connect(b"MQIsdp", 3, 0x1E, &[0, 1, b'c', 0, 1, b'w', 0, 0]),
            E::InvalidQoS(3),
        ),
        case(
            "SUBSCRIBE requested QoS 3",
            V31,
            &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x03],
            E::InvalidQoS(3),
        ),
        case(
            "PUBLISH QoS 0 with DUP",
            V311,
            &[0x38, 0x03, 0x00, 0x01, b'a'],
            E::DupOnQoS0,
        ),
        case("PUBLISH QoS 0 with DUP, 3.1", V31, &[0x39], E::DupOnQoS0),
        // Packet identifiers.
        case(
            "PUBACK pkid 0",
            V311,
            &[0x40, 0x02, 0x00, 0x00],
            E::ZeroPacketId {
                packet_type: T::Puback,
            },
        ),
        case(
            "UNSUBACK pkid 0",
            V31,
            &[0xB0, 0x02, 0x00, 0x00],
            E::ZeroPacketId {
                packet_type: T::Unsuback,
            },
        ),
        case(
            "PUBLISH QoS 2 pkid 0",
            V311,
            &[0x34, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
            E::ZeroPacketId {
                packet_type: T::Publish,
            },
        ),
        case(
            "SUBSCRIBE pkid 0",
            V311,
            &[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'a', 0x00],
            E::ZeroPacketId {
                packet_type: T::Subscribe,
            },
        ),
        // Strings.
        case(
            "topic 0xFF",
            V311,
            &[0x30, 0x03, 0x00, 0x01, 0xFF],
            E::InvalidUtf8,
        ),
        case(
            "topic is a UTF-16 surrogate",
            V311,
            &[0x30, 0x05, 0x00, 0x03, 0xED, 0xA0, 0x80],
            E::InvalidUtf8,
        ),
        case(
            "client id overlong '/'",
            V311,
            &connect(b"MQTT", 4, 0x02, &[0x00, 0x02, 0xC0, 0xAF]),
            E::InvalidUtf8,
        ),
        case(
            "topic U+0000",
            V311,
            &[0x30, 0x03, 0x00, 0x01, 0x00],
            E::NulCharacter,
        ),
        case(
            "user name U+0000 in 3.1",
            V31,
            &connect(b"MQIsdp", 3, 0x82, &[0, 1, b'c', 0, 1, 0]),
            E::NulCharacter,
        ),
        // Topics.
        case(
            "empty PUBLISH topic",
            V311,
            &[0x30, 0x02, 0x00, 0x00],
            E::InvalidTopic(TopicError::Empty),
        ),
        case(
            "'+' in PUBLISH topic",
            V31,
            &[0x30, 0x05, 0x00, 0x03, b'a', b'/', b'+'],
            E::InvalidTopic(TopicError::WildcardInName),
        ),
        case(
            "'#' in will topic",
            V311,
            &connect(b"MQTT", 4, 0x06, &[0, 1, b'c', 0, 1, b'#', 0, 0]),
            E::InvalidTopic(TopicError::WildcardInName),
        ),
        case(
            "SUBSCRIBE 'a#'",
            V311,
            &[0x82, 0x07, 0x00, 0x01, 0x00, 0x02, b'a', b'#', 0x00],
            E::InvalidTopic(TopicError::MisplacedWildcard),
        ),
        case(
            "UNSUBSCRIBE '#/a'",
            V311,
            &[0xA2, 0x07, 0x00, 0x01, 0x00, 0x03, b'#', b'/', b'a'],
            E::InvalidTopic(TopicError::MisplacedWildcard),
        ),
        case(
            "UNSUBSCRIBE empty filter",
            V31,
            &[0xA2, 0x04, 0x00, 0x01, 0x00, 0x00],
            E::InvalidTopic(TopicError::Empty),
        ),
        // Lists.
        case(
            "SUBSCRIBE without filters",
            V311,
            &[0x82, 0x02, 0x00, 0x01],
            E::EmptyPayload {
                packet_type: T::Subscribe,
            },
        ),
        case(
            "UNSUBSCRIBE without filters",
            V31,
            &[0xA2, 0x02, 0x00, 0x01],
            E::EmptyPayload {
                packet_type: T::Unsubscribe,
            },
        ),
        case(
            "SUBACK without codes",
            V311,
            &[0x90, 0x02, 0x00, 0x01],
            E::EmptyPayload {
                packet_type: T::Suback,
            },
        ),
        // CONNECT.
        case(
            "protocol name MQTX",
            V311,
            &connect(b"MQTX", 4, 0x02, CID),
            E::InvalidProtocolName(b"MQTX".to_vec()),
        ),
        case(
            "protocol name mqisdp",
            V31,
            &connect(b"mqisdp", 3, 0x02, CID),
            E::InvalidProtocolName(b"mqisdp".to_vec()),
        ),
        case(
            "MQTT level 5",
            V311,
            &connect(b"MQTT", 5, 0x02, CID),
            E::UnsupportedProtocolLevel(5),
        ),
        case(
            "MQTT level 3",
            V311,
            &connect(b"MQTT", 3, 0x02, CID),
            E::UnsupportedProtocolLevel(3),
        ),
        case(
            "MQIsdp level 4",
            V31,
            &connect(b"MQIsdp", 4, 0x02, CID),
            E::UnsupportedProtocolLevel(4),
        ),
        case(
            "reserved flag",
            V311,
            &connect(b"MQTT", 4, 0x03, CID),
            E::ReservedConnectFlag,
        ),
        case(
            "3.1.1 CONNECT keeps 3.1.1 rules on a connection passed as 3.1",
            V31,
            &connect(b"MQTT", 4, 0x01, CID),
            E::ReservedConnectFlag,
        ),
        case(
            "will retain without will",
            V311,
            &connect(b"MQTT", 4, 0x22, CID),
            E::WillFlagsWithoutWill(0x22),
        ),
        case(
            "will QoS 1 without will",
            V311,
            &connect(b"MQTT", 4, 0x0A, CID),
            E::WillFlagsWithoutWill(0x0A),
        ),
        case(
            "password without user name",
            V311,
            &connect(b"MQTT", 4, 0x42, &[0, 1, b'c', 0, 1, b'p']),
            E::PasswordWithoutUsername,
        ),
        // CONNACK.
        case(
            "CONNACK flags 0x02",
            V311,
            &[0x20, 0x02, 0x02, 0x00],
            E::InvalidConnackFlags(0x02),
        ),
        case(
            "CONNACK flags 0x81",
            V311,
            &[0x20, 0x02, 0x81, 0x00],
            E::InvalidConnackFlags(0x81),
        ),
        case(
            "CONNACK code 6",
            V311,
            &[0x20, 0x02, 0x00, 0x06],
            E::InvalidConnectReturnCode(6),
        ),
        case(
            "CONNACK code 0xFF, 3.1",
            V31,
            &[0x20, 0x02, 0x00, 0xFF],
            E::InvalidConnectReturnCode(0xFF),
        ),
        case(
            "session present on refusal",
            V311,
            &[0x20, 0x02, 0x01, 0x05],
            E::SessionPresentOnRefusal,
        ),
        // SUBSCRIBE / SUBACK codes.
        case(
            "requested QoS byte 0x04",
            V311,
            &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x04],
            E::InvalidSubscribeOptions(0x04),
        ),
        case(
            "requested QoS byte 0x81, 3.1",
            V31,
            &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x81],
            E::InvalidSubscribeOptions(0x81),
        ),
        case(
            "SUBACK code 3",
            V311,
            &[0x90, 0x03, 0x00, 0x01, 0x03],
            E::InvalidSubackCode(3),
        ),
        case(
            "SUBACK code 0x81",
            V31,
            &[0x90, 0x03, 0x00, 0x01, 0x81],
            E::InvalidSubackCode(0x81),
        ),
    ];
    cases.push(Case {
        what: "remaining length above the caller's limit, refused from the header alone",
        protocol: Protocol::V311,
        max: 100,
        bytes: vec![0x30, 0xFF, 0x7F],
        expected: E::PacketTooLarge {
            remaining_length: 16_383,
            max: 100,
        },
    });
    cases.push(Case {
        what: "limit 0 refuses any body",
        protocol: Protocol::V31,
        max: 0,
        bytes: vec![0x40, 0x02],
        expected: E::PacketTooLarge {
            remaining_length: 2,
            max: 0,
        },
    });
    cases
}

#[test]
fn each_case_fails_as_expected() {
    for c in cases() {
        assert_eq!(
            decode(&c.bytes, c.protocol, c.max),
            Err(c.expected.clone()),
            "{} ({:?}): {:02X?}",
            c.what,
            c.protocol,
            c.bytes
        );
        // The error is stable: more bytes after the offending ones change nothing.
        let mut longer = c.bytes.clone();
        longer.extend_from_slice(&[0u8; 8]);
        assert_eq!(
            decode(&longer, c.protocol, c.max),
            Err(c.expected.clone()),
            "{} with bytes appended",
            c.what
        );
    }
}

#[test]
fn every_variant_is_reached() {
    let reached: BTreeSet<usize> = cases()
        .iter()
        .filter_map(|c| decode(&c.bytes, c.protocol, c.max).err())
        .map(|e| variant(&e))
        .collect();
    let all: BTreeSet<usize> = (0..VARIANTS).collect();
    assert_eq!(reached, all, "variants without a malformed-input case");
}
