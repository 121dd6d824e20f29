//! Fault survival at the broker (issue 12 item 5): a module with a persistent
//! session (`AT+QMTCFG="session",0,0`) exchanging QoS 1 and QoS 2 traffic
//! both ways with a real mosquitto (persistence on) that is restarted again
//! and again mid-traffic, the host reconnecting on `+QMTSTAT` as firmware
//! does (app note §3.3.x: after `+QMTSTAT` the host opens and connects
//! again). Nothing the module or the broker acknowledged may be lost, and no
//! QoS 2 message may reach the host twice (MQTT 3.1.1 §4.3.3).
//!
//! Sequence numbers in the payloads count every message. Bounded: 300
//! messages each way, 10 restarts, one minute. Set
//! `VMODEM_RESTART_KILL=1` to restart with SIGKILL instead of SIGTERM (an
//! observation run, see docs/decisions.md: mosquitto only writes its store
//! at shutdown or every `autosave_interval`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use vmodem_client::{Client, OpenResult, Urc};
use vmodem_testkit::{within, Mosquitto, MosquittoConfig, TestModule};

/// Messages each way.
const MESSAGES: u32 = 300;
/// Broker restarts during the traffic.
const RESTARTS: u32 = 10;
/// Time between two restarts.
const RESTART_EVERY: Duration = Duration::from_millis(900);
/// Pace of each publisher, so the traffic spans every restart.
const PACE: Duration = Duration::from_millis(30);
const LIMIT: Duration = Duration::from_secs(60);

fn qos_of(seq: u32) -> u8 {
    if seq % 2 == 0 {
        1
    } else {
        2
    }
}

