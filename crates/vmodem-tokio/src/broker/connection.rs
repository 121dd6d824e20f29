//! One client connection of the broker: CONNECT and its checks, then
//! reading packets and writing what the router has for the client, until
//! DISCONNECT, a close, a protocol error, a keep-alive timeout, a takeover
//! or the broker's stop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::sync::watch;
use tracing::debug;
use vmodem_mqtt::{
    decode, Connack, Connect, ConnectReturnCode, DecodeError, Packet, Protocol, QoS, Suback,
};

use super::router::{Attached, Router};

/// How long a client has, after TCP connect, to send CONNECT.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) router: Mutex<Router>,
    /// User name → password; `None`: anyone may connect.
    pub(crate) users: Option<HashMap<String, String>>,
}

impl Shared {
    fn router(&self) -> std::sync::MutexGuard<'_, Router> {
        // A panic under the lock is a bug in the router; its state is still
        // the best there is.
        self.router.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// The client sent DISCONNECT: no will.
    Disconnect,
    /// Anything else: the will is published.
    Abrupt(&'static str),
    /// The broker stops.
    Stop,
}

/// Serves one connection until it ends.
pub(crate) async fn serve<S>(stream: S, shared: Arc<Shared>, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut reader, writer) = tokio::io::split(stream);
    let writer = tokio::sync::Mutex::new(writer);
    let mut buf = BytesMut::with_capacity(1024);
    let max_packet = shared.router().limits().max_packet;

    let first = tokio::select! {
        first = tokio::time::timeout(CONNECT_TIMEOUT, read_packet(&mut reader, &mut buf, Protocol::V311, max_packet)) => first,
        _ = stop.changed() => return,
    };
    let connect = match first {
        Ok(Ok(Packet::Connect(connect))) => connect,
        Ok(Err(ReadError::Decode(DecodeError::UnsupportedProtocolLevel(level)))) => {
            // [MQTT-3.1.2-2]: CONNACK 1, then close (MQTT 5 clients land here).
            debug!(level, "CONNECT with an unsupported protocol level");
            let refuse = Connack {
                session_present: false,
                code: ConnectReturnCode::UnacceptableProtocolVersion,
            };
            let _ = write(&writer, &[Packet::Connack(refuse)]).await;
            return;
        }
        Ok(Ok(other)) => {
            debug!(packet = ?other.packet_type(), "first packet is not CONNECT; closing");
            return;
        }
        Ok(Err(e)) => {
            debug!(error = ?e, "no valid CONNECT; closing");
            return;
        }
        Err(_) => {
            debug!("no CONNECT within {CONNECT_TIMEOUT:?}; closing");
            return;
        }
    };
    let protocol = connect.protocol;
    let (attached, client_id) = match accept(&shared, &connect) {
        Ok(ok) => ok,
        Err(code) => {
            debug!(client_id = %connect.client_id, code = code.as_u8(), "CONNECT refused");
            let refuse = Connack {
                session_present: false,
                code,
            };
            let _ = write(&writer, &[Packet::Connack(refuse)]).await;
            return;
        }
    };
    debug!(%client_id, ?protocol, "client connected");
    let connack = Connack {
        // 3.1 has no session-present flag (its byte 1 is reserved).
        session_present: attached.session_present && protocol == Protocol::V311,
        code: ConnectReturnCode::Accepted,
    };
    let end = if write(&writer, &[Packet::Connack(connack)]).await.is_err() {
        End::Abrupt("write failed")
    } else {
        // [MQTT-3.1.2-24]: one and a half keep-alive periods without a packet.
        let idle = (connect.keep_alive > 0)
            .then(|| Duration::from_millis(u64::from(connect.keep_alive) * 1500));
        let session = Session {
            shared: &shared,
            attached: &attached,
            protocol,
            max_packet,
        };
        tokio::select! {
            end = session.read_loop(&mut reader, &mut buf, &writer, idle) => end,
            end = session.write_loop(&writer) => end,
            () = attached.kick.notified() => End::Abrupt("taken over by a new connection"),
            _ = stop.changed() => End::Stop,
        }
    };
    match &end {
        End::Abrupt(why) => debug!(%client_id, why, "client gone without DISCONNECT"),
        End::Disconnect => debug!(%client_id, "client disconnected"),
        End::Stop => debug!(%client_id, "broker stops"),
    }
    {
        let mut router = shared.router();
        if let (End::Abrupt(_), Some(will)) = (&end, connect.will) {
            router.publish(will.topic, will.payload, will.qos, will.retain);
        }
        router.disconnect(attached.session, attached.conn);
    }
    let _ = writer.lock().await.shutdown().await;
}

