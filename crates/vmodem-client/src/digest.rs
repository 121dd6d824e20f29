//! The sans-I/O digester: module bytes in, [`Item`]s out.
//!
//! ```text
//!   Digester::start(&Command) ─┐       ┌─ Item::Echo       the pending command's echo
//!   Digester::payload_sent(..) ┤       ├─ Item::Prompt     "> ": send the payload now
//!   Digester::abandon()       ─┤       ├─ Item::Connect    "CONNECT": send the file now
//!                              ▼       ├─ Item::Response   info lines + OK/ERROR/+CME ERROR
//!   module bytes ──► digest(buf) ──────┼─ Item::Urc        typed unsolicited result code
//!                (any chunking)        └─ Item::Discarded  garbage, over-long, stale answers
//! ```
//!
//! The digester does no I/O and reads no clock: the caller tells it which command it has just
//! written ([`Digester::start`]), that it has written a payload ([`Digester::payload_sent`]) or
//! given up on a command ([`Digester::abandon`]), and feeds it every byte the module sends, in
//! any chunking. Feeding a stream one byte at a time gives exactly the same items as feeding it
//! whole (a property test checks this).
//!
//! # Framing
//!
//! Lines end at CR or LF; empty lines are skipped, so `\r\n<line>\r\n` (ATV1), `<line>\r\n`
//! (ATV0) and the echo `AT…\r` all split the same way. Exceptions:
//!
//! * `>` at the start of a line is the data prompt when the pending command takes data
//!   ([`DataEntry::Fixed`]/[`DataEntry::CtrlZ`]); one following space is swallowed. Nothing
//!   ends the prompt, so it cannot wait for a terminator.
//! * A line starting with `+QMTRECV:` is framed by its payload, which may hold CR and LF: see the
//!   `recv` module docs for the rule (length field authoritative; without it, the first `"\r\n`).
//! * In ATV0 mode the result codes are `0\r` (OK) and `4\r` (ERROR) with no LF: a line that is
//!   exactly `0` or `4` is a final result, unless the module is known to be verbose. The format
//!   is learned like the echo: from each final result seen (`OK` or `0`), from `ATV0`/`ATV1`,
//!   and reset by `ATZ`/`AT&F`/`RDY`. Until the first result shows it, a lone-digit information
//!   line would be misread (Quectel pads S-register values to three digits, so none of the
//!   usual commands has one).
//! * Bytes 0x1A and 0x1B at the start of a line are ignored (a stray Ctrl-Z/ESC echo).
//!
//! # Classification: response or URC?
//!
//! A line is classified when it is complete, with these rules in order (atat uses the same
//! prefix idea, without the echo rules):
//!
//! 1. **Echo.** While the pending command's echo has not been seen, a line equal to its text
//!    (ASCII case-insensitive) is its echo. The module echoes before answering, so any lines
//!    already collected as the response are re-issued as URCs (e.g. a `+CPIN: READY` boot URC
//!    just before the echo of `AT+CPIN?`). Not once a bare response line has come, nor after
//!    any response line when the module is known not to echo: `AT+CLAC` lists `AT+CLAC`.
//! 2. **Before the echo, with a module known to echo**, nothing belongs to the command: final
//!    results there are late answers of an abandoned command (discarded), other lines are URCs.
//! 3. **Final result** (`OK`, `ERROR`, `+CME ERROR: …`, `+CMS ERROR: …`, `0`, `4`) ends the
//!    pending command's response.
//! 4. **Response prefix.** A line starting with one of the command's response prefixes
//!    ([`Command::response_prefixes`], e.g. `+QMTOPEN:` for `AT+QMTOPEN?`) is a response line.
//! 5. **URC.** Any other line starting with `+`, and the bare URCs `RDY`, `APP RDY` (BG9x) and
//!    `POWERED DOWN`, are
//!    URCs (the module never writes a URC inside a response; it may write one just before the
//!    echo/response of a command, or between its `OK` and the next command). So lines held as
//!    the response before such a URC, with no echo seen, were URCs too: they are given out
//!    first, in the order they came.
//! 6. **Bare lines** (no `+`) belong to the pending command (ATI's `Quectel`, AT+CGSN's IMEI).
//!
//! With no command pending every line is a URC, except final results (discarded as
//! [`DiscardReason::StrayResult`]) and non-text lines ([`DiscardReason::Garbage`]).
//!
//! **Known ambiguity:** with echo off, a URC that shares the pending command's prefix and comes
//! just before its response (a `+QMTRECV:` URC just before the answer to `AT+QMTRECV=0`) is
//! taken as a response line. With echo on, rule 2 sorts it out.
//!
//! # Echo on or off
//!
//! The digester learns whether the module echoes ([`EchoMode`]): each finished command shows it
//! (echo seen or not), `ATE0`/`ATE1` set it when they succeed, `ATZ`/`AT&F`/`RDY` make it
//! unknown again, and a command abandoned without an echo makes it unknown (so a wrong belief
//! cannot make every later command time out).
//!
//! # After a timeout
//!
//! [`Digester::abandon`] marks the link *stale*: the module may still answer. With no command
//! pending, or before the next command's echo when the module echoes, the late answer's lines
//! are discarded ([`DiscardReason::Stale`]; typed URCs still pass) until its final result
//! ([`DiscardReason::StrayResult`]). With echo off the next command cannot tell the late answer
//! from its own and takes it; its own answer is then discarded as stray, so only that one
//! command is affected. A late `> `/`CONNECT` for an abandoned data-entry command is still
//! reported as [`Item::Prompt`]/[`Item::Connect`] with nothing pending, so the caller can
//! cancel (ESC) or complete the data entry and keep the link in step.
//!
//! # Bounded memory
//!
//! A line longer than [`Limits::max_line`] is skipped to its end and reported as
//! [`DiscardReason::LineTooLong`]; a `+QMTRECV` payload longer than [`Limits::max_payload`] is
//! counted but not stored ([`DiscardReason::PayloadTooLarge`]); a response beyond
//! [`Limits::max_response`] bytes drops further lines ([`DiscardReason::ResponseTooLarge`]).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::mem;

