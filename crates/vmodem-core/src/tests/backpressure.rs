//! Back-pressure and bounded memory, in virtual time: a host that does not
//! read, a broker that floods, a download larger than any buffer. Each test
//! pins one bound of ARCHITECTURE.md ("Memory") and shows that nothing the
//! module acknowledged is lost once the host reads again.

use core::time::Duration;

use vmodem_mqtt::{Connack, ConnectReturnCode, Packet, Protocol, Publish, QoS};

use super::files::upload;
use super::harness::{show, Harness};
use crate::engine::HOST_OUTPUT_LIMIT;
use crate::mqtt::client::SEND_BUFFER;
use crate::mqtt::MAX_URC_BACKLOG;
use crate::{LinkId, NetAction, NetEvent};

/// What one read of a link hands the core at most (the driver's read chunk).
const CHUNK: usize = 4096;

fn quiet() -> Harness {
    let mut h = Harness::new();
    h.expect(b"ATE0\r", b"ATE0\r\r\nOK\r\n");
    h
}

/// Opens and connects client 0 (its first link).
fn connected(h: &mut Harness) -> LinkId {
    h.expect(b"AT+QMTOPEN=0,\"broker.test\",1883\r", b"\r\nOK\r\n");
    let link = LinkId::new(0, 1);
    h.actions();
    assert_eq!(
        show(&h.net(NetEvent::Connected { link })),
        show(b"\r\n+QMTOPEN: 0,0\r\n")
    );
    h.expect(b"AT+QMTCONN=0,\"dev1\"\r", b"\r\nOK\r\n");
    h.sent(Protocol::V311);
    let ack = Packet::Connack(Connack {
        session_present: false,
        code: ConnectReturnCode::Accepted,
    });
    assert_eq!(
        show(&h.broker_sends(link, &ack)),
        show(b"\r\n+QMTCONN: 0,0,0\r\n")
    );
    link
}

/// A payload that names its message and differs from every other one.
fn payload(i: usize, len: usize) -> Vec<u8> {
    let mut p = format!("m{i:05}:").into_bytes();
    p.extend((0..len - p.len()).map(|k| b'a' + ((i + k) % 26) as u8));
    p
}

/// `count` QoS 1 PUBLISH packets with ids 1.., as one byte stream from the broker.
fn flood(count: usize, len: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..count {
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "f/g".into(),
            pkid: (i + 1) as u16,
            payload: payload(i, len).into(),
        })
        .encode(&mut bytes)
        .unwrap();
    }
    bytes
}

/// A link as a driver carries it: reads a chunk of what the broker sent
/// whenever the core lets it (not paused), and counts the PUBACKs written.
struct Broker {
    link: LinkId,
    stream: Vec<u8>,
    fed: usize,
    paused: bool,
    pubacks: Vec<u16>,
}

impl Broker {
    fn new(link: LinkId, stream: Vec<u8>) -> Broker {
        Broker {
            link,
            stream,
            fed: 0,
            paused: false,
            pubacks: Vec::new(),
        }
    }

    /// Applies the core's actions: pause/resume, PUBACKs.
    fn actions(&mut self, h: &mut Harness) {
        for a in h.actions() {
            match a {
                NetAction::PauseReading { link } if link == self.link => self.paused = true,
                NetAction::ResumeReading { link } if link == self.link => self.paused = false,
                NetAction::Send { data, .. } => {
                    for ack in data.chunks(4) {
                        assert_eq!(ack[..2], [0x40, 0x02], "a PUBACK");
                        self.pubacks.push(u16::from_be_bytes([ack[2], ack[3]]));
                    }
                }
                _ => {}
            }
        }
    }

    /// Feeds chunks while the link reads; the host output is not taken.
    fn feed_until_paused(&mut self, h: &mut Harness) {
        self.actions(h);
        while !self.paused && self.fed < self.stream.len() {
            let end = (self.fed + CHUNK).min(self.stream.len());
            let data = self.stream[self.fed..end].to_vec();
            self.fed = end;
            h.modem.handle_net_event(
                h.now,
                NetEvent::Received {
                    link: self.link,
                    data,
                },
            );
            self.actions(h);
        }
    }
}

