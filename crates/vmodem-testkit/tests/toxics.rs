//! Link toxics (issue 10 §2, `link`) and MQTT packet records (§4), through a
//! real module on a real pty against the built-in broker on a free loopback
//! port. Faults are added with the module's control handle, as the control
//! API does (`Modem::add_fault` on the module's task).

use std::time::{Duration, Instant};

use vmodem_client::{OpenResult, PacketResult};
use vmodem_core::{Fault, FaultId};
use vmodem_testkit::{start_builtin_broker, within, Mosquitto, Observer, TestModule};

const LIMIT: Duration = Duration::from_secs(30);

/// Starts a `link` fault with `params` (as `vmodem ctl fault add link …`).
async fn add_link_fault(module: &TestModule, params: &[(&str, &str)]) -> FaultId {
    let fault = Fault::parse("link", params).expect("a valid link fault");
    module.add_fault(fault, None).await
}

/// How long one QoS 1 `AT+QMTPUBEX` takes until its `+QMTPUBEX: 0,<id>,0`.
async fn timed_publish(module: &TestModule, msg_id: u16, payload: &[u8]) -> Duration {
    let start = Instant::now();
    let outcome = module
        .client()
        .qmt_pubex(0, msg_id, 1, false, "toxics/t", payload)
        .await
        .expect("AT+QMTPUBEX");
    assert_eq!(outcome.result, PacketResult::Sent, "{outcome:?}");
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_both_ways_delays_the_publish_ack_and_ends_with_the_fault() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        module
            .open_and_connect(broker.local_addr().port(), "latency")
            .await;
        let before = timed_publish(&module, 1, b"fast").await;
        assert!(
            before < Duration::from_millis(300),
            "{before:?} without a toxic"
        );

        let id = add_link_fault(
            &module,
            &[
                ("toxic", "latency"),
                ("latency_ms", "300"),
                ("jitter_ms", "20"),
            ],
        )
        .await;
        // PUBLISH held 300 ± 20 ms up, PUBACK 300 ± 20 ms down.
        let slow = timed_publish(&module, 2, b"slow").await;
        assert!(
            slow >= Duration::from_millis(560) && slow < Duration::from_secs(4),
            "{slow:?} with 300 ms each way"
        );
        module.assert_serial_output_contains(b"\r\n+QMTPUBEX: 0,2,0\r\n");

        module.end_fault(id).await;
        let after = timed_publish(&module, 3, b"fast again").await;
        assert!(
            after < Duration::from_millis(300),
            "{after:?} after the fault"
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downstream_blackhole_is_found_by_keepalive_and_the_link_stays_up_until_then() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem.qmt_cfg_keepalive(0, 2).await.expect("keepalive");
        modem
            .qmt_cfg_timeout(0, 1, 0, false)
            .await
            .expect("timeout");
        module
            .open_and_connect(broker.local_addr().port(), "blackhole")
            .await;
        let mut urcs = module.urcs();
        let start = Instant::now();
        add_link_fault(&module, &[("toxic", "blackhole"), ("direction", "down")]).await;
        // The PINGREQ goes out, its PINGRESP vanishes: +QMTPING after the packet
        // timeout, +QMTSTAT: 0,2 ("PINGREQ timed out") qmtping (5 s) later.
        urcs.wait_for_line("+QMTSTAT: 0,2").await;
        let found = start.elapsed();
        assert!(
            found >= Duration::from_secs(7) && found < Duration::from_secs(15),
            "found dead after {found:?} (keepalive 2 s + timeout 1 s + qmtping 5 s)"
        );
        let out = String::from_utf8_lossy(&module.serial_output()).into_owned();
        let ping = out.find("\r\n+QMTPING: 0,1\r\n").expect("+QMTPING: 0,1");
        let stat = out.find("\r\n+QMTSTAT: 0,2\r\n").expect("+QMTSTAT: 0,2");
        assert!(ping < stat, "{out}");
        assert!(!out.contains("+QMTSTAT: 0,1"), "the link stayed up: {out}");
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_closes_the_link_at_once_as_a_peer_reset_and_new_links_work_after_it() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        module
            .open_and_connect(broker.local_addr().port(), "reset")
            .await;
        let mut urcs = module.urcs();
        let start = Instant::now();
        let id = add_link_fault(&module, &[("toxic", "reset"), ("client", "0")]).await;
        urcs.wait_for_line("+QMTSTAT: 0,1").await;
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        module.assert_serial_output_contains(b"\r\n+QMTSTAT: 0,1\r\n");
        module.end_fault(id).await;
        module
            .open_and_connect(broker.local_addr().port(), "reset-again")
            .await;
        timed_publish(&module, 1, b"back").await;
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_data_up_closes_the_link_after_that_many_bytes() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        module
            .open_and_connect(broker.local_addr().port(), "limit")
            .await;
        add_link_fault(
            &module,
            &[
                ("toxic", "limit_data"),
                ("direction", "up"),
                ("bytes", "100"),
            ],
        )
        .await;
        let mut urcs = module.urcs();
        // 50 bytes go through and are acknowledged…
        timed_publish(&module, 1, &[b'a'; 30]).await;
        // …the next 200 do not fit: the link closes.
        let modem = module.client();
        let outcome = modem
            .qmt_pubex(0, 2, 1, false, "toxics/t", &[b'b'; 200])
            .await
            .expect("AT+QMTPUBEX");
        assert_eq!(outcome.result, PacketResult::Failed, "{outcome:?}");
        urcs.wait_for_line("+QMTSTAT: 0,1").await;
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bandwidth_up_bounds_the_publish_throughput() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        module
            .open_and_connect(broker.local_addr().port(), "bandwidth")
            .await;
        add_link_fault(
            &module,
            &[
                ("toxic", "bandwidth"),
                ("direction", "up"),
                ("rate_bps", "2000"),
            ],
        )
        .await;
        let start = Instant::now();
        for id in 1..=4 {
            timed_publish(&module, id, &[b'x'; 1000]).await;
        }
        let took = start.elapsed();
        // 4 × ~1,015 bytes at 2,000 B/s: about 2 s.
        assert!(
            took >= Duration::from_millis(1800) && took < Duration::from_secs(8),
            "4 KB at 2000 B/s took {took:?}"
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_close_down_holds_the_brokers_close_after_qmtdisc() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        module
            .open_and_connect(broker.local_addr().port(), "slow-close")
            .await;
        add_link_fault(
            &module,
            &[
                ("toxic", "slow_close"),
                ("direction", "down"),
                ("delay_ms", "1000"),
            ],
        )
        .await;
        let start = Instant::now();
        module.client().qmt_disc(0).await.expect("AT+QMTDISC");
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(950) && took < Duration::from_secs(5),
            "+QMTDISC after {took:?}"
        );
        module.assert_serial_output_contains(b"\r\n+QMTDISC: 0,0\r\n");
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_records_connect_connack_publish_and_puback_with_their_ids() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        module
            .open_and_connect(broker.local_addr().port(), "traced")
            .await;
        timed_publish(&module, 7, b"hello").await;
        let text = std::fs::read_to_string(module.trace_path()).expect("the trace");
        let packets: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["type"] == "mqtt")
            .collect();
        let shown: Vec<String> = packets
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} {}",
                    p["dir"].as_str().unwrap_or("?"),
                    p["packet"].as_str().unwrap_or("?"),
                    p["pkid"],
                    p["size"]
                )
            })
            .collect();
        assert_eq!(
            shown[..4],
            [
                // 2 + 10 (3.1.1 header) + 2 + 6 ("traced")
                "module_to_broker CONNECT null 20",
                "broker_to_module CONNACK null 4",
                // 2 + 2 + 8 ("toxics/t") + 2 + 5
                "module_to_broker PUBLISH 7 19",
                "broker_to_module PUBACK 7 4",
            ],
            "{text}"
        );
        assert_eq!(packets[0]["client_id"], "traced");
        assert_eq!(packets[1]["rc"], "0");
        assert_eq!(packets[2]["topic"], "toxics/t");
        assert_eq!(
            (packets[2]["qos"].as_u64(), packets[2]["len"].as_u64()),
            (Some(1), Some(5))
        );
        assert!(packets.iter().all(|p| p["client"] == 0));
        module.shutdown().await;
    })
    .await;
}

