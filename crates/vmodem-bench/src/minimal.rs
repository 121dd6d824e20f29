//! A minimal AT host on a raw TCP socket, without `vmodem_client`: what the
//! module and the serial hops cost on their own. It sets `ATE0`, writes
//! command lines, waits for `> ` to write the payload, and splits the module's
//! output into lines. It knows just enough for `AT`, `AT+QMTOPEN`,
//! `AT+QMTCONN` and `AT+QMTPUBEX`; a real host needs `vmodem_client`.
//!
//! The same host runs over an in-process serial line (`HostPort::in_process`,
//! the fleet benchmarks): generic over the stream.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::vmodem::{PipelineTimes, PATIENCE};

/// What the module said.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Ok,
    Error(String),
    Prompt,
    /// `+QMTPUBEX: <client>,<msgID>,<result>`.
    PubEx {
        id: u16,
        result: u8,
    },
    Line(String),
}

/// Where one unpipelined QoS 1 publish spends its time.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PublishPhases {
    /// Command line written → `> ` read.
    pub(crate) to_prompt: Duration,
    /// Payload written → `OK` read.
    pub(crate) to_ok: Duration,
    /// `OK` read → `+QMTPUBEX: 0,id,0` read (the MQTT round trip to the broker).
    pub(crate) to_result: Duration,
}

pub(crate) struct MinimalHost<S = TcpStream> {
    stream: S,
    buf: Vec<u8>,
    start: usize,
    next_id: u16,
    topic: String,
}

impl MinimalHost<TcpStream> {
    /// Connects to the module at `serial`, turns echo off, opens and connects
    /// MQTT client 0 to `broker`.
    pub(crate) async fn connect(
        serial: SocketAddr,
        broker: SocketAddr,
        client_id: &str,
        topic: String,
    ) -> Result<MinimalHost> {
        let stream = TcpStream::connect(serial).await?;
        stream.set_nodelay(true)?;
        let mut host = MinimalHost::over(stream, topic);
        // The module may still be booting: retry until it answers.
        let deadline = Instant::now() + PATIENCE;
        loop {
            host.stream.write_all(b"ATE0\r").await?;
            match tokio::time::timeout(Duration::from_millis(500), host.until_final()).await {
                Ok(Ok(())) => break,
                _ if Instant::now() > deadline => bail!("the module never answered ATE0"),
                _ => {}
            }
        }
        // Let a late answer to an earlier retry arrive, then forget it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        host.discard_input()?;
        host.open_and_connect(broker, client_id, deadline).await?;
        Ok(host)
    }

