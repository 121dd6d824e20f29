//! Raw serial hosts written the three ways real drivers are written.
//!
//! Firmware does not use `vmodem-client`: it writes bytes to a UART and scans
//! what comes back, each driver in its own way. Issue 9 met three ways that
//! matter on the line:
//!
//! - [`HostStyle::CrOnly`]: every command line ends with CR alone (S3, as
//!   V.250 says); before a payload the host waits for the `> ` prompt (or
//!   `CONNECT`). It keeps every byte it read: a URC that came with the `OK`
//!   is still there when it looks for it.
//! - [`HostStyle::CrLf`]: every line ends with CR LF, and command and
//!   terminator go out in **one** `write()`. Otherwise as above.
//! - [`HostStyle::ReadUntilOk`]: CR LF in one write, then `read()` until a
//!   read holds the final result code (`OK`, `ERROR`, `+CME ERROR`), and
//!   **drop whatever else came in that read**; only then wait for the
//!   command's URC, in what comes later. Three of the five real drivers of the
//!   issue worked like this: they lose a URC that comes in the same read as
//!   the `OK`, which never happens on a cellular module but does on a module
//!   that answers instantly.
//!
//! A [`RawHost`] drives any byte stream: a real pseudo-terminal
//! ([`RawHost::open_pty`], the module of a [`TestModule`]) or a TCP serial
//! line ([`TcpModule`]). It can send a command and read its answer
//! ([`RawHost::command`]), send a payload after `>` or `CONNECT`
//! ([`RawHost::send_data`]) and wait for a URC ([`RawHost::wait_urc`]).
//! Every wait is bounded (its patience, [`crate::PATIENCE`] by default), and
//! every failure panics with the whole transcript of the line: each write and
//! each read with its time, and what a [`HostStyle::ReadUntilOk`] host dropped.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use vmodem_core::Config;
use vmodem_tokio::{spawn_module, ModuleHandle, ModuleOptions, TcpSerialPort};

use crate::module::TestModule;
use crate::pty::PtyStream;
use crate::PATIENCE;

/// How a host ends its lines and reads its answers (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostStyle {
    /// CR alone; waits for `> ` before a payload; keeps everything it read.
    CrOnly,
    /// CR LF in the same write as the command; keeps everything it read.
    CrLf,
    /// CR LF in one write; reads until the final result code and drops the
    /// rest of that read, then waits for URCs in later reads.
    ReadUntilOk,
}

impl HostStyle {
    /// The three styles, for tests that run each.
    pub const ALL: [HostStyle; 3] = [HostStyle::CrOnly, HostStyle::CrLf, HostStyle::ReadUntilOk];

    /// What ends a command line.
    pub fn terminator(self) -> &'static [u8] {
        match self {
            HostStyle::CrOnly => b"\r",
            HostStyle::CrLf | HostStyle::ReadUntilOk => b"\r\n",
        }
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            HostStyle::CrOnly => "CR-only host",
            HostStyle::CrLf => "CR LF host",
            HostStyle::ReadUntilOk => "read-until-OK host",
        }
    }
}

/// What a data-entry command prompts with before its payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// `\r\n> ` (`AT+QMTPUBEX`, `AT+QMTPUB`).
    Gt,
    /// `\r\nCONNECT\r\n` (`AT+QFUPL`).
    Connect,
}

/// The answer to a command: its information lines and its final result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Lines before the final result, without the echo of the command line
    /// and without empty lines (a payload echoed after `> ` is one of them).
    pub lines: Vec<String>,
    /// `OK`, `ERROR` or `+CME ERROR: <n>`.
    pub result: String,
}

impl Reply {
    /// True if the result is `OK`.
    pub fn is_ok(&self) -> bool {
        self.result == "OK"
    }
}

#[derive(Debug)]
enum Entry {
    Wrote(Vec<u8>),
    Read(Vec<u8>),
    Dropped(Vec<u8>),
    Note(String),
}

/// A host on a serial line, in one [`HostStyle`] (module docs).
#[derive(Debug)]
pub struct RawHost<S> {
    io: S,
    style: HostStyle,
    /// Received and not yet consumed.
    buf: Vec<u8>,
    start: Instant,
    transcript: Vec<(Duration, Entry)>,
    patience: Duration,
}

impl RawHost<PtyStream> {
    /// Opens the module's pseudo-terminal as a host in `style` (which powers
    /// a module that waits for its host up).
    pub fn open_pty(module: &TestModule, style: HostStyle) -> RawHost<PtyStream> {
        RawHost::new(module.open_raw(), style)
    }
}

