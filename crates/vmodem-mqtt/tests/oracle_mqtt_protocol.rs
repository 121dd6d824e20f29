//! `mqtt-protocol` 0.12 (crate `mqtt`) as an oracle, for 3.1 and 3.1.1:
//! our bytes must decode there to the same fields, and its bytes must decode
//! here to the same packet and equal our own encoding byte for byte.
//!
//! Known quirks of the oracle, each worked around only in this file:
//! - `PublishPacket::dup()` tests `flags() & 0x80` on a four-bit flag nibble, so
//!   it is always `false`; DUP is read from the fixed header's flags (bit 3).
//! - Passwords are `String`s there (binary data in 3.1.1 §3.1.3.5), so CONNECTs
//!   given to it carry UTF-8 passwords only.
//! - It accepts a password without a user name, packet identifier 0 and empty
//!   SUBSCRIBE/UNSUBSCRIBE/SUBACK; we never hand it those.

mod common;

use std::io::Cursor;

use bytes::Bytes;
use common::{
    connack, connect_with, encode, login, protocol, publish, suback, subscribe, unsubscribe,
    utf8_password, NO_LIMIT,
};
use mqtt::control::variable_header::ConnectReturnCode as TheirCode;
use mqtt::packet::suback::SubscribeReturnCode;
use mqtt::packet::{
    ConnackPacket, ConnectPacket, DisconnectPacket, EncodablePacket, PingreqPacket, PingrespPacket,
    PubackPacket, PubcompPacket, PublishPacket, PubrecPacket, PubrelPacket,
    QoSWithPacketIdentifier, SubackPacket, SubscribePacket, UnsubackPacket, UnsubscribePacket,
    VariablePacket,
};
use mqtt::{Decodable, Encodable, QualityOfService, TopicFilter, TopicName};
use proptest::prelude::*;
use vmodem_mqtt::{decode, Packet, Protocol, QoS, SubackCode};

fn their_qos(q: QoS) -> QualityOfService {
    match q {
        QoS::AtMostOnce => QualityOfService::Level0,
        QoS::AtLeastOnce => QualityOfService::Level1,
        QoS::ExactlyOnce => QualityOfService::Level2,
    }
}

fn their_suback_code(c: SubackCode) -> SubscribeReturnCode {
    match c {
        SubackCode::Granted(q) => their_qos(q).into(),
        SubackCode::Failure => SubscribeReturnCode::Failure,
    }
}

/// Our packet built with their API.
fn theirs(p: &Packet) -> VariablePacket {
    match p {
        Packet::Connect(c) => {
            let mut t = ConnectPacket::with_level(
                c.protocol.name(),
                c.client_id.clone(),
                c.protocol.level(),
            )
            .unwrap();
            t.set_clean_session(c.clean_session);
            t.set_keep_alive(c.keep_alive);
            if let Some(w) = &c.will {
                t.set_will(Some((
                    TopicName::new(w.topic.clone()).unwrap(),
                    w.payload.to_vec(),
                )));
                t.set_will_qos(w.qos.as_u8());
                t.set_will_retain(w.retain);
            }
            t.set_user_name(c.username.clone());
            t.set_password(c.password.clone().map(|p| String::from_utf8(p).unwrap()));
            t.into()
        }
        Packet::Connack(c) => {
            ConnackPacket::new(c.session_present, TheirCode::from_u8(c.code.as_u8())).into()
        }
        Packet::Publish(p) => {
            let mut t = PublishPacket::new(
                TopicName::new(p.topic.clone()).unwrap(),
                QoSWithPacketIdentifier::new(their_qos(p.qos), p.pkid),
                p.payload.to_vec(),
            );
            t.set_dup(p.dup);
            t.set_retain(p.retain);
            t.into()
        }
        Packet::Puback { pkid } => PubackPacket::new(*pkid).into(),
        Packet::Pubrec { pkid } => PubrecPacket::new(*pkid).into(),
        Packet::Pubrel { pkid } => PubrelPacket::new(*pkid).into(),
        Packet::Pubcomp { pkid } => PubcompPacket::new(*pkid).into(),
        Packet::Subscribe(s) => SubscribePacket::new(
            s.pkid,
            s.filters
                .iter()
                .map(|f| {
                    (
                        TopicFilter::new(f.filter.clone()).unwrap(),
                        their_qos(f.qos),
                    )
                })
                .collect(),
        )
        .into(),
        Packet::Suback(s) => SubackPacket::new(
            s.pkid,
            s.return_codes
                .iter()
                .map(|&c| their_suback_code(c))
                .collect(),
        )
        .into(),
        Packet::Unsubscribe(u) => UnsubscribePacket::new(
            u.pkid,
            u.filters
                .iter()
                .map(|f| TopicFilter::new(f.clone()).unwrap())
                .collect(),
        )
        .into(),
        Packet::Unsuback { pkid } => UnsubackPacket::new(*pkid).into(),
        Packet::Pingreq => PingreqPacket::new().into(),
        Packet::Pingresp => PingrespPacket::new().into(),
        Packet::Disconnect => DisconnectPacket::new().into(),
    }
}

