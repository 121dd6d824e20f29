//! [`Client`]: the cloneable handle, its builder, the generic command API and the URC stream.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot, Mutex};
use tokio::time::{timeout_at, Instant};

use crate::command::{Command, DataEntry};
use crate::digest::{Digester, Limits, Response};
use crate::driver::{Driver, Request, Waiter};
use crate::error::{Error, UrcError};
use crate::urc::Urc;

/// MQTT clients per module (`<client_idx>` 0–5, note ch. 3).
pub(crate) const MQTT_CLIENTS: usize = 6;

/// `pkt_timeout` and `retry_times` of one MQTT client, as last set through
/// [`Client::qmt_cfg_timeout`] (defaults 5 s and 3, note ch. 3 AT+QMTCFG).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketTiming {
    pub(crate) pkt_timeout: u8,
    pub(crate) retry_times: u8,
}

impl Default for PacketTiming {
    fn default() -> Self {
        PacketTiming {
            pkt_timeout: 5,
            retry_times: 3,
        }
    }
}

impl PacketTiming {
    /// Time for the module to give its final result for a packet: the first send and every
    /// retry each take up to `pkt_timeout`. (The note's "pkt_timeout × retry_times" would end
    /// before the module's own "failed" result; we prefer to see that result.)
    pub(crate) fn budget(self) -> Duration {
        Duration::from_secs(u64::from(self.pkt_timeout) * (u64::from(self.retry_times) + 1))
    }
}

struct Shared {
    requests: mpsc::Sender<Request>,
    urcs: broadcast::WeakSender<Urc>,
    events: broadcast::WeakSender<Event>,
    primary: Mutex<broadcast::Receiver<Urc>>,
    timings: StdMutex<[PacketTiming; MQTT_CLIENTS]>,
}

#[derive(Debug, Clone, Copy)]
struct Policy {
    scale: f64,
    min: Duration,
    fixed: Option<Duration>,
}

/// Builds a [`Client`] with non-default timeouts, limits or URC buffering.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    policy: Policy,
    limits: Limits,
    urc_capacity: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            policy: Policy {
                scale: 1.0,
                min: Duration::ZERO,
                fixed: None,
            },
            limits: Limits::default(),
            urc_capacity: 1024,
        }
    }
}

impl ClientBuilder {
    /// Multiplies every documented timeout (default 1.0). A loaded CI machine running the
    /// emulator may want 5–10; a real module on a quiet bench needs none.
    #[must_use]
    pub fn timeout_scale(mut self, scale: f64) -> Self {
        self.policy.scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        self
    }

    /// No documented timeout is shorter than this after scaling (default 0). Useful because
    /// most commands document 300 ms, which a descheduled test process can miss.
    #[must_use]
    pub fn min_timeout(mut self, min: Duration) -> Self {
        self.policy.min = min;
        self
    }

    /// Memory bounds of the digester.
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many URCs each subscription (and the client's own stream) keeps unread before the
    /// oldest are dropped and reported as [`UrcError::Lagged`] (default 1024).
    #[must_use]
    pub fn urc_capacity(mut self, capacity: usize) -> Self {
        self.urc_capacity = capacity.max(1);
        self
    }

    /// Starts the client on `io`, spawning its driver task on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn build<T>(self, io: T) -> Client
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (req_tx, req_rx) = mpsc::channel(16);
        let (urc_tx, urc_rx) = broadcast::channel(self.urc_capacity);
        let (event_tx, _) = broadcast::channel(self.urc_capacity);
        let shared = Shared {
            requests: req_tx,
            urcs: urc_tx.downgrade(),
            events: event_tx.downgrade(),
            primary: Mutex::new(urc_rx),
            timings: StdMutex::new([PacketTiming::default(); MQTT_CLIENTS]),
        };
        let driver = Driver::new(
            io,
            Digester::with_limits(self.limits),
            req_rx,
            urc_tx,
            event_tx,
        );
        tokio::spawn(driver.run());
        Client {
            shared: Arc::new(shared),
            policy: self.policy,
        }
    }
}

