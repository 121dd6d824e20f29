//! MQTT semantics that only a real broker can show: Will, retained messages,
//! persistent sessions, and the module never dropping a message it
//! acknowledged. All against mosquitto, with rumqttc as the other device.

mod common;

use std::time::Duration;

use common::{Delivery, Target};
use vmodem_client::{CloseResult, MqttVersion, OpenResult, RecvMode, Urc, Will};
use vmodem_testkit::{line, within, Mosquitto, Observer, TestModule};

const LIMIT: Duration = Duration::from_secs(90);

fn target(broker: &Mosquitto, version: MqttVersion) -> Target {
    Target {
        addr: broker.addr(),
        version,
        delivery: Delivery::Minimum,
    }
}

/// The Will goes out when the module drops the link (`AT+QMTCLOSE`, no
/// DISCONNECT), and not after a clean `AT+QMTDISC`.
async fn will_after_close_not_after_disc(version: MqttVersion) {
    let broker = Mosquitto::start().await;
    let target = target(&broker, version);
    let tag = target.tag();
    let topic = format!("will/{tag}");
    let mut observer = Observer::connect(broker.addr(), &format!("will-observer-{tag}")).await;
    observer.subscribe(&topic, 1).await;

    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    let will = Will {
        qos: 1,
        retain: false,
        topic: topic.clone(),
        message: "device 7 went away".into(),
    };
    modem
        .qmt_cfg_will(0, Some(&will))
        .await
        .expect("AT+QMTCFG=\"will\"");
    common::connect(modem, 0, target, &format!("will-{tag}"), RecvMode::Urc).await;
    assert_eq!(
        modem.qmt_close(0).await.expect("AT+QMTCLOSE"),
        CloseResult::Closed
    );
    urcs.wait_for_line("+QMTCLOSE: 0,0").await;
    let got = observer.expect_message().await;
    assert_eq!(
        (got.topic.as_str(), got.payload.as_slice(), got.qos),
        (topic.as_str(), &b"device 7 went away"[..], 1)
    );

    // The same Will, ended cleanly this time.
    common::connect(modem, 0, target, &format!("will-{tag}"), RecvMode::Urc).await;
    assert_eq!(
        modem.qmt_disc(0).await.expect("AT+QMTDISC"),
        CloseResult::Closed
    );
    urcs.wait_for_line("+QMTSTAT: 0,5").await;
    // The broker has dropped the connection (that is what +QMTSTAT: 0,5
    // says), so a Will would already be on its way: the next message on the
    // topic must be this marker.
    observer.publish(&topic, 1, false, b"marker").await;
    let got = observer.expect_message().await;
    assert_eq!(got.payload, b"marker", "no Will after AT+QMTDISC");
    module.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_after_qmtclose_and_not_after_qmtdisc_mqtt_3_1() {
    within(LIMIT, will_after_close_not_after_disc(MqttVersion::V31)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn will_after_qmtclose_and_not_after_qmtdisc_mqtt_3_1_1() {
    within(LIMIT, will_after_close_not_after_disc(MqttVersion::V311)).await;
}

/// A retained publish reaches later subscribers (an observer, and the module
/// itself); an empty retained publish (`AT+QMTPUBEX=…,0`) clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retained_messages_reach_later_subscribers_and_an_empty_one_clears_them() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let target = target(&broker, MqttVersion::V311);
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target, "retain-device", RecvMode::Urc).await;
        let topic = "retain/state";

        let out = modem
            .qmt_pubex(0, 1, 1, true, topic, b"on")
            .await
            .expect("AT+QMTPUBEX retained");
        assert!(out.is_sent(), "{out:?}");
        let mut late = Observer::connect(broker.addr(), "retain-late").await;
        late.subscribe(topic, 1).await;
        let got = late.expect_message().await;
        assert_eq!(
            (got.payload.as_slice(), got.retain),
            (&b"on"[..], true),
            "the retained message, flagged as such"
        );

        // The module as the later subscriber, to a message an observer retained.
        late.publish("retain/command", 1, true, b"reboot at 3")
            .await;
        common::subscribe(modem, 0, 2, &[("retain/command", 1)], &[1]).await;
        let (_, t, payload) = common::next_message(&mut urcs, 0).await;
        assert_eq!(
            (t.as_str(), payload.as_slice()),
            ("retain/command", &b"reboot at 3"[..])
        );

        // Clear with an empty retained publish: the prompt, no data, done.
        let out = modem
            .qmt_pubex(0, 3, 1, true, topic, b"")
            .await
            .expect("AT+QMTPUBEX with length 0");
        assert!(out.is_sent(), "{out:?}");
        module.assert_serial_output_contains(
            format!("AT+QMTPUBEX=0,3,1,1,\"{topic}\",0\r\r\n> ").as_bytes(),
        );
        let cleared = late.expect_message().await;
        assert_eq!(
            cleared.payload, b"",
            "live subscribers get the empty message"
        );

        let mut later = Observer::connect(broker.addr(), "retain-later").await;
        later.subscribe(topic, 1).await;
        let out = modem
            .qmt_pubex(0, 4, 1, false, topic, b"marker")
            .await
            .expect("AT+QMTPUBEX");
        assert!(out.is_sent(), "{out:?}");
        let got = later.expect_message().await;
        assert_eq!(
            (got.payload.as_slice(), got.retain),
            (&b"marker"[..], false),
            "nothing retained is left"
        );
        module.shutdown().await;
    })
    .await;
}