/// The CONNECT checks: client identifier, user name and password, then the
/// session. Returns the refusal code otherwise.
fn accept(shared: &Shared, connect: &Connect) -> Result<(Attached, String), ConnectReturnCode> {
    let mut client_id = connect.client_id.clone();
    match connect.protocol {
        // MQTT 3.1 "Client Identifier": 1 to 23 characters.
        Protocol::V31 if client_id.is_empty() || client_id.chars().count() > 23 => {
            return Err(ConnectReturnCode::IdentifierRejected)
        }
        // [MQTT-3.1.3-7/8]: empty only with clean session, and then the
        // server names the client.
        Protocol::V311 if client_id.is_empty() && !connect.clean_session => {
            return Err(ConnectReturnCode::IdentifierRejected)
        }
        _ => {}
    }
    if let Some(users) = &shared.users {
        check_user(users, connect)?;
    }
    let mut router = shared.router();
    if client_id.is_empty() {
        client_id = router.assign_client_id();
    }
    let (attached, kicked) = router.connect(&client_id, connect.clean_session)?;
    if let Some(kick) = kicked {
        kick.notify_one();
    }
    Ok((attached, client_id))
}

/// 3.1.1 §3.2.2.3: 4 "bad user name or password" for a user name that is
/// not configured or a password that does not match; 5 "not authorized"
/// for a CONNECT without a user name. (mosquitto answers 5 to all three;
/// the two codes let firmware see both of its `+QMTCONN: c,0,4`/`5` paths.)
fn check_user(users: &HashMap<String, String>, connect: &Connect) -> Result<(), ConnectReturnCode> {
    let Some(name) = &connect.username else {
        return Err(ConnectReturnCode::NotAuthorized);
    };
    let given = connect.password.as_deref().unwrap_or_default();
    match users.get(name) {
        Some(password) if constant_time_eq(password.as_bytes(), given) => Ok(()),
        _ => Err(ConnectReturnCode::BadUsernameOrPassword),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct Session<'a> {
    shared: &'a Shared,
    attached: &'a Attached,
    protocol: Protocol,
    max_packet: usize,
}

impl Session<'_> {
    async fn read_loop<R, W>(
        &self,
        reader: &mut R,
        buf: &mut BytesMut,
        writer: &tokio::sync::Mutex<WriteHalf<W>>,
        idle: Option<Duration>,
    ) -> End
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite,
    {
        loop {
            let read = read_packet(reader, buf, self.protocol, self.max_packet);
            let packet = match idle {
                Some(idle) => match tokio::time::timeout(idle, read).await {
                    Ok(packet) => packet,
                    Err(_) => return End::Abrupt("keep-alive timeout"),
                },
                None => read.await,
            };
            let packet = match packet {
                Ok(packet) => packet,
                Err(ReadError::Closed) => return End::Abrupt("closed by the client"),
                Err(ReadError::Decode(_)) => return End::Abrupt("malformed packet"),
            };
            let answer = match self.handle(packet) {
                Ok(answer) => answer,
                Err(end) => return end,
            };
            if let Some(answer) = answer {
                if write(writer, &[answer]).await.is_err() {
                    return End::Abrupt("write failed");
                }
            }
        }
    }

    /// One packet from the client; the answer to write, if any.
    fn handle(&self, packet: Packet) -> Result<Option<Packet>, End> {
        let session = self.attached.session;
        let mut router = self.shared.router();
        Ok(match packet {
            Packet::Publish(p) => match p.qos {
                QoS::AtMostOnce => {
                    router.publish(p.topic, p.payload, p.qos, p.retain);
                    None
                }
                QoS::AtLeastOnce => {
                    router.publish(p.topic, p.payload, p.qos, p.retain);
                    Some(Packet::Puback { pkid: p.pkid })
                }
                QoS::ExactlyOnce => {
                    if router.incoming_qos2(session, p.pkid) {
                        router.publish(p.topic, p.payload, p.qos, p.retain);
                    }
                    Some(Packet::Pubrec { pkid: p.pkid })
                }
            },
            Packet::Pubrel { pkid } => {
                router.release(session, pkid);
                Some(Packet::Pubcomp { pkid })
            }
            Packet::Puback { pkid } => {
                router.acknowledged(session, pkid, false);
                None
            }
            Packet::Pubrec { pkid } => router
                .received(session, pkid)
                .then_some(Packet::Pubrel { pkid }),
            Packet::Pubcomp { pkid } => {
                router.acknowledged(session, pkid, true);
                None
            }
            Packet::Subscribe(s) => {
                // The SUBACK goes out now; retained messages follow through
                // the session's queue, after it.
                let return_codes = router.subscribe(session, &s.filters);
                Some(Packet::Suback(Suback {
                    pkid: s.pkid,
                    return_codes,
                }))
            }
            Packet::Unsubscribe(u) => {
                router.unsubscribe(session, &u.filters);
                Some(Packet::Unsuback { pkid: u.pkid })
            }
            Packet::Pingreq => Some(Packet::Pingresp),
            Packet::Disconnect => return Err(End::Disconnect),
            // [MQTT-3.1.0-2] a second CONNECT, or a packet only servers send.
            Packet::Connect(_)
            | Packet::Connack(_)
            | Packet::Suback(_)
            | Packet::Unsuback { .. }
            | Packet::Pingresp => return Err(End::Abrupt("protocol violation")),
        })
    }

    async fn write_loop<W: AsyncWrite>(&self, writer: &tokio::sync::Mutex<WriteHalf<W>>) -> End {
        let mut packets = Vec::new();
        loop {
            packets.clear();
            self.shared.router().take_sendable(
                self.attached.session,
                self.attached.conn,
                &mut packets,
            );
            if packets.is_empty() {
                self.attached.wake.notified().await;
                continue;
            }
            if write(writer, &packets).await.is_err() {
                return End::Abrupt("write failed");
            }
        }
    }
}

