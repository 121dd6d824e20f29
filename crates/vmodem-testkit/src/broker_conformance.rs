//! A packet-level conformance check for MQTT brokers: what a Quectel module
//! (and the firmware behind it) relies on a broker to do.
//!
//! Each [`Check`] speaks raw MQTT over its own TCP connections, encoded and
//! decoded with our codec `vmodem-mqtt` (no client library in between to hide
//! or fix what the broker sends), and every wait is bounded, so a broker that
//! never answers fails the check instead of hanging it. The same checks run
//! against every broker ([`run`]): the embedded one, mosquitto (the
//! reference), and the candidates compared in `docs/decisions.md`
//! ("The built-in broker").
//!
//! A broker is given as a [`Target`]: where it listens without
//! authentication, and where a second instance of it listens with one user
//! configured (for the CONNACK 4/5 checks). Checks use topics under
//! `conf/<random>/` so that runs against one broker do not see each other.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use vmodem_mqtt::{
    decode, Connack, Connect, ConnectReturnCode, Packet, Protocol, Publish, QoS, SubackCode,
    Subscribe, SubscribeFilter, Unsubscribe, Will,
};

/// How long a broker may take to answer one packet.
const ANSWER: Duration = Duration::from_secs(5);

/// How long a broker is watched to be sure it sends nothing (no duplicate, no
/// will after a clean DISCONNECT, no cleared retained message).
const QUIET: Duration = Duration::from_millis(500);

/// The largest packet a check accepts.
const MAX_PACKET: usize = 1024 * 1024;

/// A broker to check.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its name in the results ("mosquitto 2.0.11", "embedded").
    pub name: String,
    /// Where it listens, accepting anonymous clients.
    pub addr: SocketAddr,
    /// Where an instance with exactly one user listens, and that user's name
    /// and password; `None` skips the authentication checks.
    pub auth: Option<AuthTarget>,
}

/// A broker instance that accepts exactly one user name and password.
#[derive(Debug, Clone)]
pub struct AuthTarget {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The one user name it accepts.
    pub user: String,
    /// That user's password.
    pub password: String,
}

/// One behaviour a module relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// CONNECT with `MQIsdp`, level 3 (`AT+QMTCFG="version",c,3`) is accepted.
    Connect31,
    /// CONNECT with `MQTT`, level 4 (`AT+QMTCFG="version",c,4`) is accepted.
    Connect311,
    /// CONNECT with keep-alive 0 (`AT+QMTCFG="keepalive",c,0`, "disabled") is
    /// accepted (3.1.1 §3.1.2.10).
    KeepAliveZero,
    /// UNSUBSCRIBE of a filter never subscribed gets UNSUBACK [MQTT-3.10.4-5].
    UnsubackUnknownTopic,
    /// An UNSUBSCRIBE of two filters gets exactly one UNSUBACK [MQTT-3.10.4-4].
    OneUnsubackPerUnsubscribe,
    /// A message is delivered at the minimum of the publication's and the
    /// subscription's QoS (3.1.1 §3.8.4), for all nine pairs.
    MinimumQos,
    /// A QoS 2 message reaches a QoS 2 subscriber exactly once, with the
    /// PUBREC/PUBREL/PUBCOMP handshake on both sides (§4.3.3).
    Qos2ExactlyOnce,
    /// A retained message reaches a later subscriber with RETAIN set, a live
    /// subscriber with RETAIN clear [MQTT-3.3.1-9], and an empty retained
    /// message clears it [MQTT-3.3.1-10/11].
    Retained,
    /// The will is published when the connection closes without DISCONNECT,
    /// and not after a DISCONNECT (§3.1.2.5, [MQTT-3.14.4-3]).
    WillOnAbruptClose,
    /// clean_session=0: reconnecting gets session present, and the QoS 1
    /// messages published meanwhile, in order (§3.1.2.4, §4.4).
    PersistentSession,
    /// The configured user with its password is accepted (CONNACK 0).
    AuthAccepted,
    /// A wrong password gets CONNACK 4 or 5, not a silent hang-up.
    AuthWrongPassword,
    /// An unknown user name gets CONNACK 4 or 5.
    AuthUnknownUser,
    /// No user name at all gets CONNACK 4 or 5.
    AuthNoCredentials,
    /// Small QoS 0 messages published every 2 ms reach a subscriber without
    /// Nagle-style stalls (the broker sets TCP_NODELAY): 90 % within 20 ms.
    SmallMessagesNotStalled,
}

