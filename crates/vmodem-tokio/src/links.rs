//! The network links a module asked for: one tokio task per TCP or TLS connection.
//!
//! The module task turns each [`NetAction`] into a change of the link's
//! shared state and never waits on a link. Link tasks report back through
//! the module's bounded channel of [`NetEvent`]s; when the module is busy the
//! link tasks wait, so a fast broker slows down instead of filling memory.
//!
//! **Every place bytes wait is bounded:**
//! - the send buffer: bytes the core sent and the task has not written yet.
//!   The core bounds it (its per-link send buffer, 16 KiB plus a few protocol
//!   bytes) because the task reports every write ([`NetEvent::Written`]); on a
//!   TLS link rustls may hold [`TLS_SEND_LIMIT`] more of records;
//! - the receive side: a task reads at most [`READ_CHUNK`] at a time and has
//!   at most [`READS_IN_FLIGHT`] reads handed to the module and not yet taken
//!   by the core, so a paused link's task stops within one chunk and the core
//!   never holds more than its packet limit plus two chunks;
//! - wake-ups: a channel of one, which carries no data.
//!
//! Every link task ends with an event unless the core closed the link itself:
//! `ConnectFailed`, `Closed`, or `SendFailed` followed by `Closed`. So an
//! action for a link whose task has ended can only follow such a report, and
//! is dropped without another one.
//!
//! A TLS link ([`crate::tls`]) is a TCP link with a handshake after the
//! connect; from then on it carries plaintext through the same code, so
//! pausing, closing, failed writes and write reports behave exactly as on TCP.
//!
//! Link faults (issue 10, `link`): every link's socket is a
//! [`ToxicTcp`](crate::toxics::ToxicTcp), under TLS; [`Links::fault_started`]
//! puts a fault's toxic on the matching links and remembers it for the links
//! opened while it lasts, [`Links::fault_ended`] takes it off. A `reset`
//! toxic ends the link here, as a peer's RST would ([`CloseCause::Reset`]),
//! and the socket is closed with SO_LINGER 0, so the broker sees an RST too.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tracing::{debug, info, warn};
use vmodem_core::{
    CloseCause, ConnectError, FaultId, LinkFault, LinkId, NetAction, NetEvent, TlsSettings,
};

use crate::dial::Dialer;
use crate::tls::TlsClient;
use crate::toxics::{self, LinkToxics, ToxicTcp};

/// How long a link the core closed may take to write out what it was sent
/// before the FIN; an MQTT DISCONNECT sent just before the close must go out.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// Largest chunk handed to the core in one [`NetEvent::Received`].
pub(crate) const READ_CHUNK: usize = 4096;

/// Reads a link may have handed to the module task that the core has not
/// taken yet. Two: one being taken while the next is read.
pub(crate) const READS_IN_FLIGHT: u8 = 2;

/// Most TLS records rustls may buffer for a link whose TCP socket is full
/// (rustls's own default is 64 KiB); the plaintext it took counts as written.
pub(crate) const TLS_SEND_LIMIT: usize = 16 * 1024;

/// What the module task and a link task share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes the core sent, not yet taken by the task.
    send: Vec<u8>,
    /// The core asked the link to stop reading.
    paused: bool,
    /// Reads handed to the module task and not yet taken by the core.
    in_flight: u8,
}

/// The module task's end of one link. Dropping it closes the link (after
/// what was sent is written).
#[derive(Debug)]
struct LinkHandle {
    shared: Arc<Mutex<Shared>>,
    /// Wakes the task after a change; full means a wake-up is pending already.
    wake: mpsc::Sender<()>,
    /// The link faults on this link (read by its socket).
    toxics: Arc<LinkToxics>,
}

