//! One final result for every accepted packet (issue 9, item 6): each
//! publish, subscribe and unsubscribe that got `OK` ends with exactly one
//! `<result>` 0 or 2, or is carried in a kept session into the next
//! connection and ends there.

use core::time::Duration;

use vmodem_mqtt::{Connack, ConnectReturnCode, Packet, Protocol};

use super::harness::{show, Harness};
use super::mqtt::{connack, connected, open, quiet};
use crate::{CloseCause, LinkId, NetAction, NetEvent};

/// Sends `AT+QMTPUBEX=0,<id>,<qos>,0,"t",1` and its payload.
fn publish(h: &mut Harness, id: u16, qos: u8) {
    h.expect(
        format!("AT+QMTPUBEX=0,{id},{qos},0,\"t\",1\r").as_bytes(),
        b"\r\n> ",
    );
    h.expect(b"x", b"\r\nOK\r\n");
}

/// Publishes QoS 1 (msgID 1), QoS 2 (2, PUBREC received: waiting for PUBCOMP),
/// subscribes (3) and unsubscribes (4), none acknowledged.
fn four_in_flight(h: &mut Harness, link: LinkId) {
    publish(h, 1, 1);
    publish(h, 2, 2);
    h.broker_sends(link, &Packet::Pubrec { pkid: 2 });
    h.expect(b"AT+QMTSUB=0,3,\"s\",1\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTUNS=0,4,\"u\"\r", b"\r\nOK\r\n");
    h.actions();
}

/// Opens client 0's `gen`-th link and connects it; the CONNACK says whether
/// the broker kept the session.
fn reconnect(h: &mut Harness, gen: u32) -> LinkId {
    h.actions();
    let link = open(h, 0, gen);
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
    link
}

#[test]
fn exhausted_retransmissions_end_every_packet_in_flight() {
    // The issue's case: timeout 2 s, 1 retry, no notices; a broker that stops
    // answering; three QoS 1 publishes in flight. It used to give
    // +QMTPUBEX: 0,21,2 and +QMTSTAT: 0,6, and nothing for 22 and 23.
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"timeout\",0,2,1,0\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    for id in [21, 22, 23] {
        publish(&mut h, id, 1);
    }
    h.sent(Protocol::V311);
    assert_eq!(show(&h.advance(Duration::from_secs(2))), "");
    assert_eq!(h.sent(Protocol::V311).len(), 3, "each sent again once");
    assert_eq!(
        show(&h.advance(Duration::from_secs(2))),
        show(
            b"\r\n+QMTPUBEX: 0,21,2\r\n\r\n+QMTPUBEX: 0,22,2\r\n\
              \r\n+QMTPUBEX: 0,23,2\r\n\r\n+QMTSTAT: 0,6\r\n"
        )
    );
    assert_eq!(h.actions(), vec![NetAction::Close { link }]);
    assert_eq!(
        show(&h.advance(Duration::from_secs(30))),
        "",
        "nothing later"
    );
}

#[test]
fn with_a_kept_session_the_others_end_in_the_next_connection() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"timeout\",0,2,1,0\r", b"\r\nOK\r\n");
    h.expect(b"AT+QMTCFG=\"session\",0,0\r", b"\r\nOK\r\n");
    connected(&mut h);
    for id in [21, 22, 23] {
        publish(&mut h, id, 1);
    }
    h.advance(Duration::from_secs(2));
    // 21 ran out of retries: it failed. 22 and 23 stay in the session.
    assert_eq!(
        show(&h.advance(Duration::from_secs(2))),
        show(b"\r\n+QMTPUBEX: 0,21,2\r\n\r\n+QMTSTAT: 0,6\r\n")
    );
    // They still occupy their msgIDs (the window survives the link).
    let link = reconnect(&mut h, 2);
    let resent = h.sent(Protocol::V311);
    let ids: Vec<u16> = resent
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) if p.dup => Some(p.pkid),
            _ => None,
        })
        .collect();
    assert_eq!(ids, [22, 23]);
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 23 })),
        show(b"\r\n+QMTPUBEX: 0,23,0\r\n")
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 22 })),
        show(b"\r\n+QMTPUBEX: 0,22,0\r\n")
    );
}

#[test]
fn a_link_drop_with_a_clean_session_ends_publishes_subscribes_and_unsubscribes() {
    let mut h = quiet();
    let link = connected(&mut h);
    four_in_flight(&mut h, link);
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::Reset
        })),
        show(
            b"\r\n+QMTPUBEX: 0,1,2\r\n\r\n+QMTPUBEX: 0,2,2\r\n\
              \r\n+QMTSUB: 0,3,2\r\n\r\n+QMTUNS: 0,4,2\r\n\r\n+QMTSTAT: 0,1\r\n"
        )
    );
    // Nothing is carried: the next connection sends nothing again.
    reconnect(&mut h, 2);
    assert!(h.sent(Protocol::V311).is_empty());
}