/// The `+QMTRECV` lines in `out`, as (msgid, payload).
fn messages(out: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut found = Vec::new();
    let mut rest = out;
    let prefix = b"\r\n+QMTRECV: 0,";
    while let Some(at) = find(rest, prefix) {
        rest = &rest[at + prefix.len()..];
        let comma = find(rest, b",").unwrap();
        let id: u16 = std::str::from_utf8(&rest[..comma])
            .unwrap()
            .parse()
            .unwrap();
        let open = find(rest, b",\"m").unwrap() + 2;
        let close = find(&rest[open..], b"\"\r\n").unwrap() + open;
        found.push((id, rest[open..close].to_vec()));
        rest = &rest[close..];
    }
    found
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[test]
fn a_qos1_flood_the_host_does_not_read_stops_the_acks_and_loses_nothing() {
    const COUNT: usize = 2000;
    const LEN: usize = 1000;
    let mut h = quiet();
    let link = connected(&mut h);
    let mut broker = Broker::new(link, flood(COUNT, LEN));
    broker.feed_until_paused(&mut h);

    // The host read nothing: the link is paused, few messages were taken,
    // and each one taken was acknowledged and waits for the host, whole.
    assert!(broker.paused, "the link pauses");
    let acked = broker.pubacks.len();
    assert!(
        acked < 30,
        "acknowledged {acked} while the host read nothing"
    );
    let line = LEN + "\r\n+QMTRECV: 0,2000,\"f/g\",\"\"\r\n".len();
    let waiting = h.modem.host_output_len();
    assert!(
        waiting <= MAX_URC_BACKLOG + line,
        "{waiting} bytes wait for the host"
    );
    let expected: usize = (1..=acked)
        .map(|id| format!("\r\n+QMTRECV: 0,{id},\"f/g\",\"\"\r\n").len() + LEN)
        .sum();
    assert_eq!(waiting, expected, "exactly the acknowledged messages wait");
    let rx = h.modem.mqtt.clients[0].rx_len();
    assert!(
        rx <= 32 * 1024 + 5 + 2 * CHUNK,
        "{rx} bytes buffered from the link"
    );

    // Time passes (keep-alive, the broker's retransmission timer): nothing changes.
    h.modem.handle_timeout(h.now);
    broker.feed_until_paused(&mut h);
    assert_eq!(broker.pubacks.len(), acked);

    // The host reads: everything arrives once, in order, intact, and every
    // message that arrived was acknowledged.
    let mut out = Vec::new();
    while broker.fed < broker.stream.len() || !h.modem.host_output().is_empty() {
        out.extend(h.output());
        broker.feed_until_paused(&mut h);
        assert!(h.modem.host_output_len() <= MAX_URC_BACKLOG + line);
    }
    let got = messages(&out);
    assert_eq!(got.len(), COUNT);
    for (i, (id, body)) in got.iter().enumerate() {
        assert_eq!(usize::from(*id), i + 1);
        assert_eq!(body, &payload(i, LEN), "message {i}");
    }
    let want: Vec<u16> = (1..=COUNT as u16).collect();
    assert_eq!(broker.pubacks, want);
    assert!(!broker.paused, "the link reads again");
}

#[test]
fn a_host_that_writes_without_reading_is_held_off_and_loses_nothing() {
    let mut h = quiet();
    let chunk = b"AT\r".repeat(341); // one read of the driver, 1023 bytes
    let mut commands = 0;
    // A driver reads only while the module wants input.
    while h.modem.wants_host_input() {
        h.modem.handle_host_bytes(h.now, &chunk);
        commands += 341;
        assert!(commands < 100_000, "the module never stopped taking input");
    }
    let waiting = h.modem.host_output_len();
    assert!(
        (HOST_OUTPUT_LIMIT..HOST_OUTPUT_LIMIT + 6).contains(&waiting),
        "{waiting} bytes wait for the host"
    );
    // Even a driver that keeps writing grows nothing but the (bounded)
    // pending input: the module took no more.
    h.modem.handle_host_bytes(h.now, &chunk);
    commands += 341;
    assert_eq!(h.modem.host_output_len(), waiting);
    assert!(h.modem.engine.pending_input.len() <= 2 * chunk.len());

    // The host reads: one OK per command, none lost, none extra.
    let out = h.output();
    assert_eq!(out, b"\r\nOK\r\n".repeat(commands));
    assert!(h.modem.wants_host_input());
    assert!(h.modem.engine.pending_input.is_empty());
}

#[test]
fn a_download_is_shared_not_copied_and_repeats_wait_for_the_host() {
    let mut h = quiet();
    let file: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    upload(&mut h, "RAM:big", &file);
    // The download, then 50 repeats (`A/`) typed before reading anything.
    let mut input = b"AT+QFDWL=\"RAM:big\"\r".to_vec();
    input.extend(b"A/".repeat(50));
    h.modem.handle_host_bytes(h.now, &input);
    let one = {
        let mut r = b"\r\nCONNECT\r\n".to_vec();
        r.extend_from_slice(&file);
        r.extend(
            format!(
                "\r\n+QFDWL: 200000,{:x}\r\n\r\nOK\r\n",
                super::files::xor16(&file)
            )
            .bytes(),
        );
        r
    };
    // One download waits, its body not copied; the repeats wait unread.
    assert_eq!(h.modem.host_output_len(), one.len());
    let copied = h.modem.engine.out.copied_len();
    assert!(copied < 100, "{copied} bytes of the download were copied");
    assert!(!h.modem.wants_host_input());
    // The host takes it 4 KiB at a time, as a serial line would: every byte
    // of 51 downloads arrives, in order.
    let mut out = Vec::new();
    loop {
        let front = h.modem.host_output();
        if front.is_empty() {
            break;
        }
        let n = front.len().min(4096);
        out.extend_from_slice(&front[..n]);
        h.modem.consume_host_output(h.now, n);
        assert!(h.modem.host_output_len() < HOST_OUTPUT_LIMIT + one.len());
    }
    assert_eq!(out.len(), 51 * one.len());
    assert!(out == one.repeat(51), "the downloads differ from the file");
}

/// Bytes the module handed to the driver in `Send`s since the last call.
fn sent_bytes(h: &mut Harness) -> usize {
    h.actions()
        .iter()
        .map(|a| match a {
            NetAction::Send { data, .. } => data.len(),
            _ => 0,
        })
        .sum()
}

/// Types a QoS 0 publish of `len` bytes; returns the answer after the payload.
fn publish_qos0(h: &mut Harness, len: usize) -> String {
    h.expect(
        format!("AT+QMTPUBEX=0,0,0,0,\"t\",{len}\r").as_bytes(),
        b"\r\n> ",
    );
    show(&h.send(&vec![b'p'; len]))
}

#[test]
fn a_link_that_takes_nothing_fills_its_send_buffer_then_publishes_fail() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.auto_write = false; // the broker stopped reading; the socket is full
    let (ok, failed) = (
        "\\r\\nOK\\r\\n\\r\\n+QMTPUBEX: 0,0,0\\r\\n",
        "\\r\\nOK\\r\\n\\r\\n+QMTPUBEX: 0,0,2\\r\\n",
    );
    let mut answers = Vec::new();
    for _ in 0..2000 {
        answers.push(publish_qos0(&mut h, 1400));
    }
    // 1,400 bytes of payload and 6 of header and topic: 11 fit in 16 KiB.
    let fitted = (SEND_BUFFER as usize) / 1406;
    assert_eq!(
        answers.iter().filter(|a| *a == ok).count(),
        fitted,
        "{:?}",
        &answers[..3]
    );
    assert!(
        answers[fitted..].iter().all(|a| a == failed),
        "{:?}",
        answers[fitted]
    );
    assert_eq!(
        sent_bytes(&mut h),
        fitted * 1406,
        "nothing more was handed to the driver"
    );

    // The network takes what waits: publishes fit again.
    h.modem.handle_net_event(
        h.now,
        NetEvent::Written {
            link,
            len: fitted * 1406,
        },
    );
    h.output();
    assert_eq!(publish_qos0(&mut h, 1400), ok);
}

