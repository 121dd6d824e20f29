//! What the decoder accepts under 3.1 and refuses under 3.1.1 (see the crate
//! documentation for why), and the CONNECT-decides-its-own-revision rule.

use super::decode_errors::connect;
use crate::{
    decode, Connack, Connect, ConnectReturnCode, DecodeError, Packet, PacketType, Protocol, QoS,
    Suback, SubackCode,
};

fn ok(bytes: &[u8], protocol: Protocol) -> Packet {
    let (packet, used) = decode(bytes, protocol, 1 << 16)
        .unwrap_or_else(|e| panic!("{bytes:02X?} under {protocol:?}: {e}"))
        .expect("a whole packet");
    assert_eq!(used, bytes.len());
    packet
}

fn connect_31(flags: u8, payload: &[u8]) -> Connect {
    match ok(&connect(b"MQIsdp", 3, flags, payload), Protocol::V31) {
        Packet::Connect(c) => c,
        other => panic!("not a CONNECT: {other:?}"),
    }
}

#[test]
fn connect_31_ignores_reserved_and_orphan_will_bits() {
    let cid = [0, 1, b'c'];
    let c = connect_31(0x03, &cid);
    assert_eq!(
        (c.protocol, c.clean_session, c.will.is_none()),
        (Protocol::V31, true, true)
    );
    // Will QoS 2 and will retain without the will flag: ignored, no will read.
    let c = connect_31(0x30, &cid);
    assert_eq!((c.clean_session, c.will), (false, None));
    assert_eq!(c.client_id, "c");
    // The same flags in a 3.1.1 CONNECT are errors.
    assert_eq!(
        decode(&connect(b"MQTT", 4, 0x30, &cid), Protocol::V311, 1 << 16),
        Err(DecodeError::WillFlagsWithoutWill(0x30))
    );
}

#[test]
fn connect_31_accepts_password_without_user_name() {
    let c = connect_31(0x42, &[0, 1, b'c', 0, 2, 0xFF, 0x00]);
    assert_eq!(c.username, None);
    assert_eq!(c.password, Some(vec![0xFF, 0x00]));
    // ...which the encoder refuses to write back (PasswordWithoutUsername).
    assert!(Packet::Connect(c).encode(&mut Vec::new()).is_err());
}

#[test]
fn connect_revision_comes_from_the_packet() {
    let cid = [0, 1, b'c'];
    for passed in [Protocol::V31, Protocol::V311] {
        let Packet::Connect(c) = ok(&connect(b"MQIsdp", 3, 0x02, &cid), passed) else {
            panic!("not a CONNECT");
        };
        assert_eq!(c.protocol, Protocol::V31);
        let Packet::Connect(c) = ok(&connect(b"MQTT", 4, 0x02, &cid), passed) else {
            panic!("not a CONNECT");
        };
        assert_eq!(c.protocol, Protocol::V311);
    }
}

#[test]
fn connack_31_byte_1_is_ignored() {
    for (bytes, code) in [
        ([0x20, 0x02, 0x01, 0x00], ConnectReturnCode::Accepted),
        ([0x20, 0x02, 0xFF, 0x05], ConnectReturnCode::NotAuthorized),
        (
            [0x20, 0x02, 0x00, 0x02],
            ConnectReturnCode::IdentifierRejected,
        ),
    ] {
        assert_eq!(
            ok(&bytes, Protocol::V31),
            Packet::Connack(Connack {
                session_present: false,
                code
            })
        );
    }
    assert_eq!(
        ok(&[0x20, 0x02, 0x01, 0x00], Protocol::V311),
        Packet::Connack(Connack {
            session_present: true,
            code: ConnectReturnCode::Accepted
        })
    );
}

#[test]
fn dup_on_pubrel_subscribe_unsubscribe_is_31_only() {
    let cases: [(&[u8], Packet); 3] = [
        (&[0x6A, 0x02, 0x12, 0x34], Packet::Pubrel { pkid: 0x1234 }),
        (
            &[0x8A, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x01],
            Packet::Subscribe(crate::Subscribe {
                pkid: 1,
                filters: vec![crate::SubscribeFilter {
                    filter: "a".into(),
                    qos: QoS::AtLeastOnce,
                }],
            }),
        ),
        (
            &[0xAA, 0x05, 0x00, 0x01, 0x00, 0x01, b'a'],
            Packet::Unsubscribe(crate::Unsubscribe {
                pkid: 1,
                filters: vec!["a".into()],
            }),
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(ok(bytes, Protocol::V31), expected);
        assert_eq!(
            decode(bytes, Protocol::V311, 1 << 16),
            Err(DecodeError::InvalidFlags {
                packet_type: expected.packet_type(),
                flags: 0b1010
            })
        );
    }
}

#[test]
fn suback_failure_is_accepted_in_both() {
    for protocol in [Protocol::V31, Protocol::V311] {
        assert_eq!(
            ok(&[0x90, 0x04, 0x00, 0x07, 0x80, 0x02], protocol),
            Packet::Suback(Suback {
                pkid: 7,
                return_codes: vec![SubackCode::Failure, SubackCode::Granted(QoS::ExactlyOnce)],
            })
        );
    }
    assert_eq!(PacketType::Suback.as_u8(), 9);
}