use crate::codes::FinalResult;
use crate::command::{Command, DataEntry};
use crate::params::{params_after, strip_prefix_ci, Param, ParamError};
use crate::recv::{self, RecvFramer, Step};
use crate::urc::Urc;

/// Memory bounds of the digester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line kept, in bytes (a `+QMTRECV` payload does not count). Default 4096.
    pub max_line: usize,
    /// Longest `+QMTRECV` payload kept. Default 64 KiB.
    pub max_payload: usize,
    /// Most bytes of information lines kept for one response. Default 1 MiB.
    pub max_response: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 4096,
            max_payload: 64 * 1024,
            max_response: 1024 * 1024,
        }
    }
}

/// Whether the module echoes command lines (ATE1, the power-up default) or not (ATE0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EchoMode {
    /// Not known yet (just attached, after a reset, or after a command timed out unechoed).
    Unknown,
    /// The module echoes.
    On,
    /// The module does not echo.
    Off,
}

/// A command's complete answer: its information lines and final result code.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Response {
    /// Information lines, raw, without their CR/LF (a `+QMTRECV` line keeps its payload bytes).
    pub lines: Vec<Vec<u8>>,
    /// The final result code.
    pub result: FinalResult,
}

impl Response {
    /// `true` if the result is `OK`.
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The lines as text (invalid UTF-8 replaced).
    pub fn text_lines(&self) -> impl Iterator<Item = Cow<'_, str>> {
        self.lines.iter().map(|l| String::from_utf8_lossy(l))
    }

    /// The lines starting with `prefix` (case-insensitive), with the prefix and the spaces after
    /// it removed: `+QMTOPEN: 0,"h",1883` with `"+QMTOPEN:"` gives `0,"h",1883`.
    pub fn prefixed<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.lines.iter().filter_map(move |l| {
            strip_prefix_ci(l, prefix.as_bytes()).map(|rest| rest.trim_ascii_start())
        })
    }

    /// The parameters of each line starting with `prefix`.
    pub fn params(&self, prefix: &str) -> Result<Vec<Vec<Param>>, ParamError> {
        self.lines
            .iter()
            .filter_map(|l| params_after(l, prefix))
            .collect()
    }
}

