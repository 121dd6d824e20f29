//! The background task that owns the transport: it writes one command at a time, feeds every
//! byte read to the [`Digester`], answers the caller's oneshot with the response, writes
//! payloads on prompts, enforces timeouts and fans URCs out.
//!
//! It is the only place where bytes move; everything it decides comes from the digester's
//! items, so its own logic is small: see `Driver::handle`.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::{timeout_at, Duration, Instant};
use tracing::{debug, trace, warn};

use crate::client::Event;
use crate::command::{Command, DataEntry};
use crate::digest::{Digester, Item, Response};
use crate::error::Error;
use crate::urc::Urc;

/// Ctrl-Z: ends AT+QMTPUB data.
const CTRL_Z: u8 = 0x1a;
/// ESC: cancels a Ctrl-Z data entry.
const ESC: u8 = 0x1b;

/// Receives copies of the URCs a typed call waits for.
pub(crate) struct Waiter {
    pub(crate) filter: Box<dyn Fn(&Urc) -> bool + Send>,
    pub(crate) tx: mpsc::UnboundedSender<Urc>,
}

/// A command for the driver.
pub(crate) struct Request {
    pub(crate) cmd: Command,
    pub(crate) timeout: Duration,
    pub(crate) payload: Option<Vec<u8>>,
    /// Activated when the response is `OK`, before any later byte is digested, so the awaited
    /// URC cannot slip past.
    pub(crate) waiter: Option<Waiter>,
    pub(crate) reply: oneshot::Sender<Result<Response, Error>>,
}

struct InFlight {
    text: String,
    data: DataEntry,
    payload: Option<Vec<u8>>,
    waiter: Option<Waiter>,
    reply: oneshot::Sender<Result<Response, Error>>,
    deadline: Instant,
    timeout: Duration,
    /// Set when the module asked for data we did not have; reported with the response.
    error: Option<Error>,
}

pub(crate) struct Driver<T> {
    reader: ReadHalf<T>,
    writer: WriteHalf<T>,
    digester: Digester,
    requests: mpsc::Receiver<Request>,
    urcs: broadcast::Sender<Urc>,
    /// Responses and URCs in digest order, for [`crate::Client::subscribe_events`].
    events: broadcast::Sender<Event>,
    waiters: Vec<Waiter>,
    current: Option<InFlight>,
    /// The payload of a timed-out data-entry command whose prompt may still come.
    abandoned: Option<(DataEntry, Vec<u8>)>,
}

