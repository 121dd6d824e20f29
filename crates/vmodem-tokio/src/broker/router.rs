//! The broker's state: sessions, subscriptions, retained messages and the
//! queues between them, with every one of them bounded ([`Limits`]).
//!
//! No I/O and no clock: connection tasks call in under one lock, take the
//! packets they may send, and are woken ([`Notify`]) when there are more. The
//! rules are MQTT 3.1.1's (which 3.1 shares for everything a broker does):
//!
//! - delivery at the minimum of the publication's and the subscription's QoS
//!   (§3.8.4), once per client even when several of its filters match, at the
//!   highest QoS among them (§3.3.5 allows either; mosquitto does the same);
//! - RETAIN set only on messages sent because of a new subscription
//!   ([MQTT-3.3.1-8/9]), a retained message with an empty payload clears it
//!   ([MQTT-3.3.1-10/11]);
//! - filters starting with a wildcard do not match `$` topics ([MQTT-4.7.2-1]);
//! - a clean_session=0 session keeps its subscriptions, its QoS 1/2
//!   messages in flight and the ones queued while it is away (§4.1), and sends
//!   the ones in flight again, with DUP, when the client comes back
//!   ([MQTT-4.4.0-1]); QoS 0 messages are not queued for an absent client.
//!
//! When a queue is full the new message is dropped for that session (and
//! counted in [`Stats::dropped`]), as mosquitto does past
//! `max_queued_messages`: one slow subscriber never holds up the publisher
//! or the other subscribers, and the broker's memory stays within
//! [`Limits::max_queued_bytes`] whatever the traffic.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::Notify;
use vmodem_mqtt::{ConnectReturnCode, Packet, Publish, QoS, SubackCode, SubscribeFilter};

/// The bounds the broker keeps to; see each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Connections at once (more get CONNACK 3, "server unavailable").
    pub max_connections: usize,
    /// Sessions, connected or kept for clean_session=0 clients.
    pub max_sessions: usize,
    /// Largest packet accepted, as its remaining length; a larger one closes
    /// the connection (3.1.1 §4.8).
    pub max_packet: usize,
    /// Messages sent to one client and not yet acknowledged (mosquitto's
    /// `max_inflight_messages`, default 20).
    pub max_inflight: usize,
    /// Messages waiting for one session beyond those in flight (mosquitto's
    /// `max_queued_messages`, default 1000); more are dropped.
    pub max_queued_messages: usize,
    /// Bytes (topic + payload) of every message waiting or in flight, all
    /// sessions together; past it new messages are dropped.
    pub max_queued_bytes: usize,
    /// Retained topics; a retained message for a new topic past it is
    /// delivered but not kept.
    pub max_retained: usize,
    /// Bytes of all retained messages together, the same way.
    pub max_retained_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A fleet of modules plus the tools watching them.
            max_connections: 10_010,
            max_sessions: 20_000,
            max_packet: 1024 * 1024,
            max_inflight: 20,
            max_queued_messages: 1000,
            max_queued_bytes: 256 * 1024 * 1024,
            max_retained: 10_000,
            max_retained_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Counters and levels, for tests and the bounds they check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections with an accepted CONNECT.
    pub connections: usize,
    /// Sessions (connected and kept).
    pub sessions: usize,
    /// Messages waiting in all sessions' queues (not yet sent).
    pub queued_messages: usize,
    /// Messages sent and not yet acknowledged, all sessions.
    pub inflight_messages: usize,
    /// Bytes held for waiting and in-flight messages.
    pub queued_bytes: usize,
    /// Retained topics.
    pub retained: usize,
    /// Messages received from clients.
    pub received: u64,
    /// Messages dropped for a session because a bound was reached.
    pub dropped: u64,
}

pub(crate) type SessionId = u64;
pub(crate) type ConnId = u64;

/// A message as routed: shared by every session it is queued for.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) topic: String,
    pub(crate) payload: Bytes,
    pub(crate) qos: QoS,
}

impl Message {
    fn size(&self) -> usize {
        self.topic.len() + self.payload.len()
    }
}