impl Check {
    /// Every check, in the order of the results table.
    pub const ALL: [Check; 15] = [
        Check::Connect31,
        Check::Connect311,
        Check::KeepAliveZero,
        Check::UnsubackUnknownTopic,
        Check::OneUnsubackPerUnsubscribe,
        Check::MinimumQos,
        Check::Qos2ExactlyOnce,
        Check::Retained,
        Check::WillOnAbruptClose,
        Check::PersistentSession,
        Check::AuthAccepted,
        Check::AuthWrongPassword,
        Check::AuthUnknownUser,
        Check::AuthNoCredentials,
        Check::SmallMessagesNotStalled,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Check::Connect31 => "CONNECT 3.1 (MQIsdp, level 3)",
            Check::Connect311 => "CONNECT 3.1.1 (MQTT, level 4)",
            Check::KeepAliveZero => "CONNECT with keep-alive 0",
            Check::UnsubackUnknownTopic => "UNSUBACK for a never-subscribed topic",
            Check::OneUnsubackPerUnsubscribe => "one UNSUBACK for a 2-filter UNSUBSCRIBE",
            Check::MinimumQos => "delivery at min(pub QoS, sub QoS)",
            Check::Qos2ExactlyOnce => "QoS 2 exactly once",
            Check::Retained => "retained messages",
            Check::WillOnAbruptClose => "will on abrupt close, none after DISCONNECT",
            Check::PersistentSession => "clean_session=0 queues QoS 1",
            Check::AuthAccepted => "auth: right password, CONNACK 0",
            Check::AuthWrongPassword => "auth: wrong password, CONNACK 4/5",
            Check::AuthUnknownUser => "auth: unknown user, CONNACK 4/5",
            Check::AuthNoCredentials => "auth: no user name, CONNACK 4/5",
            Check::SmallMessagesNotStalled => "small QoS 0 at 500/s not stalled",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of one check against one broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Which check.
    pub check: Check,
    /// Whether the broker did what the check asks.
    pub passed: bool,
    /// What was seen (codes, QoS pairs, latencies), or why it failed.
    pub note: String,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "pass" } else { "FAIL" };
        write!(f, "{verdict}  {}: {}", self.check, self.note)
    }
}

/// Runs every check against `target`, one after another (checks share no
/// connection, but timing checks are fairer alone).
pub async fn run(target: &Target) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for check in Check::ALL {
        outcomes.push(run_one(target, check).await);
    }
    outcomes
}

/// Runs one check against `target`.
pub async fn run_one(target: &Target, check: Check) -> Outcome {
    let prefix = topic_prefix();
    let result = match check {
        Check::Connect31 => connect_accepted(target.addr, Protocol::V31, 60).await,
        Check::Connect311 => connect_accepted(target.addr, Protocol::V311, 60).await,
        Check::KeepAliveZero => connect_accepted(target.addr, Protocol::V311, 0).await,
        Check::UnsubackUnknownTopic => unsuback_unknown(target.addr, &prefix).await,
        Check::OneUnsubackPerUnsubscribe => one_unsuback(target.addr, &prefix).await,
        Check::MinimumQos => minimum_qos(target.addr, &prefix).await,
        Check::Qos2ExactlyOnce => qos2_exactly_once(target.addr, &prefix).await,
        Check::Retained => retained(target.addr, &prefix).await,
        Check::WillOnAbruptClose => will(target.addr, &prefix).await,
        Check::PersistentSession => persistent_session(target.addr, &prefix).await,
        Check::AuthAccepted => match &target.auth {
            Some(auth) => auth_accepted(auth).await,
            None => Err("not run: no instance with users".to_owned()),
        },
        Check::AuthWrongPassword | Check::AuthUnknownUser | Check::AuthNoCredentials => {
            match &target.auth {
                Some(auth) => auth_refused(auth, check).await,
                None => Err("not run: no instance with users".to_owned()),
            }
        }
        Check::SmallMessagesNotStalled => small_messages(target.addr, &prefix).await,
    };
    match result {
        Ok(note) => Outcome {
            check,
            passed: true,
            note,
        },
        Err(note) => Outcome {
            check,
            passed: false,
            note,
        },
    }
}

