//! Every [`EncodeError`] variant, reached by a real value; and nothing written.

use std::collections::BTreeSet;

use bytes::Bytes;

use crate::{
    Connack, Connect, ConnectReturnCode, EncodeError, Packet, PacketType, Protocol, Publish, QoS,
    Suback, Subscribe, SubscribeFilter, TopicError, Unsubscribe, Will, MAX_REMAINING_LENGTH,
};

/// Number of `EncodeError` variants; `variant` below must name each one.
const VARIANTS: usize = 11;

fn variant(e: &EncodeError) -> usize {
    match e {
        EncodeError::FieldTooLong { .. } => 0,
        EncodeError::PacketTooLarge { .. } => 1,
        EncodeError::ZeroPacketId { .. } => 2,
        EncodeError::PacketIdOnQoS0 { .. } => 3,
        EncodeError::DupOnQoS0 => 4,
        EncodeError::NulCharacter { .. } => 5,
        EncodeError::InvalidTopic(_) => 6,
        EncodeError::EmptyPayload { .. } => 7,
        EncodeError::PasswordWithoutUsername => 8,
        EncodeError::SessionPresentOnRefusal => 9,
        EncodeError::BufferTooSmall { .. } => 10,
    }
}

fn connect(protocol: Protocol) -> Connect {
    Connect {
        protocol,
        client_id: "c".into(),
        clean_session: true,
        keep_alive: 60,
        will: None,
        username: None,
        password: None,
    }
}

fn publish(qos: QoS, pkid: u16) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: "t".into(),
        pkid,
        payload: Bytes::from_static(b"x"),
    }
}