#[derive(Debug)]
struct Queued {
    message: Arc<Message>,
    qos: QoS,
    retain: bool,
}

#[derive(Debug)]
struct Inflight {
    pkid: u16,
    queued: Queued,
    /// QoS 2: PUBREC received, PUBREL sent, waiting for PUBCOMP.
    released: bool,
}

/// The connection a session is attached to.
#[derive(Debug)]
struct Conn {
    id: ConnId,
    wake: Arc<Notify>,
    kick: Arc<Notify>,
}

#[derive(Debug)]
struct Session {
    client_id: String,
    clean: bool,
    conn: Option<Conn>,
    subscriptions: BTreeMap<String, QoS>,
    queue: VecDeque<Queued>,
    inflight: VecDeque<Inflight>,
    /// In-flight packets to send again (after a reconnect), from the front.
    resend: usize,
    next_pkid: u16,
    /// QoS 2 messages received and delivered, waiting for PUBREL (method B
    /// of §4.3.3 on the receiving side: a re-sent PUBLISH is not routed twice).
    incoming_qos2: BTreeSet<u16>,
}

/// What a connection gets when its CONNECT is accepted.
#[derive(Debug)]
pub(crate) struct Attached {
    pub(crate) session: SessionId,
    pub(crate) conn: ConnId,
    pub(crate) session_present: bool,
    /// Woken when the session has packets to send.
    pub(crate) wake: Arc<Notify>,
    /// Woken when another connection takes the session over.
    pub(crate) kick: Arc<Notify>,
}

/// Sessions, subscriptions and retained messages.
#[derive(Debug, Default)]
pub(crate) struct Router {
    limits: Limits,
    sessions: HashMap<SessionId, Session>,
    by_client_id: HashMap<String, SessionId>,
    /// Filters without wildcards, looked up by topic.
    exact: HashMap<String, BTreeMap<SessionId, QoS>>,
    /// Filters with `+` or `#`, matched one by one.
    wildcard: BTreeMap<String, BTreeMap<SessionId, QoS>>,
    retained: BTreeMap<String, Arc<Message>>,
    retained_bytes: usize,
    next_id: u64,
    stats: Stats,
}

impl Router {
    pub(crate) fn new(limits: Limits) -> Router {
        Router {
            limits,
            ..Router::default()
        }
    }