/// A topic prefix no other run uses.
fn topic_prefix() -> String {
    static RUN: AtomicU32 = AtomicU32::new(0);
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("conf/{}-{nanos:x}-{n}", std::process::id())
}

type CheckResult = Result<String, String>;

/// What a read from the broker gave instead of a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecvError {
    /// Nothing within the time allowed.
    Timeout,
    /// The broker closed the connection (or reset it).
    Closed,
    /// The bytes were not a valid packet.
    Malformed(String),
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Timeout => f.write_str("no packet in time"),
            RecvError::Closed => f.write_str("the broker closed the connection"),
            RecvError::Malformed(e) => write!(f, "malformed packet: {e}"),
        }
    }
}

/// A bare MQTT connection: packets in, packets out, nothing else.
#[derive(Debug)]
pub struct RawClient {
    stream: TcpStream,
    received: BytesMut,
    protocol: Protocol,
}

impl RawClient {
    /// Opens a TCP connection (with TCP_NODELAY, so that any stall seen is
    /// the broker's).
    pub async fn open(addr: SocketAddr, protocol: Protocol) -> Result<RawClient, String> {
        let stream = tokio::time::timeout(ANSWER, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("TCP connect to {addr} timed out"))?
            .map_err(|e| format!("TCP connect to {addr}: {e}"))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("TCP_NODELAY: {e}"))?;
        Ok(RawClient {
            stream,
            received: BytesMut::with_capacity(4096),
            protocol,
        })
    }

    /// Opens a connection, sends `connect` and returns the CONNACK (whatever
    /// its code) or what came instead.
    pub async fn connect(
        addr: SocketAddr,
        connect: Connect,
    ) -> Result<(RawClient, Connack), String> {
        let mut client = RawClient::open(addr, connect.protocol).await?;
        client.send(&Packet::Connect(connect)).await?;
        match client.recv(ANSWER).await {
            Ok(Packet::Connack(connack)) => Ok((client, connack)),
            Ok(other) => Err(format!("expected CONNACK, got {other:?}")),
            Err(e) => Err(format!("expected CONNACK: {e}")),
        }
    }

    /// [`connect`](Self::connect) that insists on "accepted".
    pub async fn connected(addr: SocketAddr, connect: Connect) -> Result<RawClient, String> {
        let (client, connack) = RawClient::connect(addr, connect).await?;
        match connack.code {
            ConnectReturnCode::Accepted => Ok(client),
            code => Err(format!("CONNACK {}", code.as_u8())),
        }
    }

    /// Writes one packet.
    pub async fn send(&mut self, packet: &Packet) -> Result<(), String> {
        let mut bytes = Vec::new();
        packet
            .encode(&mut bytes)
            .map_err(|e| format!("cannot encode {packet:?}: {e}"))?;
        self.stream
            .write_all(&bytes)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    /// Reads the next packet, waiting at most `within`.
    pub async fn recv(&mut self, within: Duration) -> Result<Packet, RecvError> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match decode(&self.received, self.protocol, MAX_PACKET) {
                Ok(Some((packet, used))) => {
                    let _ = self.received.split_to(used);
                    return Ok(packet);
                }
                Ok(None) => {}
                Err(e) => return Err(RecvError::Malformed(e.to_string())),
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.received));
            match read.await {
                Err(_) => return Err(RecvError::Timeout),
                Ok(Ok(0)) | Ok(Err(_)) => return Err(RecvError::Closed),
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Reads packets until a PUBLISH, answering nothing; other packets are an error.
    pub async fn recv_publish(&mut self, within: Duration) -> Result<Publish, String> {
        match self.recv(within).await {
            Ok(Packet::Publish(p)) => Ok(p),
            Ok(other) => Err(format!("expected PUBLISH, got {other:?}")),
            Err(e) => Err(format!("expected PUBLISH: {e}")),
        }
    }

    /// Expects exactly `expected` next.
    pub async fn expect(&mut self, expected: &Packet) -> Result<(), String> {
        match self.recv(ANSWER).await {
            Ok(got) if &got == expected => Ok(()),
            Ok(got) => Err(format!("expected {expected:?}, got {got:?}")),
            Err(e) => Err(format!("expected {expected:?}: {e}")),
        }
    }

    /// Subscribes to one filter and checks the SUBACK grants `qos`.
    pub async fn subscribe(&mut self, filter: &str, qos: QoS, pkid: u16) -> Result<(), String> {
        self.send(&Packet::Subscribe(Subscribe {
            pkid,
            filters: vec![SubscribeFilter {
                filter: filter.to_owned(),
                qos,
            }],
        }))
        .await?;
        match self.recv(ANSWER).await {
            Ok(Packet::Suback(s)) if s.pkid == pkid => match s.return_codes.as_slice() {
                [SubackCode::Granted(granted)] if *granted == qos => Ok(()),
                codes => Err(format!("SUBACK {codes:?} for {filter} at {qos:?}")),
            },
            Ok(other) => Err(format!("expected SUBACK {pkid}, got {other:?}")),
            Err(e) => Err(format!("expected SUBACK {pkid}: {e}")),
        }
    }

    /// Publishes and completes the publisher's side of the QoS handshake.
    pub async fn publish(&mut self, publish: Publish) -> Result<(), String> {
        let (qos, pkid) = (publish.qos, publish.pkid);
        self.send(&Packet::Publish(publish)).await?;
        match qos {
            QoS::AtMostOnce => Ok(()),
            QoS::AtLeastOnce => self.expect(&Packet::Puback { pkid }).await,
            QoS::ExactlyOnce => {
                self.expect(&Packet::Pubrec { pkid }).await?;
                self.send(&Packet::Pubrel { pkid }).await?;
                self.expect(&Packet::Pubcomp { pkid }).await
            }
        }
    }

    /// Acknowledges a received PUBLISH as a subscriber must (QoS 2: PUBREC,
    /// wait for PUBREL, PUBCOMP).
    pub async fn acknowledge(&mut self, publish: &Publish) -> Result<(), String> {
        let pkid = publish.pkid;
        match publish.qos {
            QoS::AtMostOnce => Ok(()),
            QoS::AtLeastOnce => self.send(&Packet::Puback { pkid }).await,
            QoS::ExactlyOnce => {
                self.send(&Packet::Pubrec { pkid }).await?;
                self.expect(&Packet::Pubrel { pkid }).await?;
                self.send(&Packet::Pubcomp { pkid }).await
            }
        }
    }

    /// Sends DISCONNECT and closes the connection.
    pub async fn disconnect(mut self) {
        let _ = self.send(&Packet::Disconnect).await;
        let _ = self.stream.shutdown().await;
    }

    /// Closes the TCP connection without DISCONNECT (as a module losing its
    /// network does; the kernel still sends FIN).
    pub fn drop_connection(self) {
        drop(self.stream);
    }

    /// True if nothing arrives for `quiet` (a timeout, not a close).
    pub async fn silent_for(&mut self, quiet: Duration) -> Result<(), String> {
        match self.recv(quiet).await {
            Err(RecvError::Timeout) => Ok(()),
            Ok(p) => Err(format!("unexpected {p:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A CONNECT with the usual settings of a module: clean session, keep-alive
/// 60 s, no will, no credentials.
pub fn connect_packet(protocol: Protocol, client_id: &str) -> Connect {
    Connect {
        protocol,
        client_id: client_id.to_owned(),
        clean_session: true,
        keep_alive: 60,
        will: None,
        username: None,
        password: None,
    }
}

fn publish(topic: &str, qos: QoS, pkid: u16, payload: &'static [u8]) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.to_owned(),
        pkid: if qos == QoS::AtMostOnce { 0 } else { pkid },
        payload: Bytes::from_static(payload),
    }
}

fn client_id(prefix: &str, role: &str) -> String {
    // A short, unique identifier (3.1 allows at most 23 characters).
    let hash = prefix
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    format!("c{hash:08x}{role}")
}

async fn connect_accepted(addr: SocketAddr, protocol: Protocol, keep_alive: u16) -> CheckResult {
    let prefix = topic_prefix();
    let mut connect = connect_packet(protocol, &client_id(&prefix, "v"));
    connect.keep_alive = keep_alive;
    let (client, connack) = RawClient::connect(addr, connect).await?;
    if connack.code != ConnectReturnCode::Accepted {
        return Err(format!("CONNACK {}", connack.code.as_u8()));
    }
    // Accepted means usable: a PINGREQ is answered.
    let mut client = client;
    client.send(&Packet::Pingreq).await?;
    client.expect(&Packet::Pingresp).await?;
    client.disconnect().await;
    Ok("CONNACK 0, PINGRESP".to_owned())
}

async fn unsuback_unknown(addr: SocketAddr, prefix: &str) -> CheckResult {
    let connect = connect_packet(Protocol::V311, &client_id(prefix, "u"));
    let mut client = RawClient::connected(addr, connect).await?;
    client
        .send(&Packet::Unsubscribe(Unsubscribe {
            pkid: 10,
            filters: vec![format!("{prefix}/never/subscribed")],
        }))
        .await?;
    client.expect(&Packet::Unsuback { pkid: 10 }).await?;
    client.disconnect().await;
    Ok("UNSUBACK 10".to_owned())
}

async fn one_unsuback(addr: SocketAddr, prefix: &str) -> CheckResult {
    let connect = connect_packet(Protocol::V311, &client_id(prefix, "m"));
    let mut client = RawClient::connected(addr, connect).await?;
    let (a, b) = (format!("{prefix}/a"), format!("{prefix}/b"));
    client.subscribe(&a, QoS::AtMostOnce, 1).await?;
    client.subscribe(&b, QoS::AtMostOnce, 2).await?;
    client
        .send(&Packet::Unsubscribe(Unsubscribe {
            pkid: 3,
            filters: vec![a, b],
        }))
        .await?;
    client.expect(&Packet::Unsuback { pkid: 3 }).await?;
    // The next packet must answer the PINGREQ, not be a second UNSUBACK.
    client.send(&Packet::Pingreq).await?;
    client
        .expect(&Packet::Pingresp)
        .await
        .map_err(|e| format!("after UNSUBACK 3: {e}"))?;
    client.disconnect().await;
    Ok("one UNSUBACK 3, then PINGRESP".to_owned())
}

const QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

async fn minimum_qos(addr: SocketAddr, prefix: &str) -> CheckResult {
    let mut seen = Vec::new();
    let mut wrong = Vec::new();
    let mut subscriber = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "s")),
    )
    .await?;
    let mut publisher = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "p")),
    )
    .await?;
    let mut pkid = 1;
    for sub in QOS {
        let filter = format!("{prefix}/sub{}", sub.as_u8());
        subscriber.subscribe(&filter, sub, pkid).await?;
        pkid += 1;
        for publ in QOS {
            publisher
                .publish(publish(&filter, publ, pkid, b"min-qos"))
                .await?;
            pkid += 1;
            let got = subscriber
                .recv_publish(ANSWER)
                .await
                .map_err(|e| format!("sub {} pub {}: {e}", sub.as_u8(), publ.as_u8()))?;
            subscriber.acknowledge(&got).await?;
            let want = sub.min(publ);
            seen.push(format!(
                "{}/{}→{}",
                sub.as_u8(),
                publ.as_u8(),
                got.qos.as_u8()
            ));
            if got.qos != want {
                wrong.push(format!(
                    "sub {} pub {} delivered at {} (want {})",
                    sub.as_u8(),
                    publ.as_u8(),
                    got.qos.as_u8(),
                    want.as_u8()
                ));
            }
        }
    }
    subscriber.disconnect().await;
    publisher.disconnect().await;
    if wrong.is_empty() {
        Ok(format!("sub/pub→delivered: {}", seen.join(" ")))
    } else {
        Err(wrong.join("; "))
    }
}

