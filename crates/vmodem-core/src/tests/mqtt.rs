//! The MQTT clients in virtual time: results, retransmission, keep-alive,
//! link failures, sessions, receive modes and back-pressure.

use core::time::Duration;

use vmodem_mqtt::{Connack, ConnectReturnCode, Packet, Protocol, Publish, QoS};

use super::harness::{show, Harness};
use crate::{CloseCause, Config, ConnectError, LinkId, Model, NetAction, NetEvent, TlsSettings};

pub(super) fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

pub(super) fn connack(code: ConnectReturnCode) -> Packet {
    Packet::Connack(Connack {
        session_present: false,
        code,
    })
}

pub(super) fn publish(qos: QoS, pkid: u16, topic: &str, payload: &[u8]) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        pkid,
        payload: payload.to_vec().into(),
    })
}

/// Opens client `c` (its `gen`-th link) and waits for `+QMTOPEN: c,0`.
pub(super) fn open(h: &mut Harness, c: u8, gen: u32) -> LinkId {
    h.expect(
        format!("AT+QMTOPEN={c},\"broker.test\",1883\r").as_bytes(),
        b"\r\nOK\r\n",
    );
    let link = LinkId::new(c, gen);
    assert!(matches!(&h.actions()[..], [NetAction::Connect { link: l, .. }] if *l == link));
    assert_eq!(
        show(&h.net(NetEvent::Connected { link })),
        show(format!("\r\n+QMTOPEN: {c},0\r\n").as_bytes())
    );
    link
}

