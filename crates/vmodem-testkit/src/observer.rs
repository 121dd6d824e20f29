//! "The other device": an MQTT 3.1.1 client that owes nothing to vmodem
//! (rumqttc), subscribing and publishing beside the module under test.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS,
    SubscribeReasonCode,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::PATIENCE;

/// A message the observer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Its topic.
    pub topic: String,
    /// Its payload, exact bytes.
    pub payload: Vec<u8>,
    /// The QoS it was delivered with (0–2).
    pub qos: u8,
    /// Whether the broker sent it as a retained message.
    pub retain: bool,
}

/// An independent MQTT 3.1.1 client on a broker.
///
/// Every call waits for the broker's answer (CONNACK, SUBACK, PUBACK or
/// PUBCOMP) within [`PATIENCE`] and panics if it does not come, so a test
/// knows the broker has acted before it goes on.
#[derive(Debug)]
pub struct Observer {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Event, String>>,
    inbox: VecDeque<Received>,
    task: JoinHandle<()>,
    id: String,
}

impl Observer {
    /// Connects with a clean session and returns once the broker accepted.
    pub async fn connect(broker: SocketAddr, client_id: &str) -> Observer {
        let mut options = MqttOptions::new(client_id, broker.ip().to_string(), broker.port());
        options.set_keep_alive(Duration::from_secs(30));
        options.set_clean_session(true);
        options.set_max_packet_size(256 * 1024, 256 * 1024);
        Observer::connect_with(options).await
    }

    /// Connects with the given options and returns once the broker accepted.
    pub async fn connect_with(options: MqttOptions) -> Observer {
        let id = options.client_id();
        let (client, eventloop) = AsyncClient::new(options, 64);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(pump(eventloop, tx));
        let mut observer = Observer {
            client,
            events,
            inbox: VecDeque::new(),
            task,
            id,
        };
        let ack = observer
            .wait_event("CONNACK", |e| match e {
                Event::Incoming(Incoming::ConnAck(ack)) => Some(ack.code),
                _ => None,
            })
            .await;
        assert_eq!(
            ack,
            ConnectReturnCode::Success,
            "the broker refused observer {}",
            observer.id
        );
        observer
    }

    /// Subscribes and returns the SUBACK's return code: the granted QoS
    /// (0–2) or 0x80 for a refused subscription.
    pub async fn subscribe(&mut self, filter: &str, qos: u8) -> u8 {
        self.client
            .subscribe(filter, to_qos(qos))
            .await
            .expect("queue SUBSCRIBE");
        let codes = self
            .wait_event("SUBACK", |e| match e {
                Event::Incoming(Incoming::SubAck(ack)) => Some(ack.return_codes.clone()),
                _ => None,
            })
            .await;
        match codes.first() {
            Some(SubscribeReasonCode::Success(q)) => *q as u8,
            Some(SubscribeReasonCode::Failure) => 0x80,
            None => panic!("empty SUBACK"),
        }
    }

    /// Publishes and waits until the broker has it: PUBACK for QoS 1,
    /// PUBCOMP for QoS 2, written to the socket for QoS 0.
    pub async fn publish(&mut self, topic: &str, qos: u8, retain: bool, payload: &[u8]) {
        self.client
            .publish(topic, to_qos(qos), retain, payload.to_vec())
            .await
            .expect("queue PUBLISH");
        match qos {
            0 => {
                self.wait_event("outgoing PUBLISH", |e| {
                    matches!(e, Event::Outgoing(Outgoing::Publish(_))).then_some(())
                })
                .await
            }
            1 => {
                self.wait_event("PUBACK", |e| {
                    matches!(e, Event::Incoming(Incoming::PubAck(_))).then_some(())
                })
                .await
            }
            _ => {
                self.wait_event("PUBCOMP", |e| {
                    matches!(e, Event::Incoming(Incoming::PubComp(_))).then_some(())
                })
                .await
            }
        }
    }

    /// The next message received, within [`PATIENCE`].
    pub async fn expect_message(&mut self) -> Received {
        match self.next_message_within(PATIENCE).await {
            Some(m) => m,
            None => panic!(
                "observer {} received no message within {PATIENCE:?}",
                self.id
            ),
        }
    }

    /// The next message received within `patience`, if any.
    pub async fn next_message_within(&mut self, patience: Duration) -> Option<Received> {
        if let Some(m) = self.inbox.pop_front() {
            return Some(m);
        }
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let event = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Err(_) => return None,
                Ok(None) => panic!("observer {}: event loop ended", self.id),
                Ok(Some(Err(e))) => panic!("observer {}: connection failed: {e}", self.id),
                Ok(Some(Ok(event))) => event,
            };
            if let Some(m) = as_message(&event) {
                return Some(m);
            }
        }
    }

    /// Sends DISCONNECT and waits until the connection has ended.
    pub async fn disconnect(mut self) {
        self.client.disconnect().await.expect("queue DISCONNECT");
        let ended = tokio::time::timeout(PATIENCE, async {
            while let Some(Ok(_)) = self.events.recv().await {}
        })
        .await;
        assert!(ended.is_ok(), "observer {} did not disconnect", self.id);
    }

    async fn wait_event<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let event = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Err(_) => panic!("observer {}: no {what} within {PATIENCE:?}", self.id),
                Ok(None) => panic!("observer {}: event loop ended before {what}", self.id),
                Ok(Some(Err(e))) => {
                    panic!("observer {}: connection failed before {what}: {e}", self.id)
                }
                Ok(Some(Ok(event))) => event,
            };
            if let Some(m) = as_message(&event) {
                self.inbox.push_back(m);
            } else if let Some(found) = pick(&event) {
                return found;
            }
        }
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn as_message(event: &Event) -> Option<Received> {
    match event {
        Event::Incoming(Incoming::Publish(p)) => Some(Received {
            topic: p.topic.clone(),
            payload: p.payload.to_vec(),
            qos: p.qos as u8,
            retain: p.retain,
        }),
        _ => None,
    }
}

fn to_qos(qos: u8) -> QoS {
    match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        2 => QoS::ExactlyOnce,
        other => panic!("QoS {other} does not exist"),
    }
}

/// Polls the event loop and forwards every event until the connection ends.
async fn pump(mut eventloop: EventLoop, tx: mpsc::UnboundedSender<Result<Event, String>>) {
    loop {
        match eventloop.poll().await {
            Ok(event) => {
                if tx.send(Ok(event)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        }
    }
}