async fn qos2_exactly_once(addr: SocketAddr, prefix: &str) -> CheckResult {
    let topic = format!("{prefix}/q2");
    let mut subscriber = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "s")),
    )
    .await?;
    subscriber.subscribe(&topic, QoS::ExactlyOnce, 1).await?;
    let mut publisher = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "p")),
    )
    .await?;
    publisher
        .publish(publish(&topic, QoS::ExactlyOnce, 7, b"once"))
        .await?;
    let got = subscriber.recv_publish(ANSWER).await?;
    if got.qos != QoS::ExactlyOnce || got.payload.as_ref() != b"once" {
        return Err(format!("delivered {got:?}"));
    }
    subscriber.acknowledge(&got).await?;
    subscriber.silent_for(QUIET).await?;
    subscriber.disconnect().await;
    publisher.disconnect().await;
    Ok("PUBREC/PUBREL/PUBCOMP both sides, one delivery".to_owned())
}

async fn retained(addr: SocketAddr, prefix: &str) -> CheckResult {
    let topic = format!("{prefix}/r");
    let mut live = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "l")),
    )
    .await?;
    live.subscribe(&topic, QoS::AtLeastOnce, 1).await?;
    let mut publisher = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "p")),
    )
    .await?;
    let mut message = publish(&topic, QoS::AtLeastOnce, 2, b"kept");
    message.retain = true;
    publisher.publish(message).await?;
    let got = live.recv_publish(ANSWER).await?;
    live.acknowledge(&got).await?;
    if got.retain {
        return Err("a live subscriber got RETAIN set [MQTT-3.3.1-9]".to_owned());
    }

    let mut later = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "n")),
    )
    .await?;
    later.subscribe(&topic, QoS::AtLeastOnce, 3).await?;
    let got = later
        .recv_publish(ANSWER)
        .await
        .map_err(|e| format!("a later subscriber: {e}"))?;
    later.acknowledge(&got).await?;
    if !got.retain || got.payload.as_ref() != b"kept" {
        return Err(format!("a later subscriber got {got:?}"));
    }
    later.disconnect().await;

    let mut clear = publish(&topic, QoS::AtLeastOnce, 4, b"");
    clear.retain = true;
    publisher.publish(clear).await?;
    let got = live.recv_publish(ANSWER).await?;
    live.acknowledge(&got).await?;
    let mut last = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "z")),
    )
    .await?;
    last.subscribe(&topic, QoS::AtLeastOnce, 5).await?;
    last.silent_for(QUIET)
        .await
        .map_err(|e| format!("after clearing: {e}"))?;
    for client in [live, publisher, last] {
        client.disconnect().await;
    }
    Ok("later subscriber RETAIN=1, live RETAIN=0, empty payload clears".to_owned())
}