/// Opens and connects client 0.
pub(super) fn connected(h: &mut Harness) -> LinkId {
    let link = open(h, 0, 1);
    h.expect(b"AT+QMTCONN=0,\"dev1\"\r", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    assert_eq!(
        show(&h.broker_sends(link, &connack(ConnectReturnCode::Accepted))),
        show(b"\r\n+QMTCONN: 0,0,0\r\n")
    );
    link
}

#[test]
fn qmtcfg_test_read_write_forms() {
    let mut h = quiet();
    let test = h.send(b"AT+QMTCFG=?\r");
    assert!(show(&test).starts_with("\\r\\n+QMTCFG: \\\"version\\\",(0-5),(3,4)\\r\\n"));
    assert!(show(&test).ends_with("+QMTCFG: \\\"qmtping\\\",(0-5),(5-60)\\r\\n\\r\\nOK\\r\\n"));
    for (query, answer) in [
        ("\"version\",0", "+QMTCFG: \"version\",4"),
        ("\"pdpcid\",0", "+QMTCFG: \"pdpcid\",1"),
        ("\"ssl\",0", "+QMTCFG: \"ssl\",0"),
        ("\"keepalive\",0", "+QMTCFG: \"keepalive\",120"),
        ("\"session\",0", "+QMTCFG: \"session\",1"),
        ("\"timeout\",0", "+QMTCFG: \"timeout\",5,3,0"),
        ("\"will\",0", "+QMTCFG: \"will\",0"),
        ("\"recv/mode\",0", "+QMTCFG: \"recv/mode\",0,0"),
        ("\"qmtping\",0", "+QMTCFG: \"qmtping\",5"),
    ] {
        h.expect(
            format!("AT+QMTCFG={query}\r").as_bytes(),
            format!("\r\n{answer}\r\n\r\nOK\r\n").as_bytes(),
        );
    }
    h.expect(b"AT+QMTCFG=\"aliauth\",0\r", b"\r\nOK\r\n");
    for (write, query, answer) in [
        ("\"VERSION\",1,3", "\"version\",1", "+QMTCFG: \"version\",3"),
        ("\"pdpcid\",1,2", "\"pdpcid\",1", "+QMTCFG: \"pdpcid\",2"),
        ("\"SSL\",1,1,2", "\"ssl\",1", "+QMTCFG: \"ssl\",1,2"),
        (
            "\"keepalive\",1,0",
            "\"keepalive\",1",
            "+QMTCFG: \"keepalive\",0",
        ),
        ("\"session\",1,0", "\"session\",1", "+QMTCFG: \"session\",0"),
        (
            "\"timeout\",1,10,5,1",
            "\"timeout\",1",
            "+QMTCFG: \"timeout\",10,5,1",
        ),
        (
            "\"timeout\",1,7",
            "\"timeout\",1",
            "+QMTCFG: \"timeout\",7,5,1",
        ),
        (
            "\"WILL\",1,1,2,1,\"dev/lwt\",\"gone\"",
            "\"will\",1",
            "+QMTCFG: \"will\",1,2,1,\"dev/lwt\",\"gone\"",
        ),
        (
            "\"recv/mode\",1,1,1",
            "\"recv/mode\",1",
            "+QMTCFG: \"recv/mode\",1,1",
        ),
        (
            "\"aliauth\",1,\"pk\",\"dn\",\"ds\"",
            "\"aliauth\",1",
            "+QMTCFG: \"aliauth\",\"pk\",\"dn\",\"ds\"",
        ),
        (
            "\"qmtping\",1,60",
            "\"qmtping\",1",
            "+QMTCFG: \"qmtping\",60",
        ),
    ] {
        h.expect(format!("AT+QMTCFG={write}\r").as_bytes(), b"\r\nOK\r\n");
        h.expect(
            format!("AT+QMTCFG={query}\r").as_bytes(),
            format!("\r\n{answer}\r\n\r\nOK\r\n").as_bytes(),
        );
    }
    for bad in [
        "\"version\",0,5",
        "\"version\",6,4",
        "\"nope\",0,1",
        "\"pdpcid\",0,17",
        "\"ssl\",0,1",
        "\"ssl\",0,1,6",
        "\"keepalive\",0,3601",
        "\"timeout\",0,0",
        "\"timeout\",0,5,11",
        "\"will\",0,1,3,0,\"t\",\"m\"",
        "\"will\",0,1,1,0,\"a/#\",\"m\"",
        "\"will\",0,1,1,0",
        "\"recv/mode\",0,2",
        "\"aliauth\",0,\"pk\",\"dn\"",
        "\"qmtping\",0,4",
        "version,0,4",
    ] {
        h.expect(format!("AT+QMTCFG={bad}\r").as_bytes(), b"\r\nERROR\r\n");
    }
    // Writes are refused once the client has a link; reads still work.
    open(&mut h, 2, 1);
    h.expect(b"AT+QMTCFG=\"keepalive\",2,30\r", b"\r\nERROR\r\n");
    h.expect(
        b"AT+QMTCFG=\"keepalive\",2\r",
        b"\r\n+QMTCFG: \"keepalive\",120\r\n\r\nOK\r\n",
    );
}

#[test]
fn every_qmtopen_result_has_a_real_cause() {
    let mut h = quiet();
    // 1: wrong parameter (port out of range, empty host).
    h.expect(
        b"AT+QMTOPEN=0,\"broker.test\",0\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,1\r\n",
    );
    h.expect(
        b"AT+QMTOPEN=0,\"\",1883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,1\r\n",
    );
    // 2: the index is occupied.
    open(&mut h, 0, 1);
    h.expect(
        b"AT+QMTOPEN=0,\"broker.test\",1883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 0,2\r\n",
    );
    // 3: the PDP context named by pdpcid is not active.
    h.expect(b"AT+QMTCFG=\"pdpcid\",1,2\r", b"\r\nOK\r\n");
    h.expect(
        b"AT+QMTOPEN=1,\"broker.test\",1883\r",
        b"\r\nOK\r\n\r\n+QMTOPEN: 1,3\r\n",
    );
    assert!(h.actions().is_empty());
    // 4, 5, -1: what the driver reports.
    for (error, result) in [
        (ConnectError::Dns, "4"),
        (ConnectError::Refused, "5"),
        (ConnectError::TimedOut, "5"),
        (ConnectError::Tls("unknown issuer".into()), "-1"),
    ] {
        h.expect(b"AT+QMTOPEN=3,\"broker.test\",1883\r", b"\r\nOK\r\n");
        let [NetAction::Connect { link, .. }] = h.actions()[..] else {
            panic!()
        };
        assert_eq!(
            show(&h.net(NetEvent::ConnectFailed { link, error })),
            show(format!("\r\n+QMTOPEN: 3,{result}\r\n").as_bytes())
        );
    }
    // No answer at all within 120 s: 5.
    h.expect(b"AT+QMTOPEN=4,\"broker.test\",1883\r", b"\r\nOK\r\n");
    h.actions();
    assert_eq!(
        show(&h.advance(Duration::from_secs(120))),
        show(b"\r\n+QMTOPEN: 4,5\r\n")
    );
    assert!(matches!(h.actions()[..], [NetAction::Close { .. }]));
    h.expect(b"AT+QMTOPEN=6,\"broker.test\",1883\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QMTOPEN=0,broker,1883\r", b"\r\nERROR\r\n");
}

#[test]
fn ssl_configuration_reaches_the_driver() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"ssl\",0,1,2\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",8883\r", b"\r\nOK\r\n");
    let [NetAction::Connect { tls, .. }] = &h.actions()[..] else {
        panic!()
    };
    // Context 2 at its factory settings, the module's clock read at AT+QMTOPEN.
    let want = TlsSettings {
        local_time_ms: 1_735_689_600_000,
        ..TlsSettings::new(2)
    };
    assert_eq!(tls, &Some(want));
}

