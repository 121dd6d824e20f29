//! A scripted MQTT 3.1.1 peer on raw TCP: the broker end of a flood or a
//! stall, under the test's control and counting what it got.
//!
//! Its few packets are encoded and parsed here by hand, independently of
//! vmodem's codec. It accepts one connection, answers CONNECT with CONNACK,
//! SUBSCRIBE with SUBACK (granting what was asked), PINGREQ with PINGRESP and
//! a QoS 1 PUBLISH with PUBACK, and records every PUBACK the module sends and
//! every PUBLISH it receives. The test then floods the module with QoS 1
//! PUBLISH packets as fast as TCP lets it ([`ScriptedBroker::flood`]) or stops
//! reading ([`ScriptedBroker::stop_reading`]) so the module's socket fills.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;

use crate::PATIENCE;

/// What the broker saw from the module.
#[derive(Debug, Default, Clone)]
pub struct BrokerStats {
    /// The message ids of the PUBACKs the module sent, in order.
    pub pubacks: Vec<u16>,
    /// PUBLISH packets the module sent.
    pub publishes: usize,
    /// Payload bytes of those packets.
    pub publish_bytes: usize,
    /// PINGREQ packets the module sent.
    pub pingreqs: usize,
    /// The module subscribed (a SUBACK went back).
    pub subscribed: bool,
}

/// A raw MQTT peer on a free loopback port; stops its tasks when dropped.
#[derive(Debug)]
pub struct ScriptedBroker {
    addr: SocketAddr,
    stats: Arc<Mutex<BrokerStats>>,
    /// Frames for the writer task.
    out: mpsc::Sender<Vec<u8>>,
    reading: watch::Sender<bool>,
    changed: Arc<Notify>,
    tasks: Vec<JoinHandle<()>>,
}

impl ScriptedBroker {
    /// Listens on 127.0.0.1 (a free port) for the module's one connection.
    pub async fn start() -> ScriptedBroker {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let stats = Arc::new(Mutex::new(BrokerStats::default()));
        let changed = Arc::new(Notify::new());
        // A few frames: the writer task blocks on TCP, so the flood follows
        // the module's pace instead of piling up here.
        let (out, frames) = mpsc::channel(16);
        let (reading, reading_rx) = watch::channel(true);
        let (halves_tx, halves_rx) = tokio::sync::oneshot::channel();
        let accept = tokio::spawn(async move {
            if let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let _ = halves_tx.send(stream.into_split());
            }
        });
        let io = tokio::spawn(serve(
            halves_rx,
            frames,
            out.clone(),
            reading_rx,
            stats.clone(),
            changed.clone(),
        ));
        ScriptedBroker {
            addr,
            stats,
            out,
            reading,
            changed,
            tasks: vec![accept, io],
        }
    }

    /// The port the module should `AT+QMTOPEN`.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// What the broker saw so far.
    pub fn stats(&self) -> BrokerStats {
        self.stats.lock().expect("stats").clone()
    }

    /// Waits (at most [`PATIENCE`]) until `pred` holds for the stats.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&BrokerStats) -> bool) {
        let waited = tokio::time::timeout(PATIENCE, async {
            loop {
                let notified = self.changed.notified();
                if pred(&self.stats()) {
                    return;
                }
                notified.await;
            }
        })
        .await;
        if waited.is_err() {
            panic!("the broker never saw {what}; it saw {:?}", self.stats());
        }
    }

    /// Sends `count` QoS 1 PUBLISH packets on `topic`, ids 1.., the payload
    /// of message `i` being `payload(i)`, as fast as TCP takes them. Returns
    /// once all are handed to the socket (so it follows the module's pace).
    pub async fn flood(&self, topic: &str, count: usize, payload: impl Fn(usize) -> Vec<u8>) {
        for i in 0..count {
            let frame = publish_qos1(topic, (i % 65_535 + 1) as u16, &payload(i));
            if self.out.send(frame).await.is_err() {
                panic!("the broker's connection is gone after {i} messages");
            }
        }
    }

    /// Stops reading from the module: its socket fills, then its writes stop.
    pub fn stop_reading(&self) {
        let _ = self.reading.send(false);
    }
}

