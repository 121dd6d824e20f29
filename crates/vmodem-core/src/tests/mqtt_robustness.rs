//! Whatever the broker and the host send, in any order, the module neither
//! panics nor grows without bound, and still answers `AT` afterwards.

use core::time::Duration;

use proptest::prelude::*;
use vmodem_mqtt::{Connack, ConnectReturnCode, Packet, Publish, QoS, Suback, SubackCode};

use super::harness::{show, Harness};
use crate::{CloseCause, ConnectError, LinkId, NetAction, NetEvent};

#[derive(Clone, Debug)]
enum Step {
    Host(Vec<u8>),
    Broker(Vec<u8>),
    Packet(Packet),
    Connected,
    ConnectFailed,
    Closed,
    SendFailed,
    Wait(u64),
    /// The network stops taking bytes (true) or takes them again (false).
    Stall(bool),
}

fn packet() -> impl Strategy<Value = Packet> {
    let pkid = 1u16..8;
    prop_oneof![
        Just(Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::Accepted
        })),
        Just(Packet::Connack(Connack {
            session_present: false,
            code: ConnectReturnCode::NotAuthorized
        })),
        (0u8..3, 0u16..8, prop::collection::vec(any::<u8>(), 0..300)).prop_map(
            |(q, id, payload)| {
                let qos = QoS::from_u8(q).unwrap();
                Packet::Publish(Publish {
                    dup: false,
                    qos,
                    retain: false,
                    topic: "t/x".into(),
                    pkid: if qos == QoS::AtMostOnce { 0 } else { id.max(1) },
                    payload: payload.into(),
                })
            }
        ),
        pkid.clone().prop_map(|pkid| Packet::Puback { pkid }),
        pkid.clone().prop_map(|pkid| Packet::Pubrec { pkid }),
        pkid.clone().prop_map(|pkid| Packet::Pubrel { pkid }),
        pkid.clone().prop_map(|pkid| Packet::Pubcomp { pkid }),
        pkid.clone().prop_map(|pkid| Packet::Unsuback { pkid }),
        pkid.prop_map(|pkid| Packet::Suback(Suback {
            pkid,
            return_codes: vec![SubackCode::Granted(QoS::AtLeastOnce)]
        })),
        Just(Packet::Pingresp),
        Just(Packet::Pingreq),
        Just(Packet::Disconnect),
    ]
}

fn host_fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"AT+QMTOPEN=0,\"b\",1883\r".to_vec()),
        Just(b"AT+QMTCONN=0,\"d\"\r".to_vec()),
        Just(b"AT+QMTSUB=0,1,\"t/#\",2\r".to_vec()),
        Just(b"AT+QMTUNS=0,2,\"t/#\"\r".to_vec()),
        Just(b"AT+QMTPUBEX=0,3,1,0,\"t/x\",4\r".to_vec()),
        Just(b"AT+QMTPUBEX=0,4,2,1,\"t/x\",3\r".to_vec()),
        Just(b"AT+QMTPUB=0,5,1,0,\"t/x\"\r".to_vec()),
        Just(b"AT+QMTRECV=0\r".to_vec()),
        Just(b"AT+QMTRECV?\r".to_vec()),
        Just(b"AT+QMTDISC=0\r".to_vec()),
        Just(b"AT+QMTCLOSE=0\r".to_vec()),
        Just(b"AT+QMTCFG=\"recv/mode\",0,1,1\r".to_vec()),
        Just(b"AT+QMTCFG=\"keepalive\",0,1\r".to_vec()),
        Just(b"AT+QMTCFG=\"session\",0,0\r".to_vec()),
        Just(b"AT+QMTCFG=\"timeout\",0,1,1,1\r".to_vec()),
        Just(b"AT+QIDEACT=1\r".to_vec()),
        Just(b"AT+CGATT=1\r".to_vec()),
        Just(b"AT+CFUN=1,1\r".to_vec()),
        Just(b"\x1a".to_vec()),
        Just(b"\x1b".to_vec()),
        prop::collection::vec(any::<u8>(), 1..12),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => host_fragment().prop_map(Step::Host),
        2 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Step::Broker),
        4 => packet().prop_map(Step::Packet),
        1 => Just(Step::Connected),
        1 => Just(Step::ConnectFailed),
        1 => Just(Step::Closed),
        1 => Just(Step::SendFailed),
        2 => (0u64..8_000).prop_map(Step::Wait),
        1 => any::<bool>().prop_map(Step::Stall),
    ]
}

/// The link the module most recently asked to open (events for it are the live ones).
fn latest_link(actions: &[NetAction], current: &mut LinkId) {
    for a in actions {
        if let NetAction::Connect { link, .. } = a {
            *current = *link;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn broker_and_host_cannot_break_the_module(steps in prop::collection::vec(step(), 1..80)) {
        let mut h = Harness::new();
        let mut link = LinkId::new(0, 1);
        // Start from a live connection, so the random steps reach deep states.
        let connected = [
            Step::Host(b"AT+QMTOPEN=0,\"b\",1883\r".to_vec()),
            Step::Connected,
            Step::Host(b"AT+QMTCONN=0,\"d\"\r".to_vec()),
            Step::Packet(Packet::Connack(Connack { session_present: false, code: ConnectReturnCode::Accepted })),
        ];
        for s in connected.into_iter().chain(steps) {
            match s {
                Step::Host(bytes) => { h.send(&bytes); }
                Step::Broker(data) => { h.net(NetEvent::Received { link, data }); }
                Step::Packet(p) => { h.broker_sends(link, &p); }
                Step::Connected => { h.net(NetEvent::Connected { link }); }
                Step::ConnectFailed => { h.net(NetEvent::ConnectFailed { link, error: ConnectError::Refused }); }
                Step::Closed => { h.net(NetEvent::Closed { link, cause: CloseCause::Reset }); }
                Step::SendFailed => { h.net(NetEvent::SendFailed { link }); }
                Step::Wait(ms) => { h.advance(Duration::from_millis(ms)); }
                Step::Stall(stalled) => { h.auto_write = !stalled; }
            }
            let actions = h.actions();
            latest_link(&actions, &mut link);
            // Bounded: what waits for the host, and what a link buffers.
            prop_assert!(h.modem.engine.output_backlog() <= 64 * 1024);
            for c in &h.modem.mqtt.clients {
                prop_assert!(c.session.inflight.len() <= crate::mqtt::session::WINDOW);
                // The send buffer: its bound, plus the few protocol bytes allowed past it.
                prop_assert!(c.unwritten() <= crate::mqtt::client::SEND_BUFFER + 8);
            }
        }
        // A host gets the line back: cancel any data entry, let timers run out.
        h.auto_write = true;
        h.send(b"\x1b");
        h.advance(Duration::from_secs(200));
        h.output();
        let mut answer = h.send(b"\rATE1\r");
        answer.extend(h.send(b"AT\r"));
        prop_assert!(show(&answer).ends_with(&show(b"AT\r\r\nOK\r\n")), "{}", show(&answer));
    }
}
