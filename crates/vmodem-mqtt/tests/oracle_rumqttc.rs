//! rumqttc 0.25's `mqttbytes::v4` as an oracle for 3.1.1 (it has no 3.1): our
//! bytes must `Packet::read` there to the same fields, and its `Packet::write`
//! bytes must decode here to the same packet and equal our encoding.
//!
//! Known quirks of the oracle, each worked around only in this file:
//! - `Login` holds `username: String, password: String` and treats "empty" as
//!   "absent" both ways: `read` returns no login when both are empty and `write`
//!   skips an empty field. We compare through that same mapping when it reads
//!   our bytes, and give it non-empty user names and passwords to write.
//! - Passwords are `String`s there (binary data in 3.1.1 §3.1.3.5), so CONNECTs
//!   given to it carry UTF-8 passwords only.
//! - Its `Connect` always writes `"MQTT"`/4, so only 3.1.1 CONNECTs go through it.
//! - It accepts packet identifier 0 in acknowledgements and an empty
//!   UNSUBSCRIBE, and ignores SUBSCRIBE's reserved option bits; we never hand it those.

mod common;

use bytes::BytesMut;
use common::{
    connect_with, encode, login, publish, suback, subscribe, text, unsubscribe, utf8_password,
    NO_LIMIT,
};
use proptest::prelude::*;
use rumqttc::mqttbytes::v4 as r4;
use rumqttc::mqttbytes::QoS as TheirQoS;
use vmodem_mqtt::{decode, Connack, Connect, ConnectReturnCode, Packet, Protocol, QoS, SubackCode};

fn their_qos(q: QoS) -> TheirQoS {
    match q {
        QoS::AtMostOnce => TheirQoS::AtMostOnce,
        QoS::AtLeastOnce => TheirQoS::AtLeastOnce,
        QoS::ExactlyOnce => TheirQoS::ExactlyOnce,
    }
}

fn their_code(c: ConnectReturnCode) -> r4::ConnectReturnCode {
    match c {
        ConnectReturnCode::Accepted => r4::ConnectReturnCode::Success,
        ConnectReturnCode::UnacceptableProtocolVersion => {
            r4::ConnectReturnCode::RefusedProtocolVersion
        }
        ConnectReturnCode::IdentifierRejected => r4::ConnectReturnCode::BadClientId,
        ConnectReturnCode::ServerUnavailable => r4::ConnectReturnCode::ServiceUnavailable,
        ConnectReturnCode::BadUsernameOrPassword => r4::ConnectReturnCode::BadUserNamePassword,
        ConnectReturnCode::NotAuthorized => r4::ConnectReturnCode::NotAuthorized,
    }
}

fn their_suback_code(c: SubackCode) -> r4::SubscribeReasonCode {
    match c {
        SubackCode::Granted(q) => r4::SubscribeReasonCode::Success(their_qos(q)),
        SubackCode::Failure => r4::SubscribeReasonCode::Failure,
    }
}

fn their_connect(c: &Connect) -> r4::Connect {
    assert_eq!(c.protocol, Protocol::V311, "rumqttc writes only 3.1.1");
    r4::Connect {
        protocol: rumqttc::mqttbytes::Protocol::V4,
        keep_alive: c.keep_alive,
        client_id: c.client_id.clone(),
        clean_session: c.clean_session,
        last_will: c.will.as_ref().map(|w| r4::LastWill {
            topic: w.topic.clone(),
            message: w.payload.clone(),
            qos: their_qos(w.qos),
            retain: w.retain,
        }),
        // Quirk: an empty user name or password is written as absent, so the
        // strategy for this direction never makes empty ones.
        login: c.username.as_ref().map(|u| r4::Login {
            username: u.clone(),
            password: c
                .password
                .clone()
                .map(|p| String::from_utf8(p).unwrap())
                .unwrap_or_default(),
        }),
    }
}

