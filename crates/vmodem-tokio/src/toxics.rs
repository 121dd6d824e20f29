//! Link toxics (issue 10 §2, `link` faults): what toxiproxy does to a TCP
//! connection, done inside the module's link between its socket and its
//! TLS/MQTT bytes.
//!
//! The core records a [`Fault::Link`](vmodem_core::Fault::Link) and emits
//! `FaultStarted`/`FaultEnded`; the module task hands it to
//! [`Links`](crate::links), which puts it on the [`LinkToxics`] of every
//! matching link (one client or all) and on the links opened while it lasts.
//! Each link's socket is a [`ToxicTcp`]: without a toxic it is the
//! [`TcpStream`] itself plus one atomic load per poll; with one, the bytes of
//! the toxic's direction go through a [`Line`].
//!
//! **TCP bytes, as toxiproxy.** The toxics act on the bytes of the TCP
//! connection, under TLS: on a TLS link latency delays records, `limit_data`
//! counts record bytes and may cut a record in two (the module then sees the
//! peer close without close_notify, `+QMTSTAT: c,1`, as on a real network).
//!
//! **Directions.** Up is module → broker (what the module writes), down is
//! broker → module (what it reads). A toxic on `both` acts on each alone.
//!
//! **What "written" means.** The core counts a byte written
//! ([`NetEvent::Written`](vmodem_core::NetEvent::Written)) when the link's
//! socket took it, and its keep-alive and retransmission timers count from
//! there (client.rs `last_written`, `written_by`). A toxic is the network
//! *behind* the socket: a byte a latency or bandwidth toxic holds has been
//! written as far as the module knows, and a blackholed byte was written and
//! lost. So a blackhole leaves the link up and the module's own timers find
//! it dead (no PINGRESP: `+QMTPING: c,1`, then `+QMTSTAT: c,2`; no PUBACK:
//! retransmission, then `+QMTSTAT: c,6`), which is the path it must exercise.
//!
//! **Bounds.** A [`Line`] holds at most [`LINE_LIMIT`] bytes per direction,
//! as a socket's buffer does: up, a full line takes no more writes, so the
//! core's send buffer (16 KiB) fills and publishes beyond it fail with result
//! 2, as when a broker stops reading; down, a full line reads no more from
//! the socket, so TCP pushes back on the broker. Down, a line only hands bytes
//! on when the link task reads, which it does only while the core is not
//! paused and has fewer than two reads not taken (`links.rs`), so the core's
//! own bounds hold. No other buffer is added; a link without toxics has no
//! line at all.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use vmodem_core::{Direction, FaultId, LinkFault, Toxic};

/// Most bytes a toxic holds per link and direction (see the module docs):
/// 64 KiB, a common TCP window, so a latency of L still carries 64 KiB per L.
pub(crate) const LINE_LIMIT: usize = 64 * 1024;

/// Most bytes read from the socket at once into a down line.
const READ_CHUNK: usize = 4096;

/// Bandwidth pacing hands on at most this much of a second's rate at once
/// (20 ms worth, at least one byte), so a rate is smooth, not bursty.
const PACE_SLICES_PER_SECOND: u64 = 50;

/// The toxics of one link, shared by the module task (which changes them)
/// and the link's socket (which reads them when `generation` moved).
#[derive(Debug, Default)]
pub(crate) struct LinkToxics {
    generation: AtomicU64,
    active: Mutex<Vec<(FaultId, Toxic, Direction)>>,
}