impl LinkHandle {
    fn change(&self, f: impl FnOnce(&mut Shared)) {
        f(&mut lock(&self.shared));
        let _ = self.wake.try_send(());
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panicking link task cannot leave the state half-changed: every
    // change is a field assignment or an append.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The link tasks of one module.
#[derive(Debug)]
pub(crate) struct Links {
    open: HashMap<LinkId, LinkHandle>,
    dialer: Arc<Dialer>,
    events: mpsc::Sender<NetEvent>,
    /// Link faults in force, for the links opened while they last; empty
    /// (no allocation) when there are none.
    faults: Vec<(FaultId, LinkFault)>,
    /// Seeds the toxics' jitter (the module's seed).
    seed: u64,
}

impl Links {
    pub(crate) fn new(dialer: Dialer, events: mpsc::Sender<NetEvent>) -> Links {
        Links {
            open: HashMap::new(),
            dialer: Arc::new(dialer),
            events,
            faults: Vec::new(),
            seed: 0,
        }
    }

    /// Seeds the jitter of latency toxics, so the same seed gives the same delays.
    pub(crate) fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
    }

    /// A link fault started: its toxic goes on every open link of its client
    /// (all clients when it names none) and on links opened while it lasts.
    pub(crate) fn fault_started(&mut self, id: FaultId, fault: &LinkFault) {
        for (link, handle) in &self.open {
            if toxics::applies(fault, link.client()) {
                handle.toxics.add(id, fault.toxic.clone(), fault.direction);
                let _ = handle.wake.try_send(());
            }
        }
        self.faults.push((id, fault.clone()));
    }

    /// A link fault ended: its toxic comes off (bytes a latency held go on at once, in order).
    pub(crate) fn fault_ended(&mut self, id: FaultId) {
        if !self.faults.iter().any(|(f, _)| *f == id) {
            return;
        }
        self.faults.retain(|(f, _)| *f != id);
        for handle in self.open.values() {
            handle.toxics.remove(id);
            let _ = handle.wake.try_send(());
        }
        if self.faults.is_empty() {
            self.faults = Vec::new();
        }
    }

    /// Carries out one action from the core; never waits.
    pub(crate) fn handle(&mut self, action: NetAction) {
        let link = match action {
            NetAction::Connect {
                link,
                host,
                port,
                tls,
            } => {
                self.connect(link, host, port, tls);
                return;
            }
            NetAction::Close { link } => {
                // The task writes what it was sent, then closes.
                self.open.remove(&link);
                return;
            }
            NetAction::Send { link, data } => {
                self.change(link, |s| s.send.extend_from_slice(&data))
            }
            NetAction::PauseReading { link } => self.change(link, |s| s.paused = true),
            NetAction::ResumeReading { link } => self.change(link, |s| s.paused = false),
            other => {
                warn!(?other, "network action this driver does not know; ignored");
                return;
            }
        };
        if let Some(link) = link {
            debug!(?link, "action for a link that has already ended; dropped");
        }
    }

    /// The core took a [`NetEvent::Received`] of `link`: the task may read again.
    pub(crate) fn delivered(&mut self, link: LinkId) {
        self.change(link, |s| s.in_flight = s.in_flight.saturating_sub(1));
    }

    /// Applies `f` to a live link's state; the link back if it has ended.
    fn change(&self, link: LinkId, f: impl FnOnce(&mut Shared)) -> Option<LinkId> {
        match self.open.get(&link) {
            Some(handle) if !handle.wake.is_closed() => {
                handle.change(f);
                None
            }
            _ => Some(link),
        }
    }

    fn connect(&mut self, link: LinkId, host: String, port: u16, tls: Option<TlsSettings>) {
        // Forget links whose tasks have ended (the core was told by their last event).
        self.open.retain(|_, handle| !handle.wake.is_closed());
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (wake, woken) = mpsc::channel(1);
        let toxics = Arc::new(LinkToxics::default());
        for (id, fault) in &self.faults {
            if toxics::applies(fault, link.client()) {
                toxics.add(*id, fault.toxic.clone(), fault.direction);
            }
        }
        let handle = LinkHandle {
            shared: shared.clone(),
            wake,
            toxics: toxics.clone(),
        };
        if self.open.insert(link, handle).is_some() {
            warn!(
                ?link,
                "core reopened a link that was still open; the old one is closed"
            );
        }
        let task = LinkTask {
            link,
            shared,
            woken,
            events: self.events.clone(),
            sending: Vec::new(),
            unflushed: false,
        };
        // The jitter of each link draws from its own sequence.
        let seed = self.seed ^ (u64::from(link.client()) << 32) ^ u64::from(link.generation());
        let socket = (toxics, seed);
        tokio::spawn(task.run(self.dialer.clone(), host, port, tls, socket));
    }
}

/// One connection and the state the module asked it to be in.
struct LinkTask {
    link: LinkId,
    shared: Arc<Mutex<Shared>>,
    /// Wake-ups from the module task; closed when the core closed the link.
    woken: mpsc::Receiver<()>,
    events: mpsc::Sender<NetEvent>,
    /// Bytes taken from the shared send buffer and not yet written.
    sending: Vec<u8>,
    /// Written since the last flush (a TLS link buffers records).
    unflushed: bool,
}

/// Why a link task stops.
enum End {
    /// The core closed the link.
    ClosedByCore,
    /// Tell the core this, then stop.
    Report(NetEvent),
    /// Writing failed: tell the core, and that the link is closed.
    WriteFailed,
    /// The module is gone; nobody to tell.
    ModuleGone,
}

impl LinkTask {
    async fn run(
        mut self,
        dialer: Arc<Dialer>,
        host: String,
        port: u16,
        tls: Option<TlsSettings>,
        socket: (Arc<LinkToxics>, u64),
    ) {
        let link = self.link;
        let context = tls.as_ref().map(|tls| tls.context);
        let connect = open(&dialer, &host, port, tls, socket);
        tokio::pin!(connect);
        // What the core asks meanwhile (sends, pauses) waits in the shared state.
        let (mut stream, early_data) = loop {
            tokio::select! {
                opened = &mut connect => match opened {
                    Ok(opened) => break opened,
                    Err(error) => {
                        match (&error, context) {
                            (ConnectError::Tls(why), Some(context)) => info!(
                                ?link, host, port, ssl_context = context,
                                "TLS link failed (+QMTOPEN: {},-1): {why}", link.client()
                            ),
                            (ConnectError::Other(why), _) => info!(
                                ?link, host, port,
                                "link failed (+QMTOPEN: {},-1): {why}", link.client()
                            ),
                            _ => info!(?link, host, port, ?error, "connect failed"),
                        }
                        let _ = self.events.send(NetEvent::ConnectFailed { link, error }).await;
                        return;
                    }
                },
                woken = self.woken.recv() => if woken.is_none() {
                    return debug!(?link, "closed by the core while connecting");
                },
            }
        };
        if let Stream::Tls(tls) = &mut stream {
            tls.get_mut().1.set_buffer_limit(Some(TLS_SEND_LIMIT));
        }
        info!(?link, host, port, peer = ?stream.peer_addr().ok(), tls = ?context, "connected");
        if self
            .events
            .send(NetEvent::Connected { link })
            .await
            .is_err()
        {
            return;
        }
        // Data the server sent while a TLS handshake was being confirmed.
        if !early_data.is_empty() {
            lock(&self.shared).in_flight += 1;
            let data = early_data;
            if self
                .events
                .send(NetEvent::Received { link, data })
                .await
                .is_err()
            {
                return;
            }
        }
        match self.carry(&mut stream).await {
            End::ClosedByCore => self.close(stream).await,
            End::Report(event) => {
                info!(?link, ?event, "link ended");
                let _ = self.events.send(event).await;
            }
            End::WriteFailed => {
                info!(?link, "writing failed; the link is reset");
                let cause = CloseCause::Reset;
                for event in [
                    NetEvent::SendFailed { link },
                    NetEvent::Closed { link, cause },
                ] {
                    if self.events.send(event).await.is_err() {
                        break;
                    }
                }
            }
            End::ModuleGone => {}
        }
    }