/// `AT+QMTCFG="session",c,0`: the broker keeps the subscription and queues
/// QoS 1 messages while the module is away; they arrive after reconnecting.
/// With a clean session the same message is lost, as MQTT says.
async fn session_keeps_messages(version: MqttVersion) {
    let broker = Mosquitto::start().await;
    let target = target(&broker, version);
    let tag = target.tag();
    let topic = format!("session/{tag}");
    let id = format!("session-{tag}");
    let mut observer = Observer::connect(broker.addr(), &format!("session-observer-{tag}")).await;

    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    modem
        .qmt_cfg_session(0, false)
        .await
        .expect("AT+QMTCFG=\"session\",0,0");
    common::connect(modem, 0, target, &id, RecvMode::Urc).await;
    common::subscribe(modem, 0, 1, &[(&topic, 1)], &[1]).await;
    assert_eq!(
        modem.qmt_close(0).await.expect("AT+QMTCLOSE"),
        CloseResult::Closed
    );

    observer
        .publish(&topic, 1, false, b"while you were away")
        .await;
    // Reconnect without subscribing again.
    common::connect(modem, 0, target, &id, RecvMode::Urc).await;
    let (msg_id, t, payload) = common::next_message(&mut urcs, 0).await;
    assert_eq!(
        (t.as_str(), payload.as_slice()),
        (topic.as_str(), &b"while you were away"[..])
    );
    assert_ne!(msg_id, 0, "queued at QoS 1");

    // A clean session: what is published while away is gone.
    assert_eq!(
        modem.qmt_close(0).await.expect("AT+QMTCLOSE"),
        CloseResult::Closed
    );
    modem
        .qmt_cfg_session(0, true)
        .await
        .expect("AT+QMTCFG=\"session\",0,1");
    observer.publish(&topic, 1, false, b"lost").await;
    common::connect(modem, 0, target, &id, RecvMode::Urc).await;
    common::subscribe(modem, 0, 2, &[(&topic, 1)], &[1]).await;
    observer.publish(&topic, 1, false, b"marker").await;
    let (_, _, payload) = common::next_message(&mut urcs, 0).await;
    assert_eq!(payload, b"marker", "a clean session has nothing queued");
    module.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_session_delivers_what_came_while_away_mqtt_3_1() {
    within(LIMIT, session_keeps_messages(MqttVersion::V31)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_session_delivers_what_came_while_away_mqtt_3_1_1() {
    within(LIMIT, session_keeps_messages(MqttVersion::V311)).await;
}

/// With `session` 0 a QoS 1 publish the broker never acknowledged is sent
/// again on the next link, and its result comes then (docs/decisions.md,
/// "Sessions"). The broker is frozen so the first PUBLISH goes unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_publish_is_sent_again_on_the_next_link_with_session_0() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let target = target(&broker, MqttVersion::V311);
        let mut observer = Observer::connect(broker.addr(), "resend-observer").await;
        observer.subscribe("resend/t", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        modem.qmt_cfg_session(0, false).await.expect("session 0");
        // Long enough that nothing is retransmitted on the first link.
        modem
            .qmt_cfg_timeout(0, 60, 3, true)
            .await
            .expect("pkt_timeout 60 s");
        common::connect(modem, 0, target, "resend-device", RecvMode::Urc).await;

        broker.stop();
        let resp = modem
            .send_with_payload("AT+QMTPUBEX=0,9,1,0,\"resend/t\",5", b"again")
            .await
            .expect("AT+QMTPUBEX");
        assert!(resp.is_ok(), "{resp:?}");
        assert_eq!(
            modem.qmt_close(0).await.expect("AT+QMTCLOSE"),
            CloseResult::Closed
        );
        broker.cont();

        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "resend-device", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        let result = urcs
            .wait_for("+QMTPUBEX: 0,9,…", |u| {
                matches!(u, Urc::QmtPub { msg_id: 9, .. })
            })
            .await;
        assert_eq!(line(&result), "+QMTPUBEX: 0,9,0");
        let got = observer.expect_message().await;
        assert_eq!(got.payload, b"again");
        module.shutdown().await;
    })
    .await;
}

/// Buffer mode holds 5 messages; more wait in the network (the module stops
/// reading) and come in once the host reads: none is dropped, none reordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffer_mode_back_pressure_drops_nothing() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let target = target(&broker, MqttVersion::V311);
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target, "pressure-device", RecvMode::Buffer).await;
        common::subscribe(modem, 0, 1, &[("pressure/t", 1)], &[1]).await;
        let mut observer = Observer::connect(broker.addr(), "pressure-observer").await;
        for i in 1..=8 {
            observer
                .publish("pressure/t", 1, false, format!("message {i}").as_bytes())
                .await;
        }
        for slot in 0..5 {
            urcs.wait_for_line(&format!("+QMTRECV: 0,{slot}")).await;
        }
        // The slots are full: the rest waits in the network.
        urcs.expect_none_within(Duration::from_millis(500)).await;

        let mut got = Vec::new();
        while got.len() < 8 {
            // Each read takes every stored message; each +QMTRECV: 0,<id>
            // announces one, so waiting for the next one cannot hang.
            let batch = modem.qmt_recv_read(0, None).await.expect("AT+QMTRECV=0");
            got.extend(
                batch
                    .into_iter()
                    .map(|m| String::from_utf8(m.payload).expect("text")),
            );
            if got.len() < 8 {
                urcs.wait_for("+QMTRECV: 0,<id>", |u| {
                    matches!(u, Urc::QmtRecvStored { client: 0, .. })
                })
                .await;
            }
        }
        let want: Vec<_> = (1..=8).map(|i| format!("message {i}")).collect();
        assert_eq!(got, want);
        module.shutdown().await;
    })
    .await;
}

