//! The in-process host of one fleet module: runs the device script over the
//! module's serial line, byte for byte as firmware would, so every command
//! goes through the module's real AT engine and MQTT client.
//!
//! It is a small state machine on the line's byte stream, not a
//! `vmodem_client::Client` (~209 KB each, two broadcast rings): the
//! sans-I/O [`Digester`] frames and classifies what the module writes, and
//! the host keeps a read buffer of [`READ_BUF`] bytes, the lines it is
//! expanding and a few counters; see `the_host_is_a_few_kilobytes`.

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::io;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;
use vmodem_client::{
    Command, ConnReturnCode, DataEntry, Digester, FinalResult, Item, Limits, PacketResult, Urc,
};

use super::report::Stats;
use super::script::{Repeat, Script, Step, Template, Values, Var};

/// Bytes read from the line at once.
pub(crate) const READ_BUF: usize = 512;

/// Shortest wait for a command's final result: the documented 300 ms is
/// far too tight for thousands of modules on a loaded machine.
const MIN_COMMAND_WAIT: Duration = Duration::from_secs(10);

/// Shortest wait for a `<<` URC.
const MIN_URC_WAIT: Duration = Duration::from_secs(20);

/// How long the module may take to boot (its `RDY`).
const BOOT_WAIT: Duration = Duration::from_secs(30);

/// URCs remembered since the last command, for the `<<` after it.
const SEEN_URCS: usize = 8;

/// What a module's script gets for its placeholders.
pub(crate) struct Ident {
    pub(crate) id: u32,
    pub(crate) imei: String,
    pub(crate) imsi: String,
    pub(crate) iccid: String,
}

/// What every host shares.
pub(crate) struct Shared {
    pub(crate) script: Script,
    pub(crate) broker: Option<(String, u16)>,
    pub(crate) count: u32,
    pub(crate) shard: u32,
    pub(crate) seed: u64,
    pub(crate) stats: Arc<Stats>,
}

/// Why a step did not succeed.
enum Failed {
    /// Counted already (its result code or what came instead).
    Step,
    /// `+QMTSTAT`: the MQTT link is gone.
    LinkLost,
    /// The module stopped.
    Gone,
}

pub(crate) struct Host {
    io: DuplexStream,
    digester: Digester,
    buf: [u8; READ_BUF],
    start: usize,
    end: usize,
    ident: Ident,
    shared: Arc<Shared>,
    rng: u64,
    seq: u64,
    len: usize,
    /// Bit c: MQTT client c is connected.
    connected: u8,
    /// `+QMTSTAT` came since the script last (re)connected.
    link_lost: bool,
    /// The last URCs since the last command, and how many came in all.
    seen: VecDeque<String>,
    seen_total: usize,
    /// Scratch for expanding lines.
    line: Vec<u8>,
}

struct Vals<'a> {
    host: &'a Host,
}

impl Values for Vals<'_> {
    fn put(&self, var: Var, out: &mut Vec<u8>) {
        use std::io::Write;
        let h = self.host;
        let text: &str = match var {
            Var::Imei => &h.ident.imei,
            Var::Imsi => &h.ident.imsi,
            Var::Iccid => &h.ident.iccid,
            Var::BrokerHost => h.shared.broker.as_ref().map_or("", |b| b.0.as_str()),
            _ => "",
        };
        out.extend_from_slice(text.as_bytes());
        // Writing to a Vec cannot fail.
        let _ = match var {
            Var::Id => write!(out, "{}", h.ident.id),
            Var::BrokerPort => write!(out, "{}", h.shared.broker.as_ref().map_or(0, |b| b.1)),
            Var::Seq => write!(out, "{}", h.seq),
            Var::MsgId => write!(out, "{}", h.seq % 65535 + 1),
            Var::Len => write!(out, "{}", h.len),
            Var::UnixMs => write!(out, "{}", crate::run::unix_time_ms()),
            Var::Count => write!(out, "{}", h.shared.count),
            Var::Shard => write!(out, "{}", h.shared.shard),
            Var::Imei | Var::Imsi | Var::Iccid | Var::BrokerHost => Ok(()),
        };
    }
}