    pub(crate) fn limits(&self) -> &Limits {
        &self.limits
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            sessions: self.sessions.len(),
            retained: self.retained.len(),
            ..self.stats
        }
    }

    /// Attaches a connection to the session of `client_id` (made anew with
    /// `clean`). The caller wakes the returned `kick` of a connection the
    /// session had, which then closes (a takeover, [MQTT-3.1.4-2]).
    pub(crate) fn connect(
        &mut self,
        client_id: &str,
        clean: bool,
    ) -> Result<(Attached, Option<Arc<Notify>>), ConnectReturnCode> {
        if self.stats.connections >= self.limits.max_connections {
            return Err(ConnectReturnCode::ServerUnavailable);
        }
        let mut kicked = None;
        let existing = self.by_client_id.get(client_id).copied();
        if let Some(id) = existing {
            if let Some(conn) = self.sessions.get_mut(&id).and_then(|s| s.conn.take()) {
                self.stats.connections = self.stats.connections.saturating_sub(1);
                kicked = Some(conn.kick);
            }
        }
        let existing = match existing {
            Some(id) if clean || self.sessions.get(&id).is_some_and(|s| s.clean) => {
                self.remove_session(id);
                None
            }
            other => other,
        };
        let session_present = existing.is_some();
        let session = match existing {
            Some(id) => id,
            None => {
                if self.sessions.len() >= self.limits.max_sessions {
                    return Err(ConnectReturnCode::ServerUnavailable);
                }
                let id = self.new_id();
                self.sessions.insert(
                    id,
                    Session {
                        client_id: client_id.to_owned(),
                        clean,
                        conn: None,
                        subscriptions: BTreeMap::new(),
                        queue: VecDeque::new(),
                        inflight: VecDeque::new(),
                        resend: 0,
                        next_pkid: 1,
                        incoming_qos2: BTreeSet::new(),
                    },
                );
                self.by_client_id.insert(client_id.to_owned(), id);
                id
            }
        };
        let conn = self.new_id();
        let wake = Arc::new(Notify::new());
        let kick = Arc::new(Notify::new());
        let state = self.sessions.get_mut(&session).expect("the session exists");
        state.clean = clean;
        state.resend = state.inflight.len();
        state.conn = Some(Conn {
            id: conn,
            wake: wake.clone(),
            kick: kick.clone(),
        });
        self.stats.connections += 1;
        // Anything kept for the session goes out at once.
        wake.notify_one();
        Ok((
            Attached {
                session,
                conn,
                session_present,
                wake,
                kick,
            },
            kicked,
        ))
    }

    /// The connection `conn` of `session` has ended: a clean session goes,
    /// a kept one waits for its client.
    pub(crate) fn disconnect(&mut self, session: SessionId, conn: ConnId) {
        let Some(state) = self.sessions.get_mut(&session) else {
            return;
        };
        if state.conn.as_ref().is_none_or(|c| c.id != conn) {
            // Taken over meanwhile: the session is the new connection's.
            return;
        }
        state.conn = None;
        self.stats.connections = self.stats.connections.saturating_sub(1);
        if state.clean {
            self.remove_session(session);
        } else {
            // QoS 0 messages are for connected clients only.
            let (mut freed, mut dropped) = (0, 0);
            state.queue.retain(|q| {
                let keep = q.qos != QoS::AtMostOnce;
                if !keep {
                    freed += q.message.size();
                    dropped += 1;
                }
                keep
            });
            self.stats.queued_bytes = self.stats.queued_bytes.saturating_sub(freed);
            self.stats.queued_messages = self.stats.queued_messages.saturating_sub(dropped);
        }
    }

    /// Adds subscriptions, queues the retained messages they match, and
    /// returns the SUBACK codes (every filter granted at the QoS asked).
    pub(crate) fn subscribe(
        &mut self,
        session: SessionId,
        filters: &[SubscribeFilter],
    ) -> Vec<SubackCode> {
        let mut codes = Vec::with_capacity(filters.len());
        for f in filters {
            let Some(state) = self.sessions.get_mut(&session) else {
                break;
            };
            state.subscriptions.insert(f.filter.clone(), f.qos);
            let index = if is_wildcard(&f.filter) {
                self.wildcard.entry(f.filter.clone()).or_default()
            } else {
                self.exact.entry(f.filter.clone()).or_default()
            };
            index.insert(session, f.qos);
            codes.push(SubackCode::Granted(f.qos));
            // [MQTT-3.8.4-3]: retained messages for the (re)placed subscription.
            let retained: Vec<Arc<Message>> = if is_wildcard(&f.filter) {
                self.retained
                    .iter()
                    .filter(|(topic, _)| matches(&f.filter, topic))
                    .map(|(_, m)| m.clone())
                    .collect()
            } else {
                self.retained.get(&f.filter).cloned().into_iter().collect()
            };
            for message in retained {
                let qos = message.qos.min(f.qos);
                self.enqueue(session, message, qos, true);
            }
        }
        codes
    }

    /// Removes subscriptions; filters the session never had are no error
    /// (UNSUBACK is sent all the same, [MQTT-3.10.4-5]).
    pub(crate) fn unsubscribe(&mut self, session: SessionId, filters: &[String]) {
        let Some(state) = self.sessions.get_mut(&session) else {
            return;
        };
        for filter in filters {
            if state.subscriptions.remove(filter).is_some() {
                unindex(&mut self.exact, &mut self.wildcard, filter, session);
            }
        }
    }

    /// Routes a message from a client (or a will) to every matching session
    /// and keeps or clears it as retained.
    pub(crate) fn publish(&mut self, topic: String, payload: Bytes, qos: QoS, retain: bool) {
        self.stats.received += 1;
        let message = Arc::new(Message {
            topic,
            payload,
            qos,
        });
        if retain {
            self.retain(&message);
        }
        let mut targets: BTreeMap<SessionId, QoS> = BTreeMap::new();
        let mut add = |subscribers: &BTreeMap<SessionId, QoS>| {
            for (&session, &granted) in subscribers {
                let entry = targets.entry(session).or_insert(granted);
                *entry = (*entry).max(granted);
            }
        };
        if let Some(subscribers) = self.exact.get(&message.topic) {
            add(subscribers);
        }
        for (filter, subscribers) in &self.wildcard {
            if matches(filter, &message.topic) {
                add(subscribers);
            }
        }
        for (session, granted) in targets {
            self.enqueue(session, message.clone(), qos.min(granted), false);
        }
    }

    fn retain(&mut self, message: &Arc<Message>) {
        if message.payload.is_empty() {
            if let Some(old) = self.retained.remove(&message.topic) {
                self.retained_bytes = self.retained_bytes.saturating_sub(old.size());
            }
            return;
        }
        let old = self.retained.get(&message.topic).map_or(0, |m| m.size());
        let new_topic = old == 0 && !self.retained.contains_key(&message.topic);
        let bytes = self.retained_bytes.saturating_sub(old) + message.size();
        if (new_topic && self.retained.len() >= self.limits.max_retained)
            || bytes > self.limits.max_retained_bytes
        {
            tracing::debug!(topic = %message.topic, "retained store full: message not kept");
            return;
        }
        self.retained_bytes = bytes;
        self.retained.insert(message.topic.clone(), message.clone());
    }

    fn enqueue(&mut self, session: SessionId, message: Arc<Message>, qos: QoS, retain: bool) {
        let Some(state) = self.sessions.get_mut(&session) else {
            return;
        };
        let absent = state.conn.is_none();
        let size = message.size();
        if (absent && qos == QoS::AtMostOnce)
            || state.queue.len() >= self.limits.max_queued_messages
            || self.stats.queued_bytes + size > self.limits.max_queued_bytes
        {
            if !(absent && qos == QoS::AtMostOnce) {
                self.stats.dropped += 1;
            }
            return;
        }
        state.queue.push_back(Queued {
            message,
            qos,
            retain,
        });
        self.stats.queued_bytes += size;
        self.stats.queued_messages += 1;
        if let Some(conn) = &state.conn {
            conn.wake.notify_one();
        }
    }

    /// Appends to `out` what `conn` may send now for `session`: in-flight
    /// messages to send again, then queued ones while the in-flight window
    /// has room. Empty if the connection no longer owns the session.
    pub(crate) fn take_sendable(
        &mut self,
        session: SessionId,
        conn: ConnId,
        out: &mut Vec<Packet>,
    ) {
        let max_inflight = self.limits.max_inflight;
        let Some(state) = self.sessions.get_mut(&session) else {
            return;
        };
        if state.conn.as_ref().is_none_or(|c| c.id != conn) {
            return;
        }
        let first = state.inflight.len().saturating_sub(state.resend);
        for inflight in state.inflight.range(first..) {
            out.push(if inflight.released {
                Packet::Pubrel {
                    pkid: inflight.pkid,
                }
            } else {
                publish_packet(&inflight.queued, inflight.pkid, true)
            });
        }
        state.resend = 0;
        let mut freed = 0;
        while let Some(queued) = state.queue.front() {
            if queued.qos != QoS::AtMostOnce && state.inflight.len() >= max_inflight {
                break;
            }
            let queued = state.queue.pop_front().expect("a queued message");
            self.stats.queued_messages = self.stats.queued_messages.saturating_sub(1);
            if queued.qos == QoS::AtMostOnce {
                out.push(publish_packet(&queued, 0, false));
                freed += queued.message.size();
                continue;
            }
            let pkid = next_pkid(state);
            out.push(publish_packet(&queued, pkid, false));
            state.inflight.push_back(Inflight {
                pkid,
                queued,
                released: false,
            });
            self.stats.inflight_messages += 1;
        }
        self.stats.queued_bytes = self.stats.queued_bytes.saturating_sub(freed);
    }

    /// PUBACK (QoS 1) or PUBCOMP (QoS 2) from the client: the message is done.
    pub(crate) fn acknowledged(&mut self, session: SessionId, pkid: u16, pubcomp: bool) {
        let Some(state) = self.sessions.get_mut(&session) else {
            return;
        };
        let Some(at) = state.inflight.iter().position(|i| {
            i.pkid == pkid && i.released == pubcomp && (i.queued.qos == QoS::ExactlyOnce) == pubcomp
        }) else {
            return;
        };
        let done = state.inflight.remove(at).expect("found");
        self.stats.inflight_messages = self.stats.inflight_messages.saturating_sub(1);
        self.stats.queued_bytes = self
            .stats
            .queued_bytes
            .saturating_sub(done.queued.message.size());
        if let Some(conn) = &state.conn {
            // The window has room again.
            conn.wake.notify_one();
        }
    }

    /// PUBREC from the client: true if a PUBREL is due (also for a PUBREC
    /// repeated after a reconnect).
    pub(crate) fn received(&mut self, session: SessionId, pkid: u16) -> bool {
        let Some(state) = self.sessions.get_mut(&session) else {
            return false;
        };
        match state
            .inflight
            .iter_mut()
            .find(|i| i.pkid == pkid && i.queued.qos == QoS::ExactlyOnce)
        {
            Some(inflight) => {
                inflight.released = true;
                true
            }
            None => false,
        }
    }

    /// A QoS 2 PUBLISH arrived: true if it is new (to be routed), false if
    /// it is a copy of one not yet released.
    pub(crate) fn incoming_qos2(&mut self, session: SessionId, pkid: u16) -> bool {
        self.sessions
            .get_mut(&session)
            .is_some_and(|s| s.incoming_qos2.insert(pkid))
    }

    /// PUBREL from the client.
    pub(crate) fn release(&mut self, session: SessionId, pkid: u16) {
        if let Some(state) = self.sessions.get_mut(&session) {
            state.incoming_qos2.remove(&pkid);
        }
    }

    /// Whether `client_id` has a session (for tests).
    #[cfg(test)]
    fn has_session(&self, client_id: &str) -> bool {
        self.by_client_id.contains_key(client_id)
    }

    fn remove_session(&mut self, id: SessionId) {
        let Some(state) = self.sessions.remove(&id) else {
            return;
        };
        self.by_client_id.remove(&state.client_id);
        for filter in state.subscriptions.keys() {
            unindex(&mut self.exact, &mut self.wildcard, filter, id);
        }
        let freed: usize = state
            .queue
            .iter()
            .map(|q| q.message.size())
            .chain(state.inflight.iter().map(|i| i.queued.message.size()))
            .sum();
        let stats = &mut self.stats;
        stats.queued_bytes = stats.queued_bytes.saturating_sub(freed);
        stats.queued_messages = stats.queued_messages.saturating_sub(state.queue.len());
        stats.inflight_messages = stats.inflight_messages.saturating_sub(state.inflight.len());
    }

    /// A client identifier for a 3.1.1 client that sent an empty one
    /// ([MQTT-3.1.3-6]), unique among the sessions.
    pub(crate) fn assign_client_id(&mut self) -> String {
        loop {
            let id = format!("vmodem-auto-{}", self.new_id());
            if !self.by_client_id.contains_key(&id) {
                return id;
            }
        }
    }

    fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

