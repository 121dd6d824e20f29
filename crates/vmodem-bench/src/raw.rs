//! The peer: plain rumqttc clients on the same broker.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use rumqttc::{AsyncClient, Event, MqttOptions, NetworkOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::vmodem::PATIENCE;

/// What a peer's event loop reports to the task using it.
#[derive(Debug)]
pub(crate) enum RawEvent {
    ConnAck,
    PubAck,
    SubAck,
    /// A message, stamped when `poll` returned it: when the application sees it.
    Publish {
        payload: Vec<u8>,
        at: Instant,
    },
    Failed(String),
}

/// One rumqttc `AsyncClient` with its event loop running in a task.
pub(crate) struct RawPeer {
    pub(crate) client: AsyncClient,
    pub(crate) events: mpsc::UnboundedReceiver<RawEvent>,
    task: JoinHandle<()>,
    topic: String,
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawPeer {
    /// Connects `id` to `broker` with at most `inflight` unacknowledged
    /// publishes; `nodelay` turns Nagle's algorithm off (rumqttc leaves it on).
    pub(crate) async fn connect(
        broker: SocketAddr,
        id: &str,
        inflight: u16,
        nodelay: bool,
        topic: String,
    ) -> Result<RawPeer> {
        let mut options = MqttOptions::new(id, broker.ip().to_string(), broker.port());
        options
            .set_keep_alive(Duration::from_secs(60))
            .set_inflight(inflight);
        let (client, mut eventloop) = AsyncClient::new(options, 10);
        let mut network = NetworkOptions::new();
        network.set_tcp_nodelay(nodelay);
        eventloop.set_network_options(network);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let event = match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => RawEvent::ConnAck,
                    Ok(Event::Incoming(Packet::PubAck(_))) => RawEvent::PubAck,
                    Ok(Event::Incoming(Packet::SubAck(_))) => RawEvent::SubAck,
                    Ok(Event::Incoming(Packet::Publish(p))) => RawEvent::Publish {
                        at: Instant::now(),
                        payload: p.payload.to_vec(),
                    },
                    Ok(_) => continue,
                    Err(e) => {
                        // rumqttc would reconnect on the next poll; a benchmark must not.
                        let _ = tx.send(RawEvent::Failed(e.to_string()));
                        return;
                    }
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        });
        let mut peer = RawPeer {
            client,
            events,
            task,
            topic,
        };
        peer.expect(|e| matches!(e, RawEvent::ConnAck), "CONNACK")
            .await?;
        Ok(peer)
    }

    /// Waits for the next event, which must satisfy `want`.
    pub(crate) async fn expect(
        &mut self,
        want: impl Fn(&RawEvent) -> bool,
        what: &str,
    ) -> Result<RawEvent> {
        match tokio::time::timeout(PATIENCE, self.events.recv()).await {
            Err(_) => bail!("rumqttc: no {what} within {PATIENCE:?}"),
            Ok(None) => bail!("rumqttc: the event loop stopped"),
            Ok(Some(RawEvent::Failed(e))) => bail!("rumqttc: {e}"),
            Ok(Some(event)) if want(&event) => Ok(event),
            Ok(Some(other)) => Err(anyhow!("rumqttc: awaited {what}, got {other:?}")),
        }
    }

    /// Publishes `count` QoS 1 messages as fast as the in-flight limit lets
    /// rumqttc, and returns when all are acknowledged.
    pub(crate) async fn publish_all(&mut self, count: u64, payload: &[u8]) -> Result<()> {
        let client = self.client.clone();
        let topic = self.topic.clone();
        let payload = payload.to_vec();
        let publisher = tokio::spawn(async move {
            for _ in 0..count {
                client
                    .publish(topic.as_str(), QoS::AtLeastOnce, false, payload.clone())
                    .await?;
            }
            Ok::<(), rumqttc::ClientError>(())
        });
        for _ in 0..count {
            self.expect(|e| matches!(e, RawEvent::PubAck), "PUBACK")
                .await?;
        }
        publisher.await??;
        Ok(())
    }

    /// One QoS 1 publish → PUBACK, timed.
    pub(crate) async fn publish_one(&mut self, payload: &[u8]) -> Result<Duration> {
        let t0 = Instant::now();
        self.client
            .publish(
                self.topic.as_str(),
                QoS::AtLeastOnce,
                false,
                payload.to_vec(),
            )
            .await?;
        self.expect(|e| matches!(e, RawEvent::PubAck), "PUBACK")
            .await?;
        Ok(t0.elapsed())
    }
}