/// Our packet built with their types.
fn theirs(p: &Packet) -> r4::Packet {
    match p {
        Packet::Connect(c) => r4::Packet::Connect(their_connect(c)),
        Packet::Connack(c) => r4::Packet::ConnAck(r4::ConnAck {
            session_present: c.session_present,
            code: their_code(c.code),
        }),
        Packet::Publish(p) => r4::Packet::Publish(r4::Publish {
            dup: p.dup,
            qos: their_qos(p.qos),
            retain: p.retain,
            topic: p.topic.clone(),
            pkid: p.pkid,
            payload: p.payload.clone(),
        }),
        Packet::Puback { pkid } => r4::Packet::PubAck(r4::PubAck { pkid: *pkid }),
        Packet::Pubrec { pkid } => r4::Packet::PubRec(r4::PubRec { pkid: *pkid }),
        Packet::Pubrel { pkid } => r4::Packet::PubRel(r4::PubRel { pkid: *pkid }),
        Packet::Pubcomp { pkid } => r4::Packet::PubComp(r4::PubComp { pkid: *pkid }),
        Packet::Subscribe(s) => r4::Packet::Subscribe(r4::Subscribe {
            pkid: s.pkid,
            filters: s
                .filters
                .iter()
                .map(|f| r4::SubscribeFilter::new(f.filter.clone(), their_qos(f.qos)))
                .collect(),
        }),
        Packet::Suback(s) => r4::Packet::SubAck(r4::SubAck {
            pkid: s.pkid,
            return_codes: s
                .return_codes
                .iter()
                .map(|&c| their_suback_code(c))
                .collect(),
        }),
        Packet::Unsubscribe(u) => r4::Packet::Unsubscribe(r4::Unsubscribe {
            pkid: u.pkid,
            topics: u.filters.clone(),
        }),
        Packet::Unsuback { pkid } => r4::Packet::UnsubAck(r4::UnsubAck { pkid: *pkid }),
        Packet::Pingreq => r4::Packet::PingReq,
        Packet::Pingresp => r4::Packet::PingResp,
        Packet::Disconnect => r4::Packet::Disconnect,
    }
}

/// Compares what they read from our bytes with ours, field by field.
fn assert_same(ours: &Packet, theirs: &r4::Packet) {
    match (ours, theirs) {
        (Packet::Connect(c), r4::Packet::Connect(t)) => {
            assert_eq!(t.protocol, rumqttc::mqttbytes::Protocol::V4);
            assert_eq!(t.client_id, c.client_id);
            assert_eq!(t.clean_session, c.clean_session);
            assert_eq!(t.keep_alive, c.keep_alive);
            let their_will = t
                .last_will
                .as_ref()
                .map(|w| (&w.topic, &w.message, w.qos, w.retain));
            let our_will = c
                .will
                .as_ref()
                .map(|w| (&w.topic, &w.payload, their_qos(w.qos), w.retain));
            assert_eq!(their_will, our_will);
            // Quirk: their Login maps "absent" to "" and drops a login of two "".
            let their_login = t
                .login
                .as_ref()
                .map(|l| (l.username.clone(), l.password.clone().into_bytes()))
                .unwrap_or_default();
            let our_login = (
                c.username.clone().unwrap_or_default(),
                c.password.clone().unwrap_or_default(),
            );
            assert_eq!(their_login, our_login);
        }
        (Packet::Connack(c), r4::Packet::ConnAck(t)) => {
            assert_eq!(t.session_present, c.session_present);
            assert_eq!(t.code, their_code(c.code));
        }
        (Packet::Publish(p), r4::Packet::Publish(t)) => {
            assert_eq!(t.dup, p.dup);
            assert_eq!(t.qos, their_qos(p.qos));
            assert_eq!(t.retain, p.retain);
            assert_eq!(t.topic, p.topic);
            assert_eq!(t.pkid, p.pkid);
            assert_eq!(t.payload, p.payload);
        }
        (Packet::Puback { pkid }, r4::Packet::PubAck(t)) => assert_eq!(t.pkid, *pkid),
        (Packet::Pubrec { pkid }, r4::Packet::PubRec(t)) => assert_eq!(t.pkid, *pkid),
        (Packet::Pubrel { pkid }, r4::Packet::PubRel(t)) => assert_eq!(t.pkid, *pkid),
        (Packet::Pubcomp { pkid }, r4::Packet::PubComp(t)) => assert_eq!(t.pkid, *pkid),
        (Packet::Unsuback { pkid }, r4::Packet::UnsubAck(t)) => assert_eq!(t.pkid, *pkid),
        (Packet::Subscribe(s), r4::Packet::Subscribe(t)) => {
            assert_eq!(t.pkid, s.pkid);
            let theirs: Vec<(&str, TheirQoS)> =
                t.filters.iter().map(|f| (f.path.as_str(), f.qos)).collect();
            let ours: Vec<(&str, TheirQoS)> = s
                .filters
                .iter()
                .map(|f| (f.filter.as_str(), their_qos(f.qos)))
                .collect();
            assert_eq!(theirs, ours);
        }
        (Packet::Suback(s), r4::Packet::SubAck(t)) => {
            assert_eq!(t.pkid, s.pkid);
            let ours: Vec<_> = s
                .return_codes
                .iter()
                .map(|&c| their_suback_code(c))
                .collect();
            assert_eq!(t.return_codes, ours);
        }
        (Packet::Unsubscribe(u), r4::Packet::Unsubscribe(t)) => {
            assert_eq!(t.pkid, u.pkid);
            assert_eq!(t.topics, u.filters);
        }
        (Packet::Pingreq, r4::Packet::PingReq)
        | (Packet::Pingresp, r4::Packet::PingResp)
        | (Packet::Disconnect, r4::Packet::Disconnect) => {}
        (ours, theirs) => panic!("different packet types: {ours:?} vs {theirs:?}"),
    }
}