fn cases() -> Vec<(&'static str, Packet, EncodeError)> {
    use EncodeError as E;
    let long = "a".repeat(65_536);
    let mut cases: Vec<(&'static str, Packet, EncodeError)> = Vec::new();

    let mut c = connect(Protocol::V311);
    c.client_id = long.clone();
    cases.push((
        "client id of 65536 bytes",
        c.into(),
        E::FieldTooLong {
            field: "client_id",
            len: 65_536,
        },
    ));
    let mut c = connect(Protocol::V31);
    c.username = Some("u".into());
    c.password = Some(vec![0; 65_536]);
    cases.push((
        "password of 65536 bytes",
        c.into(),
        E::FieldTooLong {
            field: "password",
            len: 65_536,
        },
    ));
    let mut p = publish(QoS::AtMostOnce, 0);
    p.topic = long.clone();
    cases.push((
        "topic of 65536 bytes",
        p.into(),
        E::FieldTooLong {
            field: "topic",
            len: 65_536,
        },
    ));

    // A zeroed allocation this size is not touched by encoded_len/encode, which
    // fail before writing.
    let mut p = publish(QoS::AtMostOnce, 0);
    p.payload = Bytes::from(vec![0u8; MAX_REMAINING_LENGTH - 3 + 1]);
    cases.push((
        "remaining length 268435456",
        p.into(),
        E::PacketTooLarge {
            remaining_length: MAX_REMAINING_LENGTH + 1,
        },
    ));

    cases.push((
        "PUBACK pkid 0",
        Packet::Puback { pkid: 0 },
        E::ZeroPacketId {
            packet_type: PacketType::Puback,
        },
    ));
    cases.push((
        "PUBREL pkid 0",
        Packet::Pubrel { pkid: 0 },
        E::ZeroPacketId {
            packet_type: PacketType::Pubrel,
        },
    ));
    cases.push((
        "PUBLISH QoS 1 pkid 0",
        publish(QoS::AtLeastOnce, 0).into(),
        E::ZeroPacketId {
            packet_type: PacketType::Publish,
        },
    ));
    cases.push((
        "SUBACK pkid 0",
        Suback {
            pkid: 0,
            return_codes: vec![crate::SubackCode::Failure],
        }
        .into(),
        E::ZeroPacketId {
            packet_type: PacketType::Suback,
        },
    ));
    cases.push((
        "QoS 0 with pkid",
        publish(QoS::AtMostOnce, 7).into(),
        E::PacketIdOnQoS0 { pkid: 7 },
    ));
    let mut p = publish(QoS::AtMostOnce, 0);
    p.dup = true;
    cases.push(("QoS 0 with DUP", p.into(), E::DupOnQoS0));

    let mut c = connect(Protocol::V31);
    c.client_id = "a\0b".into();
    cases.push((
        "U+0000 in client id",
        c.into(),
        E::NulCharacter { field: "client_id" },
    ));
    cases.push((
        "U+0000 in a filter",
        Unsubscribe {
            pkid: 1,
            filters: vec!["a/\0".into()],
        }
        .into(),
        E::NulCharacter {
            field: "topic filter",
        },
    ));

    let mut p = publish(QoS::AtLeastOnce, 1);
    p.topic = "a/#".into();
    cases.push((
        "'#' in PUBLISH topic",
        p.into(),
        E::InvalidTopic(TopicError::WildcardInName),
    ));
    let mut c = connect(Protocol::V311);
    c.will = Some(Will {
        topic: String::new(),
        payload: Bytes::new(),
        qos: QoS::AtMostOnce,
        retain: false,
    });
    cases.push((
        "empty will topic",
        c.into(),
        E::InvalidTopic(TopicError::Empty),
    ));
    cases.push((
        "filter 'a/b#'",
        Subscribe {
            pkid: 1,
            filters: vec![SubscribeFilter {
                filter: "a/b#".into(),
                qos: QoS::AtMostOnce,
            }],
        }
        .into(),
        E::InvalidTopic(TopicError::MisplacedWildcard),
    ));

    cases.push((
        "SUBSCRIBE without filters",
        Subscribe {
            pkid: 1,
            filters: vec![],
        }
        .into(),
        E::EmptyPayload {
            packet_type: PacketType::Subscribe,
        },
    ));
    cases.push((
        "UNSUBSCRIBE without filters",
        Unsubscribe {
            pkid: 1,
            filters: vec![],
        }
        .into(),
        E::EmptyPayload {
            packet_type: PacketType::Unsubscribe,
        },
    ));
    cases.push((
        "SUBACK without codes",
        Suback {
            pkid: 1,
            return_codes: vec![],
        }
        .into(),
        E::EmptyPayload {
            packet_type: PacketType::Suback,
        },
    ));

    for protocol in [Protocol::V31, Protocol::V311] {
        let mut c = connect(protocol);
        c.password = Some(b"p".to_vec());
        cases.push((
            "password without user name",
            c.into(),
            E::PasswordWithoutUsername,
        ));
    }
    cases.push((
        "session present on refusal",
        Connack {
            session_present: true,
            code: ConnectReturnCode::NotAuthorized,
        }
        .into(),
        E::SessionPresentOnRefusal,
    ));
    cases
}

#[test]
fn each_case_fails_and_writes_nothing() {
    for (what, packet, expected) in cases() {
        assert_eq!(
            packet.encoded_len(),
            Err(expected.clone()),
            "{what}: encoded_len"
        );
        let mut out = vec![0xAB];
        assert_eq!(packet.encode(&mut out), Err(expected), "{what}: encode");
        assert_eq!(out, [0xAB], "{what}: nothing written");
    }
}

#[test]
fn fixed_buffer_too_small_is_an_error_not_a_panic() {
    let packet = Packet::Puback { pkid: 1 };
    let mut storage = [0u8; 3];
    let mut slice = &mut storage[..];
    assert_eq!(
        packet.encode(&mut slice),
        Err(EncodeError::BufferTooSmall {
            needed: 4,
            available: 3
        })
    );
    assert_eq!(storage, [0, 0, 0]);

    let mut storage = [0u8; 4];
    let mut slice = &mut storage[..];
    assert_eq!(packet.encode(&mut slice), Ok(4));
    assert_eq!(storage, [0x40, 0x02, 0x00, 0x01]);
}

#[test]
fn every_variant_is_reached() {
    let mut errors: Vec<EncodeError> = cases()
        .iter()
        .filter_map(|(_, p, _)| p.encode(&mut Vec::new()).err())
        .collect();
    let mut tiny = [0u8; 1];
    errors.extend(Packet::Pingreq.encode(&mut &mut tiny[..]).err());
    let reached: BTreeSet<usize> = errors.iter().map(variant).collect();
    let all: BTreeSet<usize> = (0..VARIANTS).collect();
    assert_eq!(reached, all, "variants without a case");
}