#[test]
fn stale_events_for_an_old_link_are_ignored() {
    let mut h = quiet();
    let old = open(&mut h, 0, 1);
    h.expect(b"AT+QMTCLOSE=0\r", b"\r\nOK\r\n\r\n+QMTCLOSE: 0,0\r\n");
    assert_eq!(h.actions(), vec![NetAction::Close { link: old }]);
    let new = open(&mut h, 0, 2);
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link: old,
            cause: CloseCause::Reset
        })),
        ""
    );
    assert_eq!(show(&h.broker_sends(old, &Packet::Pingresp)), "");
    h.expect(
        b"AT+QMTOPEN?\r",
        b"\r\n+QMTOPEN: 0,\"broker.test\",1883\r\n\r\nOK\r\n",
    );
    let _ = new;
    h.expect(b"AT+QMTCLOSE=5\r", b"\r\nERROR\r\n");
}

#[test]
fn conn_states_and_refusals() {
    let mut h = quiet();
    h.expect(b"AT+QMTCONN?\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTCONN=0,\"dev\"\r", b"\r\nERROR\r\n");
    let link = open(&mut h, 0, 1);
    h.expect(b"AT+QMTCONN?\r", b"\r\n+QMTCONN: 0,1\r\n\r\nOK\r\n");
    h.expect(b"AT+QMTCONN=0,\"dev\",,\"secret\"\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QMTCONN=0,\"dev\",\"user\",\"secret\"\r", b"\r\nOK\r\n");
    let sent = h.sent(Protocol::V311);
    let [Packet::Connect(c)] = &sent[..] else {
        panic!()
    };
    assert_eq!(
        (c.username.as_deref(), c.password.as_deref()),
        (Some("user"), Some(&b"secret"[..]))
    );
    h.expect(b"AT+QMTCONN?\r", b"\r\n+QMTCONN: 0,2\r\n\r\nOK\r\n");
    h.expect(b"AT+QMTCONN=0,\"dev\"\r", b"\r\nERROR\r\n");
    assert_eq!(
        show(&h.broker_sends(link, &connack(ConnectReturnCode::NotAuthorized))),
        show(b"\r\n+QMTCONN: 0,0,5\r\n")
    );
    h.expect(b"AT+QMTCONN?\r", b"\r\n+QMTCONN: 0,1\r\n\r\nOK\r\n");
    // The broker hangs up after refusing.
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::PeerClosed
        })),
        show(b"\r\n+QMTSTAT: 0,1\r\n")
    );
}

#[test]
fn connect_packet_follows_version_will_session_and_keepalive() {
    let mut h = quiet();
    h.expect(
        b"AT+QMTCFG=\"version\",0,3;+QMTCFG=\"session\",0,0;+QMTCFG=\"keepalive\",0,30\r",
        b"\r\nOK\r\n",
    );
    h.expect(
        b"AT+QMTCFG=\"will\",0,1,1,1,\"dev/status\",\"offline\"\r",
        b"\r\nOK\r\n",
    );
    open(&mut h, 0, 1);
    h.expect(b"AT+QMTCONN=0,\"dev3\"\r", b"\r\nOK\r\n");
    let mut bytes = Vec::new();
    for a in h.actions() {
        if let NetAction::Send { data, .. } = a {
            bytes.extend(data);
        }
    }
    // MQTT 3.1: protocol name MQIsdp, level 3.
    assert_eq!(&bytes[2..11], b"\x00\x06MQIsdp\x03");
    let (Packet::Connect(c), _) = vmodem_mqtt::decode(&bytes, Protocol::V31, 4096)
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert!(!c.clean_session);
    assert_eq!(c.keep_alive, 30);
    let will = c.will.unwrap();
    assert_eq!(
        (
            will.topic.as_str(),
            &will.payload[..],
            will.qos,
            will.retain
        ),
        ("dev/status", &b"offline"[..], QoS::AtLeastOnce, true)
    );
}