    /// Moves bytes both ways until the link ends.
    async fn carry(&mut self, stream: &mut Stream) -> End {
        let link = self.link;
        loop {
            let event = match poll_fn(|cx| self.poll_io(cx, stream)).await {
                Io::Written(len) => NetEvent::Written { link, len },
                Io::Data(data) => NetEvent::Received { link, data },
                Io::ClosedByCore => return End::ClosedByCore,
                Io::WriteFailed => return End::WriteFailed,
                Io::Eof => {
                    return End::Report(NetEvent::Closed {
                        link,
                        cause: CloseCause::PeerClosed,
                    })
                }
                Io::ReadFailed(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // A TLS peer that closed TCP without close_notify: still its close.
                    return End::Report(NetEvent::Closed {
                        link,
                        cause: CloseCause::PeerClosed,
                    });
                }
                Io::ReadFailed(e) => {
                    debug!(?link, error = %e, "reading failed");
                    return End::Report(NetEvent::Closed {
                        link,
                        cause: CloseCause::Reset,
                    });
                }
            };
            if self.events.send(event).await.is_err() {
                return End::ModuleGone;
            }
        }
    }

    /// One round of I/O: what the module asked for first (a pause stops the
    /// very next read; a close ends the link), then writes as far as the link
    /// takes them, then a read if the link may read. Ready with the first
    /// thing to report; pending only when every side it polled is pending,
    /// so wakers are registered.
    fn poll_io(&mut self, cx: &mut Context<'_>, stream: &mut Stream) -> Poll<Io> {
        loop {
            match self.woken.poll_recv(cx) {
                Poll::Ready(Some(())) => {}
                Poll::Ready(None) => return Poll::Ready(Io::ClosedByCore),
                Poll::Pending => break,
            }
        }
        if stream.socket_mut().reset_due() {
            // A reset toxic: the link ends now, as by a peer's RST.
            return Poll::Ready(Io::ReadFailed(io::ErrorKind::ConnectionReset.into()));
        }
        match self.poll_write(cx, stream) {
            Poll::Ready(Ok(0)) => {}
            Poll::Ready(Ok(n)) => return Poll::Ready(Io::Written(n)),
            Poll::Ready(Err(_)) => return Poll::Ready(Io::WriteFailed),
            Poll::Pending => {}
        }
        {
            let mut shared = lock(&self.shared);
            if shared.paused || shared.in_flight >= READS_IN_FLIGHT {
                return Poll::Pending;
            }
            // Counted before the read: the module task may take the event
            // (and give the read back) before this task runs again.
            shared.in_flight += 1;
        }
        let mut buf = [0u8; READ_CHUNK];
        let mut read = ReadBuf::new(&mut buf);
        let polled = Pin::new(stream).poll_read(cx, &mut read);
        if polled.is_pending() {
            lock(&self.shared).in_flight -= 1;
        }
        match polled {
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Io::Eof),
            Poll::Ready(Ok(())) => Poll::Ready(Io::Data(read.filled().to_vec())),
            Poll::Ready(Err(e)) => Poll::Ready(Io::ReadFailed(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Writes what the core sent as far as the link takes it now, and
    /// flushes; ready with the bytes written (0: nothing to do or all
    /// flushed), pending when the link takes nothing now.
    fn poll_write(&mut self, cx: &mut Context<'_>, stream: &mut Stream) -> Poll<io::Result<usize>> {
        let mut written = 0;
        loop {
            if self.sending.is_empty() {
                std::mem::swap(&mut self.sending, &mut lock(&self.shared).send);
                if self.sending.is_empty() {
                    break;
                }
            }
            match Pin::new(&mut *stream).poll_write(cx, &self.sending) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.sending.drain(..n);
                    written += n;
                    self.unflushed = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        if self.sending.capacity() > READ_CHUNK && self.sending.is_empty() {
            self.sending = Vec::new();
        }
        if self.unflushed {
            match Pin::new(&mut *stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => self.unflushed = false,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
        }
        if written > 0 {
            Poll::Ready(Ok(written))
        } else if self.sending.is_empty() && !self.unflushed {
            Poll::Ready(Ok(0))
        } else {
            Poll::Pending
        }
    }

    /// Writes out what the core sent before closing, then sends FIN (after a
    /// TLS close_notify on a TLS link).
    async fn close(mut self, mut stream: Stream) {
        let link = self.link;
        let flushed = tokio::time::timeout(CLOSE_FLUSH, async {
            loop {
                match poll_fn(|cx| self.poll_write(cx, &mut stream)).await? {
                    0 => break,
                    _ => continue,
                }
            }
            stream.shutdown().await
        })
        .await;
        match flushed {
            Ok(Ok(())) => debug!(?link, "closed by the core"),
            Ok(Err(e)) => debug!(?link, error = %e, "closed by the core; last writes failed"),
            Err(_) => warn!(
                ?link,
                "closed by the core; peer did not take the last writes in time"
            ),
        }
    }
}

/// Connects, and for a TLS link runs the handshake; returns the stream and any
/// data the server sent while the handshake was being confirmed.
async fn open(
    dialer: &Dialer,
    host: &str,
    port: u16,
    tls: Option<TlsSettings>,
    (toxics, seed): (Arc<LinkToxics>, u64),
) -> Result<(Stream, Vec<u8>), ConnectError> {
    let Some(settings) = tls else {
        let tcp = dialer.dial(host, port).await?;
        return Ok((
            Stream::Tcp(Box::new(ToxicTcp::new(tcp, toxics, seed))),
            Vec::new(),
        ));
    };
    // Settings that cannot be honoured fail before any connection is made.
    let client = TlsClient::new(host, &settings).map_err(ConnectError::Tls)?;
    let tcp = ToxicTcp::new(dialer.dial(host, port).await?, toxics, seed);
    let established = client.handshake(tcp).await.map_err(ConnectError::Tls)?;
    Ok((
        Stream::Tls(Box::new(established.stream)),
        established.early_data,
    ))
}

/// What one round of I/O on a link came to.
enum Io {
    /// This many more bytes of the core's sends were written.
    Written(usize),
    /// Bytes read.
    Data(Vec<u8>),
    /// The peer ended the stream.
    Eof,
    ReadFailed(io::Error),
    WriteFailed,
    /// The core closed the link.
    ClosedByCore,
}

/// A link's connection: plain TCP, or TLS over TCP.
#[derive(Debug)]
enum Stream {
    /// Boxed as the TLS stream is: a `ToxicTcp` with its lines is ~500 bytes.
    Tcp(Box<ToxicTcp>),
    Tls(Box<TlsStream<ToxicTcp>>),
}

impl Stream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            Stream::Tcp(tcp) => tcp.tcp().peer_addr(),
            Stream::Tls(tls) => tls.get_ref().0.tcp().peer_addr(),
        }
    }

    /// The socket with its toxics, under TLS if any.
    fn socket_mut(&mut self) -> &mut ToxicTcp {
        match self {
            Stream::Tcp(tcp) => tcp.as_mut(),
            Stream::Tls(tls) => tls.get_mut().0,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp.as_mut()).poll_read(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp.as_mut()).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp.as_mut()).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp.as_mut()).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    const LINK: LinkId = LinkId::new(0, 1);
    const PATIENCE: Duration = Duration::from_secs(10);

    fn links_with_hosts(hosts: &[(&str, IpAddr)]) -> (Links, mpsc::Receiver<NetEvent>) {
        let hosts = hosts.iter().map(|(n, ip)| (n.to_string(), *ip)).collect();
        let (tx, rx) = mpsc::channel(8);
        (Links::new(Dialer::new(&hosts, PATIENCE), tx), rx)
    }

    /// The next event other than a write report.
    async fn next(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
        next_within(events, PATIENCE)
            .await
            .expect("a network event in time")
    }

    /// The next event other than a write report within `patience`, if any.
    async fn next_within(
        events: &mut mpsc::Receiver<NetEvent>,
        patience: Duration,
    ) -> Option<NetEvent> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let event = tokio::time::timeout_at(deadline, events.recv())
                .await
                .ok()?
                .expect("the event channel stays open");
            if !matches!(event, NetEvent::Written { .. }) {
                return Some(event);
            }
        }
    }

