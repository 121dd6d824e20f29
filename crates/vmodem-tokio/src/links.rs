//! The network links a module asked for: one tokio task per TCP or TLS connection.
//!
//! The module task turns each [`NetAction`] into a command for a link task and
//! never waits on one. Link tasks report back through a bounded channel of
//! [`NetEvent`]s, which the module task drains; when the module is busy the
//! link tasks wait, so a fast broker slows down instead of filling memory.
//!
//! Every link task ends with an event unless the core closed the link itself:
//! `ConnectFailed`, `Closed`, or `SendFailed` followed by `Closed`. So an
//! action for a link whose task has ended can only follow such a report, and
//! is dropped without another one.
//!
//! A TLS link ([`crate::tls`]) is a TCP link with a handshake after the
//! connect; from then on it carries plaintext through the same code, so
//! pausing, closing and failed writes behave exactly as on TCP.

use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::client::TlsStream;
use tracing::{debug, info, warn};
use vmodem_core::{CloseCause, ConnectError, LinkId, NetAction, NetEvent, TlsSettings};

use crate::dial::Dialer;
use crate::tls::TlsClient;

/// How long a link the core closed may take to write out what it was sent
/// before the FIN; an MQTT DISCONNECT sent just before the close must go out.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// Largest chunk handed to the core in one [`NetEvent::Received`].
const READ_CHUNK: usize = 4096;

/// What the module task tells one link task. Dropping the sender closes the link.
#[derive(Debug)]
enum Command {
    Send(Vec<u8>),
    Pause,
    Resume,
}

/// The link tasks of one module.
#[derive(Debug)]
pub(crate) struct Links {
    open: HashMap<LinkId, mpsc::UnboundedSender<Command>>,
    dialer: Arc<Dialer>,
    events: mpsc::Sender<NetEvent>,
}

impl Links {
    pub(crate) fn new(dialer: Dialer, events: mpsc::Sender<NetEvent>) -> Links {
        Links {
            open: HashMap::new(),
            dialer: Arc::new(dialer),
            events,
        }
    }

    /// Carries out one action from the core; never waits.
    pub(crate) fn handle(&mut self, action: NetAction) {
        let (link, command) = match action {
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
            NetAction::Send { link, data } => (link, Command::Send(data)),
            NetAction::PauseReading { link } => (link, Command::Pause),
            NetAction::ResumeReading { link } => (link, Command::Resume),
            other => {
                warn!(?other, "network action this driver does not know; ignored");
                return;
            }
        };
        let delivered = self
            .open
            .get(&link)
            .is_some_and(|tx| tx.send(command).is_ok());
        if !delivered {
            debug!(?link, "action for a link that has already ended; dropped");
        }
    }

    fn connect(&mut self, link: LinkId, host: String, port: u16, tls: Option<TlsSettings>) {
        // Forget links whose tasks have ended (the core was told by their last event).
        self.open.retain(|_, tx| !tx.is_closed());
        let (tx, rx) = mpsc::unbounded_channel();
        if self.open.insert(link, tx).is_some() {
            warn!(
                ?link,
                "core reopened a link that was still open; the old one is closed"
            );
        }
        let task = LinkTask {
            link,
            commands: rx,
            events: self.events.clone(),
            queue: VecDeque::new(),
            paused: false,
        };
        tokio::spawn(task.run(self.dialer.clone(), host, port, tls));
    }
}

/// One connection and the state the module asked it to be in.
struct LinkTask {
    link: LinkId,
    commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::Sender<NetEvent>,
    /// Data sent by the core and not yet written.
    queue: VecDeque<Vec<u8>>,
    paused: bool,
}

/// Why a link task stops.
enum End {
    /// The core closed the link (the command channel closed).
    ClosedByCore,
    /// Tell the core this, then stop.
    Report(NetEvent),
    /// Writing failed: tell the core, and that the link is closed.
    WriteFailed,
    /// The module is gone; nobody to tell.
    ModuleGone,
}