#[test]
fn connack_timeout_and_connect_send_failure() {
    let mut h = quiet();
    let link = open(&mut h, 0, 1);
    h.expect(b"AT+QMTCONN=0,\"dev\"\r", b"\r\nOK\r\n");
    h.actions();
    assert_eq!(show(&h.advance(Duration::from_millis(4_999))), "");
    assert_eq!(
        show(&h.advance(Duration::from_millis(1))),
        show(b"\r\n+QMTCONN: 0,2\r\n\r\n+QMTSTAT: 0,4\r\n")
    );
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);

    let link = open(&mut h, 0, 2);
    h.expect(b"AT+QMTCONN=0,\"dev\"\r", b"\r\nOK\r\n");
    assert_eq!(
        show(&h.net(NetEvent::SendFailed { link })),
        show(b"\r\n+QMTSTAT: 0,3\r\n")
    );
}

#[test]
fn qos1_and_qos2_publishes_complete_with_result_0() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,1,1,0,\"a/b\",5\r", b"\r\n> ");
    h.expect(b"hello", b"\r\nOK\r\n");
    assert_eq!(
        h.sent(Protocol::V311),
        vec![publish(QoS::AtLeastOnce, 1, "a/b", b"hello")]
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })),
        show(b"\r\n+QMTPUBEX: 0,1,0\r\n")
    );
    // A second PUBACK for the same id is not a second result.
    assert_eq!(show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })), "");

    h.expect(b"AT+QMTPUBEX=0,2,2,1,\"a/b\",2\r", b"\r\n> ");
    h.expect(b"hi", b"\r\nOK\r\n");
    let Packet::Publish(p) = &h.sent(Protocol::V311)[0] else {
        panic!()
    };
    assert!(p.retain && p.qos == QoS::ExactlyOnce);
    assert_eq!(show(&h.broker_sends(link, &Packet::Pubrec { pkid: 2 })), "");
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pubrel { pkid: 2 }]);
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Pubcomp { pkid: 2 })),
        show(b"\r\n+QMTPUBEX: 0,2,0\r\n")
    );
}

#[test]
fn publish_parameter_rules_and_the_window_of_five() {
    let mut h = quiet();
    h.expect(b"AT+QMTPUBEX=0,0,0,0,\"a\",1\r", b"\r\nERROR\r\n"); // not connected
    connected(&mut h);
    for bad in [
        "0,1,0,0,\"a\",1",     // QoS 0 needs msgID 0
        "0,0,1,0,\"a\",1",     // QoS 1 needs msgID 1-65535
        "0,1,3,0,\"a\",1",     // QoS 3
        "0,1,1,2,\"a\",1",     // retain 2
        "0,1,1,0,\"a/#\",1",   // wildcard in a topic name
        "0,1,1,0,\"\",1",      // empty topic
        "0,1,1,0,\"a\",1501",  // over 1500 bytes
        "0,1,1,0,\"a\",\"x\"", // inline payload is the BG96's form
        "1,1,1,0,\"a\",1",     // client 1 is not connected
    ] {
        h.expect(format!("AT+QMTPUBEX={bad}\r").as_bytes(), b"\r\nERROR\r\n");
    }
    for id in 1..=5 {
        h.expect(
            format!("AT+QMTPUBEX=0,{id},1,0,\"a\",1\r").as_bytes(),
            b"\r\n> ",
        );
        h.expect(b"x", b"\r\nOK\r\n");
    }
    h.expect(b"AT+QMTPUBEX=0,6,1,0,\"a\",1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QMTSUB=0,7,\"a\",1\r", b"\r\nERROR\r\n");
    // QoS 0 goes out at once even with the window full? No: the window counts all.
    h.expect(b"AT+QMTPUBEX=0,0,0,0,\"a\",1\r", b"\r\nERROR\r\n");
}