fn unindex(
    exact: &mut HashMap<String, BTreeMap<SessionId, QoS>>,
    wildcard: &mut BTreeMap<String, BTreeMap<SessionId, QoS>>,
    filter: &str,
    session: SessionId,
) {
    if is_wildcard(filter) {
        if let Some(subscribers) = wildcard.get_mut(filter) {
            subscribers.remove(&session);
            if subscribers.is_empty() {
                wildcard.remove(filter);
            }
        }
    } else if let Some(subscribers) = exact.get_mut(filter) {
        subscribers.remove(&session);
        if subscribers.is_empty() {
            exact.remove(filter);
        }
    }
}

fn next_pkid(state: &mut Session) -> u16 {
    loop {
        let pkid = state.next_pkid;
        state.next_pkid = state.next_pkid.checked_add(1).unwrap_or(1);
        // At most `max_inflight` (far below 65535) are taken.
        if !state.inflight.iter().any(|i| i.pkid == pkid) {
            return pkid;
        }
    }
}

fn publish_packet(queued: &Queued, pkid: u16, dup: bool) -> Packet {
    Packet::Publish(Publish {
        dup: dup && queued.qos != QoS::AtMostOnce,
        qos: queued.qos,
        retain: queued.retain,
        topic: queued.message.topic.clone(),
        pkid,
        payload: queued.message.payload.clone(),
    })
}