/// The broker's view (mosquitto, with an outside subscriber): nothing of a
/// publish arrives while the upstream is a blackhole; the module's
/// retransmission (`+QMTPUBEX: 0,1,1,1`, DUP) gets it there once it ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_blackhole_hides_a_publish_from_mosquitto_until_a_retransmission_after_it() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let mut observer = Observer::connect(broker.addr(), "toxics-observer").await;
        observer.subscribe("toxics/#", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem.qmt_cfg_timeout(0, 2, 3, true).await.expect("timeout");
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.port())
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "toxics-up", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        let id = add_link_fault(&module, &[("toxic", "blackhole"), ("direction", "up")]).await;
        let publish = modem.qmt_pubex(0, 1, 1, false, "toxics/hidden", b"payload");
        let faults = async {
            let early = observer
                .next_message_within(Duration::from_millis(2500))
                .await;
            assert_eq!(early, None, "mosquitto got a blackholed publish");
            module.end_fault(id).await;
            observer.expect_message().await
        };
        let (outcome, got) = tokio::join!(publish, faults);
        let outcome = outcome.expect("AT+QMTPUBEX");
        assert_eq!(outcome.result, PacketResult::Sent, "{outcome:?}");
        assert!(outcome.retransmissions >= 1, "{outcome:?}");
        assert_eq!(
            (got.topic.as_str(), &got.payload[..]),
            ("toxics/hidden", &b"payload"[..])
        );
        module.assert_serial_output_contains(b"\r\n+QMTPUBEX: 0,1,1,1\r\n");
        module.shutdown().await;
    })
    .await;
}

