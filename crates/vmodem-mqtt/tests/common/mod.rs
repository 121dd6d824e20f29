//! Proptest strategies for valid packets, shared by the property and oracle tests.
//!
//! "Valid" means what the encoder accepts: the strategies never produce a value
//! that `Packet::encode` refuses, and the tests check that it does not.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use vmodem_mqtt::{
    Connack, Connect, ConnectReturnCode, Packet, Protocol, Publish, QoS, Suback, SubackCode,
    Subscribe, SubscribeFilter, Unsubscribe, Will,
};

/// Bounds the remaining length in decode calls made by tests: as large as allowed.
pub(crate) const NO_LIMIT: usize = vmodem_mqtt::MAX_REMAINING_LENGTH;

pub(crate) fn protocol() -> impl Strategy<Value = Protocol> {
    prop_oneof![Just(Protocol::V31), Just(Protocol::V311)]
}

pub(crate) fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

pub(crate) fn pkid() -> impl Strategy<Value = u16> {
    1..=u16::MAX
}

/// Any string without U+0000, mostly short ASCII, sometimes any Unicode.
pub(crate) fn text(max: usize) -> BoxedStrategy<String> {
    prop_oneof![
        3 => proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        1 => proptest::string::string_regex(&format!("[^\\x00]{{0,{max}}}")).unwrap(),
    ]
    .boxed()
}

/// A topic name: non-empty, no wildcards, no U+0000; often with levels.
pub(crate) fn topic_name() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[a-z0-9$/ _-]{1,24}",
        1 => "[^\\x00+#]{1,12}",
    ]
    .prop_filter("no wildcards, non-empty", |t| {
        !t.is_empty() && !t.contains(['+', '#'])
    })
    .boxed()
}

/// A topic filter: levels of text or `+`, optionally ending in `#`.
pub(crate) fn topic_filter() -> BoxedStrategy<String> {
    let level = prop_oneof![
        3 => "[a-z0-9$ _-]{0,8}",
        1 => "[^\\x00+#/]{0,4}",
        2 => Just("+".to_string()),
    ];
    (vec(level, 1..5), any::<bool>())
        .prop_map(|(levels, hash)| {
            let mut f = levels.join("/");
            if hash {
                if !f.is_empty() {
                    f.push('/');
                }
                f.push('#');
            }
            if f.is_empty() {
                f.push('+');
            }
            f
        })
        .boxed()
}

/// Payloads: mostly small, sometimes big enough for a two-byte remaining length.
pub(crate) fn payload() -> BoxedStrategy<Bytes> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..48),
        1 => vec(any::<u8>(), 100..400),
    ]
    .prop_map(Bytes::from)
    .boxed()
}

pub(crate) fn will() -> impl Strategy<Value = Will> {
    (topic_name(), payload(), qos(), any::<bool>()).prop_map(|(topic, payload, qos, retain)| Will {
        topic,
        payload,
        qos,
        retain,
    })
}

/// User name and password, the password only with a user name.
pub(crate) fn login(
    password: BoxedStrategy<Vec<u8>>,
) -> BoxedStrategy<(Option<String>, Option<Vec<u8>>)> {
    prop_oneof![
        Just((None, None)),
        text(16).prop_map(|u| (Some(u), None)),
        (text(16), password).prop_map(|(u, p)| (Some(u), Some(p))),
    ]
    .boxed()
}

pub(crate) fn binary_password() -> BoxedStrategy<Vec<u8>> {
    vec(any::<u8>(), 0..24).boxed()
}

pub(crate) fn utf8_password() -> BoxedStrategy<Vec<u8>> {
    text(16).prop_map(String::into_bytes).boxed()
}

pub(crate) fn connect_with(
    protocol: impl Strategy<Value = Protocol>,
    login: BoxedStrategy<(Option<String>, Option<Vec<u8>>)>,
) -> impl Strategy<Value = Connect> {
    (
        protocol,
        text(23),
        any::<bool>(),
        any::<u16>(),
        proptest::option::of(will()),
        login,
    )
        .prop_map(
            |(protocol, client_id, clean_session, keep_alive, will, (username, password))| {
                Connect {
                    protocol,
                    client_id,
                    clean_session,
                    keep_alive,
                    will,
                    username,
                    password,
                }
            },
        )
}