/// Why bytes were dropped instead of becoming an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DiscardReason {
    /// The line was longer than [`Limits::max_line`].
    LineTooLong,
    /// A `+QMTRECV` payload was longer than [`Limits::max_payload`].
    PayloadTooLarge,
    /// The pending response exceeded [`Limits::max_response`]; this line was dropped from it.
    ResponseTooLarge,
    /// A final result code with no command waiting for it: the late answer of an abandoned
    /// command (or, with echo on, one that arrived before the pending command's echo).
    StrayResult,
    /// A line of an abandoned command's late answer.
    Stale,
    /// Not text (invalid UTF-8 or control characters) and not part of a response.
    Garbage,
}

/// Bytes the digester dropped, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Discarded {
    /// Why.
    pub reason: DiscardReason,
    /// How many bytes the dropped line had (without terminator).
    pub len: usize,
    /// Its first bytes (at most 32).
    pub head: Vec<u8>,
}

/// What the digester found in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Item {
    /// The echo of the pending command.
    Echo,
    /// The pending command's answer; the command is no longer pending.
    Response(Response),
    /// An unsolicited result code.
    Urc(Urc),
    /// The `> ` data prompt: write the payload, then call [`Digester::payload_sent`].
    Prompt,
    /// `CONNECT` of a file upload: write the data, then call [`Digester::payload_sent`].
    Connect,
    /// Dropped bytes; see [`DiscardReason`].
    Discarded(Discarded),
}

#[derive(Debug)]
struct Pending {
    text: Vec<u8>,
    prefixes: Vec<Vec<u8>>,
    data: DataEntry,
    effect: Effect,
    echo_seen: bool,
    data_started: bool,
    lines: Vec<Vec<u8>>,
    size: usize,
}

#[derive(Debug)]
enum Mode {
    Normal,
    Recv(RecvFramer),
    Skip {
        reason: DiscardReason,
        len: usize,
        head: Vec<u8>,
    },
}

#[derive(Debug)]
struct PayloadEcho {
    expected: Vec<u8>,
    matched: usize,
}

const HEAD: usize = 32;

/// The sans-I/O AT response digester; see the module docs for the rules it applies.
///
/// Call order: [`start`](Digester::start) right before writing a command line; then
/// [`digest`](Digester::digest) with every byte read, calling it again until it returns
/// `(None, _)`; on [`Item::Prompt`]/[`Item::Connect`] write the payload and call
/// [`payload_sent`](Digester::payload_sent) before digesting further bytes; on a timeout call
/// [`abandon`](Digester::abandon).
///
/// ```
/// use vmodem_client::{Command, Digester, FinalResult, Item, Urc};
///
/// let mut d = Digester::new();
/// d.start(&Command::new("AT+CPIN?"));
/// let mut input: &[u8] = b"\r\n+QMTSTAT: 0,1\r\nAT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n";
/// let mut items = Vec::new();
/// loop {
///     let (item, used) = d.digest(input);
///     input = &input[used..];
///     match item {
///         Some(item) => items.push(item),
///         None => break,
///     }
/// }
/// assert!(matches!(items[0], Item::Urc(Urc::QmtStat { client: 0, .. })));
/// assert_eq!(items[1], Item::Echo);
/// let Item::Response(resp) = &items[2] else { panic!() };
/// assert_eq!(resp.lines, [b"+CPIN: READY".to_vec()]);
/// assert_eq!(resp.result, FinalResult::Ok);
/// ```
#[derive(Debug)]
pub struct Digester {
    limits: Limits,
    line: Vec<u8>,
    mode: Mode,
    swallow_space: bool,
    pending: Option<Pending>,
    echo: EchoMode,
    results: ResultFormat,
    stale: bool,
    stale_data: DataEntry,
    last_unechoed: Option<Vec<u8>>,
    payload_echo: Option<PayloadEcho>,
    /// The last data entry began with `CONNECT`: its data is never echoed (file upload).
    connect_entry: bool,
    out: VecDeque<Item>,
}