#[test]
fn retransmission_with_notices_then_failure_closes_the_link() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"timeout\",0,5,2,1\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,9,1,0,\"a\",3\r", b"\r\n> ");
    h.expect(b"abc", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    assert_eq!(
        show(&h.advance(Duration::from_secs(5))),
        show(b"\r\n+QMTPUBEX: 0,9,1,1\r\n")
    );
    let resent = h.sent(Protocol::V311);
    assert!(matches!(&resent[..], [Packet::Publish(p)] if p.dup && p.pkid == 9));
    assert_eq!(
        show(&h.advance(Duration::from_secs(5))),
        show(b"\r\n+QMTPUBEX: 0,9,1,2\r\n")
    );
    h.sent(Protocol::V311);
    assert_eq!(
        show(&h.advance(Duration::from_secs(5))),
        show(b"\r\n+QMTPUBEX: 0,9,2\r\n\r\n+QMTSTAT: 0,6\r\n")
    );
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);
}

#[test]
fn retransmission_without_notices_is_silent_until_it_succeeds() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTSUB=0,3,\"x/+\",1,\"y/#\",2\r", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    assert_eq!(show(&h.advance(Duration::from_secs(12))), "");
    assert_eq!(
        h.sent(Protocol::V311).len(),
        2,
        "two retransmissions in 12 s"
    );
    let ack = Packet::Suback(vmodem_mqtt::Suback {
        pkid: 3,
        return_codes: vec![
            vmodem_mqtt::SubackCode::Granted(QoS::AtLeastOnce),
            vmodem_mqtt::SubackCode::Failure,
        ],
    });
    assert_eq!(
        show(&h.broker_sends(link, &ack)),
        show(b"\r\n+QMTSUB: 0,3,0,1,128\r\n")
    );
}

#[test]
fn keepalive_pings_then_qmtping_then_qmtstat_2() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"keepalive\",0,10\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    assert_eq!(show(&h.advance(Duration::from_millis(9_999))), "");
    assert!(h.sent(Protocol::V311).is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pingreq]);
    h.broker_sends(link, &Packet::Pingresp);
    h.advance(Duration::from_secs(10));
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pingreq]);
    // No PINGRESP: +QMTPING after pkt_timeout, +QMTSTAT after qmtping (5 s).
    assert_eq!(
        show(&h.advance(Duration::from_secs(5))),
        show(b"\r\n+QMTPING: 0,1\r\n")
    );
    assert_eq!(
        show(&h.advance(Duration::from_secs(5))),
        show(b"\r\n+QMTSTAT: 0,2\r\n")
    );
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);
}

#[test]
fn link_failures_each_give_their_qmtstat_code() {
    let mut h = quiet();
    // 1: peer closes.
    let link = connected(&mut h);
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::Reset
        })),
        show(b"\r\n+QMTSTAT: 0,1\r\n")
    );
    // 1: a broker that drops the link right after TCP connect (module-behaviour.md).
    let link = open(&mut h, 0, 2);
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::PeerClosed
        })),
        show(b"\r\n+QMTSTAT: 0,1\r\n")
    );
    // 6: sending fails while connected.
    h.expect(b"AT+QMTOPEN=0,\"b\",1\r", b"\r\nOK\r\n");
    let link = LinkId::new(0, 3);
    h.actions();
    h.net(NetEvent::Connected { link });
    h.expect(b"AT+QMTCONN=0,\"d\"\r", b"\r\nOK\r\n");
    h.broker_sends(link, &connack(ConnectReturnCode::Accepted));
    assert_eq!(
        show(&h.net(NetEvent::SendFailed { link })),
        show(b"\r\n+QMTSTAT: 0,6\r\n")
    );
    // 7: the PDP context goes down under a live connection.
    h.expect(b"AT+QMTOPEN=0,\"b\",1\r", b"\r\nOK\r\n");
    let link = LinkId::new(0, 4);
    h.actions();
    h.net(NetEvent::Connected { link });
    h.expect(b"AT+QIDEACT=1\r", b"\r\nOK\r\n\r\n+QMTSTAT: 0,7\r\n");
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);
}