impl<T: AsyncRead + AsyncWrite + Send + 'static> Driver<T> {
    pub(crate) fn new(
        io: T,
        digester: Digester,
        requests: mpsc::Receiver<Request>,
        urcs: broadcast::Sender<Urc>,
        events: broadcast::Sender<Event>,
    ) -> Self {
        let (reader, writer) = tokio::io::split(io);
        Driver {
            reader,
            writer,
            digester,
            requests,
            urcs,
            events,
            waiters: Vec::new(),
            current: None,
            abandoned: None,
        }
    }

    /// Runs until every client handle is dropped, the transport ends, or I/O fails.
    pub(crate) async fn run(mut self) {
        let mut buf = vec![0u8; 4096];
        let end = loop {
            let deadline = self.current.as_ref().map(|c| c.deadline);
            tokio::select! {
                biased;
                read = self.reader.read(&mut buf) => match read {
                    Ok(0) => break Error::Closed,
                    Ok(n) => {
                        trace!(rx = ?String::from_utf8_lossy(&buf[..n]), "read");
                        if let Err(e) = self.ingest(&buf[..n]).await {
                            break e;
                        }
                    }
                    Err(e) => break Error::io(&e),
                },
                () = sleep_until_opt(deadline), if deadline.is_some() => self.time_out(),
                req = self.requests.recv(), if self.current.is_none() => match req {
                    None => {
                        debug!("all client handles dropped, stopping");
                        return;
                    }
                    Some(req) => {
                        if let Err(e) = self.begin(req).await {
                            break e;
                        }
                    }
                },
            }
        };
        debug!(error = %end, "transport ended, stopping");
        self.requests.close();
        if let Some(cur) = self.current.take() {
            let _ = cur.reply.send(Err(end));
        }
    }

    async fn begin(&mut self, req: Request) -> Result<(), Error> {
        if req.reply.is_closed() {
            // The caller gave up before the command was sent: do not send it.
            return Ok(());
        }
        let deadline = Instant::now() + req.timeout;
        self.digester.start(&req.cmd);
        self.abandoned = None;
        let text = req.cmd.text().to_string();
        debug!(command = %text, timeout = ?req.timeout, "send");
        self.current = Some(InFlight {
            text: text.clone(),
            data: req.cmd.data_entry(),
            payload: req.payload,
            waiter: req.waiter,
            reply: req.reply,
            deadline,
            timeout: req.timeout,
            error: None,
        });
        let mut line = text.into_bytes();
        line.push(b'\r');
        self.write(&line, deadline).await
    }

    fn time_out(&mut self) {
        let Some(cur) = self.current.take() else {
            return;
        };
        warn!(command = %cur.text, timeout = ?cur.timeout, "command timed out");
        self.digester.abandon();
        if let Some(payload) = cur.payload {
            self.abandoned = Some((cur.data, payload));
        }
        let _ = cur.reply.send(Err(Error::Timeout {
            command: cur.text,
            timeout: cur.timeout,
        }));
    }

    async fn ingest(&mut self, mut bytes: &[u8]) -> Result<(), Error> {
        loop {
            let (item, used) = self.digester.digest(bytes);
            bytes = &bytes[used..];
            match item {
                Some(item) => self.handle(item).await?,
                None => return Ok(()),
            }
        }
    }

    async fn handle(&mut self, item: Item) -> Result<(), Error> {
        match item {
            Item::Echo => trace!("echo"),
            Item::Response(resp) => {
                let Some(cur) = self.current.take() else {
                    return Ok(());
                };
                debug!(command = %cur.text, result = %resp.result, lines = resp.lines.len(), "response");
                if resp.is_ok() {
                    if let Some(waiter) = cur.waiter {
                        self.waiters.push(waiter);
                    }
                }
                if self.events.receiver_count() > 0 {
                    let _ = self.events.send(Event::Response {
                        command: cur.text.clone(),
                        response: resp.clone(),
                    });
                }
                let _ = cur.reply.send(match cur.error {
                    Some(e) => Err(e),
                    None => Ok(resp),
                });
            }
            Item::Urc(urc) => {
                debug!(%urc, "urc");
                // Broadcast before feeding the typed call that waits for it: once that call
                // returns, a view its caller takes must not get this URC ("every URC received
                // from now on"), so the broadcast has to have happened already.
                if self.events.receiver_count() > 0 {
                    let _ = self.events.send(Event::Urc(urc.clone()));
                }
                // No subscriber is not an error: URCs are also kept by the primary receiver.
                let _ = self.urcs.send(urc.clone());
                self.waiters.retain(|w| !w.tx.is_closed());
                for w in &self.waiters {
                    if (w.filter)(&urc) {
                        let _ = w.tx.send(urc.clone());
                    }
                }
            }
            Item::Prompt | Item::Connect => self.data_requested().await?,
            Item::Discarded(d) => {
                debug!(reason = ?d.reason, len = d.len, head = ?String::from_utf8_lossy(&d.head), "discarded");
            }
        }
        Ok(())
    }

    /// The module waits for data (`> ` or `CONNECT`): write it, or cancel.
    async fn data_requested(&mut self) -> Result<(), Error> {
        let (data, payload, deadline) = match self.current.as_mut() {
            Some(cur) => {
                let payload = cur.payload.take();
                if payload.is_none() {
                    cur.error = Some(Error::UnexpectedResponse {
                        command: cur.text.clone(),
                        detail: "the module asked for data but the command had no payload \
                                 (use send_with_payload); cancelled with ESC"
                            .into(),
                    });
                }
                (cur.data, payload, cur.deadline)
            }
            None => {
                // A late prompt of a timed-out command: keep the link in step.
                let (data, payload) = self.abandoned.take().unzip();
                let payload = payload.filter(|_| data != Some(DataEntry::CtrlZ));
                warn!(
                    complete = payload.is_some(),
                    "late data prompt for a timed-out command"
                );
                (
                    data.unwrap_or(DataEntry::CtrlZ),
                    payload,
                    Instant::now() + Duration::from_secs(5),
                )
            }
        };
        match payload {
            Some(payload) => {
                let mut out = payload.clone();
                if data == DataEntry::CtrlZ {
                    out.push(CTRL_Z);
                }
                debug!(bytes = payload.len(), "payload");
                self.write(&out, deadline).await?;
                self.digester.payload_sent(&payload);
            }
            None => self.write(&[ESC], deadline).await?,
        }
        Ok(())
    }

    /// Writes and flushes, giving up at `deadline` (a transport that does not take a command
    /// line before the command's own deadline is treated as broken).
    async fn write(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), Error> {
        let writer = &mut self.writer;
        let result = timeout_at(deadline, async move {
            writer.write_all(bytes).await?;
            writer.flush().await
        })
        .await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::io(&e)),
            Err(_) => Err(Error::Io {
                kind: std::io::ErrorKind::TimedOut,
                message: "the transport did not accept data before the command's deadline".into(),
            }),
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