impl RawHost<TcpStream> {
    /// Connects to a TCP serial line as a host in `style`.
    pub async fn connect_tcp(addr: SocketAddr, style: HostStyle) -> RawHost<TcpStream> {
        let stream = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("connecting to {addr} took more than {PATIENCE:?}"))
            .unwrap_or_else(|e| panic!("cannot connect to the TCP serial line {addr}: {e}"));
        stream.set_nodelay(true).expect("TCP_NODELAY");
        RawHost::new(stream, style)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawHost<S> {
    /// A host on `io`.
    pub fn new(io: S, style: HostStyle) -> RawHost<S> {
        RawHost {
            io,
            style,
            buf: Vec::new(),
            start: Instant::now(),
            transcript: Vec::new(),
            patience: PATIENCE,
        }
    }

    /// How long each wait may take (default [`PATIENCE`]).
    #[must_use]
    pub fn with_patience(mut self, patience: Duration) -> Self {
        self.patience = patience;
        self
    }

    /// Its style.
    pub fn style(&self) -> HostStyle {
        self.style
    }

    /// Waits for the end of the boot chain (`+QIND: PB DONE`).
    pub async fn wait_for_boot(&mut self) {
        self.wait_urc("+QIND: PB DONE").await;
    }

    /// Writes `bytes` in one `write()` (as far as the transport takes them).
    pub async fn write(&mut self, bytes: &[u8]) {
        self.log(Entry::Wrote(bytes.to_vec()));
        let written = tokio::time::timeout(self.patience, async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.fail(&format!("writing to the line failed: {e}")),
            Err(_) => self.fail("writing to the line did not finish"),
        }
    }

    /// Sends `line` with the style's terminator, in one write, and reads the
    /// answer up to its final result code.
    pub async fn command(&mut self, line: &str) -> Reply {
        self.send_line(line).await;
        self.read_reply(line).await
    }

    /// Like [`command`](Self::command), and the result must be `OK`.
    pub async fn command_ok(&mut self, line: &str) -> Reply {
        let reply = self.command(line).await;
        if !reply.is_ok() {
            self.fail(&format!("{line} answered {}, not OK", reply.result));
        }
        reply
    }

    /// Sends `line`, waits for its `prompt`, writes `payload` in one write,
    /// and reads the answer up to its final result code. A command that
    /// answers with a result code instead of the prompt fails the test.
    pub async fn send_data(&mut self, line: &str, prompt: Prompt, payload: &[u8]) -> Reply {
        self.send_line(line).await;
        self.wait_prompt(line, prompt).await;
        self.write(payload).await;
        self.read_reply(line).await
    }

    /// Sends `line` and waits for its `prompt`, leaving the payload to the caller
    /// ([`write`](Self::write), then [`read_reply`](Self::read_reply)).
    pub async fn start_data(&mut self, line: &str, prompt: Prompt) {
        self.send_line(line).await;
        self.wait_prompt(line, prompt).await;
    }

    /// Waits for a whole line starting with `prefix` (a URC such as
    /// `+QMTOPEN: 0,`) and returns it; lines before it are skipped. A
    /// [`HostStyle::ReadUntilOk`] host looks only at what it has not dropped.
    pub async fn wait_urc(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + self.patience;
        loop {
            while let Some(line) = self.take_line() {
                if line.starts_with(prefix) {
                    return line;
                }
            }
            if !self.fill(deadline).await {
                self.fail(&format!("no line starting with {prefix:?} came"));
            }
        }
    }

    /// Reads the answer to `line` up to its final result code.
    pub async fn read_reply(&mut self, line: &str) -> Reply {
        let deadline = Instant::now() + self.patience;
        let mut lines = Vec::new();
        loop {
            while let Some(got) = self.take_line() {
                if got == line || got.is_empty() {
                    continue;
                }
                if is_final(&got) {
                    if self.style == HostStyle::ReadUntilOk && !self.buf.is_empty() {
                        let dropped = std::mem::take(&mut self.buf);
                        self.log(Entry::Dropped(dropped));
                    }
                    return Reply { lines, result: got };
                }
                lines.push(got);
            }
            if !self.fill(deadline).await {
                self.fail(&format!("no final result code came for {line}"));
            }
        }
    }

    /// Everything that arrives within `quiet` (and is not consumed yet).
    pub async fn read_for(&mut self, quiet: Duration) -> Vec<u8> {
        let deadline = Instant::now() + quiet;
        while self.fill(deadline).await {}
        std::mem::take(&mut self.buf)
    }

    /// The line so far: every write and read with its time since the host
    /// opened the line, bytes escaped.
    pub fn transcript(&self) -> String {
        let mut out = String::new();
        for (at, entry) in &self.transcript {
            let (what, text) = match entry {
                Entry::Wrote(b) => ("host  ", b.escape_ascii().to_string()),
                Entry::Read(b) => ("module", b.escape_ascii().to_string()),
                Entry::Dropped(b) => ("DROPPED by the host", b.escape_ascii().to_string()),
                Entry::Note(n) => ("note  ", n.clone()),
            };
            let _ = writeln!(out, "  {:>7.1} ms  {what} {text}", at.as_secs_f64() * 1e3);
        }
        out
    }

    /// Panics with `reason` and the transcript.
    #[track_caller]
    pub fn fail(&self, reason: &str) -> ! {
        panic!(
            "{} ({:?} patience): {reason}\n  unread: {}\n{}",
            self.style.name(),
            self.patience,
            self.buf.escape_ascii(),
            self.transcript()
        )
    }

    /// Adds a note to the transcript (what the test is about to do).
    pub fn note(&mut self, text: &str) {
        self.log(Entry::Note(text.to_owned()));
    }

    async fn send_line(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.extend_from_slice(self.style.terminator());
        self.write(&bytes).await;
    }

    /// Consumes up to and including the prompt; what came before it is the
    /// echo and nothing else (a result code there means the command refused).
    async fn wait_prompt(&mut self, line: &str, prompt: Prompt) {
        let marker: &[u8] = match (prompt, self.style) {
            // A CR-only host waits for the whole `> `.
            (Prompt::Gt, HostStyle::CrOnly) => b"\r\n> ",
            (Prompt::Gt, _) => b"\r\n>",
            (Prompt::Connect, _) => b"\r\nCONNECT\r\n",
        };
        let deadline = Instant::now() + self.patience;
        loop {
            if let Some(at) = find(&self.buf, marker) {
                let mut end = at + marker.len();
                // The `>` reader takes the space after it too, if it came.
                if prompt == Prompt::Gt && self.buf.get(end) == Some(&b' ') {
                    end += 1;
                }
                self.buf.drain(..end);
                return;
            }
            // Nothing is consumed before the prompt is whole: its CR LF could
            // be taken for the end of the echo's line.
            let refused = self
                .buf
                .split(|&b| b == b'\n')
                .map(text)
                .find(|l| is_final(l));
            if let Some(got) = refused {
                self.fail(&format!("{line} answered {got} instead of its prompt"));
            }
            if !self.fill(deadline).await {
                self.fail(&format!("no prompt ({prompt:?}) came for {line}"));
            }
        }
    }

    /// Reads once more, until `deadline`; false if nothing came.
    async fn fill(&mut self, deadline: Instant) -> bool {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
            Err(_) => false,
            Ok(Ok(0)) => self.fail("the line closed (end of file)"),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                self.log(Entry::Read(chunk[..n].to_vec()));
                true
            }
            Ok(Err(e)) => self.fail(&format!("reading the line failed: {e}")),
        }
    }

    /// The first whole line (ended by CR LF) in the buffer, consumed, with
    /// CRs at its end (an echo's S3) removed.
    fn take_line(&mut self) -> Option<String> {
        let at = find(&self.buf, b"\r\n")?;
        let line: Vec<u8> = self.buf.drain(..at + 2).take(at).collect();
        Some(text(&line))
    }

    fn log(&mut self, entry: Entry) {
        self.transcript.push((self.start.elapsed(), entry));
    }
}

