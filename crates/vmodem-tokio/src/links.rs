//! The network links a module asked for: one tokio task per TCP connection.
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

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use vmodem_core::{CloseCause, ConnectError, LinkId, NetAction, NetEvent, TlsSettings};

use crate::dial::Dialer;

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
        let connect = async {
            match tls {
                // An honest +QMTOPEN: c,-1 beats plaintext to a TLS port.
                Some(tls) => Err(ConnectError::Tls(format!(
                    "TLS (SSL context {}) is not supported by this driver yet; \
                     use a plain-TCP broker port",
                    tls.context
                ))),
                None => dialer.dial(&host, port).await,
            }
        };
        tokio::pin!(connect);
        // Commands arriving while connecting (sends, pauses) are kept for later.
        let stream = loop {
            tokio::select! {
                dialed = &mut connect => match dialed {
                    Ok(stream) => break stream,
                    Err(error) => {
                        info!(?link, host, port, ?error, "connect failed");
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
        info!(?link, host, port, peer = ?stream.peer_addr().ok(), "connected");
        if self
            .events
            .send(NetEvent::Connected { link })
            .await
            .is_err()
        {
            return;
        }
        match self.carry(&stream).await {
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
    async fn carry(&mut self, stream: &TcpStream) -> End {
        let link = self.link;
        loop {
            let interest = match (!self.paused, !self.queue.is_empty()) {
                (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
                (true, false) => Some(Interest::READABLE),
                (false, true) => Some(Interest::WRITABLE),
                (false, false) => None,
            };
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.apply(command),
                    None => return End::ClosedByCore,
                },
                ready = ready(stream, interest) => {
                    let ready = match ready {
                        Ok(ready) => ready,
                        Err(_) => return End::Report(NetEvent::Closed { link, cause: CloseCause::Reset }),
                    };
                    if ready.is_writable() && self.write_some(stream).is_err() {
                        return End::WriteFailed;
                    }
                    if !self.paused && (ready.is_readable() || ready.is_read_closed()) {
                        let event = match read_some(stream) {
                            Ok(None) => continue,
                            Ok(Some(data)) if data.is_empty() => {
                                return End::Report(NetEvent::Closed { link, cause: CloseCause::PeerClosed });
                            }
                            Ok(Some(data)) => NetEvent::Received { link, data },
                            Err(_) => return End::Report(NetEvent::Closed { link, cause: CloseCause::Reset }),
                        };
                        if self.events.send(event).await.is_err() {
                            return End::ModuleGone;
                        }
                    }
                }
            }
        }
    }

    /// Writes as much of the queue as the socket takes now.
    fn write_some(&mut self, stream: &TcpStream) -> io::Result<()> {
        while let Some(front) = self.queue.front_mut() {
            match stream.try_write(front) {
                Ok(n) if n == front.len() => {
                    self.queue.pop_front();
                }
                Ok(n) => {
                    front.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes out what the core sent before closing, then sends FIN.
    async fn close(mut self, mut stream: TcpStream) {
        let link = self.link;
        let flushed = tokio::time::timeout(CLOSE_FLUSH, async {
            while !self.queue.is_empty() {
                stream.writable().await?;
                self.write_some(&stream)?;
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

/// Readiness for `interest`, or never when there is nothing to wait for.
async fn ready(stream: &TcpStream, interest: Option<Interest>) -> io::Result<tokio::io::Ready> {
    match interest {
        Some(interest) => stream.ready(interest).await,
        None => std::future::pending().await,
    }
}

/// One read: `None` if nothing was there after all, an empty chunk at end of stream.
fn read_some(stream: &TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; READ_CHUNK];
    match stream.try_read(&mut buf) {
        Ok(n) => Ok(Some(buf[..n].to_vec())),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
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
    async fn a_tls_link_fails_instead_of_sending_plaintext() {
        let (listener, port) = listener().await;
        let (mut links, mut events) = links_with_hosts(&[]);
        links.handle(NetAction::Connect {
            link: LINK,
            host: "127.0.0.1".into(),
            port,
            tls: Some(TlsSettings::new(2)),
        });
        let event = next(&mut events).await;
        assert!(
            matches!(&event, NetEvent::ConnectFailed { link: LINK, error: ConnectError::Tls(why) } if why.contains("context 2")),
            "{event:?}"
        );
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection is made");
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
