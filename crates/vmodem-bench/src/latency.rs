//! Broker → subscriber latency: one rumqttc publisher sends timestamped QoS 0
//! messages at a fixed rate; a vmodem module subscribed through AT (`+QMTRECV`
//! read by `vmodem_client`) and a rumqttc subscriber receive the same messages
//! at the same time.
//!
//! The built-in broker sets `TCP_NODELAY`, so QoS 0 rates above 500/s no
//! longer stall both subscribers for up to 40 ms on Nagle's algorithm (as
//! rumqttd, the broker before, did: p50 ~15 ms at 1000/s).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rumqttc::QoS;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::watch;
use vmodem_client::{Client, RecvMode, Urc};

use crate::raw::{RawEvent, RawPeer};
use crate::stats::{ratio, signed_p50_p99, Percentiles};
use crate::vmodem::{open_and_connect, start_module, wait_until_answering};

const TOPIC: &str = "bench/latency";
/// Messages sent first and not counted: connections and caches settle.
const WARMUP: u64 = 20;
/// How long the subscribers may lag behind the last message.
const GRACE: Duration = Duration::from_secs(3);

/// Latency figures of both subscribers.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Messages counted (after the warm-up).
    pub samples: u64,
    /// Messages per second the publisher sent.
    pub rate_per_s: u32,
    /// QoS of the publisher and both subscriptions.
    pub qos: u8,
    /// vmodem: publish → `+QMTRECV` seen by `vmodem_client`.
    pub vmodem: Percentiles,
    /// rumqttc: publish → `EventLoop::poll` returning the PUBLISH.
    pub raw: Percentiles,
    /// vmodem p50 / raw p50.
    pub p50_ratio: f64,
    /// vmodem p99 / raw p99.
    pub p99_ratio: f64,
    /// Per message received by both: vmodem's latency minus raw's, the cost of
    /// the AT path alone (what both share, publisher and broker, cancels out).
    pub extra: Extra,
}

/// Distribution of the per-message difference vmodem − raw, µs (may be negative).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Extra {
    /// Messages both subscribers received.
    pub paired: usize,
    /// Median difference, µs.
    pub p50_us: f64,
    /// 99th percentile of the difference, µs.
    pub p99_us: f64,
}