async fn will(addr: SocketAddr, prefix: &str) -> CheckResult {
    let topic = format!("{prefix}/will");
    let mut watcher = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "w")),
    )
    .await?;
    watcher.subscribe(&topic, QoS::AtLeastOnce, 1).await?;
    let with_will = |role: &str| {
        let mut connect = connect_packet(Protocol::V311, &client_id(prefix, role));
        connect.will = Some(Will {
            topic: topic.clone(),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: false,
        });
        connect
    };
    // A clean DISCONNECT discards the will.
    let polite = RawClient::connected(addr, with_will("d")).await?;
    polite.disconnect().await;
    watcher
        .silent_for(QUIET)
        .await
        .map_err(|e| format!("after DISCONNECT: {e}"))?;
    // A connection closed without DISCONNECT publishes it.
    let abrupt = RawClient::connected(addr, with_will("a")).await?;
    abrupt.drop_connection();
    let got = watcher
        .recv_publish(ANSWER)
        .await
        .map_err(|e| format!("after abrupt close: {e}"))?;
    watcher.acknowledge(&got).await?;
    if got.payload.as_ref() != b"gone" || got.qos != QoS::AtLeastOnce {
        return Err(format!("will delivered as {got:?}"));
    }
    watcher.disconnect().await;
    Ok("will at QoS 1 after close, none after DISCONNECT".to_owned())
}