impl Default for Digester {
    fn default() -> Self {
        Self::new()
    }
}

impl Digester {
    /// A digester with default [`Limits`], no command pending and echo mode unknown.
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// A digester with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        Digester {
            limits,
            line: Vec::new(),
            mode: Mode::Normal,
            swallow_space: false,
            pending: None,
            echo: EchoMode::Unknown,
            results: ResultFormat::Unknown,
            stale: false,
            stale_data: DataEntry::None,
            last_unechoed: None,
            payload_echo: None,
            connect_entry: false,
            out: VecDeque::new(),
        }
    }

    /// What the digester believes about the module's echo.
    pub fn echo_mode(&self) -> EchoMode {
        self.echo
    }

    /// `true` while a command awaits its final result.
    pub fn is_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Bytes held for the line being assembled (bounded by the limits).
    pub fn buffered(&self) -> usize {
        self.line.len()
    }

    /// Declares the command line about to be written. A command still pending is abandoned.
    pub fn start(&mut self, cmd: &Command) {
        if self.pending.is_some() {
            self.abandon();
        }
        self.stale_data = DataEntry::None;
        self.payload_echo = None;
        self.pending = Some(Pending {
            text: cmd.text().as_bytes().trim_ascii().to_vec(),
            prefixes: cmd
                .response_prefixes()
                .iter()
                .map(|p| p.as_bytes().to_vec())
                .collect(),
            data: cmd.data_entry(),
            effect: Effect::of(cmd.text()),
            echo_seen: false,
            data_started: false,
            lines: Vec::new(),
            size: 0,
        });
    }

    /// Declares that `payload` was written after a prompt or `CONNECT` (without the Ctrl-Z
    /// terminator). If the module echoes, its echo of the payload after a `> ` prompt is
    /// skipped; data after `CONNECT` is never echoed.
    pub fn payload_sent(&mut self, payload: &[u8]) {
        let echoing = match &self.pending {
            Some(p) => p.echo_seen,
            None => self.echo == EchoMode::On,
        };
        // Data after `CONNECT` (AT+QFUPL) is never echoed, whatever ATE says.
        let echoing = echoing && !self.connect_entry;
        if echoing && !payload.is_empty() {
            self.payload_echo = Some(PayloadEcho {
                expected: payload.to_vec(),
                matched: 0,
            });
        }
    }

    /// Gives up on the pending command (timeout or cancellation); its late answer will be
    /// discarded where it can be told apart (see the module docs).
    pub fn abandon(&mut self) {
        let Some(p) = self.pending.take() else {
            return;
        };
        self.stale = true;
        self.stale_data = if p.data_started {
            DataEntry::None
        } else {
            p.data
        };
        if !p.echo_seen && self.echo == EchoMode::On {
            self.echo = EchoMode::Unknown;
        }
        self.payload_echo = None;
    }

    /// Digests `buf` up to the first item, returning it and how many bytes of `buf` were
    /// consumed. Bytes of incomplete lines are consumed and kept inside. Call again with the
    /// rest until it returns `(None, _)`: a call may return a queued item having consumed 0
    /// bytes.
    pub fn digest(&mut self, buf: &[u8]) -> (Option<Item>, usize) {
        if let Some(item) = self.out.pop_front() {
            return (Some(item), 0);
        }
        for (i, &b) in buf.iter().enumerate() {
            self.byte(b);
            if let Some(item) = self.out.pop_front() {
                return (Some(item), i + 1);
            }
        }
        (None, buf.len())
    }

    fn byte(&mut self, b: u8) {
        if mem::take(&mut self.swallow_space) && b == b' ' {
            return;
        }
        if let Some(mut pe) = self.payload_echo.take() {
            if pe.expected[pe.matched] == b {
                pe.matched += 1;
                if pe.matched < pe.expected.len() {
                    self.payload_echo = Some(pe);
                }
                return;
            }
            // Not an echo after all: give the bytes taken for one back to the framer.
            for &r in &pe.expected[..pe.matched] {
                self.framed(r);
            }
        }
        self.framed(b);
    }

    fn framed(&mut self, b: u8) {
        match &mut self.mode {
            Mode::Normal => self.normal(b),
            Mode::Skip { reason, len, head } => {
                if b == b'\r' || b == b'\n' {
                    let item = Discarded {
                        reason: *reason,
                        len: *len,
                        head: mem::take(head),
                    };
                    self.mode = Mode::Normal;
                    self.out.push_back(Item::Discarded(item));
                } else {
                    *len += 1;
                }
            }
            Mode::Recv(framer) => match framer.step(b, &mut self.line) {
                Step::Continue => {
                    if self.line.len() - framer.payload_stored() > self.limits.max_line {
                        self.skip(DiscardReason::LineTooLong);
                    }
                }
                Step::EndLine => {
                    let overflowed = framer.overflowed();
                    self.mode = Mode::Normal;
                    let line = mem::take(&mut self.line);
                    if overflowed {
                        self.discard(DiscardReason::PayloadTooLarge, &line);
                    } else {
                        self.line_done(line);
                    }
                }
                Step::Fallback => {
                    self.mode = Mode::Normal;
                    self.normal(b);
                }
            },
        }
    }

    fn normal(&mut self, b: u8) {
        if b == b'\r' || b == b'\n' {
            if !self.line.is_empty() {
                let line = mem::take(&mut self.line);
                self.line_done(line);
            }
            return;
        }
        if self.line.is_empty() {
            if b == b'>' && self.prompt_expected() {
                self.data_entry_started(Item::Prompt);
                self.swallow_space = true;
                return;
            }
            if b == 0x1a || b == 0x1b {
                return;
            }
        }
        self.line.push(b);
        if self.line.len() == recv::PREFIX.len() && self.line.eq_ignore_ascii_case(recv::PREFIX) {
            self.mode = Mode::Recv(RecvFramer::new(self.limits.max_payload));
        } else if self.line.len() > self.limits.max_line {
            self.skip(DiscardReason::LineTooLong);
        }
    }

    fn skip(&mut self, reason: DiscardReason) {
        let line = mem::take(&mut self.line);
        self.mode = Mode::Skip {
            reason,
            len: line.len(),
            head: line[..line.len().min(HEAD)].to_vec(),
        };
    }

    fn discard(&mut self, reason: DiscardReason, line: &[u8]) {
        self.out.push_back(Item::Discarded(Discarded {
            reason,
            len: line.len(),
            head: line[..line.len().min(HEAD)].to_vec(),
        }));
    }

    /// Whether `0`/`4` lines are result codes: unless the module is known to be verbose and
    /// the pending command does not change that (ATV0 answers in the new format).
    fn numeric_allowed(&self) -> bool {
        self.results != ResultFormat::Verbose
            || self
                .pending
                .as_ref()
                .is_some_and(|p| p.effect.results.is_some())
    }

    fn prompt_expected(&self) -> bool {
        let prompting = |d: DataEntry| matches!(d, DataEntry::Fixed | DataEntry::CtrlZ);
        match &self.pending {
            Some(p) => {
                prompting(p.data) && !p.data_started && (p.echo_seen || self.echo != EchoMode::On)
            }
            None => self.stale && prompting(self.stale_data),
        }
    }

    fn data_entry_started(&mut self, item: Item) {
        self.connect_entry = item == Item::Connect;
        match &mut self.pending {
            Some(p) => p.data_started = true,
            None => self.stale_data = DataEntry::None,
        }
        self.out.push_back(item);
    }

    fn line_done(&mut self, line: Vec<u8>) {
        let echo = self.echo;
        let numeric = self.numeric_allowed();
        let Some(p) = self.pending.as_mut() else {
            return self.idle_line(line);
        };
        // A line equal to the command is its echo, unless the module is known not to echo and
        // the response has begun, or bare response lines came already: AT+CLAC lists
        // "AT+CLAC" among its lines.
        let echo_possible = !p.echo_seen
            && (echo != EchoMode::Off || p.lines.is_empty())
            && p.lines.iter().all(|l| l.first() == Some(&b'+'));
        if echo_possible && line.trim_ascii().eq_ignore_ascii_case(&p.text) {
            p.echo_seen = true;
            p.size = 0;
            let earlier = mem::take(&mut p.lines);
            self.echo = EchoMode::On;
            self.stale = false;
            for l in earlier {
                self.before_echo_line(l);
            }
            self.out.push_back(Item::Echo);
            return;
        }
        if !p.echo_seen && echo == EchoMode::On {
            return self.before_echo_line(line);
        }
        if let Some(result) = FinalResult::parse(&line, numeric) {
            let format = ResultFormat::of(&line, &result);
            return self.complete(result, format);
        }
        let connect = line == b"CONNECT" || line == b"1";
        if p.data == DataEntry::Connect && !p.data_started && connect {
            return self.data_entry_started(Item::Connect);
        }
        let owned = p
            .prefixes
            .iter()
            .any(|prefix| strip_prefix_ci(&line, prefix).is_some());
        if !owned && (line.first() == Some(&b'+') || is_bare_urc(&line)) {
            // A module never writes a URC inside a response: lines held before this one,
            // with no echo seen, were URCs too (a boot `+CPIN: READY` before the echo of
            // `AT+CPIN?`). Give them out first, so the URC stream keeps the module's order.
            if !p.echo_seen && !p.lines.is_empty() {
                p.size = 0;
                for held in mem::take(&mut p.lines) {
                    self.unsolicited_line(held);
                }
            }
            return self.unsolicited_line(line);
        }
        if p.size + line.len() > self.limits.max_response {
            return self.discard(DiscardReason::ResponseTooLarge, &line);
        }
        p.size += line.len();
        p.lines.push(line);
    }

    /// A line before the pending command's echo, from a module known to echo: not ours.
    fn before_echo_line(&mut self, line: Vec<u8>) {
        if FinalResult::parse(&line, self.numeric_allowed()).is_some() {
            self.stale = false;
            return self.discard(DiscardReason::StrayResult, &line);
        }
        self.unsolicited_line(line);
    }

    fn idle_line(&mut self, line: Vec<u8>) {
        if FinalResult::parse(&line, self.numeric_allowed()).is_some() {
            self.stale = false;
            return self.discard(DiscardReason::StrayResult, &line);
        }
        if self.stale_data == DataEntry::Connect && (line == b"CONNECT" || line == b"1") {
            return self.data_entry_started(Item::Connect);
        }
        // The late echo of a command that completed without one: it took an earlier answer
        // (echo off/unknown after a timeout), and its own answer follows now.
        if let Some(text) = &self.last_unechoed {
            if line.trim_ascii().eq_ignore_ascii_case(text) {
                self.last_unechoed = None;
                self.echo = EchoMode::On;
                self.stale = true;
                return self.discard(DiscardReason::Stale, &line);
            }
        }
        self.unsolicited_line(line);
    }

    fn unsolicited_line(&mut self, line: Vec<u8>) {
        match Urc::parse(&line) {
            None => self.discard(DiscardReason::Garbage, &line),
            Some(Urc::Other(_)) if self.stale => self.discard(DiscardReason::Stale, &line),
            Some(urc) => {
                if urc == Urc::Ready {
                    // Restarted: the settings are whatever its stored profile says.
                    self.echo = EchoMode::Unknown;
                    self.results = ResultFormat::Unknown;
                }
                self.out.push_back(Item::Urc(urc));
            }
        }
    }

    fn complete(&mut self, result: FinalResult, format: Option<ResultFormat>) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let observed = if p.echo_seen {
            EchoMode::On
        } else {
            EchoMode::Off
        };
        self.echo = match p.effect.echo {
            Some(effect) if result.is_ok() => effect,
            _ => observed,
        };
        self.results = match p.effect.results {
            Some(effect) if result.is_ok() => effect,
            _ => format.unwrap_or(self.results),
        };
        self.last_unechoed = if p.echo_seen {
            None
        } else {
            Some(p.text.clone())
        };
        self.stale = false;
        self.out.push_back(Item::Response(Response {
            lines: p.lines,
            result,
        }));
    }
}