    fn connect(links: &mut Links, host: &str, port: u16) {
        links.handle(NetAction::Connect {
            link: LINK,
            host: host.into(),
            port,
            tls: None,
        });
    }

    async fn listener() -> (TcpListener, u16) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }

    /// A link to a loopback peer, connected.
    async fn open_link() -> (Links, mpsc::Receiver<NetEvent>, TcpStream) {
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        connect(&mut links, "127.0.0.1", port);
        let (peer, _) = listener.accept().await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });
        (links, events, peer)
    }

    #[tokio::test]
    async fn connects_sends_receives_and_reports_the_peer_closing() {
        let (mut links, mut events, mut peer) = open_link().await;

        links.handle(NetAction::Send {
            link: LINK,
            data: b"hello ".to_vec(),
        });
        links.handle(NetAction::Send {
            link: LINK,
            data: b"broker".to_vec(),
        });
        let mut got = [0u8; 12];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello broker");

        peer.write_all(b"hi module").await.unwrap();
        let data = b"hi module".to_vec();
        assert_eq!(
            next(&mut events).await,
            NetEvent::Received { link: LINK, data }
        );

        drop(peer);
        let cause = CloseCause::PeerClosed;
        assert_eq!(
            next(&mut events).await,
            NetEvent::Closed { link: LINK, cause }
        );
    }

    #[tokio::test]
    async fn a_write_the_network_refuses_reports_send_failed_then_closed() {
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        connect(&mut links, "127.0.0.1", port);
        // Paused, so the reset shows up on the write, not on a read.
        links.handle(NetAction::PauseReading { link: LINK });
        let (peer, _) = listener.accept().await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });
        peer.set_zero_linger().unwrap();
        drop(peer); // RST
        tokio::time::sleep(Duration::from_millis(100)).await;

        links.handle(NetAction::Send {
            link: LINK,
            data: b"lost".to_vec(),
        });
        assert_eq!(next(&mut events).await, NetEvent::SendFailed { link: LINK });
        let cause = CloseCause::Reset;
        assert_eq!(
            next(&mut events).await,
            NetEvent::Closed { link: LINK, cause }
        );
    }

    #[tokio::test]
    async fn a_port_nobody_listens_on_is_refused() {
        let (listener, port) = listener().await;
        drop(listener);
        let (mut links, mut events) = links_with_hosts(&[]);
        connect(&mut links, "127.0.0.1", port);
        let error = ConnectError::Refused;
        assert_eq!(
            next(&mut events).await,
            NetEvent::ConnectFailed { link: LINK, error }
        );
    }

    #[tokio::test]
    async fn a_name_that_does_not_resolve_is_a_dns_failure() {
        let (mut links, mut events) = links_with_hosts(&[]);
        connect(&mut links, "nonexistent.invalid", 1883);
        let error = ConnectError::Dns;
        assert_eq!(
            next(&mut events).await,
            NetEvent::ConnectFailed { link: LINK, error }
        );
    }

    #[tokio::test]
    async fn a_tls_setting_rustls_cannot_honour_fails_without_a_connection() {
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        let mut tls = TlsSettings::new(2);
        tls.version = vmodem_core::SslVersion::Tls1_1;
        links.handle(NetAction::Connect {
            link: LINK,
            host: "127.0.0.1".into(),
            port,
            tls: Some(tls),
        });
        let event = next(&mut events).await;
        let NetEvent::ConnectFailed {
            link: LINK,
            error: ConnectError::Tls(why),
        } = &event
        else {
            panic!("{event:?}");
        };
        assert_eq!(
            why,
            "sslversion 2 (TLS 1.1) is not supported by vmodem (rustls): use sslversion 3 or 4"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection is made");
    }

    #[tokio::test]
    async fn a_tls_link_carries_plaintext_pauses_and_closes_with_close_notify() {
        use crate::tls::tests::{server_config, Ca};

        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test"], (2020, 2040), false);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&leaf, None, true)));
        let (listener, port) = listener().await;
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (mut links, mut events) = links_with_hosts(&[("broker.test", loopback)]);
        let mut tls = TlsSettings::new(0);
        tls.seclevel = vmodem_core::SecLevel::Server;
        tls.ca_cert = Some(ca.pem());
        links.handle(NetAction::Connect {
            link: LINK,
            host: "broker.test".into(),
            port,
            tls: Some(tls),
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut peer = acceptor.accept(tcp).await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });

        links.handle(NetAction::Send {
            link: LINK,
            data: b"hello ".to_vec(),
        });
        links.handle(NetAction::Send {
            link: LINK,
            data: b"broker".to_vec(),
        });
        let mut got = [0u8; 12];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello broker");

        links.handle(NetAction::PauseReading { link: LINK });
        peer.write_all(b"held back").await.unwrap();
        peer.flush().await.unwrap();
        let early = next_within(&mut events, Duration::from_millis(300)).await;
        assert!(early.is_none(), "paused link delivered {early:?}");
        links.handle(NetAction::ResumeReading { link: LINK });
        let data = b"held back".to_vec();
        assert_eq!(
            next(&mut events).await,
            NetEvent::Received { link: LINK, data }
        );

        links.handle(NetAction::Send {
            link: LINK,
            data: b"\xe0\x00".to_vec(),
        });
        links.handle(NetAction::Close { link: LINK });
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, peer.read_to_end(&mut rest))
            .await
            .expect("close_notify in time")
            .expect("a clean TLS close");
        assert_eq!(rest, b"\xe0\x00");
    }

    #[tokio::test]
    async fn a_tls_peer_closing_is_reported_like_a_tcp_peer_closing() {
        use crate::tls::tests::{server_config, Ca};

        let leaf = Ca::new("ca").leaf(&["x.test"], (2020, 2040), false);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&leaf, None, true)));
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        links.handle(NetAction::Connect {
            link: LINK,
            host: "127.0.0.1".into(),
            port,
            tls: Some(TlsSettings::new(0)),
        });
        let (tcp, _) = listener.accept().await.unwrap();
        let mut peer = acceptor.accept(tcp).await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });
        peer.shutdown().await.unwrap();
        let cause = CloseCause::PeerClosed;
        assert_eq!(
            next(&mut events).await,
            NetEvent::Closed { link: LINK, cause }
        );
    }

    #[tokio::test]
    async fn host_overrides_come_before_the_resolver_and_ignore_case() {
        let (listener, port) = listener().await;
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (mut links, mut events) = links_with_hosts(&[("Broker.Invalid", loopback)]);
        connect(&mut links, "broker.INVALID", port);
        let (_peer, _) = listener.accept().await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });
    }

    #[tokio::test]
    async fn a_paused_link_reads_nothing_until_resumed() {
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        connect(&mut links, "127.0.0.1", port);
        links.handle(NetAction::PauseReading { link: LINK });
        let (mut peer, _) = listener.accept().await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });

        peer.write_all(b"held back").await.unwrap();
        let early = next_within(&mut events, Duration::from_millis(300)).await;
        assert!(early.is_none(), "paused link delivered {early:?}");

        links.handle(NetAction::ResumeReading { link: LINK });
        let data = b"held back".to_vec();
        assert_eq!(
            next(&mut events).await,
            NetEvent::Received { link: LINK, data }
        );
    }

    #[tokio::test]
    async fn close_writes_what_was_sent_then_ends_the_stream() {
        let (mut links, mut events, mut peer) = open_link().await;

        links.handle(NetAction::Send {
            link: LINK,
            data: b"\xe0\x00".to_vec(),
        });
        links.handle(NetAction::Close { link: LINK });
        let mut rest = Vec::new();
        tokio::time::timeout(PATIENCE, peer.read_to_end(&mut rest))
            .await
            .expect("FIN in time")
            .unwrap();
        assert_eq!(rest, b"\xe0\x00");

        // Actions for the closed link go nowhere and report nothing.
        links.handle(NetAction::Send {
            link: LINK,
            data: b"late".to_vec(),
        });
        let late = tokio::time::timeout(Duration::from_millis(200), events.recv()).await;
        assert!(
            matches!(late, Err(_) | Ok(Some(NetEvent::Written { .. }))),
            "closed link reported {late:?}"
        );
    }

    #[tokio::test]
    async fn every_byte_written_is_reported_and_only_once() {
        let (mut links, mut events, mut peer) = open_link().await;
        let mut sent = 0;
        for i in 0..200u8 {
            let data = vec![i; 1000];
            sent += data.len();
            links.handle(NetAction::Send { link: LINK, data });
        }
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; 200_000];
            peer.read_exact(&mut got).await.unwrap();
            (got, peer)
        });
        let mut written = 0;
        while written < sent {
            match tokio::time::timeout(PATIENCE, events.recv())
                .await
                .unwrap()
                .unwrap()
            {
                NetEvent::Written { link: LINK, len } => written += len,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(written, sent);
        let (got, _peer) = reader.await.unwrap();
        let want: Vec<u8> = (0..200u8).flat_map(|i| vec![i; 1000]).collect();
        assert!(got == want, "the bytes arrive in order");
    }

    #[tokio::test]
    async fn a_link_hands_over_two_reads_until_the_core_takes_them() {
        let (mut links, mut events, mut peer) = open_link().await;
        // More than two reads' worth, in separate segments.
        for _ in 0..4 {
            peer.write_all(&[7u8; READ_CHUNK]).await.unwrap();
            peer.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut got = 0;
        for _ in 0..READS_IN_FLIGHT {
            match next(&mut events).await {
                NetEvent::Received { data, .. } => got += data.len(),
                other => panic!("{other:?}"),
            }
        }
        let more = next_within(&mut events, Duration::from_millis(300)).await;
        assert!(
            more.is_none(),
            "a third read before the core took one: {more:?}"
        );
        // The core takes them: the rest comes.
        while got < 4 * READ_CHUNK {
            links.delivered(LINK);
            match next(&mut events).await {
                NetEvent::Received { data, .. } => got += data.len(),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(got, 4 * READ_CHUNK);
    }
    fn link_fault(params: &[(&str, &str)]) -> LinkFault {
        match vmodem_core::Fault::parse("link", params).unwrap() {
            vmodem_core::Fault::Link(l) => l,
            other => panic!("{other:?}"),
        }
    }

    /// A held byte still counts: behind a long upstream latency the link takes
    /// (reports written) at most `LINE_LIMIT` bytes, then no more, and the
    /// bytes arrive whole and in order once the fault ends.
    #[tokio::test]
    async fn an_upstream_latency_holds_at_most_its_line_and_then_pushes_back() {
        let (mut links, mut events, mut peer) = open_link().await;
        let slow = link_fault(&[
            ("toxic", "latency"),
            ("latency_ms", "60000"),
            ("direction", "up"),
        ]);
        links.fault_started(FaultId(1), &slow);
        let total = 3 * toxics::LINE_LIMIT;
        let want: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
        for chunk in want.chunks(1000) {
            links.handle(NetAction::Send {
                link: LINK,
                data: chunk.to_vec(),
            });
        }
        let mut written = 0;
        while let Ok(Some(NetEvent::Written { len, .. })) =
            tokio::time::timeout(Duration::from_millis(300), events.recv()).await
        {
            written += len;
        }
        assert_eq!(written, toxics::LINE_LIMIT, "taken behind the latency");
        let mut early = [0u8; 1];
        let nothing = tokio::time::timeout(Duration::from_millis(100), peer.read(&mut early)).await;
        assert!(nothing.is_err(), "a byte got past a 60 s latency");

        links.fault_ended(FaultId(1));
        let reader = tokio::spawn(async move {
            let mut got = vec![0u8; total];
            peer.read_exact(&mut got).await.unwrap();
            got
        });
        // Ended: what was held goes on at once, then the rest.
        while written < total {
            match tokio::time::timeout(PATIENCE, events.recv())
                .await
                .unwrap()
                .unwrap()
            {
                NetEvent::Written { len, .. } => written += len,
                other => panic!("{other:?}"),
            }
        }
        assert!(reader.await.unwrap() == want, "in order, nothing lost");
    }

    /// A link opened while a fault lasts gets it; a downstream blackhole
    /// swallows the bytes and the peer's close, and the close comes after it ends.
    #[tokio::test]
    async fn a_link_opened_during_a_blackhole_gets_it_and_sees_the_close_only_after() {
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        let hole = link_fault(&[
            ("toxic", "blackhole"),
            ("client", "0"),
            ("direction", "down"),
        ]);
        links.fault_started(FaultId(7), &hole);
        connect(&mut links, "127.0.0.1", port);
        let (mut peer, _) = listener.accept().await.unwrap();
        assert_eq!(next(&mut events).await, NetEvent::Connected { link: LINK });
        peer.write_all(b"lost").await.unwrap();
        drop(peer);
        let early = next_within(&mut events, Duration::from_millis(300)).await;
        assert!(early.is_none(), "through a blackhole: {early:?}");
        links.fault_ended(FaultId(7));
        let cause = CloseCause::PeerClosed;
        assert_eq!(
            next(&mut events).await,
            NetEvent::Closed { link: LINK, cause }
        );
    }
}
