//! Scenarios shared by the interop tests: the same MQTT exchanges against
//! each broker and protocol version.
#![allow(dead_code)]

use std::net::SocketAddr;

use vmodem_client::{Client, MqttVersion, OpenResult, RecvMode, Urc};
use vmodem_testkit::{line, Observer, TestModule, Urcs};

/// A broker the module talks to, and the MQTT version it uses there.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) version: MqttVersion,
    /// How the broker picks the QoS of a message it forwards.
    pub(crate) delivery: Delivery,
}

/// The QoS a broker forwards a message with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The lower of the publish's and the subscription's, as MQTT 3.1.1
    /// §3.8.4 requires (mosquitto, the built-in broker).
    Minimum,
}

impl Target {
    /// The QoS a message published at `publish` reaches a `subscription` subscriber with.
    pub(crate) fn delivered(&self, publish: u8, subscription: u8) -> u8 {
        match self.delivery {
            Delivery::Minimum => publish.min(subscription),
        }
    }

    /// A short name for client ids and topics.
    pub(crate) fn tag(&self) -> &'static str {
        match self.version {
            MqttVersion::V31 => "v31",
            _ => "v311",
        }
    }
}

/// Sets version and `recv/mode` (URC with length, or buffered with length),
/// opens and connects MQTT client `c`; checks every step's result.
pub(crate) async fn connect(
    modem: &Client,
    c: u8,
    target: Target,
    client_id: &str,
    mode: RecvMode,
) {
    modem
        .qmt_cfg_version(c, target.version)
        .await
        .expect("AT+QMTCFG=\"version\"");
    modem
        .qmt_cfg_recv_mode(c, mode, true)
        .await
        .expect("AT+QMTCFG=\"recv/mode\"");
    let opened = modem
        .qmt_open(c, &target.addr.ip().to_string(), target.addr.port())
        .await
        .expect("AT+QMTOPEN");
    assert_eq!(
        opened,
        OpenResult::Opened,
        "+QMTOPEN: {c},{}",
        opened.code()
    );
    let conn = modem
        .qmt_conn(c, client_id, None, None)
        .await
        .expect("AT+QMTCONN");
    assert!(conn.is_accepted(), "{conn:?}");
}

/// Subscribes client `c` and checks the granted QoS vector.
pub(crate) async fn subscribe(
    modem: &Client,
    c: u8,
    msg_id: u16,
    topics: &[(&str, u8)],
    granted: &[u32],
) {
    let sub = modem.qmt_sub(c, msg_id, topics).await.expect("AT+QMTSUB");
    assert!(sub.is_sent(), "{sub:?}");
    assert_eq!(sub.values, granted, "granted QoS for {topics:?}");
}

/// The next `+QMTRECV` message of client `c`: (msgID, topic, payload).
pub(crate) async fn next_message(urcs: &mut Urcs, c: u8) -> (u16, String, Vec<u8>) {
    let urc = urcs
        .wait_for(
            "+QMTRECV",
            |u| matches!(u, Urc::QmtRecv { client, .. } if *client == c),
        )
        .await;
    match urc {
        Urc::QmtRecv {
            msg_id,
            topic,
            payload,
            ..
        } => (msg_id, topic, payload),
        other => unreachable!("{}", line(&other)),
    }
}

/// Every byte value, and the bytes that break naive `+QMTRECV` parsers.
pub(crate) fn binary_payload() -> Vec<u8> {
    let mut p = b"\"quoted\", comma\r\n\"\r\nNUL:\0:end\"".to_vec();
    p.extend(0..=255u8);
    p.extend_from_slice(b"\",\"\r\n");
    p
}

/// QoS 0, 1 and 2 in both directions, with exact payloads and granted QoS.
pub(crate) async fn qos_both_directions(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    connect(modem, 0, target, &format!("qos-{tag}"), RecvMode::Urc).await;
    let down = format!("qos/{tag}/down");
    let up = format!("qos/{tag}/up");
    subscribe(modem, 0, 1, &[(&down, 2)], &[2]).await;
    let mut observer = Observer::connect(target.addr, &format!("qos-observer-{tag}")).await;
    assert_eq!(observer.subscribe(&up, 2).await, 2);

    for qos in 0..=2u8 {
        // Module → observer.
        let payload = format!("up at QoS {qos}").into_bytes();
        let msg_id = u16::from(qos) * 10;
        let out = modem
            .qmt_pubex(0, msg_id, qos, false, &up, &payload)
            .await
            .expect("AT+QMTPUBEX");
        assert!(out.is_sent(), "QoS {qos}: {out:?}");
        assert_eq!(out.retransmissions, 0);
        let got = observer.expect_message().await;
        assert_eq!(got.topic, up);
        assert_eq!(got.payload, payload, "QoS {qos}");
        assert_eq!(
            got.qos,
            target.delivered(qos, 2),
            "QoS of the forwarded message"
        );

        // Observer → module.
        let payload = format!("down at QoS {qos}").into_bytes();
        observer.publish(&down, qos, false, &payload).await;
        let (msg_id, topic, got) = next_message(&mut urcs, 0).await;
        assert_eq!(topic, down);
        assert_eq!(got, payload, "QoS {qos}");
        let delivered = target.delivered(qos, 2);
        assert_eq!(
            msg_id == 0,
            delivered == 0,
            "msgID {msg_id} at QoS {delivered}"
        );
    }
    module.shutdown().await;
}

