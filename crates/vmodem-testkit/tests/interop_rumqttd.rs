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