fn is_bare_urc(line: &[u8]) -> bool {
    // APP RDY: a BG96/BG95's application processor is up, after RDY.
    line == b"RDY" || line == b"APP RDY" || line == b"POWERED DOWN"
}

/// Result code format: `OK` (ATV1, the power-up default) or `0` (ATV0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResultFormat {
    Unknown,
    Verbose,
    Numeric,
}

impl ResultFormat {
    /// What a final result line shows about the format (`+CME ERROR` shows nothing).
    fn of(line: &[u8], result: &FinalResult) -> Option<Self> {
        match result {
            FinalResult::Ok | FinalResult::Error if line.trim_ascii().len() == 1 => {
                Some(ResultFormat::Numeric)
            }
            FinalResult::Ok | FinalResult::Error => Some(ResultFormat::Verbose),
            _ => None,
        }
    }
}

/// What a successful basic command line does to the settings the digester tracks.
#[derive(Debug, Clone, Copy, Default)]
struct Effect {
    echo: Option<EchoMode>,
    results: Option<ResultFormat>,
}

impl Effect {
    /// `E0`/`E1` and `V0`/`V1` in a basic command line (`ATE0`, `ATQ0V1E0`) set echo and
    /// result format; `Z` and `&F` restore a profile we cannot see.
    fn of(text: &str) -> Self {
        let mut effect = Effect::default();
        let bytes = text.trim().as_bytes();
        if bytes.len() < 2 || !bytes[..2].eq_ignore_ascii_case(b"AT") {
            return effect;
        }
        let mut i = 2;
        while i < bytes.len() {
            let one = bytes.get(i + 1) == Some(&b'1');
            match bytes[i].to_ascii_uppercase() {
                b'+' | b'$' | b'%' | b'^' | b'#' | b'D' => break,
                b'&' => {
                    if bytes.get(i + 1).map(u8::to_ascii_uppercase) == Some(b'F') {
                        effect.echo = Some(EchoMode::Unknown);
                        effect.results = Some(ResultFormat::Unknown);
                    }
                    i += 1;
                }
                b'E' => effect.echo = Some(if one { EchoMode::On } else { EchoMode::Off }),
                b'V' => {
                    effect.results = Some(if one {
                        ResultFormat::Verbose
                    } else {
                        ResultFormat::Numeric
                    })
                }
                b'Z' => {
                    effect.echo = Some(EchoMode::Unknown);
                    effect.results = Some(ResultFormat::Unknown);
                }
                _ => {}
            }
            i += 1;
        }
        effect
    }
}

#[cfg(test)]
mod tests;