/// A restart (`AT+CFUN=1,1`) closes every link without a URC (the module
/// boots again instead), so the broker sends the Will; the MQTT settings are
/// back to their defaults afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_drops_links_silently_and_the_broker_sends_the_will() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let target = target(&broker, MqttVersion::V311);
        let mut observer = Observer::connect(broker.addr(), "restart-observer").await;
        observer.subscribe("restart/will", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        let will = Will {
            qos: 1,
            retain: false,
            topic: "restart/will".into(),
            message: "rebooted".into(),
        };
        modem
            .qmt_cfg_will(0, Some(&will))
            .await
            .expect("AT+QMTCFG=\"will\"");
        common::connect(modem, 0, target, "restart-device", RecvMode::Urc).await;
        urcs.wait_for_line("+QMTCONN: 0,0,0").await;
        let before = module.serial_output().len();

        modem.command_ok("AT+CFUN=1,1").await.expect("AT+CFUN=1,1");
        urcs.expect_sequence(&[
            "RDY",
            "+CFUN: 1",
            "+CPIN: READY",
            "+QUSIM: 1",
            "+QIND: SMS DONE",
            "+QIND: PB DONE",
        ])
        .await;
        let got = observer.expect_message().await;
        assert_eq!(got.payload, b"rebooted");
        let after = module.serial_output()[before..].to_vec();
        assert!(
            !after.windows(8).any(|w| w == b"+QMTSTAT"),
            "no +QMTSTAT after a restart: {}",
            after.escape_ascii()
        );
        assert!(modem
            .qmt_open_status()
            .await
            .expect("AT+QMTOPEN?")
            .is_empty());
        let will = modem
            .qmt_cfg_query(0, "will")
            .await
            .expect("AT+QMTCFG=\"will\",0");
        assert_eq!(will, [vmodem_client::Param::Int(0)], "settings are reset");
        module.shutdown().await;
    })
    .await;
}
