//! One MQTT client (`<client_idx>` 0–5): its link, its connection and its
//! session, as a state machine driven by host commands, network events and time.
//!
//! The state names follow `AT+QMTCONN?` (application note §3.2.5): a link is
//! *initial* once TCP is up (1), *connecting* while the CONNECT waits for its
//! CONNACK (2), *connected* (3), *disconnecting* after DISCONNECT (4). Every
//! outcome reaches the host as the URC the note gives it; every way a link can
//! end is reported once, with the `+QMTSTAT` code of its cause (§4.1, table 3).
//!
//! **One final result per accepted packet.** Every publish, subscribe and
//! unsubscribe that got `OK` ends with exactly one `<result>` 0 or 2 (1 is a
//! notice, never final), or is carried in a kept session (`session` 0) into
//! the next connection and ends there. When a link ends, each packet that
//! does not survive it gets `…: c,<msgID>,2` before the URC that reports the
//! link's end; firmware that counts its outstanding messages by these URCs
//! never waits for one that will not come (docs/decisions.md).

use core::time::Duration;

use vmodem_mqtt::{
    decode, Connect, ConnectReturnCode, Packet, Protocol, Publish, QoS, SubackCode, Will,
};

use super::config::ClientConfig;
use super::recv::{Message, Slots};
use super::session::{Inflight, Pending, PubCommand, Session, Stage, MAX_INCOMING_QOS2};
use super::Sink;
use crate::io::{CloseCause, ConnectError, LinkId, NetAction, TlsSettings};
use crate::radio::Exchange;
use crate::time::Instant;

/// Most bytes one incoming packet may have after its fixed header. A broker
/// that sends more is treated as broken (`+QMTSTAT: c,1`), so a module's
/// receive buffer stays bounded.
pub(crate) const MAX_INCOMING_PACKET: usize = 32 * 1024;

/// The send buffer of one link (16 KiB, Linux's initial `tcp_wmem`, which
/// the EC25's own Linux starts its sockets with): bytes handed to the driver
/// and not yet reported written. A publish, subscribe or unsubscribe that
/// does not fit fails with `<result>` 2, as a Quectel TCP send answers
/// `SEND FAIL` "if the sending buffer is full" (BG96/BG95 TCP/IP application
/// notes, `AT+QISEND`); incoming packets that need an answer are not taken
/// while it is full. docs/decisions.md, "Back-pressure".
pub(crate) const SEND_BUFFER: u64 = 16 * 1024;

/// How long `AT+QMTOPEN` may take before it fails (its maximum response time).
const OPEN_TIMEOUT: Duration = Duration::from_secs(120);

/// `<result>` 2 of `+QMTPUBEX`/`+QMTSUB`/`+QMTUNS`: "failed to send packet".
const SEND_FAILED_RESULT: u8 = 2;

/// `+QMTSTAT` error codes (application note table 3).
pub(crate) mod stat {
    /// Connection closed or reset by the peer. Also the code when the module
    /// closes the link because the broker broke MQTT (garbage, a packet the
    /// state does not allow, one too large): table 3 has no code of its own
    /// for that, and 1's remedy, reopening, is the host's way out
    /// (docs/decisions.md, "+QMTSTAT causes").
    pub(crate) const PEER_CLOSED: u8 = 1;
    /// PINGREQ timed out or failed.
    pub(crate) const PING_TIMEOUT: u8 = 2;
    /// Sending CONNECT timed out or failed.
    pub(crate) const CONNECT_FAILED: u8 = 3;
    /// Receiving CONNACK timed out or failed.
    pub(crate) const CONNACK_TIMEOUT: u8 = 4;
    /// DISCONNECT sent, and the server closed the connection: the normal end.
    pub(crate) const DISCONNECTED: u8 = 5;
    /// The client closed the connection because sending kept failing.
    pub(crate) const SEND_FAILED: u8 = 6;
    /// The link is not alive (the PDP context or the network went away).
    pub(crate) const LINK_DOWN: u8 = 7;
}

/// The TCP link of a client.
#[derive(Clone, Debug)]
pub(crate) enum Link {
    Closed,
    Opening {
        id: LinkId,
        host: String,
        port: u16,
        deadline: Instant,
    },
    Open {
        id: LinkId,
        host: String,
        port: u16,
        conn: Box<Conn>,
    },
}