    fn discard_input(&mut self) -> Result<()> {
        let mut scratch = [0u8; 4096];
        loop {
            match self.stream.try_read(&mut scratch) {
                Ok(0) => bail!("the module closed the serial line"),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.into()),
            }
        }
        self.buf.clear();
        self.start = 0;
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> MinimalHost<S> {
    /// A host on `stream`, which must already be attached to a module.
    pub(crate) fn over(stream: S, topic: String) -> MinimalHost<S> {
        MinimalHost {
            stream,
            buf: Vec::with_capacity(4096),
            start: 0,
            next_id: 0,
            topic,
        }
    }

    /// Turns echo off on a module that is up (one `ATE0`; its echo and any
    /// boot URCs before it are skipped as lines).
    pub(crate) async fn echo_off(&mut self) -> Result<()> {
        self.stream.write_all(b"ATE0\r").await?;
        self.until_final().await
    }

    /// `AT+QMTOPEN` (retried while the PDP context is not up, until
    /// `deadline`) then `AT+QMTCONN` of client 0 to `broker` as `client_id`.
    pub(crate) async fn open_and_connect(
        &mut self,
        broker: SocketAddr,
        client_id: &str,
        deadline: Instant,
    ) -> Result<()> {
        let ip = broker.ip();
        let port = broker.port();
        loop {
            let line = self
                .command_then(&format!("AT+QMTOPEN=0,\"{ip}\",{port}"), "+QMTOPEN: 0,")
                .await?;
            match line.as_str() {
                "+QMTOPEN: 0,0" => break,
                _ if Instant::now() > deadline => bail!("AT+QMTOPEN: {line}"),
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let line = self
            .command_then(&format!("AT+QMTCONN=0,\"{client_id}\""), "+QMTCONN: 0,")
            .await?;
        if line != "+QMTCONN: 0,0,0" {
            bail!("AT+QMTCONN: {line}");
        }
        Ok(())
    }

    fn next_id(&mut self) -> u16 {
        self.next_id = self.next_id % u16::MAX + 1;
        self.next_id
    }

    /// `AT` → `OK`: one serial round trip.
    pub(crate) async fn at(&mut self) -> Result<Duration> {
        let t0 = Instant::now();
        self.stream.write_all(b"AT\r").await?;
        self.until_final().await?;
        Ok(t0.elapsed())
    }

    /// One QoS 1 publish, timed phase by phase.
    pub(crate) async fn publish_one(&mut self, payload: &[u8]) -> Result<PublishPhases> {
        let id = self.next_id();
        let t0 = Instant::now();
        self.send_publish(id, payload.len()).await?;
        self.until_prompt(&mut |_, _| Ok(())).await?;
        let t1 = Instant::now();
        self.stream.write_all(payload).await?;
        self.until_ok(&mut |_, _| Ok(())).await?;
        let t2 = Instant::now();
        loop {
            match self.next_event().await? {
                Event::PubEx { id: got, result: 0 } if got == id => break,
                Event::PubEx { result: 1, .. } => {}
                other => bail!("awaited +QMTPUBEX: 0,{id},0, got {other:?}"),
            }
        }
        Ok(PublishPhases {
            to_prompt: t1 - t0,
            to_ok: t2 - t1,
            to_result: t2.elapsed(),
        })
    }

    /// As [`crate::vmodem::ClientHost::publish_pipelined`], on the raw socket.
    pub(crate) async fn publish_pipelined(
        &mut self,
        count: u64,
        window: u64,
        payload: &[u8],
    ) -> Result<PipelineTimes> {
        let mut sent = 0u64;
        let mut state = Pipeline {
            outstanding: 0,
            times: PipelineTimes::default(),
        };
        while state.times.messages < count {
            if sent < count && state.outstanding < window {
                let id = self.next_id();
                let t0 = Instant::now();
                self.send_publish(id, payload.len()).await?;
                self.until_prompt(&mut |id, r| state.result(id, r)).await?;
                self.stream.write_all(payload).await?;
                self.until_ok(&mut |id, r| state.result(id, r)).await?;
                state.times.exchange += t0.elapsed();
                sent += 1;
                state.outstanding += 1;
            } else {
                if sent < count {
                    state.times.window_full += 1;
                }
                let t0 = Instant::now();
                let event = self.next_event().await?;
                state.times.window_wait += t0.elapsed();
                match event {
                    Event::PubEx { id, result } => state.result(id, result)?,
                    other => bail!("unexpected {other:?} while waiting for +QMTPUBEX"),
                }
            }
        }
        Ok(state.times)
    }

    async fn send_publish(&mut self, id: u16, len: usize) -> Result<()> {
        let line = format!("AT+QMTPUBEX=0,{id},1,0,\"{}\",{len}\r", self.topic);
        self.stream.write_all(line.as_bytes()).await?;
        Ok(())
    }

    /// Sends `command`, requires `OK`, then returns the first line starting with `prefix`.
    async fn command_then(&mut self, command: &str, prefix: &str) -> Result<String> {
        self.stream
            .write_all(format!("{command}\r").as_bytes())
            .await?;
        self.until_ok(&mut |_, _| Ok(())).await?;
        loop {
            if let Event::Line(line) = self.next_event().await? {
                if line.starts_with(prefix) {
                    return Ok(line);
                }
            }
        }
    }

    async fn until_final(&mut self) -> Result<()> {
        loop {
            match self.next_event().await? {
                Event::Ok => return Ok(()),
                Event::Error(e) => bail!("the module answered {e}"),
                _ => {}
            }
        }
    }

    async fn until_prompt(
        &mut self,
        results: &mut impl FnMut(u16, u8) -> Result<()>,
    ) -> Result<()> {
        loop {
            match self.next_event().await? {
                Event::Prompt => return Ok(()),
                Event::PubEx { id, result } => results(id, result)?,
                other => bail!("awaited the > prompt, got {other:?}"),
            }
        }
    }

    async fn until_ok(&mut self, results: &mut impl FnMut(u16, u8) -> Result<()>) -> Result<()> {
        loop {
            match self.next_event().await? {
                Event::Ok => return Ok(()),
                Event::PubEx { id, result } => results(id, result)?,
                Event::Error(e) => bail!("the module answered {e}"),
                Event::Prompt => bail!("an unexpected > prompt"),
                Event::Line(_) => {}
            }
        }
    }

    async fn next_event(&mut self) -> Result<Event> {
        loop {
            if let Some(event) = self.parse() {
                return Ok(event);
            }
            if self.start > 0 {
                self.buf.drain(..self.start);
                self.start = 0;
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk))
                .await
                .map_err(|_| anyhow!("the module said nothing for {PATIENCE:?}"))?
                .context("read the serial line")?;
            if n == 0 {
                bail!("the module closed the serial line");
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn parse(&mut self) -> Option<Event> {
        loop {
            let rest = &self.buf[self.start..];
            if rest.starts_with(b"\r\n") {
                self.start += 2;
                continue;
            }
            if rest.starts_with(b"> ") {
                self.start += 2;
                return Some(Event::Prompt);
            }
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let line = String::from_utf8_lossy(&rest[..end]).into_owned();
            self.start += end + 2;
            return Some(classify(line));
        }
    }
}

struct Pipeline {
    outstanding: u64,
    times: PipelineTimes,
}

impl Pipeline {
    fn result(&mut self, id: u16, result: u8) -> Result<()> {
        match result {
            0 => {
                self.outstanding = self
                    .outstanding
                    .checked_sub(1)
                    .ok_or_else(|| anyhow!("+QMTPUBEX: 0,{id},0 for nothing in flight"))?;
                self.times.messages += 1;
            }
            1 => self.times.retransmissions += 1,
            _ => bail!("publish {id} failed: result {result}"),
        }
        Ok(())
    }
}

fn classify(line: String) -> Event {
    match line.as_str() {
        "OK" => return Event::Ok,
        "ERROR" => return Event::Error(line),
        _ if line.starts_with("+CME ERROR") => return Event::Error(line),
        _ => {}
    }
    if let Some(rest) = line.strip_prefix("+QMTPUBEX: 0,") {
        let mut fields = rest.split(',');
        if let (Some(Ok(id)), Some(Ok(result))) = (
            fields.next().map(str::parse::<u16>),
            fields.next().map(str::parse::<u8>),
        ) {
            return Event::PubEx { id, result };
        }
    }
    Event::Line(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_lines_a_publish_produces() {
        assert_eq!(classify("OK".into()), Event::Ok);
        assert_eq!(
            classify("+QMTPUBEX: 0,17,0".into()),
            Event::PubEx { id: 17, result: 0 }
        );
        assert_eq!(
            classify("+QMTPUBEX: 0,17,1,1".into()),
            Event::PubEx { id: 17, result: 1 }
        );
        assert_eq!(
            classify("+QMTOPEN: 0,0".into()),
            Event::Line("+QMTOPEN: 0,0".into())
        );
    }
}