/// Compares what they decoded with ours, field by field through their accessors.
fn assert_same(ours: &Packet, theirs: &VariablePacket) {
    match (ours, theirs) {
        (Packet::Connect(c), VariablePacket::ConnectPacket(t)) => {
            assert_eq!(t.protocol_name(), c.protocol.name());
            assert_eq!(t.protocol_level() as u8, c.protocol.level());
            assert_eq!(t.client_identifier(), c.client_id);
            assert_eq!(t.clean_session(), c.clean_session);
            assert_eq!(t.keep_alive(), c.keep_alive);
            assert!(!t.reserved_flag());
            assert_eq!(
                t.will(),
                c.will.as_ref().map(|w| (w.topic.as_str(), &w.payload[..]))
            );
            assert_eq!(t.will_qos(), c.will.as_ref().map_or(0, |w| w.qos.as_u8()));
            assert_eq!(t.will_retain(), c.will.as_ref().is_some_and(|w| w.retain));
            assert_eq!(t.user_name(), c.username.as_deref());
            assert_eq!(t.password().map(str::as_bytes), c.password.as_deref());
        }
        (Packet::Connack(c), VariablePacket::ConnackPacket(t)) => {
            assert_eq!(t.connack_flags().session_present, c.session_present);
            assert_eq!(t.connect_return_code().to_u8(), c.code.as_u8());
        }
        (Packet::Publish(p), VariablePacket::PublishPacket(t)) => {
            assert_eq!(t.topic_name(), p.topic);
            assert_eq!(
                t.qos(),
                QoSWithPacketIdentifier::new(their_qos(p.qos), p.pkid)
            );
            assert_eq!(t.retain(), p.retain);
            // Quirk: their dup() is always false; read bit 3 of the fixed header.
            assert_eq!(t.fixed_header().packet_type.flags() & 0b1000 != 0, p.dup);
            assert_eq!(t.payload(), &p.payload[..]);
        }
        (Packet::Puback { pkid }, VariablePacket::PubackPacket(t)) => {
            assert_eq!(t.packet_identifier(), *pkid)
        }
        (Packet::Pubrec { pkid }, VariablePacket::PubrecPacket(t)) => {
            assert_eq!(t.packet_identifier(), *pkid)
        }
        (Packet::Pubrel { pkid }, VariablePacket::PubrelPacket(t)) => {
            assert_eq!(t.packet_identifier(), *pkid)
        }
        (Packet::Pubcomp { pkid }, VariablePacket::PubcompPacket(t)) => {
            assert_eq!(t.packet_identifier(), *pkid)
        }
        (Packet::Unsuback { pkid }, VariablePacket::UnsubackPacket(t)) => {
            assert_eq!(t.packet_identifier(), *pkid)
        }
        (Packet::Subscribe(s), VariablePacket::SubscribePacket(t)) => {
            assert_eq!(t.packet_identifier(), s.pkid);
            let theirs: Vec<(&str, u8)> = t
                .subscribes()
                .iter()
                .map(|(f, q)| (&***f, *q as u8))
                .collect();
            let ours: Vec<(&str, u8)> = s
                .filters
                .iter()
                .map(|f| (f.filter.as_str(), f.qos.as_u8()))
                .collect();
            assert_eq!(theirs, ours);
        }
        (Packet::Suback(s), VariablePacket::SubackPacket(t)) => {
            assert_eq!(t.packet_identifier(), s.pkid);
            let theirs: Vec<u8> = t.subscribes().iter().map(|&c| c as u8).collect();
            let ours: Vec<u8> = s.return_codes.iter().map(|c| c.as_u8()).collect();
            assert_eq!(theirs, ours);
        }
        (Packet::Unsubscribe(u), VariablePacket::UnsubscribePacket(t)) => {
            assert_eq!(t.packet_identifier(), u.pkid);
            let theirs: Vec<&str> = t.subscribes().iter().map(|f| &***f).collect();
            assert_eq!(theirs, u.filters);
        }
        (Packet::Pingreq, VariablePacket::PingreqPacket(_))
        | (Packet::Pingresp, VariablePacket::PingrespPacket(_))
        | (Packet::Disconnect, VariablePacket::DisconnectPacket(_)) => {}
        (ours, theirs) => panic!("different packet types: {ours:?} vs {theirs:?}"),
    }
}