/// MQTT state on an open link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConnState {
    Initial,
    Connecting { deadline: Instant },
    Connected,
    Disconnecting { deadline: Instant },
}

impl ConnState {
    /// `<state>` of `AT+QMTCONN?`.
    pub(crate) fn number(self) -> u8 {
        match self {
            ConnState::Initial => 1,
            ConnState::Connecting { .. } => 2,
            ConnState::Connected => 3,
            ConnState::Disconnecting { .. } => 4,
        }
    }
}

/// Keep-alive progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ping {
    Idle,
    /// PINGREQ sent at this time.
    Sent(Instant),
    /// `+QMTPING: c,1` reported at this time; `+QMTSTAT: c,2` follows after `qmtping`.
    Failed(Instant),
}

/// An open link's connection state.
#[derive(Clone, Debug)]
pub(crate) struct Conn {
    pub(crate) state: ConnState,
    protocol: Protocol,
    keepalive: u16,
    rx: Vec<u8>,
    paused: bool,
    /// Bytes handed to the driver on this link, and how many of them it
    /// reported written ([`NetEvent::Written`](crate::NetEvent::Written)).
    queued: u64,
    written: u64,
    /// When bytes were last written (or the CONNECT sent): keep-alive counts from here.
    last_written: Instant,
    ping: Ping,
}

impl Conn {
    /// Bytes sent and not yet written.
    fn unwritten(&self) -> u64 {
        self.queued - self.written
    }

    /// Whether `len` more bytes fit in the link's send buffer.
    fn has_room(&self, len: usize) -> bool {
        self.unwritten() + len as u64 <= SEND_BUFFER
    }
}

/// Why `AT+QMTOPEN` is answered with a failing `+QMTOPEN` result at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OpenResult {
    Failed = -1,
    WrongParameter = 1,
    Occupied = 2,
    PdpFailed = 3,
    DnsFailed = 4,
    NetworkError = 5,
}

/// One of the six clients.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) idx: u8,
    pub(crate) cfg: ClientConfig,
    pub(crate) link: Link,
    generation: u32,
    pub(crate) session: Session,
    pub(crate) slots: Slots,
    /// PUBLISH packets the host had sent, and the broker's taken in, since
    /// power-up (`ModuleStatus`, metrics).
    pub(crate) sent: u64,
    pub(crate) received: u64,
}

impl Client {
    pub(crate) fn new(idx: u8) -> Client {
        Client {
            idx,
            cfg: ClientConfig::default(),
            link: Link::Closed,
            generation: 0,
            session: Session::default(),
            slots: Slots::default(),
            sent: 0,
            received: 0,
        }
    }

    pub(crate) fn conn(&self) -> Option<&Conn> {
        match &self.link {
            Link::Open { conn, .. } => Some(conn),
            _ => None,
        }
    }

    fn conn_mut(&mut self) -> Option<&mut Conn> {
        match &mut self.link {
            Link::Open { conn, .. } => Some(conn),
            _ => None,
        }
    }

    /// Bytes sent on the link and not yet written.
    #[cfg(test)]
    pub(crate) fn unwritten(&self) -> u64 {
        self.conn().map_or(0, Conn::unwritten)
    }

    /// Bytes received from the link and not yet decoded.
    #[cfg(test)]
    pub(crate) fn rx_len(&self) -> usize {
        self.conn().map_or(0, |c| c.rx.len())
    }

