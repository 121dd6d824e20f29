//! Exact bytes for every packet type, computed by hand from the specifications
//! (MQTT 3.1 and MQTT 3.1.1 chapter 3), encoded and decoded under both revisions.

use bytes::Bytes;
use vmodem_mqtt::{
    decode, Connack, Connect, ConnectReturnCode, Packet, Protocol, Publish, QoS, Suback,
    SubackCode, Subscribe, SubscribeFilter, Unsubscribe, Will,
};

use Protocol::{V31, V311};

const BOTH: &[Protocol] = &[V31, V311];

struct Vector {
    name: &'static str,
    /// Connections on which these bytes decode to `packet`.
    protocols: &'static [Protocol],
    packet: Packet,
    bytes: Vec<u8>,
}

fn v(name: &'static str, protocols: &'static [Protocol], packet: Packet, bytes: &[u8]) -> Vector {
    Vector {
        name,
        protocols,
        packet,
        bytes: bytes.to_vec(),
    }
}

fn minimal_connect(protocol: Protocol) -> Packet {
    Packet::Connect(Connect {
        protocol,
        client_id: "ec25".into(),
        clean_session: true,
        keep_alive: 120,
        will: None,
        username: None,
        password: None,
    })
}

/// Will "w"/"bye" at QoS 1 retained, user "u", password "p", keep alive 10.
fn full_connect(protocol: Protocol) -> Packet {
    Packet::Connect(Connect {
        protocol,
        client_id: "c".into(),
        clean_session: false,
        keep_alive: 10,
        will: Some(Will {
            topic: "w".into(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some("u".into()),
        password: Some(b"p".to_vec()),
    })
}

/// The CONNECT payload shared by both `full_connect` encodings.
const FULL_CONNECT_TAIL: &[u8] = &[
    0xEC, // flags: user name, password, will retain, will QoS 1, will; no clean session
    0x00, 0x0A, // keep alive 10
    0x00, 0x01, b'c', // client id
    0x00, 0x01, b'w', // will topic
    0x00, 0x03, b'b', b'y', b'e', // will message
    0x00, 0x01, b'u', // user name
    0x00, 0x01, b'p', // password
];

fn publish(dup: bool, qos: QoS, retain: bool, topic: &str, pkid: u16, payload: &[u8]) -> Packet {
    Packet::Publish(Publish {
        dup,
        qos,
        retain,
        topic: topic.into(),
        pkid,
        payload: Bytes::copy_from_slice(payload),
    })
}

fn vectors() -> Vec<Vector> {
    let mut full_31 = vec![
        0x10, 0x1D, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03,
    ];
    full_31.extend_from_slice(FULL_CONNECT_TAIL);
    let mut full_311 = vec![0x10, 0x1B, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04];
    full_311.extend_from_slice(FULL_CONNECT_TAIL);
    let mut big_publish = vec![0x30, 0xCB, 0x01, 0x00, 0x01, b't'];
    big_publish.extend_from_slice(&[0x5A; 200]);

    let mut vectors = vec![
        // CONNECT (3.1 "CONNECT"; 3.1.1 §3.1). The name and level follow `protocol`
        // and the packet decodes the same on either connection.
        v(
            "CONNECT 3.1 minimal",
            BOTH,
            minimal_connect(V31),
            &[
                0x10, 0x12, 0x00, 0x06, 0x4D, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03, 0x02, 0x00, 0x78,
                0x00, 0x04, b'e', b'c', b'2', b'5',
            ],
        ),
        v(
            "CONNECT 3.1.1 minimal",
            BOTH,
            minimal_connect(V311),
            &[
                0x10, 0x10, 0x00, 0x04, 0x4D, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x78, 0x00, 0x04,
                b'e', b'c', b'2', b'5',
            ],
        ),
        v("CONNECT 3.1 full", BOTH, full_connect(V31), &full_31),
        v("CONNECT 3.1.1 full", BOTH, full_connect(V311), &full_311),
        v(
            "CONNECT 3.1.1 binary password, empty user name, will QoS 2",
            BOTH,
            Packet::Connect(Connect {
                protocol: V311,
                client_id: "x".into(),
                clean_session: false,
                keep_alive: 0,
                will: Some(Will {
                    topic: "a/b".into(),
                    payload: Bytes::from_static(&[0x00, 0xFF]),
                    qos: QoS::ExactlyOnce,
                    retain: false,
                }),
                username: Some(String::new()),
                password: Some(vec![0x00, 0xFF, 0x80]),
            }),
            &[
                0x10, 0x1D, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xD4, 0x00, 0x00, 0x00, 0x01,
                b'x', 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x02, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x03,
                0x00, 0xFF, 0x80,
            ],
        ),
        v(
            // Not refused by the codec: answering CONNACK 0x02 is the server's call.
            "CONNECT 3.1.1 empty client id without clean session",
            BOTH,
            Packet::Connect(Connect {
                protocol: V311,
                client_id: String::new(),
                clean_session: false,
                keep_alive: 0,
                will: None,
                username: None,
                password: None,
            }),
            &[
                0x10, 0x0C, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
            ],
        ),
        // CONNACK (3.1.1 §3.2): session present exists only in 3.1.1.
        v(
            "CONNACK session present",
            &[V311],
            Packet::Connack(Connack {
                session_present: true,
                code: ConnectReturnCode::Accepted,
            }),
            &[0x20, 0x02, 0x01, 0x00],
        ),
        // PUBLISH (3.1.1 §3.3).
        v(
            "PUBLISH QoS 0",
            BOTH,
            publish(false, QoS::AtMostOnce, false, "a/b", 0, b"hi"),
            &[0x30, 0x07, 0x00, 0x03, b'a', b'/', b'b', b'h', b'i'],
        ),
        v(
            "PUBLISH QoS 1 DUP RETAIN",
            BOTH,
            publish(true, QoS::AtLeastOnce, true, "a/b", 10, b"hi"),
            &[
                0x3B, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0A, b'h', b'i',
            ],
        ),
        v(
            "PUBLISH QoS 2 empty payload",
            BOTH,
            publish(false, QoS::ExactlyOnce, false, "a/b", 0x1234, b""),
            &[0x34, 0x07, 0x00, 0x03, b'a', b'/', b'b', 0x12, 0x34],
        ),
        v(
            "PUBLISH retained, UTF-8 topic",
            BOTH,
            publish(false, QoS::AtMostOnce, true, "é", 0, b""),
            &[0x31, 0x04, 0x00, 0x02, 0xC3, 0xA9],
        ),
        v(
            "PUBLISH with a two-byte remaining length (203)",
            BOTH,
            publish(false, QoS::AtMostOnce, false, "t", 0, &[0x5A; 200]),
            &big_publish,
        ),
        // Acknowledgements (3.1.1 §3.4–§3.7, §3.11).
        v(
            "PUBACK",
            BOTH,
            Packet::Puback { pkid: 1 },
            &[0x40, 0x02, 0x00, 0x01],
        ),
        v(
            "PUBREC",
            BOTH,
            Packet::Pubrec { pkid: 0xFFFF },
            &[0x50, 0x02, 0xFF, 0xFF],
        ),
        v(
            "PUBREL",
            BOTH,
            Packet::Pubrel { pkid: 0x1234 },
            &[0x62, 0x02, 0x12, 0x34],
        ),
        v(
            "PUBCOMP",
            BOTH,
            Packet::Pubcomp { pkid: 42 },
            &[0x70, 0x02, 0x00, 0x2A],
        ),
        v(
            "UNSUBACK",
            BOTH,
            Packet::Unsuback { pkid: 2 },
            &[0xB0, 0x02, 0x00, 0x02],
        ),
        // SUBSCRIBE, SUBACK, UNSUBSCRIBE (3.1.1 §3.8–§3.10).
        v(
            "SUBSCRIBE two filters",
            BOTH,
            Packet::Subscribe(Subscribe {
                pkid: 1,
                filters: vec![
                    SubscribeFilter {
                        filter: "a/+".into(),
                        qos: QoS::AtLeastOnce,
                    },
                    SubscribeFilter {
                        filter: "#".into(),
                        qos: QoS::ExactlyOnce,
                    },
                ],
            }),
            &[
                0x82, 0x0C, 0x00, 0x01, 0x00, 0x03, b'a', b'/', b'+', 0x01, 0x00, 0x01, b'#', 0x02,
            ],
        ),
        v(
            "SUBACK granted and failure",
            BOTH,
            Packet::Suback(Suback {
                pkid: 1,
                return_codes: vec![SubackCode::Granted(QoS::AtLeastOnce), SubackCode::Failure],
            }),
            &[0x90, 0x04, 0x00, 0x01, 0x01, 0x80],
        ),
        v(
            "SUBACK QoS 0 and 2",
            BOTH,
            Packet::Suback(Suback {
                pkid: 10,
                return_codes: vec![
                    SubackCode::Granted(QoS::AtMostOnce),
                    SubackCode::Granted(QoS::ExactlyOnce),
                ],
            }),
            &[0x90, 0x04, 0x00, 0x0A, 0x00, 0x02],
        ),
        v(
            "UNSUBSCRIBE two filters",
            BOTH,
            Packet::Unsubscribe(Unsubscribe {
                pkid: 2,
                filters: vec!["a/+".into(), "#".into()],
            }),
            &[
                0xA2, 0x0A, 0x00, 0x02, 0x00, 0x03, b'a', b'/', b'+', 0x00, 0x01, b'#',
            ],
        ),
        // No variable header (3.1.1 §3.12–§3.14).
        v("PINGREQ", BOTH, Packet::Pingreq, &[0xC0, 0x00]),
        v("PINGRESP", BOTH, Packet::Pingresp, &[0xD0, 0x00]),
        v("DISCONNECT", BOTH, Packet::Disconnect, &[0xE0, 0x00]),
    ];
    for code in 0..=5u8 {
        let code = ConnectReturnCode::from_u8(code).unwrap();
        vectors.push(v(
            "CONNACK without session present",
            BOTH,
            Packet::Connack(Connack {
                session_present: false,
                code,
            }),
            &[0x20, 0x02, 0x00, code.as_u8()],
        ));
    }
    vectors
}

#[test]
fn encode_gives_the_exact_bytes() {
    for vector in vectors() {
        let mut out = Vec::new();
        assert_eq!(
            vector.packet.encode(&mut out),
            Ok(vector.bytes.len()),
            "{}",
            vector.name
        );
        assert_eq!(out, vector.bytes, "{}", vector.name);
        assert_eq!(
            vector.packet.encoded_len(),
            Ok(vector.bytes.len()),
            "{}",
            vector.name
        );
    }
}

#[test]
fn decode_gives_the_packet_back() {
    for vector in vectors() {
        for &protocol in vector.protocols {
            assert_eq!(
                decode(&vector.bytes, protocol, 1024),
                Ok(Some((vector.packet.clone(), vector.bytes.len()))),
                "{} on a {protocol:?} connection",
                vector.name
            );
        }
    }
}

#[test]
fn every_packet_type_has_a_vector() {
    let types: std::collections::BTreeSet<u8> = vectors()
        .iter()
        .map(|v| v.packet.packet_type().as_u8())
        .collect();
    assert_eq!(types, (1..=14).collect());
}

#[test]
fn connect_31_starts_as_the_specification_says() {
    let mut out = Vec::new();
    minimal_connect(V31).encode(&mut out).unwrap();
    // 3.1 "Protocol name": length 6, "MQIsdp"; "Protocol version number": 3.
    assert_eq!(out[0], 0x10);
    assert_eq!(
        &out[2..11],
        &[0x00, 0x06, 0x4D, 0x51, 0x49, 0x73, 0x64, 0x70, 0x03]
    );
}

#[test]
fn longer_remaining_length_encodings_are_read() {
    // 3.1.1 §2.2.3 does not require the shortest form; PINGREQ with `80 00`.
    assert_eq!(
        decode(&[0xC0, 0x80, 0x00], V311, 16),
        Ok(Some((Packet::Pingreq, 3)))
    );
    assert_eq!(
        decode(&[0x40, 0x82, 0x80, 0x00, 0x00, 0x07], V31, 16),
        Ok(Some((Packet::Puback { pkid: 7 }, 6)))
    );
}
