//! The module against the embedded rumqttd broker (MQTT 3.1.1 only: rumqttd
//! refuses 3.1), with an independent rumqttc client as the other device.

mod common;

use std::time::Duration;

use common::{Delivery, Target};
use vmodem_client::MqttVersion;
use vmodem_testkit::within;
use vmodem_tokio::EmbeddedBroker;

const LIMIT: Duration = Duration::from_secs(90);

/// A broker of the test's own on a free port. rumqttd cannot be stopped: its
/// threads end with the test process.
async fn rumqttd() -> Target {
    let broker = EmbeddedBroker::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the embedded broker starts");
    Target {
        addr: broker.local_addr(),
        version: MqttVersion::V311,
        delivery: Delivery::Subscription,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qos_0_1_2_both_directions() {
    within(LIMIT, async {
        common::qos_both_directions(rumqttd().await).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_payloads_both_directions() {
    within(LIMIT, async {
        common::binary_payloads(rumqttd().await).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buffer_mode_stores_and_reads_back() {
    within(LIMIT, async { common::buffer_mode(rumqttd().await).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_clients_at_once() {
    within(LIMIT, async { common::six_clients(rumqttd().await).await }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_topics_in_one_subscribe() {
    within(LIMIT, async {
        common::several_topics(rumqttd().await).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_payloads() {
    within(LIMIT, async {
        common::large_payloads(rumqttd().await).await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_z_publish_and_plain_urc() {
    within(LIMIT, async {
        common::ctrl_z_publish_and_urc_without_length(rumqttd().await).await
    })
    .await;
}

/// rumqttd speaks no MQTT 3.1: it hangs up on the module's `MQIsdp` CONNECT,
/// which the module reports as `+QMTSTAT: c,4` (no CONNACK).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_3_1_is_refused_by_hanging_up() {
    within(LIMIT, async {
        let target = rumqttd().await;
        let module = vmodem_testkit::TestModule::start().await;
        let modem = module.client();
        let mut urcs = module.urcs();
        modem
            .qmt_cfg_version(0, MqttVersion::V31)
            .await
            .expect("AT+QMTCFG=\"version\",0,3");
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", target.addr.port())
                .await
                .expect("AT+QMTOPEN"),
            vmodem_client::OpenResult::Opened
        );
        let conn = modem.qmt_conn(0, "mqtt-3-1", None, None).await;
        assert_eq!(
            conn,
            Err(vmodem_client::Error::LinkClosed {
                client: 0,
                code: vmodem_client::StatCode::ConnackFailed
            })
        );
        urcs.expect_sequence(&["+QMTOPEN: 0,0", "+QMTSTAT: 0,4"])
            .await;
        module.shutdown().await;
    })
    .await;
}