    pub(crate) fn link_id(&self) -> Option<LinkId> {
        match &self.link {
            Link::Opening { id, .. } | Link::Open { id, .. } => Some(*id),
            Link::Closed => None,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.conn().is_some_and(|c| c.state == ConnState::Connected)
    }

    fn pkt_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.cfg.pkt_timeout))
    }

    // ---- host commands ----------------------------------------------------

    /// `AT+QMTOPEN`: asks the driver for a TCP (or TLS) link.
    pub(crate) fn open(
        &mut self,
        now: Instant,
        host: String,
        port: u16,
        tls: Option<TlsSettings>,
        sink: &mut Sink<'_>,
    ) {
        self.generation = self.generation.wrapping_add(1);
        let id = LinkId::new(self.idx, self.generation);
        sink.net(NetAction::Connect {
            link: id,
            host: host.clone(),
            port,
            tls,
        });
        self.link = Link::Opening {
            id,
            host,
            port,
            deadline: now + OPEN_TIMEOUT,
        };
    }

    /// `AT+QMTCLOSE`: closes the link at once, whatever the MQTT state
    /// (no DISCONNECT: the broker sees the connection drop and sends the Will).
    /// The result comes once the FIN is acknowledged (a round trip on a radio network).
    pub(crate) fn close(&mut self, sink: &mut Sink<'_>) {
        let link = self.link_id();
        if let Some(id) = link {
            sink.net(NetAction::Close { link: id });
        }
        // The results of what was in flight come before the close's own.
        self.end_link(sink);
        let urc = format!("+QMTCLOSE: {},0", self.idx);
        match link {
            Some(id) => sink.urc_after(id, Exchange::Acknowledged, urc),
            None => sink.urc(urc),
        }
    }

    /// `AT+QMTCONN`: sends CONNECT on an open, unconnected link.
    pub(crate) fn connect(
        &mut self,
        now: Instant,
        client_id: String,
        username: Option<String>,
        password: Option<Vec<u8>>,
        sink: &mut Sink<'_>,
    ) -> Result<(), ()> {
        let cfg = &self.cfg;
        let packet = Packet::Connect(Connect {
            protocol: cfg.protocol,
            client_id,
            clean_session: cfg.clean_session,
            keep_alive: cfg.keepalive,
            will: cfg.will.as_ref().map(|w| Will {
                topic: w.topic.clone(),
                payload: w.message.clone(),
                qos: w.qos,
                retain: w.retain,
            }),
            username,
            password,
        });
        let mut bytes = Vec::new();
        packet.encode(&mut bytes).map_err(|_| ())?;
        let (protocol, keepalive, timeout) = (cfg.protocol, cfg.keepalive, self.pkt_timeout());
        let Link::Open { id, conn, .. } = &mut self.link else {
            return Err(());
        };
        if conn.state != ConnState::Initial {
            return Err(());
        }
        conn.protocol = protocol;
        conn.keepalive = keepalive;
        conn.state = ConnState::Connecting {
            deadline: now + timeout,
        };
        conn.last_written = now;
        conn.queued += bytes.len() as u64;
        sink.net(NetAction::Send {
            link: *id,
            data: bytes,
        });
        Ok(())
    }

    /// `AT+QMTDISC`: sends DISCONNECT and waits for the server to close.
    pub(crate) fn disconnect(&mut self, now: Instant, sink: &mut Sink<'_>) -> Result<(), ()> {
        let timeout = self.pkt_timeout();
        let Link::Open { id, conn, .. } = &mut self.link else {
            return Err(());
        };
        if conn.state != ConnState::Connected {
            return Err(());
        }
        conn.state = ConnState::Disconnecting {
            deadline: now + timeout,
        };
        let id = *id;
        self.send(now, id, &Packet::Disconnect, sink);
        Ok(())
    }

    /// True if a new packet with `msg_id` may enter the window.
    pub(crate) fn can_send(&self, msg_id: u16) -> bool {
        self.is_connected()
            && !self.session.window_full()
            && (msg_id == 0 || !self.session.has_id(msg_id))
    }

    /// `AT+QMTPUBEX` / `AT+QMTPUB` once the payload is in.
    pub(crate) fn publish(
        &mut self,
        now: Instant,
        command: PubCommand,
        packet: Publish,
        sink: &mut Sink<'_>,
    ) {
        self.sent += 1;
        if packet.qos == QoS::AtMostOnce {
            if let Some(id) = self.link_id() {
                let pkid = packet.pkid;
                let packet = Packet::Publish(packet);
                if self.send_room(&packet) {
                    self.send(now, id, &packet, sink);
                    // Nothing answers a QoS 0 PUBLISH: done once it has left.
                    let urc = format!("{}: {},{pkid},0", command.urc_name(), self.idx);
                    sink.urc_after(id, Exchange::Sent, urc);
                } else {
                    // The link's send buffer is full: not sent at all.
                    let name = command.urc_name();
                    sink.urc(format!("{name}: {},{pkid},{SEND_FAILED_RESULT}", self.idx));
                }
            }
            return;
        }
        self.request(
            now,
            Pending::Publish {
                command,
                packet,
                stage: Stage::Published,
            },
            sink,
        );
    }

    /// Sends a packet that waits for its acknowledgement in the window
    /// (`AT+QMTSUB`, `AT+QMTUNS`, QoS 1/2 publishes).
    pub(crate) fn request(&mut self, now: Instant, pending: Pending, sink: &mut Sink<'_>) {
        let Some(id) = self.link_id() else { return };
        let packet = pending_packet(&pending, false);
        if !self.send_room(&packet) {
            // The link's send buffer is full: the packet is not sent at all.
            let (name, msg_id) = (pending.urc_name(), pending.msg_id());
            sink.urc(format!(
                "{name}: {},{msg_id},{SEND_FAILED_RESULT}",
                self.idx
            ));
            return;
        }
        let written_by = self.send_tracked(now, id, &packet, sink);
        self.session.inflight.push(Inflight {
            pending,
            deadline: None,
            retries: 0,
            written_by,
        });
    }

    /// Whether `packet` fits in the link's send buffer now.
    fn send_room(&self, packet: &Packet) -> bool {
        let len = packet.encoded_len().unwrap_or(usize::MAX);
        self.conn().is_some_and(|c| c.has_room(len))
    }

    // ---- network events ---------------------------------------------------

    pub(crate) fn on_connected(&mut self, now: Instant, id: LinkId, sink: &mut Sink<'_>) {
        let Link::Opening {
            id: want,
            host,
            port,
            ..
        } = &mut self.link
        else {
            return;
        };
        if *want != id {
            return;
        }
        let (host, port) = (std::mem::take(host), *port);
        self.link = Link::Open {
            id,
            host,
            port,
            conn: Box::new(Conn {
                state: ConnState::Initial,
                protocol: self.cfg.protocol,
                keepalive: 0,
                rx: Vec::new(),
                paused: false,
                queued: 0,
                written: 0,
                last_written: now,
                ping: Ping::Idle,
            }),
        };
        sink.urc(format!("+QMTOPEN: {},0", self.idx));
    }

    pub(crate) fn on_connect_failed(
        &mut self,
        id: LinkId,
        error: &ConnectError,
        sink: &mut Sink<'_>,
    ) {
        if !matches!(&self.link, Link::Opening { id: want, .. } if *want == id) {
            return;
        }
        self.link = Link::Closed;
        let result = match error {
            ConnectError::Dns => OpenResult::DnsFailed,
            ConnectError::Refused | ConnectError::TimedOut => OpenResult::NetworkError,
            _ => OpenResult::Failed,
        };
        sink.urc(format!("+QMTOPEN: {},{}", self.idx, result as i8));
    }

    pub(crate) fn on_closed(&mut self, id: LinkId, cause: CloseCause, sink: &mut Sink<'_>) {
        if self.link_id() != Some(id) {
            return;
        }
        let _ = cause;
        match &self.link {
            Link::Opening { .. } => {
                self.link = Link::Closed;
                sink.urc(format!(
                    "+QMTOPEN: {},{}",
                    self.idx,
                    OpenResult::NetworkError as i8
                ));
            }
            Link::Open { conn, .. } if matches!(conn.state, ConnState::Disconnecting { .. }) => {
                self.end_link(sink);
                sink.urc(format!("+QMTDISC: {},0", self.idx));
                sink.urc(format!("+QMTSTAT: {},{}", self.idx, stat::DISCONNECTED));
            }
            Link::Open { conn, .. } => {
                let code = match conn.state {
                    // The CONNECT never got its answer: the broker hung up on it.
                    ConnState::Connecting { .. } => stat::CONNACK_TIMEOUT,
                    _ => stat::PEER_CLOSED,
                };
                self.end_link(sink);
                sink.urc(format!("+QMTSTAT: {},{code}", self.idx));
            }
            Link::Closed => {}
        }
    }

    pub(crate) fn on_send_failed(&mut self, id: LinkId, sink: &mut Sink<'_>) {
        if self.link_id() != Some(id) {
            return;
        }
        let code = match self.conn().map(|c| c.state) {
            Some(ConnState::Connecting { .. }) => stat::CONNECT_FAILED,
            Some(ConnState::Disconnecting { .. }) => stat::DISCONNECTED,
            _ => stat::SEND_FAILED,
        };
        self.fail(code, sink);
    }

    /// The driver wrote `len` more bytes: the send buffer frees that much,
    /// keep-alive counts from now, and packets now fully written start their
    /// retransmission timers. (Clients blocked on the buffer get another try
    /// in the module's pump that follows every input.)
    pub(crate) fn on_written(&mut self, now: Instant, id: LinkId, len: usize) {
        if self.link_id() != Some(id) {
            return;
        }
        let timeout = self.pkt_timeout();
        let Link::Open { conn, .. } = &mut self.link else {
            return;
        };
        conn.written = conn.written.saturating_add(len as u64).min(conn.queued);
        conn.last_written = now;
        let written = conn.written;
        for entry in &mut self.session.inflight {
            if entry.written_by.is_some_and(|end| end <= written) {
                entry.written_by = None;
                entry.deadline = Some(now + timeout);
            }
        }
    }

    pub(crate) fn on_received(
        &mut self,
        now: Instant,
        id: LinkId,
        data: &[u8],
        sink: &mut Sink<'_>,
    ) {
        if self.link_id() != Some(id) {
            return;
        }
        if let Some(conn) = self.conn_mut() {
            conn.rx.extend_from_slice(data);
        }
        self.process_rx(now, sink);
    }

    /// Decodes and handles what is buffered, as far as the host can take it;
    /// pauses the link when it cannot, so TCP back-pressure reaches the broker
    /// instead of a message being dropped after it was acknowledged.
    pub(crate) fn process_rx(&mut self, now: Instant, sink: &mut Sink<'_>) {
        loop {
            let Link::Open { id, conn, .. } = &mut self.link else {
                return;
            };
            let id = *id;
            if conn.rx.is_empty() {
                break;
            }
            // Room for one more message for the host, and for the answer a
            // packet may need (PUBACK, PUBREC, PUBREL, PUBCOMP: 4 bytes) in
            // the send buffer; without it, the link waits.
            let room = if self.cfg.recv_buffered {
                self.slots.has_room()
            } else {
                sink.urc_room(conn.paused)
            } && conn.has_room(4);
            if conn.paused && !room {
                // Still no room: leave what is buffered undecoded (in order).
                return;
            }
            let decoded = decode(&conn.rx, conn.protocol, MAX_INCOMING_PACKET);
            let (packet, used) = match decoded {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(_) => {
                    self.fail(stat::PEER_CLOSED, sink);
                    return;
                }
            };
            if let Packet::Publish(_) | Packet::Pubrel { .. } | Packet::Pubrec { .. } = &packet {
                if !room {
                    if !conn.paused {
                        conn.paused = true;
                        sink.net(NetAction::PauseReading { link: id });
                    }
                    return;
                }
            }
            conn.rx.drain(..used);
            self.handle_packet(now, id, packet, sink);
        }
        if let Some(conn) = self.conn_mut() {
            if conn.rx.capacity() > 4096 {
                conn.rx.shrink_to_fit();
            }
            if conn.paused {
                conn.paused = false;
                let id = self.link_id().expect("open link");
                sink.net(NetAction::ResumeReading { link: id });
            }
        }
    }

    fn handle_packet(&mut self, now: Instant, id: LinkId, packet: Packet, sink: &mut Sink<'_>) {
        let Some(state) = self.conn().map(|c| c.state) else {
            return;
        };
        match (state, packet) {
            (ConnState::Connecting { .. }, Packet::Connack(ack)) => {
                let code = ack.code.as_u8();
                if ack.code == ConnectReturnCode::Accepted {
                    if let Some(conn) = self.conn_mut() {
                        conn.state = ConnState::Connected;
                    }
                    sink.urc(format!("+QMTCONN: {},0,0", self.idx));
                    if self.cfg.clean_session {
                        // Packets a kept session carried here (the host
                        // switched to a clean session meanwhile) end now.
                        for pending in self.session.clear() {
                            self.report_failed(&pending, sink);
                        }
                    }
                    self.resend_session(now, id, sink);
                } else {
                    // Refused: back to "initial"; the broker closes the link next.
                    if let Some(conn) = self.conn_mut() {
                        conn.state = ConnState::Initial;
                    }
                    sink.urc(format!("+QMTCONN: {},0,{code}", self.idx));
                }
            }
            (ConnState::Connected, Packet::Publish(p)) => self.on_publish(now, id, p, sink),
            (ConnState::Connected, Packet::Puback { pkid }) => self.complete(
                pkid,
                |p| is_publish(p, QoS::AtLeastOnce, Stage::Published),
                None,
                sink,
            ),
            (ConnState::Connected, Packet::Pubrec { pkid }) => {
                let timeout = self.pkt_timeout();
                if let Some(i) = self
                    .session
                    .position(pkid, |p| is_publish(p, QoS::ExactlyOnce, Stage::Published))
                {
                    let entry = &mut self.session.inflight[i];
                    if let Pending::Publish { stage, .. } = &mut entry.pending {
                        *stage = Stage::Released;
                    }
                    entry.deadline = Some(now + timeout);
                    entry.retries = 0;
                }
                // A PUBREC for an unknown identifier is answered too (§4.3.3:
                // the sender must release what the receiver recorded).
                self.send(now, id, &Packet::Pubrel { pkid }, sink);
            }
            (ConnState::Connected, Packet::Pubcomp { pkid }) => self.complete(
                pkid,
                |p| is_publish(p, QoS::ExactlyOnce, Stage::Released),
                None,
                sink,
            ),
            (ConnState::Connected, Packet::Pubrel { pkid }) => {
                self.session.incoming_qos2.retain(|&i| i != pkid);
                self.send(now, id, &Packet::Pubcomp { pkid }, sink);
            }
            (ConnState::Connected, Packet::Suback(ack)) => {
                let codes: Vec<String> = ack
                    .return_codes
                    .iter()
                    .map(|c| match c {
                        SubackCode::Granted(q) => q.as_u8().to_string(),
                        SubackCode::Failure => "128".to_string(),
                    })
                    .collect();
                let values = codes.join(",");
                self.complete(
                    ack.pkid,
                    |p| matches!(p, Pending::Subscribe(_)),
                    Some(values),
                    sink,
                )
            }
            (ConnState::Connected, Packet::Unsuback { pkid }) => {
                self.complete(pkid, |p| matches!(p, Pending::Unsubscribe(_)), None, sink)
            }
            (ConnState::Connected | ConnState::Disconnecting { .. }, Packet::Pingresp) => {
                if let Some(conn) = self.conn_mut() {
                    conn.ping = Ping::Idle;
                }
            }
            // After DISCONNECT, whatever still arrives is of no use.
            (ConnState::Disconnecting { .. }, _) => {}
            // Anything else is a broker breaking the protocol: the module
            // closes the link, as it would on garbage.
            _ => self.fail(stat::PEER_CLOSED, sink),
        }
    }

    fn on_publish(&mut self, now: Instant, id: LinkId, p: Publish, sink: &mut Sink<'_>) {
        let pkid = p.pkid;
        let duplicate = p.qos == QoS::ExactlyOnce && self.session.incoming_qos2.contains(&pkid);
        if !duplicate {
            self.received += 1;
            if p.qos == QoS::ExactlyOnce {
                if self.session.incoming_qos2.len() >= MAX_INCOMING_QOS2 {
                    self.fail(stat::PEER_CLOSED, sink);
                    return;
                }
                self.session.incoming_qos2.push(pkid);
            }
            let msg = Message {
                msg_id: pkid,
                topic: p.topic,
                payload: p.payload,
            };
            if self.cfg.recv_buffered {
                if let Some(slot) = self.slots.store(msg) {
                    sink.urc(format!("+QMTRECV: {},{slot}", self.idx));
                }
            } else {
                sink.urc(msg.line(self.idx, self.cfg.recv_with_length));
            }
        }
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.send(now, id, &Packet::Puback { pkid }, sink),
            QoS::ExactlyOnce => self.send(now, id, &Packet::Pubrec { pkid }, sink),
        }
    }

    /// Removes an acknowledged entry and reports `<result>` 0.
    fn complete(
        &mut self,
        msg_id: u16,
        matches: impl Fn(&Pending) -> bool,
        values: Option<String>,
        sink: &mut Sink<'_>,
    ) {
        let Some(i) = self.session.position(msg_id, matches) else {
            return;
        };
        let entry = self.session.inflight.remove(i);
        let mut urc = format!("{}: {},{msg_id},0", entry.pending.urc_name(), self.idx);
        if let Some(v) = values {
            urc.push(',');
            urc.push_str(&v);
        }
        sink.urc(urc);
    }

    /// After a CONNACK of a kept session: PUBLISH (DUP) and PUBREL again, in order.
    /// Packets that do not fit in the send buffer are due at once instead,
    /// and go out as retransmissions when it has room.
    fn resend_session(&mut self, now: Instant, id: LinkId, sink: &mut Sink<'_>) {
        for i in 0..self.session.inflight.len() {
            let packet = pending_packet(&self.session.inflight[i].pending, true);
            let written_by = if self.send_room(&packet) {
                self.send_tracked(now, id, &packet, sink)
            } else {
                None
            };
            let entry = &mut self.session.inflight[i];
            entry.written_by = written_by;
            entry.deadline = written_by.is_none().then_some(now);
        }
    }

    // ---- time -------------------------------------------------------------

    /// The earliest time this client needs [`on_timeout`](Self::on_timeout).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match &self.link {
            Link::Closed => None,
            Link::Opening { deadline, .. } => Some(*deadline),
            Link::Open { conn, .. } => {
                let state = match conn.state {
                    ConnState::Connecting { deadline } | ConnState::Disconnecting { deadline } => {
                        Some(deadline)
                    }
                    _ => None,
                };
                let inflight = if conn.state == ConnState::Connected {
                    self.session
                        .inflight
                        .iter()
                        .filter_map(|i| i.deadline)
                        .min()
                } else {
                    None
                };
                let ping =
                    (conn.state == ConnState::Connected && conn.keepalive > 0).then(|| match conn
                        .ping
                    {
                        Ping::Idle => {
                            conn.last_written + Duration::from_secs(u64::from(conn.keepalive))
                        }
                        Ping::Sent(at) => at + self.pkt_timeout(),
                        Ping::Failed(at) => at + Duration::from_secs(u64::from(self.cfg.qmtping)),
                    });
                [state, inflight, ping].into_iter().flatten().min()
            }
        }
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, sink: &mut Sink<'_>) {
        match &self.link {
            Link::Closed => {}
            Link::Opening { id, deadline, .. } => {
                if *deadline <= now {
                    sink.net(NetAction::Close { link: *id });
                    self.link = Link::Closed;
                    sink.urc(format!(
                        "+QMTOPEN: {},{}",
                        self.idx,
                        OpenResult::NetworkError as i8
                    ));
                }
            }
            Link::Open { id, conn, .. } => {
                let id = *id;
                match conn.state {
                    ConnState::Connecting { deadline } if deadline <= now => {
                        sink.urc(format!("+QMTCONN: {},2", self.idx));
                        self.fail(stat::CONNACK_TIMEOUT, sink);
                    }
                    ConnState::Disconnecting { deadline } if deadline <= now => {
                        // The server did not close: close from this side.
                        sink.net(NetAction::Close { link: id });
                        self.end_link(sink);
                        sink.urc(format!("+QMTDISC: {},0", self.idx));
                        sink.urc(format!("+QMTSTAT: {},{}", self.idx, stat::DISCONNECTED));
                    }
                    ConnState::Connected => {
                        self.retransmit_due(now, id, sink);
                        if self.is_connected() {
                            self.keepalive_due(now, id, sink);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn retransmit_due(&mut self, now: Instant, id: LinkId, sink: &mut Sink<'_>) {
        let timeout = self.pkt_timeout();
        let mut i = 0;
        while i < self.session.inflight.len() {
            let entry = &mut self.session.inflight[i];
            if entry.deadline.is_none_or(|d| d > now) {
                i += 1;
                continue;
            }
            if entry.retries >= self.cfg.retry_times {
                // This packet fails; closing the connection (+QMTSTAT: c,6)
                // ends the others in flight as the session says (end_link).
                let failed = self.session.inflight.remove(i);
                self.report_failed(&failed.pending, sink);
                self.fail(stat::SEND_FAILED, sink);
                return;
            }
            let packet = pending_packet(&entry.pending, true);
            if !self.send_room(&packet) {
                // Nothing of it can go out now (the send buffer is full):
                // try again a timeout later, without counting a retry.
                self.session.inflight[i].deadline = Some(now + timeout);
                i += 1;
                continue;
            }
            let entry = &mut self.session.inflight[i];
            entry.retries += 1;
            entry.deadline = None;
            let notice = format!(
                "{}: {},{},1,{}",
                entry.pending.urc_name(),
                self.idx,
                entry.pending.msg_id(),
                entry.retries
            );
            let notice = self.cfg.timeout_notice.then_some(notice);
            let written_by = self.send_tracked(now, id, &packet, sink);
            self.session.inflight[i].written_by = written_by;
            if let Some(n) = notice {
                sink.urc(n);
            }
            i += 1;
        }
    }

    fn keepalive_due(&mut self, now: Instant, id: LinkId, sink: &mut Sink<'_>) {
        let pkt_timeout = self.pkt_timeout();
        let qmtping = Duration::from_secs(u64::from(self.cfg.qmtping));
        let idx = self.idx;
        let Some(conn) = self.conn_mut() else { return };
        if conn.keepalive == 0 {
            return;
        }
        let keepalive = Duration::from_secs(u64::from(conn.keepalive));
        match conn.ping {
            Ping::Idle if conn.last_written + keepalive <= now => {
                conn.ping = Ping::Sent(now);
                self.send(now, id, &Packet::Pingreq, sink);
            }
            Ping::Sent(at) if at + pkt_timeout <= now => {
                conn.ping = Ping::Failed(now);
                sink.urc(format!("+QMTPING: {idx},1"));
            }
            Ping::Failed(at) if at + qmtping <= now => self.fail(stat::PING_TIMEOUT, sink),
            _ => {}
        }
    }

    // ---- link end ---------------------------------------------------------

    /// The module gives up on the link: close it and report `+QMTSTAT: c,code`.
    pub(crate) fn fail(&mut self, code: u8, sink: &mut Sink<'_>) {
        if let Some(id) = self.link_id() {
            sink.net(NetAction::Close { link: id });
        }
        self.end_link(sink);
        sink.urc(format!("+QMTSTAT: {},{code}", self.idx));
    }

    /// Forgets the link; the session keeps what MQTT says it keeps, and
    /// every packet it does not keep gets its final result, 2, now (before
    /// the caller reports the link's end).
    fn end_link(&mut self, sink: &mut Sink<'_>) {
        self.link = Link::Closed;
        for pending in self.session.on_link_lost(self.cfg.clean_session) {
            self.report_failed(&pending, sink);
        }
    }

    /// `<result>` 2, "failed to send packet": the final result of a packet
    /// that will not be acknowledged.
    fn report_failed(&self, pending: &Pending, sink: &mut Sink<'_>) {
        sink.urc(format!(
            "{}: {},{},2",
            pending.urc_name(),
            self.idx,
            pending.msg_id()
        ));
    }

    /// Reset at power-down or restart: links dropped, configuration to defaults.
    pub(crate) fn reset(&mut self, sink: &mut Sink<'_>) {
        if let Some(id) = self.link_id() {
            sink.net(NetAction::Close { link: id });
        }
        let generation = self.generation;
        *self = Client::new(self.idx);
        self.generation = generation;
    }

    /// Hands `packet` to the driver. Protocol answers and
    /// PINGREQ/DISCONNECT go out even into a full send buffer: they are few
    /// (incoming packets needing one wait for room), so the buffer's overrun
    /// stays a few bytes.
    fn send(&mut self, now: Instant, id: LinkId, packet: &Packet, sink: &mut Sink<'_>) {
        self.send_tracked(now, id, packet, sink);
    }

    /// [`send`](Self::send), returning the link's count of bytes written at
    /// which the packet will have been written.
    fn send_tracked(
        &mut self,
        _now: Instant,
        id: LinkId,
        packet: &Packet,
        sink: &mut Sink<'_>,
    ) -> Option<u64> {
        let mut data = Vec::with_capacity(packet.encoded_len().unwrap_or(0));
        if packet.encode(&mut data).is_err() {
            // Commands validate what they put in packets; nothing else is encoded.
            return None;
        }
        let conn = self.conn_mut()?;
        conn.queued += data.len() as u64;
        let end = conn.queued;
        sink.net(NetAction::Send { link: id, data });
        Some(end)
    }
}

fn is_publish(p: &Pending, qos: QoS, want: Stage) -> bool {
    matches!(p, Pending::Publish { packet, stage, .. } if packet.qos == qos && *stage == want)
}

/// The packet to (re)send for a pending entry; `dup` marks a PUBLISH re-sent.
pub(crate) fn pending_packet(p: &Pending, dup: bool) -> Packet {
    match p {
        Pending::Publish {
            packet,
            stage: Stage::Published,
            ..
        } => Packet::Publish(Publish {
            dup,
            ..packet.clone()
        }),
        Pending::Publish {
            packet,
            stage: Stage::Released,
            ..
        } => Packet::Pubrel { pkid: packet.pkid },
        Pending::Subscribe(s) => Packet::Subscribe(s.clone()),
        Pending::Unsubscribe(u) => Packet::Unsubscribe(u.clone()),
    }
}