/// A typed async driver for a Quectel module's AT interface (see the crate docs).
///
/// Cheap to clone; clones share the transport, and commands from all clones are sent one at a
/// time, in the order they are issued. Dropping every clone stops the driver task.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    policy: Policy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a client with default settings on `io` (a serial port, a pseudo-terminal, a TCP
    /// stream or a `tokio::io::duplex` end).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn new<T>(io: T) -> Client
    where
        T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        ClientBuilder::default().build(io)
    }

    /// A builder for non-default settings.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Connects to a module's AT port over TCP (`vmodem run --tcp …`).
    pub async fn connect_tcp(addr: impl ToSocketAddrs) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client::new(stream))
    }

    /// Opens a serial device (a real module's `/dev/ttyUSB2`, or the pseudo-terminal of
    /// `vmodem run`) at `baud` and starts a client on it; see [`crate::serial`] for how the
    /// line is set up. For non-default settings, use
    /// `Client::builder().build(serial::open(path, baud)?)`.
    ///
    /// # Errors
    ///
    /// As [`crate::serial::open`]: the device cannot be opened, is not a terminal, or the baud
    /// rate is not a standard one.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn open_serial(path: impl AsRef<std::path::Path>, baud: u32) -> std::io::Result<Client> {
        Ok(Client::new(crate::serial::open(path, baud)?))
    }

    /// A handle on the same module whose calls all use exactly `timeout` (unscaled), for
    /// both the command and any awaited result URC: `client.with_timeout(d).qmt_open(…)`.
    #[must_use]
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        let mut c = self.clone();
        c.policy.fixed = Some(timeout);
        c
    }

    /// A handle on the same module with another timeout scale (see
    /// [`ClientBuilder::timeout_scale`]).
    #[must_use]
    pub fn with_timeout_scale(&self, scale: f64) -> Client {
        let mut c = self.clone();
        c.policy.scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        c
    }

    /// The timeout applied to a documented maximum response time.
    pub(crate) fn scaled(&self, documented: Duration) -> Duration {
        match self.policy.fixed {
            Some(fixed) => fixed,
            None => documented.mul_f64(self.policy.scale).max(self.policy.min),
        }
    }

    fn timeout_for(&self, cmd: &Command) -> Duration {
        match self.policy.fixed {
            Some(fixed) => fixed,
            None if cmd.has_explicit_timeout() => cmd.timeout(),
            None => self.scaled(cmd.timeout()),
        }
    }

    pub(crate) fn timing(&self, client: u8) -> PacketTiming {
        let timings = self
            .shared
            .timings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        timings[usize::from(client) % MQTT_CLIENTS]
    }

    pub(crate) fn set_timing(&self, client: u8, timing: PacketTiming) {
        let mut timings = self
            .shared
            .timings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        timings[usize::from(client) % MQTT_CLIENTS] = timing;
    }

    /// Sends a command and returns its response, whatever its final result: `ERROR` is a
    /// response too (see [`Client::command_ok`]).
    ///
    /// The command line must not contain CR, LF, Ctrl-Z or ESC. A command that takes data
    /// ([`DataEntry`]) must go through [`Client::send_with_payload`]; if the module prompts
    /// anyway, the client cancels with ESC and returns [`Error::UnexpectedResponse`].
    pub async fn command(&self, cmd: impl Into<Command>) -> Result<Response, Error> {
        self.execute(cmd.into(), None, None).await
    }

    /// Like [`Client::command`], but a final result other than `OK` is
    /// [`Error::Rejected`].
    pub async fn command_ok(&self, cmd: impl Into<Command>) -> Result<Response, Error> {
        let cmd = cmd.into();
        let text = cmd.text().to_string();
        let resp = self.execute(cmd, None, None).await?;
        require_ok(&text, resp)
    }

    /// Sends a data-entry command: waits for `> ` (or `CONNECT`), writes `payload` (adding
    /// Ctrl-Z for [`DataEntry::CtrlZ`]), then returns the response.
    ///
    /// `cmd` must take data; [`Command::new`] recognises AT+QMTPUBEX, AT+QMTPUB and AT+QFUPL,
    /// others need [`Command::with_data_entry`]. The payload is sent as is: matching the
    /// declared length is the caller's business, so tests can probe the module with wrong ones.
    pub async fn send_with_payload(
        &self,
        cmd: impl Into<Command>,
        payload: &[u8],
    ) -> Result<Response, Error> {
        let cmd = cmd.into();
        check_payload(&cmd, payload)?;
        self.execute(cmd, Some(payload.to_vec()), None).await
    }

    pub(crate) async fn execute(
        &self,
        cmd: Command,
        payload: Option<Vec<u8>>,
        waiter: Option<Waiter>,
    ) -> Result<Response, Error> {
        if let Some(bad) = cmd
            .text()
            .chars()
            .find(|c| matches!(c, '\r' | '\n' | '\u{1a}' | '\u{1b}'))
        {
            return Err(Error::InvalidArgument {
                argument: "command",
                reason: format!(
                    "contains {bad:?}, which would end or cancel the command line early"
                ),
            });
        }
        let (reply, rx) = oneshot::channel();
        let request = Request {
            timeout: self.timeout_for(&cmd),
            cmd,
            payload,
            waiter,
            reply,
        };
        self.shared
            .requests
            .send(request)
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Sends `cmd`, requires `OK`, and returns a stream of the URCs that match `filter` from
    /// then on (the awaited result of AT+QMTOPEN and the like). The URCs are also delivered to
    /// the URC stream: the typed result never leaves a hole in it.
    pub(crate) async fn command_then_urcs(
        &self,
        cmd: Command,
        payload: Option<Vec<u8>>,
        urc: &'static str,
        documented: Duration,
        filter: impl Fn(&Urc) -> bool + Send + 'static,
    ) -> Result<UrcWait, Error> {
        let text = cmd.text().to_string();
        let (tx, rx) = mpsc::unbounded_channel();
        let waiter = Waiter {
            filter: Box::new(filter),
            tx,
        };
        let resp = self.execute(cmd, payload, Some(waiter)).await?;
        require_ok(&text, resp)?;
        let timeout = self.scaled(documented);
        Ok(UrcWait {
            rx,
            deadline: Instant::now() + timeout,
            command: text,
            urc,
            timeout,
        })
    }

    /// The next URC from the client's own stream, which holds every URC since the client
    /// started (up to [`ClientBuilder::urc_capacity`] unread), in arrival order.
    ///
    /// Results that typed calls wait for (`+QMTOPEN: 0,0` for [`Client::qmt_open`]) appear here
    /// too. Clones share this stream: each URC is returned once, to one caller. For independent
    /// views, use [`Client::subscribe_urcs`].
    pub async fn next_urc(&self) -> Result<Urc, UrcError> {
        let mut rx = self.shared.primary.lock().await;
        recv(&mut rx).await
    }

    /// Waits on the client's own stream for a URC matching `pred`, dropping the others read
    /// before it.
    pub async fn wait_for_urc(
        &self,
        timeout: Duration,
        pred: impl FnMut(&Urc) -> bool,
    ) -> Result<Urc, UrcError> {
        let mut rx = self.shared.primary.lock().await;
        wait_for(&mut rx, timeout, pred).await
    }

    /// A view of every response and URC digested from now on, in the order the module sent
    /// them (the URC stream alone cannot say whether a URC came before or after a response).
    pub fn subscribe_events(&self) -> EventSubscription {
        let rx = match self.shared.events.upgrade() {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        };
        EventSubscription { rx }
    }

    /// A new, independent view of the URC stream, holding every URC received from now on.
    pub fn subscribe_urcs(&self) -> UrcSubscription {
        let rx = match self.shared.urcs.upgrade() {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        };
        UrcSubscription { rx }
    }
}