impl LinkTask {
    async fn run(mut self, dialer: Arc<Dialer>, host: String, port: u16, tls: Option<TlsSettings>) {
        let link = self.link;
        let context = tls.as_ref().map(|tls| tls.context);
        let connect = open(&dialer, &host, port, tls);
        tokio::pin!(connect);
        // Commands arriving while connecting (sends, pauses) are kept for later.
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
                command = self.commands.recv() => match command {
                    Some(command) => self.apply(command),
                    None => return debug!(?link, "closed by the core while connecting"),
                },
            }
        };
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

    fn apply(&mut self, command: Command) {
        match command {
            Command::Send(data) => self.queue.push_back(data),
            Command::Pause => self.paused = true,
            Command::Resume => self.paused = false,
        }
    }

    /// Moves bytes both ways until the link ends.
    async fn carry(&mut self, stream: &mut Stream) -> End {
        let link = self.link;
        loop {
            let paused = self.paused;
            let queue = &mut self.queue;
            tokio::select! {
                // What the core asked for first: a pause stops the very next read.
                biased;
                command = self.commands.recv() => match command {
                    Some(command) => self.apply(command),
                    None => return End::ClosedByCore,
                },
                io = poll_fn(|cx| poll_io(cx, stream, queue, paused)) => {
                    let event = match io {
                        Io::WriteFailed => return End::WriteFailed,
                        Io::Eof => return End::Report(NetEvent::Closed { link, cause: CloseCause::PeerClosed }),
                        Io::ReadFailed(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            // A TLS peer that closed TCP without close_notify: still its close.
                            return End::Report(NetEvent::Closed { link, cause: CloseCause::PeerClosed });
                        }
                        Io::ReadFailed(e) => {
                            debug!(?link, error = %e, "reading failed");
                            return End::Report(NetEvent::Closed { link, cause: CloseCause::Reset });
                        }
                        Io::Data(data) => NetEvent::Received { link, data },
                    };
                    if self.events.send(event).await.is_err() {
                        return End::ModuleGone;
                    }
                }
            }
        }
    }

    /// Writes out what the core sent before closing, then sends FIN (after a
    /// TLS close_notify on a TLS link).
    async fn close(mut self, mut stream: Stream) {
        let link = self.link;
        let flushed = tokio::time::timeout(CLOSE_FLUSH, async {
            let queue = &mut self.queue;
            poll_fn(|cx| poll_write_all(cx, &mut stream, queue)).await?;
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
) -> Result<(Stream, Vec<u8>), ConnectError> {
    let Some(settings) = tls else {
        let tcp = dialer.dial(host, port).await?;
        return Ok((Stream::Tcp(tcp), Vec::new()));
    };
    // Settings that cannot be honoured fail before any connection is made.
    let client = TlsClient::new(host, &settings).map_err(ConnectError::Tls)?;
    let tcp = dialer.dial(host, port).await?;
    let established = client.handshake(tcp).await.map_err(ConnectError::Tls)?;
    Ok((
        Stream::Tls(Box::new(established.stream)),
        established.early_data,
    ))
}

/// What one round of I/O on a link came to.
enum Io {
    /// Bytes read.
    Data(Vec<u8>),
    /// The peer ended the stream.
    Eof,
    ReadFailed(io::Error),
    WriteFailed,
}

/// Writes what the queue holds as far as the link takes it, then reads
/// unless paused; ready with the first thing the task must act on. Pending
/// only when every side it polled is pending, so wakers are registered.
fn poll_io(
    cx: &mut Context<'_>,
    stream: &mut Stream,
    queue: &mut VecDeque<Vec<u8>>,
    paused: bool,
) -> Poll<Io> {
    if let Poll::Ready(Err(_)) = poll_write_all(cx, stream, queue) {
        return Poll::Ready(Io::WriteFailed);
    }
    if paused {
        return Poll::Pending;
    }
    let mut buf = [0u8; READ_CHUNK];
    let mut read = ReadBuf::new(&mut buf);
    match Pin::new(stream).poll_read(cx, &mut read) {
        Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Io::Eof),
        Poll::Ready(Ok(())) => Poll::Ready(Io::Data(read.filled().to_vec())),
        Poll::Ready(Err(e)) => Poll::Ready(Io::ReadFailed(e)),
        Poll::Pending => Poll::Pending,
    }
}

/// Writes the queue out and flushes (a TLS link buffers records); ready when
/// all is written or writing failed.
fn poll_write_all(
    cx: &mut Context<'_>,
    stream: &mut Stream,
    queue: &mut VecDeque<Vec<u8>>,
) -> Poll<io::Result<()>> {
    while let Some(front) = queue.front_mut() {
        match Pin::new(&mut *stream).poll_write(cx, front) {
            Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(n)) if n == front.len() => {
                queue.pop_front();
            }
            Poll::Ready(Ok(n)) => {
                front.drain(..n);
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
    Pin::new(stream).poll_flush(cx)
}

/// A link's connection: plain TCP, or TLS over TCP.
#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    fn peer_addr(&self) -> io::Result<std::net::SocketAddr> {
        match self {
            Stream::Tcp(tcp) => tcp.peer_addr(),
            Stream::Tls(tls) => tls.get_ref().0.peer_addr(),
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
            Stream::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
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
            Stream::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const LINK: LinkId = LinkId::new(0, 1);
    const PATIENCE: Duration = Duration::from_secs(10);

    fn links_with_hosts(hosts: &[(&str, IpAddr)]) -> (Links, mpsc::Receiver<NetEvent>) {
        let hosts = hosts.iter().map(|(n, ip)| (n.to_string(), *ip)).collect();
        let (tx, rx) = mpsc::channel(8);
        (Links::new(Dialer::new(&hosts, PATIENCE), tx), rx)
    }

    async fn next(events: &mut mpsc::Receiver<NetEvent>) -> NetEvent {
        tokio::time::timeout(PATIENCE, events.recv())
            .await
            .expect("a network event in time")
            .expect("the event channel stays open")
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
        let early = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
        assert!(early.is_err(), "paused link delivered {early:?}");
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
        let early = tokio::time::timeout(Duration::from_millis(300), events.recv()).await;
        assert!(early.is_err(), "paused link delivered {early:?}");

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
        assert!(late.is_err(), "closed link reported {late:?}");
    }
}