async fn persistent_session(addr: SocketAddr, prefix: &str) -> CheckResult {
    let topic = format!("{prefix}/p");
    let id = client_id(prefix, "k");
    let mut connect = connect_packet(Protocol::V311, &id);
    connect.clean_session = false;
    // Start from no session, whatever an earlier run left.
    let mut fresh = connect_packet(Protocol::V311, &id);
    fresh.clean_session = true;
    RawClient::connected(addr, fresh).await?.disconnect().await;

    let (mut client, connack) = RawClient::connect(addr, connect.clone()).await?;
    if connack.code != ConnectReturnCode::Accepted || connack.session_present {
        return Err(format!("first CONNACK {connack:?}"));
    }
    client.subscribe(&topic, QoS::AtLeastOnce, 1).await?;
    client.disconnect().await;

    let mut publisher = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "p")),
    )
    .await?;
    publisher
        .publish(publish(&topic, QoS::AtLeastOnce, 2, b"first"))
        .await?;
    publisher
        .publish(publish(&topic, QoS::AtLeastOnce, 3, b"second"))
        .await?;
    publisher.disconnect().await;

    let (mut client, connack) = RawClient::connect(addr, connect).await?;
    if connack.code != ConnectReturnCode::Accepted || !connack.session_present {
        return Err(format!(
            "reconnect CONNACK {connack:?} (want session present)"
        ));
    }
    let mut payloads = Vec::new();
    for _ in 0..2 {
        let got = client
            .recv_publish(ANSWER)
            .await
            .map_err(|e| format!("queued message: {e}"))?;
        if got.qos != QoS::AtLeastOnce {
            return Err(format!("queued message at QoS {}", got.qos.as_u8()));
        }
        client.acknowledge(&got).await?;
        payloads.push(String::from_utf8_lossy(&got.payload).into_owned());
    }
    if payloads != ["first", "second"] {
        return Err(format!("queued messages {payloads:?}"));
    }
    client.disconnect().await;
    // Leave no session behind.
    let mut clean = connect_packet(Protocol::V311, &id);
    clean.clean_session = true;
    RawClient::connected(addr, clean).await?.disconnect().await;
    Ok("session present, 2 queued QoS 1 in order".to_owned())
}