impl Host {
    pub(crate) fn new(io: DuplexStream, ident: Ident, shared: Arc<Shared>) -> Host {
        let rng = shared.seed ^ u64::from(ident.id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Host {
            io,
            digester: Digester::with_limits(Limits {
                max_line: 1024,
                max_payload: 4096,
                max_response: 8192,
            }),
            buf: [0; READ_BUF],
            start: 0,
            end: 0,
            ident,
            shared,
            rng,
            seq: 0,
            len: 0,
            connected: 0,
            link_lost: false,
            seen: VecDeque::new(),
            seen_total: 0,
            line: Vec::new(),
        }
    }

    fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// A seeded duration in `[0, max)` (splitmix64).
    fn jitter(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(z % nanos)
    }

    /// Runs the script, then keeps reading (counting URCs, reconnecting
    /// after `+QMTSTAT`) until the task is stopped or the module stops.
    pub(crate) async fn run(mut self) {
        self.stats().started.fetch_add(1, Relaxed);
        let shared = self.shared.clone();
        let script = &shared.script;
        let done = self.script(script).await;
        let counter = match done {
            Ok(()) => &self.stats().finished,
            Err(_) => &self.stats().failed,
        };
        counter.fetch_add(1, Relaxed);
        if !matches!(done, Err(Failed::Gone)) {
            self.idle(script.connect.as_ref()).await;
        }
    }

    /// The script from boot to its end; an error if it cannot go on.
    async fn script(&mut self, script: &Script) -> Result<(), Failed> {
        self.boot().await?;
        match self.steps(&script.prologue).await {
            Err(Failed::Gone) => return Err(Failed::Gone),
            Err(e) if script.connect.is_none() => return Err(e),
            _ => {}
        }
        if let Some((connect, backoff)) = &script.connect {
            self.connect(connect, *backoff, true).await?;
        }
        if let Some(repeat) = &script.repeat {
            self.repeat(repeat).await?;
        }
        match self.steps(&script.epilogue).await {
            Err(Failed::Gone) => Err(Failed::Gone),
            _ => Ok(()),
        }
    }

    /// Waits for `RDY`: the module boots when its host attaches.
    async fn boot(&mut self) -> Result<(), Failed> {
        let deadline = Instant::now() + BOOT_WAIT;
        loop {
            match self.next_item(Some(deadline)).await {
                Ok(Some(Item::Urc(Urc::Ready))) => return Ok(()),
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.stats().error("no RDY");
                    return Err(Failed::Step);
                }
                Err(_) => return Err(Failed::Gone),
            }
        }
    }

    /// Runs the connect block until it succeeds: after a failure or a
    /// `+QMTSTAT`, waits `backoff` plus a seeded 0–100 % of it.
    async fn connect(
        &mut self,
        steps: &[Step],
        backoff: Duration,
        first: bool,
    ) -> Result<(), Failed> {
        let mut wait = !first;
        loop {
            if wait {
                let pause = backoff + self.jitter(backoff);
                self.pause(pause).await?;
            }
            self.link_lost = false;
            match self.steps(steps).await {
                Ok(()) if !self.link_lost => return Ok(()),
                Ok(()) | Err(Failed::Step | Failed::LinkLost) => wait = true,
                Err(Failed::Gone) => return Err(Failed::Gone),
            }
        }
    }