/// The same packets reach the timeline (`GET /v1/events`) as `mqtt` events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_carries_the_links_packets_as_mqtt_events() {
    use vmodem_tokio::control::{MqttDirection, Registry, TimelineKind};
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let registry = Registry::new();
        let mut reader = registry.subscribe();
        let module = TestModule::builder()
            .timeline(registry.timeline_sender(4))
            .start()
            .await;
        module
            .open_and_connect(broker.local_addr().port(), "timeline")
            .await;
        timed_publish(&module, 9, b"hi").await;
        let mut seen = Vec::new();
        while seen.len() < 4 {
            let event = reader.next().await.expect("the registry lives");
            // As the SSE stream sends it: flat, with a type tag.
            let json = serde_json::to_value(&event).unwrap();
            if let TimelineKind::Mqtt(p) = event.kind {
                assert_eq!((event.module, p.client), (4, 0));
                seen.push((p.dir, p.packet, p.pkid, json["type"].clone()));
            }
        }
        use MqttDirection::{BrokerToModule as Down, ModuleToBroker as Up};
        let mqtt = serde_json::Value::from("mqtt");
        assert_eq!(
            seen,
            [
                (Up, "CONNECT", None, mqtt.clone()),
                (Down, "CONNACK", None, mqtt.clone()),
                (Up, "PUBLISH", Some(9), mqtt.clone()),
                (Down, "PUBACK", Some(9), mqtt),
            ]
        );
        module.shutdown().await;
    })
    .await;
}

/// Toxics act on the TCP bytes under TLS: a latency set before `AT+QMTOPEN`
/// slows the TLS handshake itself (at least one round trip), and the packet
/// records are still the plaintext MQTT (topic, ids) above TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_acts_under_tls_on_the_handshake_and_the_trace_shows_plaintext_packets() {
    use vmodem_client::SecLevel;
    use vmodem_testkit::{MosquittoTls, TestPki};
    within(LIMIT, async {
        let pki = TestPki::new("toxics CA");
        let server = pki.server(&["127.0.0.1"]);
        let broker = MosquittoTls::start(&pki, &server, false).await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem
            .qsslcfg_seclevel(0, SecLevel::None)
            .await
            .expect("seclevel");
        modem
            .qmt_cfg_ssl(0, Some(0))
            .await
            .expect("AT+QMTCFG=\"ssl\"");
        add_link_fault(&module, &[("toxic", "latency"), ("latency_ms", "250")]).await;
        let start = Instant::now();
        assert_eq!(
            modem
                .qmt_open(0, "127.0.0.1", broker.tls_port)
                .await
                .expect("AT+QMTOPEN")
                .code(),
            0
        );
        let handshake = start.elapsed();
        // ClientHello up, ServerHello down: one round trip at least.
        assert!(
            handshake >= Duration::from_millis(500),
            "TLS open took {handshake:?}"
        );
        assert!(modem
            .qmt_conn(0, "toxics-tls", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        let took = timed_publish(&module, 5, b"under tls").await;
        assert!(took >= Duration::from_millis(500), "{took:?}");
        let text = std::fs::read_to_string(module.trace_path()).expect("the trace");
        let publish = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|r| r["type"] == "mqtt" && r["packet"] == "PUBLISH")
            .expect("a PUBLISH record");
        assert_eq!(
            (publish["pkid"].as_u64(), publish["topic"].as_str()),
            (Some(5), Some("toxics/t"))
        );
        module.shutdown().await;
    })
    .await;
}