pub(crate) async fn measure(
    broker: SocketAddr,
    samples: u64,
    rate_per_s: u32,
    payload_len: usize,
    qos: u8,
) -> Result<Latency> {
    let raw_qos = if qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    let epoch = Instant::now();
    let total = WARMUP + samples;

    // (a) A module subscribed through AT, length in the URC (binary-safe framing).
    let (_module, serial) = start_module(10_000).await?;
    let stream = TcpStream::connect(serial).await?;
    stream.set_nodelay(true)?;
    let client = Client::builder()
        .min_timeout(Duration::from_secs(5))
        .build(stream);
    wait_until_answering(&client).await?;
    client.qmt_cfg_recv_mode(0, RecvMode::Urc, true).await?;
    open_and_connect(&client, broker, "bench-latency-vmodem").await?;
    let sub = client.qmt_sub(0, 1, &[(TOPIC, qos)]).await?;
    anyhow::ensure!(sub.is_sent(), "AT+QMTSUB: {sub:?}");

    // (b) A rumqttc subscriber.
    let mut raw_sub = RawPeer::connect(broker, "bench-latency-raw", 5, true, String::new()).await?;
    raw_sub.client.subscribe(TOPIC, raw_qos).await?;
    raw_sub
        .expect(|e| matches!(e, RawEvent::SubAck), "SUBACK")
        .await?;

    let publisher = RawPeer::connect(broker, "bench-latency-pub", 5, true, String::new()).await?;

    let (stop_tx, stop) = watch::channel(false);
    let mut urcs = client.subscribe_urcs();
    let mut stop_vm = stop.clone();
    let mut vm_task = tokio::spawn(async move {
        let mut got = Vec::new();
        while (got.len() as u64) < samples {
            tokio::select! {
                urc = urcs.recv() => match urc {
                    Ok(Urc::QmtRecv { payload, .. }) => {
                        let at = Instant::now();
                        if let Some(sample) = latency(&payload, epoch, at, WARMUP) {
                            got.push(sample);
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "vmodem subscriber's URC stream");
                        break;
                    }
                },
                _ = stop_vm.changed() => break,
            }
        }
        got
    });
    let mut stop_raw = stop;
    let mut raw_task = tokio::spawn(async move {
        let mut got = Vec::new();
        while (got.len() as u64) < samples {
            tokio::select! {
                event = raw_sub.events.recv() => match event {
                    Some(RawEvent::Publish { payload, at }) => {
                        if let Some(sample) = latency(&payload, epoch, at, WARMUP) {
                            got.push(sample);
                        }
                    }
                    Some(RawEvent::Failed(e)) => {
                        tracing::warn!(error = %e, "rumqttc subscriber");
                        break;
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = stop_raw.changed() => break,
            }
        }
        got
    });

    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate_per_s)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for seq in 0..total {
        tick.tick().await;
        let sent = epoch.elapsed().as_nanos();
        publisher
            .client
            .publish(TOPIC, raw_qos, false, stamp(seq, sent, payload_len))
            .await?;
    }

    let both = async { tokio::join!(&mut vm_task, &mut raw_task) };
    let (vm, raw) = match tokio::time::timeout(GRACE, both).await {
        Ok((vm, raw)) => (vm, raw),
        Err(_) => {
            let _ = stop_tx.send(true);
            (vm_task.await, raw_task.await)
        }
    };
    let vm = vm.context("vmodem subscriber task")?;
    let raw = raw.context("rumqttc subscriber task")?;
    let extra = paired_difference(&vm, &raw);
    let vm = Percentiles::of(&vm.iter().map(|(_, d)| *d).collect::<Vec<_>>());
    let raw = Percentiles::of(&raw.iter().map(|(_, d)| *d).collect::<Vec<_>>());
    Ok(Latency {
        extra,
        samples,
        rate_per_s,
        qos,
        p50_ratio: ratio(vm.p50_us, raw.p50_us),
        p99_ratio: ratio(vm.p99_us, raw.p99_us),
        vmodem: vm,
        raw,
    })
}

/// `<seq> <ns since epoch> ` padded with dots to `len` bytes (at least the stamp).
fn stamp(seq: u64, sent_ns: u128, len: usize) -> Vec<u8> {
    let mut p = format!("{seq:010} {sent_ns:020} ").into_bytes();
    if p.len() < len {
        p.resize(len, b'.');
    }
    p
}

/// vmodem − raw for each message both received.
fn paired_difference(vm: &[(u64, Duration)], raw: &[(u64, Duration)]) -> Extra {
    let raw: HashMap<u64, Duration> = raw.iter().copied().collect();
    let mut diffs: Vec<f64> = vm
        .iter()
        .filter_map(|(seq, d)| {
            let r = raw.get(seq)?;
            Some((d.as_secs_f64() - r.as_secs_f64()) * 1e6)
        })
        .collect();
    let (p50_us, p99_us) = signed_p50_p99(&mut diffs);
    Extra {
        paired: diffs.len(),
        p50_us,
        p99_us,
    }
}

/// The sequence number and latency of a stamped message received `at`;
/// `None` for warm-up or unreadable ones.
fn latency(payload: &[u8], epoch: Instant, at: Instant, warmup: u64) -> Option<(u64, Duration)> {
    let text = std::str::from_utf8(payload).ok()?;
    let mut fields = text.split(' ');
    let seq: u64 = fields.next()?.parse().ok()?;
    let sent_ns: u64 = fields.next()?.parse().ok()?;
    if seq < warmup {
        return None;
    }
    let sent = epoch + Duration::from_nanos(sent_ns);
    Some((seq, at.saturating_duration_since(sent)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_read_back() {
        let epoch = Instant::now();
        let p = stamp(25, 1_000_000, 64);
        assert_eq!(p.len(), 64);
        let at = epoch + Duration::from_millis(3);
        assert_eq!(
            latency(&p, epoch, at, 20),
            Some((25, Duration::from_millis(2)))
        );
        assert_eq!(latency(&stamp(3, 0, 64), epoch, at, 20), None);
    }

    #[test]
    fn differences_pair_messages_by_sequence_number() {
        let ms = Duration::from_millis;
        let vm = [(1, ms(5)), (2, ms(3)), (3, ms(9))];
        let raw = [(1, ms(4)), (3, ms(10))];
        let extra = paired_difference(&vm, &raw);
        assert_eq!(extra.paired, 2);
        assert_eq!(extra.p50_us.round(), -1000.0);
        assert_eq!(extra.p99_us.round(), 1000.0);
    }
}