#[test]
fn keep_alive_counts_writes_so_a_black_holed_link_is_found_dead() {
    let mut h = quiet();
    h.expect(b"AT+QMTCFG=\"keepalive\",0,10\r", b"\r\nOK\r\n");
    let link = connected(&mut h);
    h.auto_write = false;
    h.sent(Protocol::V311);
    // The host keeps publishing once a second; nothing is ever written.
    let mut out = String::new();
    for _ in 0..25 {
        if h.modem.mqtt.clients[0].is_connected() {
            out.push_str(&publish_qos0(&mut h, 100));
        }
        out.push_str(&show(&h.advance(Duration::from_secs(1))));
    }
    // PINGREQ after 10 s without a write (queued behind the publishes),
    // +QMTPING after pkt_timeout (5 s), +QMTSTAT after qmtping (5 s).
    let ping = out.find("+QMTPING: 0,1").expect("+QMTPING: 0,1");
    let stat = out.find("+QMTSTAT: 0,2").expect("+QMTSTAT: 0,2");
    assert!(ping < stat, "{out}");
    let packets = h.sent(Protocol::V311);
    assert!(packets.contains(&Packet::Pingreq), "{packets:?}");
    assert!(!h.modem.mqtt.clients[0].is_connected());
    let _ = link;
}