fn seq_of(payload: &[u8], prefix: u8) -> Option<u32> {
    let (first, rest) = payload.split_first()?;
    if *first != prefix {
        return None;
    }
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// Closes, opens and connects client 0 until the broker accepts, then
/// subscribes again (AT+QMTCONN does not report the session-present flag,
/// so firmware subscribes every time; a repeated SUBSCRIBE is harmless).
async fn reconnect(modem: &Client, port: u16, connected: &AtomicBool) {
    let mut sub_id = 1u16;
    loop {
        let _ = modem.qmt_close(0).await;
        if matches!(
            modem.qmt_open(0, "127.0.0.1", port).await,
            Ok(OpenResult::Opened)
        ) {
            connected.store(true, Ordering::SeqCst);
            let conn = modem.qmt_conn(0, "rs-module", None, None).await;
            if matches!(&conn, Ok(c) if c.ret_code.is_some_and(|r| r.code() == 0)) {
                sub_id = sub_id % 60000 + 1;
                if matches!(modem.qmt_sub(0, sub_id, &[("rs/down", 2)]).await, Ok(o) if o.is_sent())
                {
                    return;
                }
            }
        }
        connected.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "unfinished (issue 12 item 5): the external rumqttc peer stops after a broker restart (89 of 300 acks), so the counts do not yet measure vmodem; run with --ignored"]
async fn qos_1_and_2_survive_ten_broker_restarts() {
    let kill9 = std::env::var_os("VMODEM_RESTART_KILL").is_some_and(|v| v == "1");
    within(LIMIT, async move {
        let started = Instant::now();
        let mut broker = Mosquitto::start_with(MosquittoConfig::default().persistence(true)).await;
        let port = broker.port();
        let module = TestModule::start().await;
        let modem = module.client().clone();
        modem.qmt_cfg_session(0, false).await.expect("session 0,0");

        // The module's side: URCs counted by sequence number.
        let down_seen: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
        let connected = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(AtomicU64::new(0));
        let mut urcs = modem.subscribe_urcs();
        let urc_task = {
            let down_seen = down_seen.clone();
            let connected = connected.clone();
            let stats = stats.clone();
            tokio::spawn(async move {
                while let Ok(urc) = urcs.recv().await {
                    match urc {
                        Urc::QmtRecv { payload, .. } => {
                            if let Some(seq) = seq_of(&payload, b'd') {
                                *down_seen.lock().unwrap().entry(seq).or_default() += 1;
                            }
                        }
                        Urc::QmtStat { .. } => {
                            stats.fetch_add(1, Ordering::SeqCst);
                            connected.store(false, Ordering::SeqCst);
                        }
                        _ => {}
                    }
                }
            })
        };
        reconnect(&modem, port, &connected).await;

        // The other device: rumqttc with a persistent session, retrying on
        // every connection error (its event loop reconnects on the next poll
        // and sends again what was not acknowledged).
        let up_seen: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
        let down_acked = Arc::new(AtomicU64::new(0));
        let mut options = MqttOptions::new("rs-external", "127.0.0.1", port);
        options.set_clean_session(false);
        options.set_keep_alive(Duration::from_secs(5));
        let (ext, mut eventloop) = AsyncClient::new(options, 1024);
        let ext_task = {
            let up_seen = up_seen.clone();
            let down_acked = down_acked.clone();
            let ext = ext.clone();
            tokio::spawn(async move {
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                            if !ack.session_present {
                                let _ = ext.try_subscribe("rs/up", QoS::ExactlyOnce);
                            }
                        }
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            if let Some(seq) = seq_of(&p.payload, b'u') {
                                *up_seen.lock().unwrap().entry(seq).or_default() += 1;
                            }
                        }
                        Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                            down_acked.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
        };
        // Let the external subscription settle before traffic starts.
        tokio::time::sleep(Duration::from_millis(300)).await;

        // The restarts, mid-traffic.
        let restarter = tokio::spawn(async move {
            for _ in 0..RESTARTS {
                tokio::time::sleep(RESTART_EVERY).await;
                if kill9 {
                    broker.restart().await;
                } else {
                    broker.restart_graceful().await;
                }
            }
            broker
        });

        // The external publisher.
        let publisher = {
            let ext = ext.clone();
            tokio::spawn(async move {
                for seq in 0..MESSAGES {
                    let qos = if qos_of(seq) == 1 {
                        QoS::AtLeastOnce
                    } else {
                        QoS::ExactlyOnce
                    };
                    ext.publish("rs/down", qos, false, format!("d{seq}"))
                        .await
                        .expect("queue a publish");
                    tokio::time::sleep(PACE).await;
                }
            })
        };

        // The module publishes; a publish that fails is sent again after
        // the host has reconnected, as firmware retries.
        let mut up_acked = Vec::new();
        let mut up_retries = 0u32;
        for seq in 0..MESSAGES {
            loop {
                if !connected.load(Ordering::SeqCst) {
                    reconnect(&modem, port, &connected).await;
                }
                let msg_id = u16::try_from(seq % 60000 + 1).expect("fits");
                let out = modem
                    .qmt_pubex(
                        0,
                        msg_id,
                        qos_of(seq),
                        false,
                        "rs/up",
                        format!("u{seq}").as_bytes(),
                    )
                    .await;
                if matches!(&out, Ok(o) if o.is_sent()) {
                    up_acked.push(seq);
                    break;
                }
                up_retries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(PACE).await;
        }
        publisher.await.expect("publisher");
        let broker = restarter.await.expect("restarter");

        // Drain: everything acknowledged must arrive.
        let drain_until = Instant::now() + Duration::from_secs(15);
        loop {
            if !connected.load(Ordering::SeqCst) {
                reconnect(&modem, port, &connected).await;
            }
            let down_done = down_seen.lock().unwrap().len() as u32 == MESSAGES;
            let up_done = up_acked
                .iter()
                .all(|s| up_seen.lock().unwrap().contains_key(s));
            if (down_done && up_done) || Instant::now() > drain_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let down = down_seen.lock().unwrap().clone();
        let up = up_seen.lock().unwrap().clone();
        let down_lost: Vec<u32> = (0..MESSAGES).filter(|s| !down.contains_key(s)).collect();
        let down_qos2_dups: Vec<u32> = down
            .iter()
            .filter(|(s, n)| qos_of(**s) == 2 && **n > 1)
            .map(|(s, _)| *s)
            .collect();
        let down_qos1_dups = down
            .iter()
            .filter(|(s, n)| qos_of(**s) == 1 && **n > 1)
            .count();
        let up_lost: Vec<u32> = up_acked
            .iter()
            .copied()
            .filter(|s| !up.contains_key(s))
            .collect();
        let up_dups = up.values().filter(|n| **n > 1).count();
        eprintln!(
            "broker_restarts: mode={} restarts={RESTARTS} +QMTSTAT={} down: sent={MESSAGES} \
             broker-acked={} host-got={} lost={} qos2-dups={} qos1-dups={down_qos1_dups}; \
             up: acked={} retries={up_retries} subscriber-got={} lost={} dups={up_dups}; {:?}",
            if kill9 { "SIGKILL" } else { "SIGTERM" },
            stats.load(Ordering::SeqCst),
            down_acked.load(Ordering::SeqCst),
            down.len(),
            down_lost.len(),
            down_qos2_dups.len(),
            up_acked.len(),
            up.len(),
            up_lost.len(),
            started.elapsed(),
        );
        ext_task.abort();
        urc_task.abort();
        drop(broker);
        assert!(
            down_qos2_dups.is_empty(),
            "QoS 2 delivered twice to the host: {down_qos2_dups:?}"
        );
        if !kill9 {
            assert!(
                down_lost.is_empty(),
                "lost on the way to the host: {down_lost:?}"
            );
            assert!(
                up_lost.is_empty(),
                "acknowledged by +QMTPUBEX but never delivered: {up_lost:?}"
            );
        }
        drop(modem);
        module.shutdown().await;
    })
    .await;
}