fn is_wildcard(filter: &str) -> bool {
    filter.contains(['+', '#'])
}

/// Whether `filter` matches `topic` (§4.7.1; wildcards at the first level do
/// not match topics starting with `$`, [MQTT-4.7.2-1]).
pub(crate) fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        match level {
            // `#` also matches the parent level: `a/#` matches `a`.
            "#" => return true,
            "+" => {
                if topic_levels.next().is_none() {
                    return false;
                }
            }
            exact => {
                if topic_levels.next() != Some(exact) {
                    return false;
                }
            }
        }
    }
    topic_levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(filter: &str, qos: QoS) -> SubscribeFilter {
        SubscribeFilter {
            filter: filter.to_owned(),
            qos,
        }
    }

    fn take(router: &mut Router, a: &Attached) -> Vec<Packet> {
        let mut out = Vec::new();
        router.take_sendable(a.session, a.conn, &mut out);
        out
    }

    fn publishes(packets: &[Packet]) -> Vec<(String, QoS, bool, bool)> {
        packets
            .iter()
            .filter_map(|p| match p {
                Packet::Publish(p) => Some((
                    String::from_utf8_lossy(&p.payload).into_owned(),
                    p.qos,
                    p.retain,
                    p.dup,
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn wildcards_follow_4_7() {
        assert!(matches("a/+/c", "a/b/c"));
        assert!(!matches("a/+/c", "a/b/d"));
        assert!(matches("a/#", "a"));
        assert!(matches("a/#", "a/b/c"));
        assert!(matches("#", "a/b"));
        assert!(matches("+/+", "/x"));
        assert!(!matches("+", "a/b"));
        assert!(!matches("#", "$SYS/x"));
        assert!(!matches("+/x", "$SYS/x"));
        assert!(matches("$SYS/#", "$SYS/x"));
        assert!(!matches("a/b", "a/b/c"));
        assert!(!matches("a/b/c", "a/b"));
    }

    #[test]
    fn delivers_at_the_lower_qos_once_per_client() {
        let mut router = Router::new(Limits::default());
        let (sub, _) = router.connect("sub", true).unwrap();
        router.subscribe(
            sub.session,
            &[filter("t", QoS::AtLeastOnce), filter("#", QoS::AtMostOnce)],
        );
        router.publish("t".into(), "a".into(), QoS::ExactlyOnce, false);
        router.publish("t".into(), "b".into(), QoS::AtMostOnce, false);
        let sent = publishes(&take(&mut router, &sub));
        assert_eq!(
            sent,
            [
                ("a".into(), QoS::AtLeastOnce, false, false),
                ("b".into(), QoS::AtMostOnce, false, false)
            ]
        );
    }

    #[test]
    fn a_full_queue_drops_and_memory_stays_bounded() {
        let limits = Limits {
            max_inflight: 2,
            max_queued_messages: 3,
            ..Limits::default()
        };
        let mut router = Router::new(limits);
        let (sub, _) = router.connect("slow", true).unwrap();
        router.subscribe(sub.session, &[filter("t", QoS::AtLeastOnce)]);
        for _ in 0..100 {
            router.publish(
                "t".into(),
                Bytes::from(vec![0u8; 99]),
                QoS::AtLeastOnce,
                false,
            );
        }
        let stats = router.stats();
        assert_eq!(stats.queued_messages, 3);
        assert_eq!(stats.dropped, 97);
        assert_eq!(stats.queued_bytes, 3 * 100);
        // Two go out (the window), one waits; acknowledging one lets it go.
        assert_eq!(take(&mut router, &sub).len(), 2);
        assert!(take(&mut router, &sub).is_empty());
        router.acknowledged(sub.session, 1, false);
        assert_eq!(take(&mut router, &sub).len(), 1);
        assert_eq!(router.stats().queued_bytes, 2 * 100);
    }

    #[test]
    fn the_global_byte_bound_holds_across_sessions() {
        let limits = Limits {
            max_queued_bytes: 1000,
            ..Limits::default()
        };
        let mut router = Router::new(limits);
        for n in 0..10 {
            let (s, _) = router.connect(&format!("s{n}"), true).unwrap();
            router.subscribe(s.session, &[filter("t", QoS::AtLeastOnce)]);
        }
        for _ in 0..10 {
            router.publish(
                "t".into(),
                Bytes::from(vec![0u8; 49]),
                QoS::AtLeastOnce,
                false,
            );
        }
        assert_eq!(router.stats().queued_bytes, 1000);
        assert_eq!(router.stats().dropped, 80);
    }

    #[test]
    fn a_kept_session_resends_in_flight_with_dup_and_queues_while_away() {
        let mut router = Router::new(Limits::default());
        let (first, _) = router.connect("keep", false).unwrap();
        assert!(!first.session_present);
        router.subscribe(first.session, &[filter("t", QoS::ExactlyOnce)]);
        router.publish("t".into(), "one".into(), QoS::AtLeastOnce, false);
        router.publish("t".into(), "two".into(), QoS::ExactlyOnce, false);
        assert_eq!(take(&mut router, &first).len(), 2);
        assert!(router.received(first.session, 2), "PUBREC for QoS 2");
        router.disconnect(first.session, first.conn);
        router.publish("t".into(), "three".into(), QoS::AtLeastOnce, false);
        router.publish("t".into(), "zero".into(), QoS::AtMostOnce, false);

        let (again, kicked) = router.connect("keep", false).unwrap();
        assert!(again.session_present);
        assert!(kicked.is_none());
        let sent = take(&mut router, &again);
        assert_eq!(sent[1], Packet::Pubrel { pkid: 2 });
        assert_eq!(
            publishes(&sent),
            [
                ("one".into(), QoS::AtLeastOnce, false, true),
                ("three".into(), QoS::AtLeastOnce, false, false)
            ]
        );
    }

    #[test]
    fn a_clean_session_goes_with_its_connection_and_a_takeover_kicks() {
        let mut router = Router::new(Limits::default());
        let (first, _) = router.connect("dev", true).unwrap();
        router.subscribe(first.session, &[filter("t", QoS::AtLeastOnce)]);
        let (second, kicked) = router.connect("dev", true).unwrap();
        assert!(kicked.is_some(), "the first connection is told to go");
        // The first connection's end does not detach the second.
        router.disconnect(first.session, first.conn);
        router.publish("t".into(), "x".into(), QoS::AtLeastOnce, false);
        assert!(take(&mut router, &second).is_empty(), "a clean start");
        router.disconnect(second.session, second.conn);
        assert!(!router.has_session("dev"));
        assert_eq!(router.stats().connections, 0);
    }

    #[test]
    fn retained_messages_are_kept_cleared_and_bounded() {
        let limits = Limits {
            max_retained: 1,
            ..Limits::default()
        };
        let mut router = Router::new(limits);
        router.publish("a".into(), "kept".into(), QoS::AtLeastOnce, true);
        router.publish("b".into(), "not kept".into(), QoS::AtLeastOnce, true);
        let (sub, _) = router.connect("late", true).unwrap();
        router.subscribe(sub.session, &[filter("+", QoS::ExactlyOnce)]);
        assert_eq!(
            publishes(&take(&mut router, &sub)),
            [("kept".into(), QoS::AtLeastOnce, true, false)]
        );
        router.publish("a".into(), Bytes::new(), QoS::AtMostOnce, true);
        assert_eq!(router.stats().retained, 0);
    }
}