pub(crate) fn connect() -> impl Strategy<Value = Connect> {
    connect_with(protocol(), login(binary_password()))
}

pub(crate) fn connect_return_code() -> impl Strategy<Value = ConnectReturnCode> {
    (0u8..=5).prop_map(|c| ConnectReturnCode::from_u8(c).unwrap())
}

/// A CONNACK valid on a connection of `protocol`: 3.1 has no session present.
pub(crate) fn connack(protocol: Protocol) -> impl Strategy<Value = Connack> {
    (any::<bool>(), connect_return_code()).prop_map(move |(sp, code)| Connack {
        session_present: sp && protocol == Protocol::V311 && code == ConnectReturnCode::Accepted,
        code,
    })
}

pub(crate) fn publish() -> impl Strategy<Value = Publish> {
    (
        qos(),
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        pkid(),
        payload(),
    )
        .prop_map(|(qos, dup, retain, topic, pkid, payload)| {
            let at_most_once = qos == QoS::AtMostOnce;
            Publish {
                dup: dup && !at_most_once,
                qos,
                retain,
                topic,
                pkid: if at_most_once { 0 } else { pkid },
                payload,
            }
        })
}

pub(crate) fn subscribe() -> impl Strategy<Value = Subscribe> {
    (pkid(), vec((topic_filter(), qos()), 1..6)).prop_map(|(pkid, fs)| Subscribe {
        pkid,
        filters: fs
            .into_iter()
            .map(|(filter, qos)| SubscribeFilter { filter, qos })
            .collect(),
    })
}

pub(crate) fn suback_code() -> impl Strategy<Value = SubackCode> {
    prop_oneof![
        qos().prop_map(SubackCode::Granted),
        Just(SubackCode::Failure)
    ]
}

pub(crate) fn suback() -> impl Strategy<Value = Suback> {
    (pkid(), vec(suback_code(), 1..8))
        .prop_map(|(pkid, return_codes)| Suback { pkid, return_codes })
}

pub(crate) fn unsubscribe() -> impl Strategy<Value = Unsubscribe> {
    (pkid(), vec(topic_filter(), 1..6)).prop_map(|(pkid, filters)| Unsubscribe { pkid, filters })
}

/// Any of the 14 packets, valid on a connection of `protocol`.
pub(crate) fn packet(protocol: Protocol) -> BoxedStrategy<Packet> {
    prop_oneof![
        connect().prop_map(Packet::Connect),
        connack(protocol).prop_map(Packet::Connack),
        publish().prop_map(Packet::Publish),
        pkid().prop_map(|pkid| Packet::Puback { pkid }),
        pkid().prop_map(|pkid| Packet::Pubrec { pkid }),
        pkid().prop_map(|pkid| Packet::Pubrel { pkid }),
        pkid().prop_map(|pkid| Packet::Pubcomp { pkid }),
        subscribe().prop_map(Packet::Subscribe),
        suback().prop_map(Packet::Suback),
        unsubscribe().prop_map(Packet::Unsubscribe),
        pkid().prop_map(|pkid| Packet::Unsuback { pkid }),
        Just(Packet::Pingreq),
        Just(Packet::Pingresp),
        Just(Packet::Disconnect),
    ]
    .boxed()
}

/// A protocol and a packet valid on it.
pub(crate) fn protocol_and_packet() -> impl Strategy<Value = (Protocol, Packet)> {
    protocol().prop_flat_map(|p| (Just(p), packet(p)))
}

/// Encodes, checking that `encoded_len` and the returned count agree with the bytes.
pub(crate) fn encode(packet: &Packet) -> Vec<u8> {
    let mut out = Vec::new();
    let written = packet
        .encode(&mut out)
        .expect("strategies produce encodable packets");
    assert_eq!(written, out.len(), "encode's count");
    assert_eq!(packet.encoded_len(), Ok(out.len()), "encoded_len");
    out
}