#[test]
fn disconnect_waits_for_the_server_then_closes_itself() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTDISC=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTCONN?\r", b"\r\n+QMTCONN: 0,4\r\n\r\nOK\r\n");
    assert_eq!(
        show(&h.advance(Duration::from_secs(5))),
        show(b"\r\n+QMTDISC: 0,0\r\n\r\n+QMTSTAT: 0,5\r\n")
    );
    let closes: Vec<_> = h
        .actions()
        .into_iter()
        .filter(|a| matches!(a, NetAction::Close { .. }))
        .collect();
    assert_eq!(closes, vec![NetAction::Close { link }]);
    h.expect(b"AT+QMTDISC=0\r", b"\r\nERROR\r\n");
}

#[test]
fn garbage_unexpected_packets_and_oversized_packets_close_cleanly() {
    for bytes in [
        vec![0xff, 0x00],                                  // reserved packet type
        vec![0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0], // SUBSCRIBE from the broker
        vec![0x30, 0xff, 0xff, 0xff, 0x7f],                // 256 MiB PUBLISH announced
        vec![0x20, 0x02, 0x00, 0x00],                      // a second CONNACK
    ] {
        let mut h = quiet();
        let link = connected(&mut h);
        assert_eq!(
            show(&h.net(NetEvent::Received {
                link,
                data: bytes.clone()
            })),
            show(b"\r\n+QMTSTAT: 0,1\r\n"),
            "{bytes:x?}"
        );
        assert_eq!(h.actions(), vec![NetAction::Close { link }]);
        h.expect(b"AT\r", b"\r\nOK\r\n");
    }
}

#[test]
fn incoming_qos1_and_qos2_are_acknowledged_and_qos2_duplicates_suppressed() {
    let mut h = quiet();
    let link = connected(&mut h);
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::AtLeastOnce, 7, "t", b"one"))),
        show(b"\r\n+QMTRECV: 0,7,\"t\",\"one\"\r\n")
    );
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Puback { pkid: 7 }]);
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::ExactlyOnce, 8, "t", b"two"))),
        show(b"\r\n+QMTRECV: 0,8,\"t\",\"two\"\r\n")
    );
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pubrec { pkid: 8 }]);
    // The broker resends before PUBREL: answered, not delivered twice.
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::ExactlyOnce, 8, "t", b"two"))),
        ""
    );
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pubrec { pkid: 8 }]);
    h.broker_sends(link, &Packet::Pubrel { pkid: 8 });
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pubcomp { pkid: 8 }]);
    // After PUBREL the id is free again: a new message with it is delivered.
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::ExactlyOnce, 8, "t", b"three"))),
        show(b"\r\n+QMTRECV: 0,8,\"t\",\"three\"\r\n")
    );
}

#[test]
fn binary_payloads_pass_through_unchanged() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"recv/mode\",0,0,1\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    let payload = b"a\"b,c\r\nd\x00e\xff";
    let mut want = b"\r\n+QMTRECV: 0,0,\"bin\",11,\"".to_vec();
    want.extend_from_slice(payload);
    want.extend_from_slice(b"\"\r\n");
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::AtMostOnce, 0, "bin", payload))),
        show(&want)
    );
    // And the other way: a fixed-length payload may hold anything.
    h.expect(b"AT+QMTPUBEX=0,0,0,0,\"bin\",11\r", b"\r\n> ");
    h.expect(payload, b"\r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n");
    assert_eq!(
        h.sent(Protocol::V311),
        vec![publish(QoS::AtMostOnce, 0, "bin", payload)]
    );
}