/// What the client digested, in the order the module sent it (from
/// [`Client::subscribe_events`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A command's complete answer (`command` is its line, without CR), whoever sent it.
    Response {
        /// The command line.
        command: String,
        /// Its information lines and final result.
        response: Response,
    },
    /// An unsolicited result code.
    Urc(Urc),
}

/// A view of everything the client digests, responses and URCs interleaved in arrival order:
/// for tools that show a session as it happened (`vmodem at`) and for logs. Created by
/// [`Client::subscribe_events`]; holds what arrives after it was created.
#[derive(Debug)]
pub struct EventSubscription {
    rx: broadcast::Receiver<Event>,
}

impl EventSubscription {
    /// The next event, in arrival order. [`UrcError::Lagged`] if this view fell more than
    /// [`ClientBuilder::urc_capacity`] events behind; [`UrcError::Closed`] once the client
    /// has stopped and everything was read.
    pub async fn recv(&mut self) -> Result<Event, UrcError> {
        match self.rx.recv().await {
            Ok(event) => Ok(event),
            Err(RecvError::Lagged(missed)) => Err(UrcError::Lagged { missed }),
            Err(RecvError::Closed) => Err(UrcError::Closed),
        }
    }

    /// The next event if one is already there.
    pub fn try_recv(&mut self) -> Option<Result<Event, UrcError>> {
        use broadcast::error::TryRecvError;
        match self.rx.try_recv() {
            Ok(event) => Some(Ok(event)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Lagged(missed)) => Some(Err(UrcError::Lagged { missed })),
            Err(TryRecvError::Closed) => Some(Err(UrcError::Closed)),
        }
    }
}