/// Payloads with quotes, commas, CR LF, NUL and every byte, both ways.
pub(crate) async fn binary_payloads(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    connect(modem, 0, target, &format!("bin-{tag}"), RecvMode::Urc).await;
    let down = format!("bin/{tag}/down");
    let up = format!("bin/{tag}/up");
    subscribe(modem, 0, 1, &[(&down, 1)], &[1]).await;
    let mut observer = Observer::connect(target.addr, &format!("bin-observer-{tag}")).await;
    observer.subscribe(&up, 1).await;
    let payload = binary_payload();

    let out = modem
        .qmt_pubex(0, 7, 1, false, &up, &payload)
        .await
        .expect("AT+QMTPUBEX with binary data");
    assert!(out.is_sent(), "{out:?}");
    let got = observer.expect_message().await;
    assert_eq!(
        got.payload.escape_ascii().to_string(),
        payload.escape_ascii().to_string()
    );

    observer.publish(&down, 1, false, &payload).await;
    let (_, topic, got) = next_message(&mut urcs, 0).await;
    assert_eq!(topic, down);
    assert_eq!(
        got.escape_ascii().to_string(),
        payload.escape_ascii().to_string()
    );

    // On the line: `+QMTRECV: 0,<id>,"<topic>",<len>,"<raw bytes>"`.
    let mut wire = format!("\",{},\"", payload.len()).into_bytes();
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(b"\"\r\n");
    module.assert_serial_output_contains(&wire);

    // An empty payload, on a UTF-8 topic, both ways.
    let utf8 = format!("bin/{tag}/ü/中文");
    subscribe(modem, 0, 2, &[(&format!("bin/{tag}/ü/#"), 1)], &[1]).await;
    observer.publish(&utf8, 1, false, b"").await;
    let (_, topic, got) = next_message(&mut urcs, 0).await;
    assert_eq!((topic.as_str(), got.as_slice()), (utf8.as_str(), &b""[..]));
    module.assert_serial_output_contains(format!(",\"{utf8}\",0,\"\"\r\n").as_bytes());
    observer.subscribe(&format!("bin/{tag}/中文"), 1).await;
    let out = modem
        .qmt_pubex(0, 8, 1, false, &format!("bin/{tag}/中文"), b"")
        .await
        .expect("AT+QMTPUBEX of nothing to a UTF-8 topic");
    assert!(out.is_sent(), "{out:?}");
    let got = observer.expect_message().await;
    assert_eq!(
        (got.topic.as_str(), got.payload.as_slice()),
        (format!("bin/{tag}/中文").as_str(), &b""[..])
    );
    module.shutdown().await;
}

/// `recv/mode` 1: `+QMTRECV: c,<recv_id>`, then `AT+QMTRECV=c,<recv_id>`.
pub(crate) async fn buffer_mode(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    // A view taken before the first command sees every URC in order (one
    // taken after a typed call returns may still get that call's result URC).
    let mut urcs = module.urcs();
    connect(modem, 0, target, &format!("buf-{tag}"), RecvMode::Buffer).await;
    let topic = format!("buf/{tag}");
    subscribe(modem, 0, 1, &[(&topic, 1)], &[1]).await;
    let mut observer = Observer::connect(target.addr, &format!("buf-observer-{tag}")).await;

    observer.publish(&topic, 1, false, b"first").await;
    urcs.wait_for_line("+QMTRECV: 0,0").await;
    observer.publish(&topic, 0, false, b"second\r\n\"x\"").await;
    urcs.expect_next("+QMTRECV: 0,1").await;

    let status = modem.qmt_recv_status().await.expect("AT+QMTRECV?");
    let stored: Vec<_> = status
        .iter()
        .find(|s| s.client == 0)
        .expect("client 0")
        .stored
        .clone();
    assert_eq!(stored, [true, true, false, false, false]);

    let first = modem
        .qmt_recv_read(0, Some(0))
        .await
        .expect("AT+QMTRECV=0,0");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0].topic.as_str(), first[0].payload.as_slice()),
        (topic.as_str(), &b"first"[..])
    );
    assert_ne!(first[0].msg_id, 0, "a QoS 1 message has a msgID");

    let status = modem.qmt_recv_status().await.expect("AT+QMTRECV?");
    let stored: Vec<_> = status
        .iter()
        .find(|s| s.client == 0)
        .expect("client 0")
        .stored
        .clone();
    assert_eq!(stored, [false, true, false, false, false]);

    let rest = modem.qmt_recv_read(0, None).await.expect("AT+QMTRECV=0");
    assert_eq!(rest.len(), 1, "{rest:?}");
    assert_eq!(rest[0].payload, b"second\r\n\"x\"");
    assert_eq!(
        rest[0].msg_id == 0,
        target.delivered(0, 1) == 0,
        "msgID {} of a QoS 0 publish",
        rest[0].msg_id
    );
    assert!(modem
        .qmt_recv_read(0, None)
        .await
        .expect("AT+QMTRECV=0")
        .is_empty());
    module.shutdown().await;
}