impl LinkToxics {
    /// Adds a toxic (the link task must be woken afterwards).
    pub(crate) fn add(&self, id: FaultId, toxic: Toxic, direction: Direction) {
        self.lock().push((id, toxic, direction));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Removes fault `id`'s toxic, if it is on this link.
    pub(crate) fn remove(&self, id: FaultId) {
        self.lock().retain(|(f, _, _)| *f != id);
        self.generation.fetch_add(1, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(FaultId, Toxic, Direction)>> {
        // Every change is one push or retain: a poisoned lock holds a whole list.
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `fault` applies to a link of `client`.
pub(crate) fn applies(fault: &LinkFault, client: u8) -> bool {
    fault.client.is_none_or(|c| c == client)
}

/// What the toxics ask of one direction, combined.
#[derive(Clone, Debug, Default, PartialEq)]
struct DirToxics {
    /// Latency and jitter in ms; several latencies add up, as toxiproxy chains them.
    latency: Option<(u64, u64)>,
    /// The lowest rate, bytes per second.
    rate: Option<u64>,
    blackhole: bool,
    /// The close (FIN) going this way is held this long.
    slow_close: Option<Duration>,
    /// The fault whose byte budget counts, and the budget.
    limit: Option<(FaultId, u64)>,
}

impl DirToxics {
    fn delays(&self) -> bool {
        self.latency.is_some() || self.rate.is_some()
    }

    fn any(&self) -> bool {
        *self != DirToxics::default()
    }
}

/// Bytes a toxic holds in one direction, each chunk with its time.
#[derive(Debug)]
struct Line {
    chunks: VecDeque<(Instant, Vec<u8>)>,
    /// Bytes in `chunks`: at most [`LINE_LIMIT`].
    bytes: usize,
    /// The latest time given to a chunk: later chunks never come earlier,
    /// so jitter never reorders bytes.
    last_due: Instant,
    /// Bandwidth: the next byte may go at this time.
    next_send: Instant,
    /// Down: the peer's close, to be handed on at this time (after the bytes).
    eof_at: Option<Instant>,
    /// Bytes counted against the `limit` budget, and whose budget it is.
    passed: u64,
    budget_of: Option<FaultId>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Line {
    fn new() -> Line {
        let now = Instant::now();
        Line {
            chunks: VecDeque::new(),
            bytes: 0,
            last_due: now,
            next_send: now,
            eof_at: None,
            passed: 0,
            budget_of: None,
            timer: None,
        }
    }

    /// The time a chunk going now is due, after latency and jitter.
    fn due(&mut self, toxics: &DirToxics, rng: &mut u64) -> Instant {
        let now = Instant::now();
        let at = match toxics.latency {
            Some((latency, jitter)) => {
                let mut ms = latency as i64;
                if jitter > 0 {
                    let span = 2 * jitter + 1;
                    ms += (splitmix64(rng) % span) as i64 - jitter as i64;
                }
                now + Duration::from_millis(ms.max(0) as u64)
            }
            None => now,
        };
        self.last_due = self.last_due.max(at);
        self.last_due
    }

    fn push(&mut self, due: Instant, data: Vec<u8>) {
        self.bytes += data.len();
        self.chunks.push_back((due, data));
    }

    fn room(&self) -> usize {
        LINE_LIMIT.saturating_sub(self.bytes)
    }

    /// How many bytes of the front chunk may go now (0: wait for the
    /// timer, armed). `rate` paces.
    fn ready(&mut self, cx: &mut Context<'_>, rate: Option<u64>) -> usize {
        let Some((due, chunk)) = self.chunks.front() else {
            return 0;
        };
        let (mut at, len) = (*due, chunk.len());
        if rate.is_some() {
            at = at.max(self.next_send);
        }
        if self.wait_until(cx, at) {
            return 0;
        }
        match rate {
            Some(rate) => len.min((rate / PACE_SLICES_PER_SECOND).max(1) as usize),
            None => len,
        }
    }

    /// Whether `at` is still to come; if so the timer is armed for it.
    fn wait_until(&mut self, cx: &mut Context<'_>, at: Instant) -> bool {
        if at <= Instant::now() {
            return false;
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        timer.as_mut().reset(at);
        timer.as_mut().poll(cx).is_pending()
    }

    /// `n` bytes of the front chunk went on.
    fn taken(&mut self, n: usize, rate: Option<u64>) {
        let Some((_, chunk)) = self.chunks.front_mut() else {
            return;
        };
        chunk.drain(..n);
        if chunk.is_empty() {
            self.chunks.pop_front();
        }
        self.bytes -= n;
        if let Some(rate) = rate {
            let start = self.next_send.max(Instant::now());
            self.next_send = start + Duration::from_secs_f64(n as f64 / rate as f64);
        }
        if self.chunks.is_empty() {
            self.chunks = VecDeque::new();
        }
    }

    /// The bytes of `n` that the `limit` budget lets through; `Some(true)`
    /// in the second place when the budget is spent with them.
    fn budget(&mut self, limit: Option<(FaultId, u64)>, n: usize) -> (usize, bool) {
        let Some((id, bytes)) = limit else {
            return (n, false);
        };
        if self.budget_of != Some(id) {
            // A new limit counts from when it reached this link.
            self.budget_of = Some(id);
            self.passed = 0;
        }
        let left = bytes.saturating_sub(self.passed);
        let n = n.min(usize::try_from(left).unwrap_or(usize::MAX));
        self.passed += n as u64;
        (n, self.passed >= bytes)
    }
}

/// A link's TCP socket with its toxics; TLS runs on top of it.
#[derive(Debug)]
pub(crate) struct ToxicTcp {
    tcp: TcpStream,
    toxics: Arc<LinkToxics>,
    /// The `generation` of `toxics` that `up`/`down` were built from.
    seen: u64,
    up: DirToxics,
    down: DirToxics,
    /// Any toxic at all (fast path when none).
    any: bool,
    reset: bool,
    up_line: Line,
    down_line: Line,
    /// Seeded jitter.
    rng: u64,
    /// Up: the limit was reached; once the line is empty the socket is shut
    /// (FIN), and from then on `cut`.
    cut_pending: bool,
    /// The link was closed by a limit: reads end, writes vanish.
    cut: bool,
    /// Up slow_close: when the module's close goes through.
    close_at: Option<Instant>,
    /// The peer closed while a down blackhole swallowed it: handed on when
    /// the blackhole ends.
    swallowed_eof: bool,
}

impl ToxicTcp {
    /// `seed` seeds the jitter (the module's seed, the fault and the link).
    pub(crate) fn new(tcp: TcpStream, toxics: Arc<LinkToxics>, seed: u64) -> ToxicTcp {
        let mut t = ToxicTcp {
            tcp,
            toxics,
            seen: u64::MAX,
            up: DirToxics::default(),
            down: DirToxics::default(),
            any: false,
            reset: false,
            up_line: Line::new(),
            down_line: Line::new(),
            rng: seed,
            cut_pending: false,
            cut: false,
            close_at: None,
            swallowed_eof: false,
        };
        t.refresh();
        t
    }

    /// The socket under the toxics.
    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Rebuilds the per-direction view when the toxics changed.
    fn refresh(&mut self) {
        let generation = self.toxics.generation.load(Ordering::Acquire);
        if generation == self.seen {
            return;
        }
        self.seen = generation;
        let active = self.toxics.lock();
        let (mut up, mut down, mut reset) = (DirToxics::default(), DirToxics::default(), false);
        for (id, toxic, direction) in active.iter() {
            let dirs: &mut [&mut DirToxics] = match direction {
                Direction::Up => &mut [&mut up],
                Direction::Down => &mut [&mut down],
                Direction::Both => &mut [&mut up, &mut down],
            };
            for d in dirs.iter_mut() {
                match *toxic {
                    Toxic::Latency {
                        latency_ms,
                        jitter_ms,
                    } => {
                        let (l, j) = d.latency.unwrap_or((0, 0));
                        d.latency = Some((l + latency_ms, j + jitter_ms));
                    }
                    Toxic::Bandwidth { rate_bps } => {
                        d.rate = Some(d.rate.map_or(rate_bps, |r| r.min(rate_bps)))
                    }
                    Toxic::Blackhole => d.blackhole = true,
                    Toxic::Reset => reset = true,
                    Toxic::SlowClose { delay_ms } => {
                        let delay = Duration::from_millis(delay_ms);
                        d.slow_close = Some(d.slow_close.map_or(delay, |s| s.max(delay)));
                    }
                    Toxic::LimitData { bytes } => {
                        if d.limit.is_none_or(|(_, b)| bytes < b) {
                            d.limit = Some((*id, bytes));
                        }
                    }
                }
            }
            // Each fault's jitter draws from its own seeded sequence.
            self.rng ^= id.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        drop(active);
        // A latency that ends lets what it holds go on at once, in order (as
        // toxiproxy's latency toxic hands on its chunk when it is removed).
        let now = Instant::now();
        for (line, toxics) in [(&mut self.up_line, &up), (&mut self.down_line, &down)] {
            if toxics.latency.is_none() {
                for (due, _) in &mut line.chunks {
                    *due = (*due).min(now);
                }
                line.last_due = line.last_due.min(now);
            }
        }
        self.any = up.any() || down.any() || reset;
        (self.up, self.down, self.reset) = (up, down, reset);
    }

    /// A reset toxic is on: the socket is set to close with RST (SO_LINGER
    /// 0) when dropped, and the caller ends the link as reset by the peer.
    pub(crate) fn reset_due(&mut self) -> bool {
        self.refresh();
        if self.reset {
            let _ = self.tcp.set_zero_linger();
        }
        self.reset
    }

    /// Moves held up bytes on to the socket as their time comes; ready when
    /// the line is empty (and a limit's close done), pending otherwise.
    fn drive_up(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let n = self.up_line.ready(cx, self.up.rate);
            if n == 0 {
                if !self.up_line.chunks.is_empty() {
                    return Poll::Pending;
                }
                break;
            }
            let chunk = &self.up_line.chunks[0].1[..n];
            let n = ready!(Pin::new(&mut self.tcp).poll_write(cx, chunk))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.up_line.taken(n, self.up.rate);
        }
        if self.cut_pending {
            ready!(Pin::new(&mut self.tcp).poll_shutdown(cx))?;
            self.cut_pending = false;
            self.cut = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Reads what the socket has into the down line (toxics applied).
    fn fill_down(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        let mut buf = [0u8; READ_CHUNK];
        if self.swallowed_eof {
            if self.down.blackhole {
                return Ok(());
            }
            self.swallowed_eof = false;
            self.down_line.eof_at = Some(self.down_line.last_due.max(Instant::now()));
        }
        while self.down_line.eof_at.is_none() && self.down_line.room() > 0 {
            let room = self.down_line.room().min(READ_CHUNK);
            let mut read = ReadBuf::new(&mut buf[..room]);
            match Pin::new(&mut self.tcp).poll_read(cx, &mut read) {
                Poll::Pending => break,
                Poll::Ready(Err(e)) => return Err(e),
                Poll::Ready(Ok(())) if read.filled().is_empty() && self.down.blackhole => {
                    // A blackhole swallows the close too: the link stays up.
                    self.swallowed_eof = true;
                    break;
                }
                Poll::Ready(Ok(())) if read.filled().is_empty() => {
                    let hold = self.down.slow_close.unwrap_or_default();
                    let at = self.down_line.last_due.max(Instant::now() + hold);
                    self.down_line.eof_at = Some(at);
                }
                Poll::Ready(Ok(())) => {
                    if self.down.blackhole {
                        continue; // read and lost; the broker's writes succeed
                    }
                    let data = read.filled();
                    let (n, spent) = self.down_line.budget(self.down.limit, data.len());
                    let due = self.down_line.due(&self.down, &mut self.rng);
                    if n > 0 {
                        self.down_line.push(due, data[..n].to_vec());
                    }
                    if spent {
                        // The limit closes the connection: FIN to the broker,
                        // and the module reads its end after these bytes.
                        self.down_line.eof_at = Some(due);
                        self.cut = true;
                        let _ = Pin::new(&mut self.tcp).poll_shutdown(cx);
                    }
                }
            }
        }
        Ok(())
    }
}

impl AsyncRead for ToxicTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.refresh();
        let line_idle = this.down_line.chunks.is_empty() && this.down_line.eof_at.is_none();
        if !this.any && line_idle && !this.cut {
            return Pin::new(&mut this.tcp).poll_read(cx, buf);
        }
        // Held up bytes move on whichever side is polled.
        if let Poll::Ready(Err(e)) = this.drive_up(cx) {
            return Poll::Ready(Err(e));
        }
        if this.cut && line_idle {
            return Poll::Ready(Ok(())); // closed by a limit
        }
        if !this.down.any() && line_idle {
            return Pin::new(&mut this.tcp).poll_read(cx, buf);
        }
        this.fill_down(cx)?;
        let n = this
            .down_line
            .ready(cx, this.down.rate)
            .min(buf.remaining());
        if n > 0 {
            buf.put_slice(&this.down_line.chunks[0].1[..n]);
            this.down_line.taken(n, this.down.rate);
            return Poll::Ready(Ok(()));
        }
        if this.down_line.chunks.is_empty() {
            if let Some(at) = this.down_line.eof_at {
                if !this.down_line.wait_until(cx, at) {
                    return Poll::Ready(Ok(())); // the peer's close, handed on
                }
            }
        }
        Poll::Pending
    }
}

impl AsyncWrite for ToxicTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        if !this.any && this.up_line.chunks.is_empty() && !this.cut && !this.cut_pending {
            return Pin::new(&mut this.tcp).poll_write(cx, buf);
        }
        if this.cut || this.cut_pending || this.up.blackhole || buf.is_empty() {
            // Past a limit, or into a blackhole: written, and lost.
            return Poll::Ready(Ok(buf.len()));
        }
        let delayed = this.up.delays() || !this.up_line.chunks.is_empty();
        if delayed && this.up_line.room() == 0 {
            // Full: writes wait for the held bytes to move on.
            ready!(this.drive_up(cx))?;
        }
        let cap = if delayed {
            this.up_line.room()
        } else {
            buf.len()
        };
        let (n, spent) = this.up_line.budget(this.up.limit, buf.len().min(cap));
        if delayed {
            let due = this.up_line.due(&this.up, &mut this.rng);
            this.up_line.push(due, buf[..n].to_vec());
        } else {
            match Pin::new(&mut this.tcp).poll_write(cx, &buf[..n]) {
                Poll::Ready(Ok(k)) if k < n => {
                    // Give back what the socket did not take.
                    this.up_line.passed = this.up_line.passed.saturating_sub((n - k) as u64);
                    return Poll::Ready(Ok(k));
                }
                Poll::Ready(Ok(_)) => {}
                other => {
                    this.up_line.passed = this.up_line.passed.saturating_sub(n as u64);
                    return other;
                }
            }
        }
        if spent {
            this.cut_pending = true;
        }
        let _ = this.drive_up(cx);
        // Bytes past the budget are taken too: they are lost in the close.
        Poll::Ready(Ok(if spent { buf.len() } else { n }))
    }

    /// Without toxics, vectored writes go to the socket as one (rustls writes
    /// a TLS flight of several records so: as separate writes a server that
    /// refuses the first record would reset the link under the others).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.refresh();
        if !this.any && this.up_line.chunks.is_empty() && !this.cut && !this.cut_pending {
            return Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        }
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &**b);
        Pin::new(this).poll_write(cx, first)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.refresh();
        ready!(this.drive_up(cx))?;
        if this.cut {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.refresh();
        ready!(this.drive_up(cx))?;
        if this.cut {
            return Poll::Ready(Ok(()));
        }
        if let Some(hold) = this.up.slow_close {
            let at = *this.close_at.get_or_insert_with(|| Instant::now() + hold);
            if this.up_line.wait_until(cx, at) {
                return Poll::Pending;
            }
        }
        Pin::new(&mut this.tcp).poll_shutdown(cx)
    }
}

/// SplitMix64 (as `vmodem-core`'s scenario player): small, seedable, good enough for jitter.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