impl Drop for ScriptedBroker {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn serve(
    halves: tokio::sync::oneshot::Receiver<(OwnedReadHalf, OwnedWriteHalf)>,
    frames: mpsc::Receiver<Vec<u8>>,
    replies: mpsc::Sender<Vec<u8>>,
    reading: watch::Receiver<bool>,
    stats: Arc<Mutex<BrokerStats>>,
    changed: Arc<Notify>,
) {
    let Ok((read, write)) = halves.await else {
        return;
    };
    let writer = tokio::spawn(write_frames(write, frames));
    read_packets(read, replies, reading, stats, changed).await;
    writer.abort();
}

async fn write_frames(mut write: OwnedWriteHalf, mut frames: mpsc::Receiver<Vec<u8>>) {
    while let Some(frame) = frames.recv().await {
        if write.write_all(&frame).await.is_err() {
            return;
        }
    }
}

async fn read_packets(
    mut read: OwnedReadHalf,
    replies: mpsc::Sender<Vec<u8>>,
    mut reading: watch::Receiver<bool>,
    stats: Arc<Mutex<BrokerStats>>,
    changed: Arc<Notify>,
) {
    loop {
        while !*reading.borrow() {
            if reading.changed().await.is_err() {
                return;
            }
        }
        let Ok(first) = read.read_u8().await else {
            return;
        };
        let mut len = 0usize;
        for shift in (0..28).step_by(7) {
            let Ok(b) = read.read_u8().await else { return };
            len |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        let mut body = vec![0u8; len];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let reply = {
            let mut s = stats.lock().expect("stats");
            match first >> 4 {
                1 => Some(vec![0x20, 0x02, 0x00, 0x00]), // CONNECT → CONNACK accepted
                3 => {
                    s.publishes += 1;
                    let qos = (first >> 1) & 3;
                    let topic_len = usize::from(u16::from_be_bytes([body[0], body[1]]));
                    let id_at = 2 + topic_len;
                    let payload_at = id_at + if qos > 0 { 2 } else { 0 };
                    s.publish_bytes += body.len() - payload_at;
                    (qos == 1).then(|| vec![0x40, 0x02, body[id_at], body[id_at + 1]])
                }
                4 => {
                    s.pubacks.push(u16::from_be_bytes([body[0], body[1]]));
                    None
                }
                8 => {
                    // SUBSCRIBE: grant each requested QoS.
                    s.subscribed = true;
                    let mut granted = Vec::new();
                    let mut at = 2;
                    while at + 2 < body.len() {
                        let n = usize::from(u16::from_be_bytes([body[at], body[at + 1]]));
                        at += 2 + n;
                        granted.push(body[at]);
                        at += 1;
                    }
                    let mut suback = vec![0x90, (2 + granted.len()) as u8, body[0], body[1]];
                    suback.extend(granted);
                    Some(suback)
                }
                12 => {
                    s.pingreqs += 1;
                    Some(vec![0xd0, 0x00])
                }
                _ => None,
            }
        };
        changed.notify_waiters();
        if let Some(reply) = reply {
            if replies.send(reply).await.is_err() {
                return;
            }
        }
    }
}

/// A QoS 1 PUBLISH frame.
fn publish_qos1(topic: &str, id: u16, payload: &[u8]) -> Vec<u8> {
    let len = 2 + topic.len() + 2 + payload.len();
    let mut frame = vec![0x32];
    let mut rest = len;
    loop {
        let mut b = (rest % 128) as u8;
        rest /= 128;
        if rest > 0 {
            b |= 0x80;
        }
        frame.push(b);
        if rest == 0 {
            break;
        }
    }
    frame.extend_from_slice(&(topic.len() as u16).to_be_bytes());
    frame.extend_from_slice(topic.as_bytes());
    frame.extend_from_slice(&id.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}