#[test]
fn a_retransmission_timer_starts_when_the_packet_is_written() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.auto_write = false;
    h.expect(b"AT+QMTPUBEX=0,7,1,0,\"t\",3\r", b"\r\n> ");
    h.expect(b"abc", b"\r\nOK\r\n");
    let first = sent_bytes(&mut h);
    assert!(first > 0);
    // Not written: however long it waits, it is not sent again.
    assert_eq!(show(&h.advance(Duration::from_secs(60))), "");
    assert_eq!(sent_bytes(&mut h), 0);
    // Written now: pkt_timeout (5 s) later it is sent again, DUP.
    h.modem
        .handle_net_event(h.now, NetEvent::Written { link, len: first });
    h.auto_write = true;
    assert_eq!(show(&h.advance(Duration::from_millis(4_999))), "");
    assert!(h.sent(Protocol::V311).is_empty());
    h.advance(Duration::from_millis(1));
    let resent = h.sent(Protocol::V311);
    assert!(
        matches!(&resent[..], [Packet::Publish(p)] if p.dup && p.pkid == 7),
        "{resent:?}"
    );
}

#[test]
fn incoming_messages_wait_while_the_send_buffer_cannot_take_their_acks() {
    let mut h = quiet();
    let link = connected(&mut h);
    h.auto_write = false;
    for _ in 0..11 {
        publish_qos0(&mut h, 1400);
    }
    let queued = sent_bytes(&mut h);
    // 11 * 1406 = 15,466 bytes wait; room is left for a few acks only.
    let room = SEND_BUFFER as usize - queued;
    let stream = flood(room / 4 + 50, 10);
    h.modem.handle_net_event(
        h.now,
        NetEvent::Received {
            link,
            data: stream.clone(),
        },
    );
    let out = h.output();
    let taken = messages(&out).len();
    assert_eq!(taken, room / 4, "one message per PUBACK that fits");
    let actions = h.actions();
    assert!(
        actions.contains(&NetAction::PauseReading { link }),
        "{actions:?}"
    );
    // The network writes: the rest is taken and acknowledged, none lost.
    h.auto_write = true;
    h.modem.handle_net_event(
        h.now,
        NetEvent::Written {
            link,
            len: queued + taken * 4,
        },
    );
    let out = h.output();
    let rest = messages(&out);
    assert_eq!(taken + rest.len(), room / 4 + 50);
    assert_eq!(usize::from(rest[0].0), taken + 1);
    assert!(h.actions().contains(&NetAction::ResumeReading { link }));
}