#[test]
fn buffer_mode_stores_five_then_back_pressure_until_read() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"recv/mode\",0,1,1\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    h.expect(b"AT+QMTRECV?\r", b"\r\n+QMTRECV: 0,0,0,0,0,0\r\n\r\nOK\r\n");
    for i in 0..5u16 {
        assert_eq!(
            show(&h.broker_sends(
                link,
                &publish(QoS::AtLeastOnce, 10 + i, "t", format!("m{i}").as_bytes())
            )),
            show(format!("\r\n+QMTRECV: 0,{i}\r\n").as_bytes())
        );
    }
    assert_eq!(h.sent(Protocol::V311).len(), 5, "five PUBACKs");
    h.expect(b"AT+QMTRECV?\r", b"\r\n+QMTRECV: 0,1,1,1,1,1\r\n\r\nOK\r\n");
    // The sixth stays in the socket buffer: not acknowledged, not lost.
    assert_eq!(
        show(&h.broker_sends(link, &publish(QoS::AtLeastOnce, 15, "t", b"m5"))),
        ""
    );
    assert_eq!(h.actions(), vec![NetAction::PauseReading { link }]);
    h.expect(
        b"AT+QMTRECV=0,2\r",
        b"\r\n+QMTRECV: 0,12,\"t\",2,\"m2\"\r\n\r\nOK\r\n\r\n+QMTRECV: 0,2\r\n",
    );
    let actions = h.actions();
    assert!(
        actions.contains(&NetAction::ResumeReading { link }),
        "{actions:?}"
    );
    h.expect(b"AT+QMTRECV=0\r", b"\r\n+QMTRECV: 0,10,\"t\",2,\"m0\"\r\n+QMTRECV: 0,11,\"t\",2,\"m1\"\r\n+QMTRECV: 0,15,\"t\",2,\"m5\"\r\n+QMTRECV: 0,13,\"t\",2,\"m3\"\r\n+QMTRECV: 0,14,\"t\",2,\"m4\"\r\n\r\nOK\r\n");
    h.expect(b"AT+QMTRECV=0\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTRECV=1\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QMTRECV=0,5\r", b"\r\nERROR\r\n");
    h.expect(b"AT+QMTRECV=?\r", b"\r\nOK\r\n");
}

#[test]
fn urcs_held_during_a_data_entry_apply_back_pressure_not_loss() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,0,0,0,\"a\",1\r", b"\r\n> ");
    let big = vec![b'x'; 4000];
    let mut delivered = 0;
    for i in 0..10u16 {
        assert_eq!(
            show(&h.broker_sends(link, &publish(QoS::AtLeastOnce, 100 + i, "t", &big))),
            ""
        );
    }
    let acks = h.sent(Protocol::V311).len();
    assert!(
        acks < 10,
        "only what fits in the URC backlog is taken: {acks}"
    );
    // Finishing the data entry frees the line: everything arrives, in order.
    let out = h.send(b"z");
    let text = show(&out);
    delivered += text.matches("+QMTRECV: 0,").count();
    assert_eq!(delivered, 10, "{}", &text[..200.min(text.len())]);
    assert_eq!(
        h.sent(Protocol::V311).len(),
        1 + (10 - acks),
        "the QoS 0 publish and the remaining PUBACKs"
    );
}

#[test]
fn clean_session_0_resends_unacknowledged_publishes_after_reconnect() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"session\",0,0\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,4,1,0,\"s\",3\r", b"\r\n> ");
    h.expect(b"abc", b"\r\nOK\r\n");
    h.expect(b"AT+QMTPUBEX=0,5,2,0,\"s\",3\r", b"\r\n> ");
    h.expect(b"def", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    h.broker_sends(link, &Packet::Pubrec { pkid: 5 });
    assert_eq!(h.sent(Protocol::V311), vec![Packet::Pubrel { pkid: 5 }]);
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::Reset
        })),
        show(b"\r\n+QMTSTAT: 0,1\r\n")
    );
    let link = open(&mut h, 0, 2);
    h.expect(b"AT+QMTCONN=0,\"dev1\"\r", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    let ack = Packet::Connack(Connack {
        session_present: true,
        code: ConnectReturnCode::Accepted,
    });
    assert_eq!(
        show(&h.broker_sends(link, &ack)),
        show(b"\r\n+QMTCONN: 0,0,0\r\n")
    );
    let resent = h.sent(Protocol::V311);
    assert_eq!(resent.len(), 2);
    assert!(
        matches!(&resent[0], Packet::Publish(p) if p.dup && p.pkid == 4 && &p.payload[..] == b"abc")
    );
    assert_eq!(resent[1], Packet::Pubrel { pkid: 5 });
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 4 })),
        show(b"\r\n+QMTPUBEX: 0,4,0\r\n")
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Pubcomp { pkid: 5 })),
        show(b"\r\n+QMTPUBEX: 0,5,0\r\n")
    );
}