fn text(line: &[u8]) -> String {
    let line = line.trim_ascii_end();
    String::from_utf8_lossy(line).into_owned()
}

fn is_final(line: &str) -> bool {
    line == "OK" || line == "ERROR" || line.starts_with("+CME ERROR:")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A module on a TCP serial line (as QEMU's `-serial tcp:` or Renode reach
/// one), stopped when dropped or by [`shutdown`](Self::shutdown). It powers
/// up when the first host connects, so that host sees `RDY`.
#[derive(Debug)]
pub struct TcpModule {
    handle: Option<ModuleHandle>,
    addr: SocketAddr,
}

impl TcpModule {
    /// Spawns a module with `options` on a free loopback port.
    pub async fn start(options: ModuleOptions) -> TcpModule {
        let port = TcpSerialPort::bind("127.0.0.1:0".parse().expect("an address"))
            .await
            .expect("bind a TCP serial port");
        let addr = port.local_addr().expect("its address");
        let handle = spawn_module(port, options).expect("spawn the module");
        TcpModule {
            handle: Some(handle),
            addr,
        }
    }

    /// A module with `config` and names resolved as `hosts` says.
    pub async fn with_config(config: Config, hosts: &[(&str, std::net::IpAddr)]) -> TcpModule {
        TcpModule::start(ModuleOptions {
            config,
            hosts: hosts.iter().map(|(n, ip)| ((*n).to_owned(), *ip)).collect(),
            connect_timeout: Duration::from_secs(10),
            ..ModuleOptions::default()
        })
        .await
    }

    /// The address hosts connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A host in `style` on the line (it replaces any host before it).
    pub async fn host(&self, style: HostStyle) -> RawHost<TcpStream> {
        RawHost::connect_tcp(self.addr, style).await
    }

    /// Stops the module and waits until it has.
    pub async fn shutdown(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown().await.expect("the module stops cleanly");
        }
    }
}