#[test]
fn a_link_drop_with_a_kept_session_ends_only_subscribes_and_unsubscribes() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"session\",0,0\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    four_in_flight(&mut h, link);
    // MQTT sends SUBSCRIBE/UNSUBSCRIBE again on no connection: they fail.
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::PeerClosed
        })),
        show(b"\r\n+QMTSUB: 0,3,2\r\n\r\n+QMTUNS: 0,4,2\r\n\r\n+QMTSTAT: 0,1\r\n")
    );
    let link = reconnect(&mut h, 2);
    let resent = h.sent(Protocol::V311);
    assert_eq!(resent.len(), 2, "{resent:?}");
    assert!(matches!(&resent[0], Packet::Publish(p) if p.dup && p.pkid == 1));
    assert_eq!(resent[1], Packet::Pubrel { pkid: 2 });
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 1 })),
        show(b"\r\n+QMTPUBEX: 0,1,0\r\n")
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Pubcomp { pkid: 2 })),
        show(b"\r\n+QMTPUBEX: 0,2,0\r\n")
    );
}

#[test]
fn carried_packets_fail_when_the_next_connection_starts_a_clean_session() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"session\",0,0\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    publish(&mut h, 7, 1);
    h.net(NetEvent::Closed {
        link,
        cause: CloseCause::Reset,
    });
    // The host turns the kept session off before it connects again.
    h.expect(b"AT+QMTCFG=\"session\",0,1\r", b"\r\nOK\r\n");
    h.actions();
    let link = open(&mut h, 0, 2);
    h.expect(b"AT+QMTCONN=0,\"dev1\"\r", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    assert_eq!(
        show(&h.broker_sends(link, &connack(ConnectReturnCode::Accepted))),
        show(b"\r\n+QMTCONN: 0,0,0\r\n\r\n+QMTPUBEX: 0,7,2\r\n")
    );
    assert!(h.sent(Protocol::V311).is_empty(), "nothing sent again");
}

#[test]
fn every_way_a_link_ends_gives_the_results_first() {
    // AT+QMTCLOSE: the results, then +QMTCLOSE.
    let mut h = quiet();
    connected(&mut h);
    publish(&mut h, 1, 1);
    h.expect(
        b"AT+QMTCLOSE=0\r",
        b"\r\nOK\r\n\r\n+QMTPUBEX: 0,1,2\r\n\r\n+QMTCLOSE: 0,0\r\n",
    );
    // The PDP context goes down: +QMTSTAT: c,7.
    let mut h = quiet();
    connected(&mut h);
    publish(&mut h, 1, 2);
    h.expect(
        b"AT+QIDEACT=1\r",
        b"\r\nOK\r\n\r\n+QMTPUBEX: 0,1,2\r\n\r\n+QMTSTAT: 0,7\r\n",
    );
    // A failed write: +QMTSTAT: c,6.
    let mut h = quiet();
    let link = connected(&mut h);
    h.expect(b"AT+QMTSUB=0,5,\"s\",0\r", b"\r\nOK\r\n");
    assert_eq!(
        show(&h.net(NetEvent::SendFailed { link })),
        show(b"\r\n+QMTSUB: 0,5,2\r\n\r\n+QMTSTAT: 0,6\r\n")
    );
    // The broker breaks MQTT: the module closes, +QMTSTAT: c,1.
    let mut h = quiet();
    let link = connected(&mut h);
    publish(&mut h, 9, 1);
    assert_eq!(
        show(&h.net(NetEvent::Received {
            link,
            data: vec![0xff, 0x00]
        })),
        show(b"\r\n+QMTPUBEX: 0,9,2\r\n\r\n+QMTSTAT: 0,1\r\n")
    );
    // AT+QMTDISC while a publish waits: its result, then +QMTDISC and +QMTSTAT: c,5.
    let mut h = quiet();
    let link = connected(&mut h);
    publish(&mut h, 3, 1);
    h.expect(b"AT+QMTDISC=0\r", b"\r\nOK\r\n");
    assert_eq!(
        show(&h.net(NetEvent::Closed {
            link,
            cause: CloseCause::PeerClosed
        })),
        show(b"\r\n+QMTPUBEX: 0,3,2\r\n\r\n+QMTDISC: 0,0\r\n\r\n+QMTSTAT: 0,5\r\n")
    );
}

#[test]
fn result_1_notices_are_not_final() {
    // With notices on, retransmissions report result 1 per msgID, and each
    // packet still ends with exactly one result 0 or 2.
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"timeout\",0,2,1,1\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    publish(&mut h, 1, 1);
    publish(&mut h, 2, 1);
    assert_eq!(
        show(&h.advance(Duration::from_secs(2))),
        show(b"\r\n+QMTPUBEX: 0,1,1,1\r\n\r\n+QMTPUBEX: 0,2,1,1\r\n")
    );
    assert_eq!(
        show(&h.broker_sends(link, &Packet::Puback { pkid: 2 })),
        show(b"\r\n+QMTPUBEX: 0,2,0\r\n")
    );
    assert_eq!(
        show(&h.advance(Duration::from_secs(2))),
        show(b"\r\n+QMTPUBEX: 0,1,2\r\n\r\n+QMTSTAT: 0,6\r\n")
    );
}
