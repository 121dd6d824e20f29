//! The module against a real mosquitto, with MQTT 3.1 (`AT+QMTCFG="version",c,3`)
//! and 3.1.1, and an independent rumqttc client as the other device.

mod common;

use std::time::Duration;

use common::{Delivery, Target};
use vmodem_client::{MqttVersion, RecvMode};
use vmodem_testkit::{
    mosquitto_pub, within, Mosquitto, MosquittoConfig, MosquittoSub, Observer, TestModule,
};

const LIMIT: Duration = Duration::from_secs(90);

fn target(broker: &Mosquitto, version: MqttVersion) -> Target {
    Target {
        addr: broker.addr(),
        version,
        delivery: Delivery::Minimum,
    }
}

macro_rules! both_versions {
    ($($scenario:ident => $v31:ident, $v311:ident;)+) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $v31() {
            within(LIMIT, async {
                let broker = Mosquitto::start().await;
                common::$scenario(target(&broker, MqttVersion::V31)).await;
            })
            .await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $v311() {
            within(LIMIT, async {
                let broker = Mosquitto::start().await;
                common::$scenario(target(&broker, MqttVersion::V311)).await;
            })
            .await;
        }
    )+};
}

both_versions! {
    qos_both_directions => qos_0_1_2_both_directions_mqtt_3_1, qos_0_1_2_both_directions_mqtt_3_1_1;
    binary_payloads => binary_payloads_both_directions_mqtt_3_1, binary_payloads_both_directions_mqtt_3_1_1;
    buffer_mode => buffer_mode_mqtt_3_1, buffer_mode_mqtt_3_1_1;
    six_clients => six_clients_at_once_mqtt_3_1, six_clients_at_once_mqtt_3_1_1;
    several_topics => several_topics_in_one_subscribe_mqtt_3_1, several_topics_in_one_subscribe_mqtt_3_1_1;
    large_payloads => large_payloads_mqtt_3_1, large_payloads_mqtt_3_1_1;
    ctrl_z_publish_and_urc_without_length => ctrl_z_publish_and_plain_urc_mqtt_3_1, ctrl_z_publish_and_plain_urc_mqtt_3_1_1;
}

/// A broker that refuses every subscription outside `allowed/#`.
async fn refusing_broker() -> Mosquitto {
    Mosquitto::start_with(MosquittoConfig::default().subscribe_only(&["allowed/#"])).await
}

/// Subscribes to an allowed and a refused topic in one command, checks the
/// granted vector, then that only the allowed topic is delivered.
async fn refused_subscription(version: MqttVersion, granted: &[u32], wire: &[u8]) {
    let broker = refusing_broker().await;
    let target = target(&broker, version);
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    common::connect(
        modem,
        0,
        target,
        &format!("acl-{}", target.tag()),
        RecvMode::Urc,
    )
    .await;
    common::subscribe(
        modem,
        0,
        1,
        &[("allowed/x", 1), ("forbidden/y", 1)],
        granted,
    )
    .await;
    module.assert_serial_output_contains(wire);

    // Nothing arrives on the refused topic: the next message is the allowed one.
    let mut observer = Observer::connect(broker.addr(), "acl-observer").await;
    observer
        .publish("forbidden/y", 1, false, b"not for the module")
        .await;
    observer
        .publish("allowed/x", 1, false, b"for the module")
        .await;
    let (_, topic, payload) = common::next_message(&mut urcs, 0).await;
    assert_eq!(
        (topic.as_str(), payload.as_slice()),
        ("allowed/x", &b"for the module"[..])
    );
    module.shutdown().await;
}

/// MQTT 3.1.1: the broker's 0x80 is reported as 128 in the granted vector.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_subscription_is_128_mqtt_3_1_1() {
    within(
        LIMIT,
        refused_subscription(
            MqttVersion::V311,
            &[1, 128],
            b"\r\n+QMTSUB: 0,1,0,1,128\r\n",
        ),
    )
    .await;
}

/// MQTT 3.1 has no failure code: mosquitto grants QoS 1 and delivers nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_subscription_mqtt_3_1_is_granted_but_silent() {
    within(
        LIMIT,
        refused_subscription(MqttVersion::V31, &[1, 1], b"\r\n+QMTSUB: 0,1,0,1,1\r\n"),
    )
    .await;
}

/// MQTT 3.1 at both ends: mosquitto's own 3.1 clients as the other device,
/// binary payloads both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_clients_on_both_ends() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let target = target(&broker, MqttVersion::V31);
        let module = TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        common::connect(modem, 0, target, "v31-both-ends", RecvMode::Urc).await;
        common::subscribe(modem, 0, 1, &[("v31/down", 2)], &[2]).await;
        let mut sub = MosquittoSub::start(broker.addr(), true, "v31/up", 2).await;
        let payload = common::binary_payload();

        let out = modem
            .qmt_pubex(0, 1, 2, false, "v31/up", &payload)
            .await
            .expect("AT+QMTPUBEX");
        assert!(out.is_sent(), "{out:?}");
        let got = sub.expect_message().await;
        assert_eq!((got.topic.as_str(), got.qos), ("v31/up", 2));
        assert_eq!(got.payload, payload);

        mosquitto_pub(broker.addr(), true, "v31/down", 1, &payload).await;
        let (msg_id, topic, got) = common::next_message(&mut urcs, 0).await;
        assert_eq!(topic, "v31/down");
        assert_ne!(msg_id, 0, "QoS 1");
        assert_eq!(got, payload);
        module.shutdown().await;
    })
    .await;
}