    async fn repeat(&mut self, repeat: &Repeat) -> Result<(), Failed> {
        let shared = self.shared.clone();
        let connect = shared.script.connect.as_ref();
        let mut next = Instant::now();
        let mut done = 0u64;
        while repeat.times.is_none_or(|t| done < t) {
            let at = next + self.jitter(repeat.jitter);
            self.until(at).await?;
            if self.link_lost {
                // `+QMTSTAT` while waiting for the tick: reconnect before publishing.
                if let Some((steps, backoff)) = connect {
                    self.connect(steps, *backoff, false).await?;
                }
                self.link_lost = false;
            }
            self.seq = done;
            let result = self.steps(&repeat.steps).await;
            done += 1;
            next += repeat.period;
            if let Err(Failed::Gone) = result {
                return Err(Failed::Gone);
            }
            if self.link_lost || matches!(result, Err(Failed::LinkLost)) {
                if let Some((steps, backoff)) = connect {
                    self.connect(steps, *backoff, false).await?;
                } else {
                    self.link_lost = false;
                }
            }
            // Ticks missed while reconnecting are skipped, not caught up.
            next = next.max(Instant::now());
        }
        Ok(())
    }

    /// After the script: reads on, and reconnects after `+QMTSTAT`.
    async fn idle(&mut self, connect: Option<&(Vec<Step>, Duration)>) {
        loop {
            match self.next_item(None).await {
                Ok(_) => {}
                Err(_) => return,
            }
            if self.link_lost {
                if let Some((steps, backoff)) = connect {
                    if self.connect(steps, *backoff, false).await.is_err() {
                        return;
                    }
                }
                self.link_lost = false;
            }
        }
    }

    async fn steps(&mut self, steps: &[Step]) -> Result<(), Failed> {
        let mut last_command: Option<(String, Instant, Duration)> = None;
        for step in steps {
            match step {
                Step::Command {
                    text,
                    payload,
                    may_refuse,
                    ..
                } => {
                    let sent = Instant::now();
                    let (name, wait) = self.command(text, payload.as_ref(), *may_refuse).await?;
                    last_command = Some((name, sent, wait));
                }
                Step::WaitUrc { text, .. } => {
                    let patience = last_command
                        .as_ref()
                        .map_or(MIN_URC_WAIT, |(_, _, w)| (*w).max(MIN_URC_WAIT));
                    self.wait_urc(text, patience).await?;
                    if let Some((name, sent, _)) = last_command.take() {
                        self.shared.stats.latency(&name, sent.elapsed());
                    }
                }
                Step::Sleep { time, jitter } => {
                    let pause = *time + self.jitter(*jitter);
                    self.pause(pause).await?;
                }
            }
        }
        Ok(())
    }

    /// Sends one command (and its payload at the prompt) and waits for its
    /// final result; returns its name (`AT+QMTCONN`) and documented timeout.
    async fn command(
        &mut self,
        text: &Template,
        payload: Option<&Template>,
        may_refuse: bool,
    ) -> Result<(String, Duration), Failed> {
        let mut data = Vec::new();
        if let Some(p) = payload {
            p.expand(&Vals { host: self }, &mut data);
        }
        self.len = data.len();
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        text.expand(&Vals { host: self }, &mut line);
        let text = String::from_utf8_lossy(&line).into_owned();
        self.line = line;
        let command = Command::new(text.as_str());
        let name = command_name(&text);
        let patience = command.timeout().max(MIN_COMMAND_WAIT);
        self.seen.clear();
        self.seen_total = 0;
        self.digester.start(&command);
        self.stats().commands.fetch_add(1, Relaxed);
        let mut out = text.clone().into_bytes();
        out.push(b'\r');
        self.write(&out).await?;
        let deadline = Instant::now() + patience;
        let delivery_key = self
            .shared
            .script
            .subscribes
            .then(|| publish_topic(&text).map(|topic| message_key(topic.as_bytes(), &data)))
            .flatten();
        loop {
            match self.next_item(Some(deadline)).await {
                Ok(Some(Item::Prompt | Item::Connect)) => {
                    let mut bytes = data.clone();
                    if command.data_entry() == DataEntry::CtrlZ {
                        bytes.push(0x1a);
                    }
                    if let Some(key) = delivery_key {
                        self.shared.stats.published_at(key, Instant::now());
                    }
                    self.digester.payload_sent(&data);
                    self.write(&bytes).await?;
                }
                Ok(Some(Item::Response(r))) => {
                    if r.result == FinalResult::Ok || may_refuse {
                        return Ok((name, command.timeout()));
                    }
                    self.stats().error(&format!("{name}: {}", r.result));
                    return Err(Failed::Step);
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.digester.abandon();
                    self.stats().error(&format!("{name}: no answer"));
                    return Err(Failed::Step);
                }
                Err(_) => return Err(Failed::Gone),
            }
        }
    }