#[test]
fn clean_session_1_forgets_unacknowledged_publishes() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUBEX=0,4,1,0,\"s\",3\r", b"\r\n> ");
    h.expect(b"abc", b"\r\nOK\r\n");
    h.actions();
    // Forgotten, but not silently: its final result comes before the +QMTSTAT.
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::Reset,
        })),
        show(b"\r\n+QMTPUBEX: 0,4,2\r\n\r\n+QMTSTAT: 0,1\r\n")
    );
    let link = open(&mut h, 0, 2);
    h.expect(b"AT+QMTCONN=0,\"dev1\"\r", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    h.broker_sends(link, &connack(ConnectReturnCode::Accepted));
    assert!(h.sent(Protocol::V311).is_empty());
    // msgID 4 is free again.
    h.expect(b"AT+QMTPUBEX=0,4,1,0,\"s\",1\r", b"\r\n> ");
}

#[test]
fn ctrl_z_publish_and_esc_cancel_on_the_ec25() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTPUB=0,1,1,0,\"cz\"\r", b"\r\n> ");
    h.expect(b"with, \"quotes\"\x1a", b"\r\nOK\r\n");
    assert_eq!(
        h.sent(Protocol::V311),
        vec![publish(QoS::AtLeastOnce, 1, "cz", b"with, \"quotes\"")]
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })),
        show(b"\r\n+QMTPUB: 0,1,0\r\n")
    );
    h.expect(b"AT+QMTPUB=0,2,1,0,\"cz\"\r", b"\r\n> ");
    h.expect(b"never mind\x1b", b"\r\nOK\r\n");
    assert!(h.sent(Protocol::V311).is_empty());
    // Fixed-length variant.
    h.expect(b"AT+QMTPUB=0,0,0,0,\"cz\",2\r", b"\r\n> ");
    h.expect(b"ok", b"\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n");
    // Empty payload (clears a retained message).
    h.expect(
        b"AT+QMTPUBEX=0,0,0,1,\"cz\",0\r",
        b"\r\n> \r\nOK\r\n\r\n+QMTPUBEX: 0,0,0\r\n",
    );
    assert_eq!(h.sent(Protocol::V311).len(), 2);
}

#[test]
fn bg9x_dialect_publishes_inline_reports_by_qmtpub_and_refuses_the_fixed_length_pubex() {
    for model in [Model::Bg96, Model::Bg95] {
        let mut h = Harness::with_config(Config {
            model,
            ..Config::default()
        });
        h.output();
        h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
        // The test form advertises the inline form the write takes, not a length.
        h.expect(
            b"AT+QMTPUBEX=?\r",
            b"\r\n+QMTPUBEX: (0-5),<msgid>,(0-2),(0,1),\"topic\",\"msg\"\r\nOK\r\n",
        );
        let link = connected(&mut h);
        // A BG95-M3 log: AT+QMTPUBEX=0,1,1,0,"main_topic","…" → OK → +QMTPUB: 0,1,0.
        h.expect(
            b"AT+QMTPUBEX=0,0,0,0,\"b\",\"inline payload\"\r",
            b"\r\nOK\r\n\r\n+QMTPUB: 0,0,0\r\n",
        );
        assert_eq!(
            h.sent(Protocol::V311),
            vec![publish(QoS::AtMostOnce, 0, "b", b"inline payload")]
        );
        h.expect(b"AT+QMTPUBEX=0,1,1,0,\"b\",\"q1\"\r", b"\r\nOK\r\n");
        h.sent(Protocol::V311);
        assert_eq!(
            show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })),
            show(b"\r\n+QMTPUB: 0,1,0\r\n")
        );
        h.expect(b"AT+QMTPUBEX=0,0,0,0,\"b\",5\r", b"\r\nERROR\r\n");
        h.expect(b"AT+QMTPUB=0,0,0,0,\"b\"\r", b"\r\n> ");
    }
}

#[test]
fn restart_drops_links_and_forgets_configuration() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"keepalive\",0,30\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    h.send(b"AT+CFUN=1,1\r");
    assert!(h.actions().contains(&NetAction::Close { link }));
    h.expect(
        b"AT+QMTCFG=\"keepalive\",0\r",
        b"AT+QMTCFG=\"keepalive\",0\r\r\n+QMTCFG: \"keepalive\",120\r\n\r\nOK\r\n",
    );
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::Reset
        })),
        ""
    );
}