/// Clients 0–5 connected at once, each with its own topics.
pub(crate) async fn six_clients(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    for c in 0..6u8 {
        connect(modem, c, target, &format!("six-{tag}-{c}"), RecvMode::Urc).await;
        subscribe(modem, c, 1, &[(&format!("six/{tag}/down/{c}"), 1)], &[1]).await;
    }
    let status = modem.qmt_conn_status().await.expect("AT+QMTCONN?");
    assert_eq!(status.len(), 6, "{status:?}");
    assert!(status.iter().all(|(_, s)| s.code() == 3), "{status:?}");

    let mut observer = Observer::connect(target.addr, &format!("six-observer-{tag}")).await;
    observer.subscribe(&format!("six/{tag}/up/#"), 1).await;
    // The observer writes to each client in turn; each hears only its own.
    for c in (0..6u8).rev() {
        let payload = format!("for client {c}").into_bytes();
        observer
            .publish(&format!("six/{tag}/down/{c}"), 1, false, &payload)
            .await;
        let urc = urcs
            .wait_for("+QMTRECV", |u| matches!(u, Urc::QmtRecv { .. }))
            .await;
        match urc {
            Urc::QmtRecv {
                client,
                payload: got,
                ..
            } => {
                assert_eq!(client, c);
                assert_eq!(got, payload);
            }
            other => unreachable!("{}", line(&other)),
        }
    }
    // All six publish at once (their commands interleave on the line).
    let publishes = (0..6u8).map(|c| {
        let modem = modem.clone();
        let topic = format!("six/{tag}/up/{c}");
        async move {
            let out = modem
                .qmt_pubex(
                    c,
                    100 + u16::from(c),
                    1,
                    false,
                    &topic,
                    format!("from {c}").as_bytes(),
                )
                .await
                .expect("AT+QMTPUBEX");
            assert!(out.is_sent(), "client {c}: {out:?}");
        }
    });
    futures_join_all(publishes).await;
    let mut got = Vec::new();
    for _ in 0..6 {
        let m = observer.expect_message().await;
        got.push((m.topic, String::from_utf8(m.payload).expect("text")));
    }
    got.sort();
    let want: Vec<_> = (0..6)
        .map(|c| (format!("six/{tag}/up/{c}"), format!("from {c}")))
        .collect();
    assert_eq!(got, want);
    module.shutdown().await;
}

/// Subscribe to several topics in one command, unsubscribe one of them.
pub(crate) async fn several_topics(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    connect(modem, 0, target, &format!("multi-{tag}"), RecvMode::Urc).await;
    let a = format!("multi/{tag}/a");
    let b = format!("multi/{tag}/b");
    let c = format!("multi/{tag}/c/#");
    subscribe(modem, 0, 1, &[(&a, 0), (&b, 1), (&c, 2)], &[0, 1, 2]).await;
    module.assert_serial_output_contains(b"\r\n+QMTSUB: 0,1,0,0,1,2\r\n");

    let mut observer = Observer::connect(target.addr, &format!("multi-observer-{tag}")).await;
    for (topic, payload) in [
        (a.clone(), "to a"),
        (b.clone(), "to b"),
        (format!("multi/{tag}/c/deep/er"), "to c"),
    ] {
        observer.publish(&topic, 2, false, payload.as_bytes()).await;
        let (_, got_topic, got) = next_message(&mut urcs, 0).await;
        assert_eq!((got_topic, got), (topic, payload.as_bytes().to_vec()));
    }

    let uns = modem.qmt_uns(0, 2, &[&a]).await.expect("AT+QMTUNS");
    assert!(uns.is_sent(), "{uns:?}");
    urcs.wait_for_line("+QMTUNS: 0,2,0").await;
    // `a` is no longer delivered: the next message is the one sent after it.
    observer.publish(&a, 1, false, b"unheard").await;
    observer.publish(&b, 1, false, b"heard").await;
    let (_, topic, got) = next_message(&mut urcs, 0).await;
    assert_eq!((topic, got), (b, b"heard".to_vec()));
    module.shutdown().await;
}