/// An independent view of the URC stream (from [`Client::subscribe_urcs`]).
#[derive(Debug)]
pub struct UrcSubscription {
    rx: broadcast::Receiver<Urc>,
}

impl UrcSubscription {
    /// The next URC, in arrival order.
    pub async fn recv(&mut self) -> Result<Urc, UrcError> {
        recv(&mut self.rx).await
    }

    /// The next URC if one is already there.
    pub fn try_recv(&mut self) -> Option<Result<Urc, UrcError>> {
        use broadcast::error::TryRecvError;
        match self.rx.try_recv() {
            Ok(urc) => Some(Ok(urc)),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Lagged(missed)) => Some(Err(UrcError::Lagged { missed })),
            Err(TryRecvError::Closed) => Some(Err(UrcError::Closed)),
        }
    }

    /// Waits for a URC matching `pred`, dropping the others read before it.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        pred: impl FnMut(&Urc) -> bool,
    ) -> Result<Urc, UrcError> {
        wait_for(&mut self.rx, timeout, pred).await
    }
}

async fn recv(rx: &mut broadcast::Receiver<Urc>) -> Result<Urc, UrcError> {
    match rx.recv().await {
        Ok(urc) => Ok(urc),
        Err(RecvError::Lagged(missed)) => Err(UrcError::Lagged { missed }),
        Err(RecvError::Closed) => Err(UrcError::Closed),
    }
}

async fn wait_for(
    rx: &mut broadcast::Receiver<Urc>,
    timeout: Duration,
    mut pred: impl FnMut(&Urc) -> bool,
) -> Result<Urc, UrcError> {
    let deadline = Instant::now() + timeout;
    loop {
        match timeout_at(deadline, recv(rx)).await {
            Err(_) => return Err(UrcError::Timeout(timeout)),
            Ok(Ok(urc)) if pred(&urc) => return Ok(urc),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e),
        }
    }
}

/// The URCs a typed call waits for after its `OK`.
pub(crate) struct UrcWait {
    rx: mpsc::UnboundedReceiver<Urc>,
    deadline: Instant,
    command: String,
    urc: &'static str,
    timeout: Duration,
}

impl UrcWait {
    pub(crate) async fn next(&mut self) -> Result<Urc, Error> {
        match timeout_at(self.deadline, self.rx.recv()).await {
            Ok(Some(urc)) => Ok(urc),
            Ok(None) => Err(Error::Closed),
            Err(_) => Err(Error::UrcTimeout {
                command: self.command.clone(),
                urc: self.urc,
                timeout: self.timeout,
            }),
        }
    }

    pub(crate) fn unexpected(&self, detail: impl Into<String>) -> Error {
        Error::UnexpectedResponse {
            command: self.command.clone(),
            detail: detail.into(),
        }
    }
}

pub(crate) fn require_ok(command: &str, resp: Response) -> Result<Response, Error> {
    if resp.is_ok() {
        Ok(resp)
    } else {
        Err(Error::Rejected {
            command: command.to_string(),
            result: resp.result,
        })
    }
}

fn check_payload(cmd: &Command, payload: &[u8]) -> Result<(), Error> {
    match cmd.data_entry() {
        DataEntry::None => Err(Error::InvalidArgument {
            argument: "command",
            reason: "this command takes no data; declare it with Command::with_data_entry".into(),
        }),
        DataEntry::CtrlZ if payload.iter().any(|&b| b == 0x1a || b == 0x1b) => {
            Err(Error::InvalidArgument {
                argument: "payload",
                reason: "contains Ctrl-Z or ESC, which end or cancel a Ctrl-Z data entry; use \
                         the fixed-length form (qmt_pubex) for binary data"
                    .into(),
            })
        }
        _ => Ok(()),
    }
}