/// All 14 packets, as valid on a `protocol` connection, with UTF-8 passwords.
fn packet_for_oracle(protocol: Protocol) -> BoxedStrategy<Packet> {
    let pkid = || 1..=u16::MAX;
    prop_oneof![
        connect_with(common::protocol(), login(utf8_password())).prop_map(Packet::Connect),
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

fn protocol_and_packet() -> impl Strategy<Value = (Protocol, Packet)> {
    protocol().prop_flat_map(|p| (Just(p), packet_for_oracle(p)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn they_read_what_we_write((_protocol, packet) in protocol_and_packet()) {
        let bytes = encode(&packet);
        let mut cursor = Cursor::new(&bytes[..]);
        let decoded = VariablePacket::decode(&mut cursor)
            .unwrap_or_else(|e| panic!("{packet:?}: {e}"));
        prop_assert_eq!(cursor.position() as usize, bytes.len());
        assert_same(&packet, &decoded);
    }

    #[test]
    fn we_read_what_they_write((protocol, packet) in protocol_and_packet()) {
        let mut bytes = Vec::new();
        theirs(&packet).encode(&mut bytes).unwrap();
        prop_assert_eq!(decode(&bytes, protocol, NO_LIMIT), Ok(Some((packet.clone(), bytes.len()))));
        prop_assert_eq!(bytes, encode(&packet), "their bytes differ from ours");
    }
}

#[test]
fn connect_31_matches_theirs_byte_for_byte() {
    // The brief's motivating case: a 3.1 CONNECT with everything set.
    let mut t = ConnectPacket::with_level("MQIsdp", "ec25", 3).unwrap();
    t.set_clean_session(true);
    t.set_keep_alive(120);
    t.set_will(Some((
        TopicName::new("status").unwrap(),
        b"offline".to_vec(),
    )));
    t.set_will_qos(1);
    t.set_will_retain(true);
    t.set_user_name(Some("user".into()));
    t.set_password(Some("pass".into()));
    let mut theirs = Vec::new();
    t.encode(&mut theirs).unwrap();

    let ours = vmodem_mqtt::Connect {
        protocol: Protocol::V31,
        client_id: "ec25".into(),
        clean_session: true,
        keep_alive: 120,
        will: Some(vmodem_mqtt::Will {
            topic: "status".into(),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some("user".into()),
        password: Some(b"pass".to_vec()),
    };
    assert_eq!(encode(&Packet::Connect(ours)), theirs);
    assert_eq!(&theirs[2..11], b"\x00\x06MQIsdp\x03");
}
