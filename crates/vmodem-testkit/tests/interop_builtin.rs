//! The module against the built-in broker (`vmodem_tokio::EmbeddedBroker`),
//! over MQTT 3.1.1 and 3.1, with an independent rumqttc client as the other
//! device; and what firmware sees of the broker's standard behaviour:
//! CONNACK 4/5 with users, UNSUBACK for a topic never subscribed, delivery
//! at the lower QoS.

mod common;

use std::time::Duration;

use common::{Delivery, Target};
use vmodem_client::{MqttVersion, OpenResult};
use vmodem_testkit::{start_builtin_broker, within, Observer, TestModule};
use vmodem_tokio::{BrokerOptions, EmbeddedBroker};

const LIMIT: Duration = Duration::from_secs(90);

/// A broker of the test's own on a free port; it stops when dropped, so the
/// test keeps it.
async fn builtin(version: MqttVersion) -> (EmbeddedBroker, Target) {
    let broker = start_builtin_broker().await;
    let target = Target {
        addr: broker.local_addr(),
        version,
        delivery: Delivery::Minimum,
    };
    (broker, target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_0_1_2_both_directions() {
    within(LIMIT, async {
        for version in [MqttVersion::V311, MqttVersion::V31] {
            let (_broker, target) = builtin(version).await;
            common::qos_both_directions(target).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_payloads_both_directions() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        common::binary_payloads(target).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffer_mode_stores_and_reads_back() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        common::buffer_mode(target).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_clients_at_once() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V31).await;
        common::six_clients(target).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_topics_in_one_subscribe() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        common::several_topics(target).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        common::large_payloads(target).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_z_publish_and_plain_urc() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        common::ctrl_z_publish_and_urc_without_length(target).await
    })
    .await;
}

/// `AT+QMTCFG="version",0,3`: the module's MQTT 3.1 CONNECT (`MQIsdp`) is
/// accepted (rumqttd, the broker before, hung up: `+QMTSTAT: 0,4`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_connects() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V31).await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem
            .qmt_cfg_version(0, MqttVersion::V31)
            .await
            .expect("AT+QMTCFG=\"version\",0,3");
        let opened = modem
            .qmt_open(0, "127.0.0.1", target.addr.port())
            .await
            .expect("AT+QMTOPEN");
        assert_eq!(opened, OpenResult::Opened);
        let conn = modem
            .qmt_conn(0, "mqtt-3-1", None, None)
            .await
            .expect("AT+QMTCONN");
        assert!(conn.is_accepted(), "{conn:?}");
        module.assert_serial_output_contains(b"\r\n+QMTCONN: 0,0,0\r\n");
        module.shutdown().await;
    })
    .await;
}

/// A broker with one user: the right password gives `+QMTCONN: 0,0,0`, a
/// wrong one `+QMTCONN: 0,0,4` (bad user name or password), none at all
/// `+QMTCONN: 0,0,5` (not authorized); after a refusal the broker closes
/// and the module says `+QMTSTAT: 0,1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_get_connack_0_4_and_5() {
    within(LIMIT, async {
        let mut options = BrokerOptions::new("127.0.0.1:0".parse().expect("address"));
        options.users = vec![("meter-42".into(), "right".into())];
        let broker = EmbeddedBroker::start_with(options).await.expect("broker");
        let port = broker.local_addr().port();
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        for (user, pass, code) in [
            (Some("meter-42"), Some("wrong"), 4),
            (None, None, 5),
            (Some("someone"), Some("right"), 4),
            (Some("meter-42"), Some("right"), 0),
        ] {
            let opened = modem
                .qmt_open(0, "127.0.0.1", port)
                .await
                .expect("AT+QMTOPEN");
            assert_eq!(opened, OpenResult::Opened);
            let conn = modem
                .qmt_conn(0, "meter", user, pass)
                .await
                .expect("AT+QMTCONN");
            assert_eq!(conn.ret_code.map(|c| c.code()), Some(code), "{conn:?}");
            let line = format!("+QMTCONN: 0,0,{code}");
            urcs.wait_for_line(&line).await;
            if code != 0 {
                urcs.wait_for_line("+QMTSTAT: 0,1").await;
            }
        }
        for code in [0, 4, 5] {
            let line = format!("\r\n+QMTCONN: 0,0,{code}\r\n");
            module.assert_serial_output_contains(line.as_bytes());
        }
        module.shutdown().await;
    })
    .await;
}

/// `AT+QMTUNS` of a topic never subscribed: the broker answers UNSUBACK
/// ([MQTT-3.10.4-5]) and the module `+QMTUNS: 0,7,0`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribing_a_topic_never_subscribed_succeeds() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        let module = TestModule::start().await;
        let modem = module.client();
        common::connect(modem, 0, target, "uns", vmodem_client::RecvMode::Urc).await;
        let outcome = modem
            .qmt_uns(0, 7, &["never/subscribed"])
            .await
            .expect("AT+QMTUNS");
        assert!(outcome.is_sent(), "{outcome:?}");
        module.assert_serial_output_contains(b"\r\n+QMTUNS: 0,7,0\r\n");
        module.shutdown().await;
    })
    .await;
}

/// An outside subscriber at QoS 2 gets the module's QoS 1 publish at QoS 1,
/// and at QoS 0 the module's QoS 2 publish at QoS 0 (3.1.1 §3.8.4; the
/// broker before delivered at the subscription's QoS).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_is_at_the_lower_qos() {
    within(LIMIT, async {
        let (_broker, target) = builtin(MqttVersion::V311).await;
        let mut high = Observer::connect(target.addr, "sub-qos2").await;
        assert_eq!(high.subscribe("minqos/high", 2).await, 2);
        let mut low = Observer::connect(target.addr, "sub-qos0").await;
        assert_eq!(low.subscribe("minqos/low", 0).await, 0);
        let module = TestModule::start().await;
        let modem = module.client();
        common::connect(modem, 0, target, "pub", vmodem_client::RecvMode::Urc).await;
        modem
            .qmt_pubex(0, 1, 1, false, "minqos/high", b"one")
            .await
            .expect("AT+QMTPUBEX QoS 1");
        modem
            .qmt_pubex(0, 2, 2, false, "minqos/low", b"two")
            .await
            .expect("AT+QMTPUBEX QoS 2");
        let got = high.expect_message().await;
        assert_eq!((got.payload.as_slice(), got.qos), (&b"one"[..], 1));
        let got = low.expect_message().await;
        assert_eq!((got.payload.as_slice(), got.qos), (&b"two"[..], 0));
        module.shutdown().await;
    })
    .await;
}