/// Payload sizes at the limits: the module publishes its maximum of 1500
/// bytes (1501 is refused before anything is sent), and receives a 20000-byte
/// message whole.
pub(crate) async fn large_payloads(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    connect(modem, 0, target, &format!("large-{tag}"), RecvMode::Urc).await;
    let down = format!("large/{tag}/down");
    let up = format!("large/{tag}/up");
    subscribe(modem, 0, 1, &[(&down, 1)], &[1]).await;
    let mut observer = Observer::connect(target.addr, &format!("large-observer-{tag}")).await;
    observer.subscribe(&up, 1).await;
    let pattern = |n: usize| -> Vec<u8> { (0..n).map(|i| (i % 251) as u8).collect() };

    let max = pattern(1500);
    let out = modem
        .qmt_pubex(0, 1, 1, false, &up, &max)
        .await
        .expect("AT+QMTPUBEX of 1500 bytes");
    assert!(out.is_sent(), "{out:?}");
    assert_eq!(observer.expect_message().await.payload, max);
    let too_long = modem.qmt_pubex(0, 2, 1, false, &up, &pattern(1501)).await;
    assert!(
        matches!(&too_long, Err(vmodem_client::Error::Rejected { .. })),
        "{too_long:?}"
    );
    module.assert_serial_output_contains(
        format!("AT+QMTPUBEX=0,2,1,0,\"{up}\",1501\r\r\nERROR\r\n").as_bytes(),
    );

    let big = pattern(20_000);
    observer.publish(&down, 1, false, &big).await;
    let (_, topic, got) = next_message(&mut urcs, 0).await;
    assert_eq!(topic, down);
    assert!(got == big, "20000 bytes arrive whole ({} came)", got.len());
    // Nothing was published for the refused command.
    observer.publish(&up, 1, false, b"marker").await;
    assert_eq!(observer.expect_message().await.payload, b"marker");
    module.shutdown().await;
}

/// The Ctrl-Z form (`AT+QMTPUB`, EC25 dialect 2) publishes, and a message
/// received without the length field (`recv/mode` 0,0) is written as the
/// note's example shows.
pub(crate) async fn ctrl_z_publish_and_urc_without_length(target: Target) {
    let tag = target.tag();
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    connect(modem, 0, target, &format!("ctrlz-{tag}"), RecvMode::Urc).await;
    modem.qmt_close(0).await.expect("close to change recv/mode");
    modem
        .qmt_cfg_recv_mode(0, RecvMode::Urc, false)
        .await
        .expect("AT+QMTCFG=\"recv/mode\",0,0,0");
    let opened = modem
        .qmt_open(0, &target.addr.ip().to_string(), target.addr.port())
        .await
        .expect("AT+QMTOPEN");
    assert_eq!(opened, OpenResult::Opened);
    assert!(modem
        .qmt_conn(0, &format!("ctrlz-{tag}"), None, None)
        .await
        .expect("AT+QMTCONN")
        .is_accepted());
    let topic = format!("ctrlz/{tag}");
    subscribe(modem, 0, 1, &[(&topic, 0)], &[0]).await;
    let mut observer = Observer::connect(target.addr, &format!("ctrlz-observer-{tag}")).await;
    observer.subscribe(&topic, 1).await;

    let payload = b"This is test data, hello MQTT.";
    let out = modem
        .qmt_pub_ctrl_z(0, 4, 1, false, &topic, payload)
        .await
        .expect("AT+QMTPUB");
    assert!(out.is_sent(), "{out:?}");
    // The module hears its own message (QoS 0 subscription) and the observer too.
    let (msg_id, t, got) = next_message(&mut urcs, 0).await;
    assert_eq!(
        (msg_id, t.as_str(), got.as_slice()),
        (0, topic.as_str(), &payload[..])
    );
    module.assert_serial_output_contains(
        format!("\r\n+QMTRECV: 0,0,\"{topic}\",\"This is test data, hello MQTT.\"\r\n").as_bytes(),
    );
    module.assert_serial_output_contains(b"\r\n+QMTPUB: 0,4,0\r\n");
    assert_eq!(observer.expect_message().await.payload, payload);
    module.shutdown().await;
}

/// Runs futures concurrently and waits for all (no extra dependency).
pub(crate) async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    for h in handles {
        h.await.expect("task panicked");
    }
}