async fn auth_accepted(auth: &AuthTarget) -> CheckResult {
    let mut connect = connect_packet(Protocol::V311, "auth-ok");
    connect.username = Some(auth.user.clone());
    connect.password = Some(auth.password.clone().into_bytes());
    let (client, connack) = RawClient::connect(auth.addr, connect).await?;
    if connack.code != ConnectReturnCode::Accepted {
        return Err(format!("CONNACK {}", connack.code.as_u8()));
    }
    client.disconnect().await;
    Ok("CONNACK 0".to_owned())
}

async fn auth_refused(auth: &AuthTarget, check: Check) -> CheckResult {
    let mut connect = connect_packet(Protocol::V311, "auth-refused");
    match check {
        Check::AuthWrongPassword => {
            connect.username = Some(auth.user.clone());
            connect.password = Some(b"not-the-password".to_vec());
        }
        Check::AuthUnknownUser => {
            connect.username = Some(format!("{}-unknown", auth.user));
            connect.password = Some(auth.password.clone().into_bytes());
        }
        _ => {}
    }
    let (mut client, connack) = RawClient::connect(auth.addr, connect).await?;
    let code = connack.code.as_u8();
    match connack.code {
        ConnectReturnCode::BadUsernameOrPassword | ConnectReturnCode::NotAuthorized => {}
        _ => return Err(format!("CONNACK {code}")),
    }
    // [MQTT-3.2.2-5]: the server closes the connection after a refusal.
    match client.recv(ANSWER).await {
        Err(RecvError::Closed) => Ok(format!("CONNACK {code}, then closed")),
        other => Err(format!("CONNACK {code}, then {other:?} instead of a close")),
    }
}