    /// Waits for a URC containing `text` (since the last command was sent);
    /// a URC of the same kind and client with another result fails the step.
    async fn wait_urc(&mut self, text: &Template, patience: Duration) -> Result<(), Failed> {
        let mut wanted = Vec::new();
        text.expand(&Vals { host: self }, &mut wanted);
        let wanted = String::from_utf8_lossy(&wanted).into_owned();
        let kind = urc_kind(&wanted);
        let deadline = Instant::now() + patience;
        let mut checked: usize = 0;
        loop {
            let oldest = self.seen_total - self.seen.len();
            let skip = checked.saturating_sub(oldest);
            for urc in self.seen.iter().skip(skip) {
                if urc.contains(wanted.as_str()) {
                    return Ok(());
                }
                if kind.is_some() && urc_kind(urc) == kind {
                    let got = urc.clone();
                    self.stats().error(&got);
                    return Err(Failed::Step);
                }
            }
            checked = self.seen_total;
            if self.link_lost && !wanted.starts_with("+QMTSTAT") {
                return Err(Failed::LinkLost);
            }
            match self.next_item(Some(deadline)).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.stats().error(&format!("no {wanted}"));
                    return Err(Failed::Step);
                }
                Err(_) => return Err(Failed::Gone),
            }
        }
    }

    async fn pause(&mut self, time: Duration) -> Result<(), Failed> {
        self.until(Instant::now() + time).await
    }

    /// Reads (and counts) what the module says until `at`.
    async fn until(&mut self, at: Instant) -> Result<(), Failed> {
        loop {
            match self.next_item(Some(at)).await {
                Ok(Some(_)) => {}
                Ok(None) => return Ok(()),
                Err(_) => return Err(Failed::Gone),
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), Failed> {
        self.io.write_all(bytes).await.map_err(|_| Failed::Gone)
    }

    /// The next item from the line, `None` at `deadline`; an error when the
    /// module has stopped. URCs are counted and remembered here.
    async fn next_item(&mut self, deadline: Option<Instant>) -> io::Result<Option<Item>> {
        loop {
            let (item, used) = self.digester.digest(&self.buf[self.start..self.end]);
            self.start += used;
            if let Some(item) = item {
                if let Item::Urc(urc) = &item {
                    self.observe(urc);
                }
                return Ok(Some(item));
            }
            self.start = 0;
            self.end = 0;
            let read = self.io.read(&mut self.buf);
            let n = match deadline {
                Some(at) => match tokio::time::timeout_at(at, read).await {
                    Ok(r) => r?,
                    Err(_) => return Ok(None),
                },
                None => read.await?,
            };
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.end = n;
        }
    }

    /// Counts a URC: connection state, publishes, deliveries, `+QMTSTAT`.
    fn observe(&mut self, urc: &Urc) {
        let stats = &self.shared.stats;
        let bit = |c: u8| 1u8.checked_shl(u32::from(c)).unwrap_or(0);
        match urc {
            Urc::QmtConn {
                client,
                result: PacketResult::Sent,
                ret_code: Some(ConnReturnCode::Accepted),
            } => {
                if self.connected == 0 {
                    stats.connected(true);
                }
                self.connected |= bit(*client);
            }
            Urc::QmtStat { client, code } => {
                stats.qmtstat(u32::from(code.code()));
                self.down(bit(*client));
                self.link_lost = true;
            }
            Urc::QmtDisc { client, .. } | Urc::QmtClose { client, .. } => self.down(bit(*client)),
            Urc::QmtPub {
                result: PacketResult::Sent,
                ..
            } => {
                stats.published.fetch_add(1, Relaxed);
            }
            Urc::QmtPub {
                result: PacketResult::Failed,
                ..
            } => stats.error(&urc.to_string()),
            Urc::QmtRecv { topic, payload, .. } => {
                stats.received.fetch_add(1, Relaxed);
                stats.delivered(message_key(topic.as_bytes(), payload));
            }
            _ => {}
        }
        if self.seen.len() >= SEEN_URCS {
            self.seen.pop_front();
        }
        self.seen.push_back(urc.to_string());
        self.seen_total += 1;
    }

    fn down(&mut self, bit: u8) {
        let was = self.connected != 0;
        self.connected &= !bit;
        if was && self.connected == 0 {
            self.shared.stats.connected(false);
        }
    }
}

/// `AT+QMTCONN=0,"x"` → `AT+QMTCONN`.
fn command_name(text: &str) -> String {
    let end = text.find(['=', '?']).unwrap_or(text.len());
    text[..end].trim().to_ascii_uppercase()
}

/// `+QMTCONN: 0,0,0` → `("+QMTCONN:", "0")`: result URCs of one command
/// and client (a `+QMTCONN: 0,0,5` where `+QMTCONN: 0,0,0` was awaited is
/// an answer, and a failed one). Other URCs have no kind.
fn urc_kind(text: &str) -> Option<(&str, &str)> {
    const RESULTS: &[&str] = &[
        "+QMTOPEN:",
        "+QMTCLOSE:",
        "+QMTCONN:",
        "+QMTDISC:",
        "+QMTSUB:",
        "+QMTUNS:",
        "+QMTPUB:",
        "+QMTPUBEX:",
    ];
    let colon = text.find(':')?;
    let (name, rest) = text.split_at(colon + 1);
    if !RESULTS.contains(&name) {
        return None;
    }
    let first = rest.trim_start().split(',').next().unwrap_or("");
    Some((name, first))
}

/// The topic of `AT+QMTPUB(EX)=c,id,qos,retain,"topic"[,len]`.
fn publish_topic(text: &str) -> Option<&str> {
    let upper = text.get(..10)?.to_ascii_uppercase();
    if !upper.starts_with("AT+QMTPUB") {
        return None;
    }
    let quoted = text.split('"').nth(1)?;
    Some(quoted)
}

fn message_key(topic: &[u8], payload: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    topic.hash(&mut h);
    payload.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_kinds_and_topics_are_read_from_lines() {
        assert_eq!(command_name("AT+QMTCONN=0,\"x\""), "AT+QMTCONN");
        assert_eq!(command_name("at+cpin?"), "AT+CPIN");
        assert_eq!(urc_kind("+QMTCONN: 0,0,0"), Some(("+QMTCONN:", "0")));
        assert_eq!(urc_kind("RDY"), None);
        assert_eq!(urc_kind("+QMTRECV: 0,1,\"t\",\"x\""), None);
        assert_eq!(
            publish_topic("AT+QMTPUBEX=0,1,1,0,\"fleet/7\",5"),
            Some("fleet/7")
        );
        assert_eq!(publish_topic("AT+QMTSUB=0,1,\"a\",1"), None);
    }

    /// Issue 13: an in-process host is a few KB (a default
    /// `vmodem_client::Client` is ~209 KB), so 100,000 fit in memory.
    #[tokio::test]
    async fn the_host_is_a_few_kilobytes() {
        let (_, io) = tokio::io::duplex(64);
        let shared = Arc::new(Shared {
            script: Script::parse("AT\n").unwrap(),
            broker: None,
            count: 1,
            shard: 0,
            seed: 0,
            stats: Arc::new(Stats::new()),
        });
        let ident = Ident {
            id: 0,
            imei: String::new(),
            imsi: String::new(),
            iccid: String::new(),
        };
        let host = Host::new(io, ident, shared);
        let future = host.run();
        let size = std::mem::size_of_val(&future);
        eprintln!("host task future: {size} bytes");
        assert!(size <= 4096, "the host task's future is {size} bytes");
    }
}