#[derive(Debug)]
enum ReadError {
    Closed,
    Decode(DecodeError),
}

/// Reads one packet; `buf` keeps what follows it.
async fn read_packet<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    protocol: Protocol,
    max_packet: usize,
) -> Result<Packet, ReadError> {
    loop {
        match decode(buf, protocol, max_packet) {
            Ok(Some((packet, used))) => {
                let _ = buf.split_to(used);
                return Ok(packet);
            }
            Ok(None) => {}
            Err(e) => return Err(ReadError::Decode(e)),
        }
        if buf.capacity() - buf.len() < 1024 {
            buf.reserve(4096);
        }
        match reader.read_buf(buf).await {
            Ok(0) | Err(_) => return Err(ReadError::Closed),
            Ok(_) => {}
        }
    }
}

/// Encodes `packets` and writes them in one go.
async fn write<W: AsyncWrite>(
    writer: &tokio::sync::Mutex<WriteHalf<W>>,
    packets: &[Packet],
) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    for packet in packets {
        // Everything written was decoded or built from decoded parts, so it
        // encodes; a packet that does not is skipped, not sent half-made.
        if let Err(e) = packet.encode(&mut bytes) {
            debug!(error = %e, "cannot encode a packet for a client; skipped");
        }
    }
    let mut writer = writer.lock().await;
    writer.write_all(&bytes).await?;
    writer.flush().await
}