/// How many small messages the stall check sends, and how often.
const SMALL_MESSAGES: usize = 400;
const SMALL_INTERVAL: Duration = Duration::from_millis(2);
/// A message later than this counts as stalled (Linux's delayed ACK is 40 ms).
const STALLED: Duration = Duration::from_millis(20);

async fn small_messages(addr: SocketAddr, prefix: &str) -> CheckResult {
    let topic = format!("{prefix}/small");
    let mut subscriber = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "s")),
    )
    .await?;
    subscriber.subscribe(&topic, QoS::AtMostOnce, 1).await?;
    let mut publisher = RawClient::connected(
        addr,
        connect_packet(Protocol::V311, &client_id(prefix, "p")),
    )
    .await?;
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(SMALL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for i in 0..SMALL_MESSAGES {
            tick.tick().await;
            let sent_us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
            let mut payload = Vec::with_capacity(16);
            payload.extend_from_slice(&sent_us.to_be_bytes());
            payload.extend_from_slice(&u64::try_from(i).unwrap_or(0).to_be_bytes());
            let message = Publish {
                dup: false,
                qos: QoS::AtMostOnce,
                retain: false,
                topic: topic.clone(),
                pkid: 0,
                payload: payload.into(),
            };
            publisher.send(&Packet::Publish(message)).await?;
        }
        Ok::<_, String>(publisher)
    });
    let mut latencies = Vec::with_capacity(SMALL_MESSAGES);
    while latencies.len() < SMALL_MESSAGES {
        let got = match subscriber.recv_publish(ANSWER).await {
            Ok(got) => got,
            Err(e) => {
                return Err(format!(
                    "after {} of {SMALL_MESSAGES} messages: {e}",
                    latencies.len()
                ))
            }
        };
        let sent = got
            .payload
            .get(..8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map_or(0, u64::from_be_bytes);
        let now = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
        latencies.push(Duration::from_micros(now.saturating_sub(sent)));
    }
    let publisher = sender.await.map_err(|e| format!("publisher task: {e}"))??;
    publisher.disconnect().await;
    subscriber.disconnect().await;
    latencies.sort();
    let at = |q: usize| latencies[(latencies.len() * q / 100).min(latencies.len() - 1)];
    let (p50, p90, max) = (at(50), at(90), latencies[latencies.len() - 1]);
    let elapsed = start.elapsed();
    let note = format!(
        "{SMALL_MESSAGES} msgs in {:.2} s; latency p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p90.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    if p90 <= STALLED {
        Ok(note)
    } else {
        Err(note)
    }
}

/// The results of several brokers as a Markdown table (broker per column).
pub fn markdown_table(results: &[(String, Vec<Outcome>)]) -> String {
    let mut table = String::from("| check |");
    for (name, _) in results {
        table.push_str(&format!(" {name} |"));
    }
    table.push_str("\n|---|");
    for _ in results {
        table.push_str("---|");
    }
    table.push('\n');
    for check in Check::ALL {
        table.push_str(&format!("| {check} |"));
        for (_, outcomes) in results {
            let cell =
                outcomes
                    .iter()
                    .find(|o| o.check == check)
                    .map_or("not run".to_owned(), |o| {
                        let verdict = if o.passed { "pass" } else { "**FAIL**" };
                        format!("{verdict}: {}", o.note.replace('|', "/"))
                    });
            table.push_str(&format!(" {cell} |"));
        }
        table.push('\n');
    }
    table
}