/// All 14 packets for 3.1.1, CONNECTs with the given login strategy.
fn packet_311(login: BoxedStrategy<(Option<String>, Option<Vec<u8>>)>) -> BoxedStrategy<Packet> {
    let pkid = || 1..=u16::MAX;
    prop_oneof![
        connect_with(Just(Protocol::V311), login).prop_map(Packet::Connect),
        common::connack(Protocol::V311).prop_map(Packet::Connack),
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

/// Non-empty user name and password (see the `Login` quirk above).
fn non_empty_login() -> BoxedStrategy<(Option<String>, Option<Vec<u8>>)> {
    let non_empty = || text(16).prop_filter("non-empty", |s| !s.is_empty());
    prop_oneof![
        Just((None, None)),
        non_empty().prop_map(|u| (Some(u), None)),
        (non_empty(), non_empty()).prop_map(|(u, p)| (Some(u), Some(p.into_bytes()))),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn they_read_what_we_write(packet in packet_311(login(utf8_password()))) {
        let bytes = encode(&packet);
        let mut stream = BytesMut::from(&bytes[..]);
        let decoded = r4::Packet::read(&mut stream, NO_LIMIT)
            .unwrap_or_else(|e| panic!("{packet:?}: {e}"));
        prop_assert!(stream.is_empty(), "they left {} bytes", stream.len());
        assert_same(&packet, &decoded);
    }

    #[test]
    fn we_read_what_they_write(packet in packet_311(non_empty_login())) {
        let mut stream = BytesMut::new();
        let written = theirs(&packet).write(&mut stream, NO_LIMIT).unwrap();
        prop_assert_eq!(written, stream.len());
        prop_assert_eq!(
            decode(&stream, Protocol::V311, NO_LIMIT),
            Ok(Some((packet.clone(), stream.len())))
        );
        prop_assert_eq!(&stream[..], &encode(&packet)[..], "their bytes differ from ours");
    }
}

#[test]
fn login_quirk_is_what_this_file_says() {
    // An empty user name we send is a missing login to them: the reason the
    // comparison above goes through `unwrap_or_default`.
    let ours = Packet::Connect(Connect {
        protocol: Protocol::V311,
        client_id: "c".into(),
        clean_session: true,
        keep_alive: 0,
        will: None,
        username: Some(String::new()),
        password: None,
    });
    let mut stream = BytesMut::from(&encode(&ours)[..]);
    let r4::Packet::Connect(theirs) = r4::Packet::read(&mut stream, NO_LIMIT).unwrap() else {
        panic!("not a CONNECT");
    };
    assert_eq!(theirs.login, None);
}

#[test]
fn connack_codes_match() {
    for code in 0..=5 {
        let code = ConnectReturnCode::from_u8(code).unwrap();
        let ours = Packet::Connack(Connack {
            session_present: false,
            code,
        });
        let mut stream = BytesMut::from(&encode(&ours)[..]);
        assert_same(&ours, &r4::Packet::read(&mut stream, NO_LIMIT).unwrap());
    }
}
