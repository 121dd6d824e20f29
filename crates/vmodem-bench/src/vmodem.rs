//! vmodem modules in this process, each on its own loopback TCP serial port,
//! and the host that drives one through `vmodem_client::Client`.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use tokio::net::TcpStream;
use vmodem_client::{Client, OpenResult, PacketResult, PubForm, Urc, UrcError, UrcSubscription};
use vmodem_core::Config;
use vmodem_tokio::{spawn_module, ModuleHandle, ModuleOptions, TcpSerialPort};

/// How long any single expected answer may take before the benchmark gives up.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// The MQTT client index every module uses.
const MQTT_CLIENT: u8 = 0;

/// Environment variable naming a directory for per-module serial traces
/// (`module-<instance>.jsonl`, the driver's JSON-lines format), to debug a run.
pub(crate) const TRACE_DIR_ENV: &str = "VMODEM_BENCH_TRACE_DIR";

/// Starts a module (fast timing) on a free loopback TCP port.
pub(crate) async fn start_module(instance: u32) -> Result<(ModuleHandle, SocketAddr)> {
    let port = TcpSerialPort::bind((Ipv4Addr::LOCALHOST, 0).into())
        .await
        .context("bind a TCP serial port")?;
    let addr = port.local_addr()?;
    let options = ModuleOptions {
        config: Config {
            instance,
            ..Config::default()
        },
        trace: std::env::var_os(TRACE_DIR_ENV)
            .map(|dir| std::path::PathBuf::from(dir).join(format!("module-{instance}.jsonl"))),
        ..ModuleOptions::default()
    };
    let module = spawn_module(port, options).context("spawn a module")?;
    Ok((module, addr))
}

/// One module driven through `vmodem_client::Client`, connected to the broker.
pub(crate) struct ClientHost {
    pub(crate) client: Client,
    urcs: UrcSubscription,
    next_id: u16,
    topic: String,
}

/// What one module's pipelined publishing spent its time on.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PipelineTimes {
    /// Publishes completed.
    pub(crate) messages: u64,
    /// Time inside `send_with_payload` (command line → `> ` → payload → `OK`).
    pub(crate) exchange: Duration,
    /// Time waiting for `+QMTPUBEX` URCs with nothing else to do (window full, or the tail).
    pub(crate) window_wait: Duration,
    /// How often the window was full when the next publish was due.
    pub(crate) window_full: u64,
    /// Retransmissions the module reported (`+QMTPUBEX: c,id,1`).
    pub(crate) retransmissions: u64,
}

impl PipelineTimes {
    pub(crate) fn add(&mut self, other: &PipelineTimes) {
        self.messages += other.messages;
        self.exchange += other.exchange;
        self.window_wait += other.window_wait;
        self.window_full += other.window_full;
        self.retransmissions += other.retransmissions;
    }
}

impl ClientHost {
    /// Connects a client to the module at `serial`, waits until it answers,
    /// then `AT+QMTOPEN` and `AT+QMTCONN` to `broker` as `client_id`.
    pub(crate) async fn connect(
        serial: SocketAddr,
        broker: SocketAddr,
        client_id: &str,
        topic: String,
    ) -> Result<ClientHost> {
        let stream = TcpStream::connect(serial).await?;
        stream.set_nodelay(true)?;
        // The documented 300 ms is tight for a 2-core machine running a fleet.
        let client = Client::builder()
            .min_timeout(Duration::from_secs(5))
            .build(stream);
        wait_until_answering(&client).await?;
        open_and_connect(&client, broker, client_id).await?;
        let urcs = client.subscribe_urcs();
        Ok(ClientHost {
            client,
            urcs,
            next_id: 0,
            topic,
        })
    }

    /// msgIDs cycle through 1..=65535.
    pub(crate) fn next_id(&mut self) -> u16 {
        self.next_id = self.next_id % u16::MAX + 1;
        self.next_id
    }

    /// Publishes `count` QoS 1 messages with at most `window` awaiting their
    /// `+QMTPUBEX` result: the next `AT+QMTPUBEX` goes out as soon as the
    /// previous one's `OK` is in and the window has room.
    pub(crate) async fn publish_pipelined(
        &mut self,
        count: u64,
        window: u64,
        payload: &[u8],
    ) -> Result<PipelineTimes> {
        let mut times = PipelineTimes::default();
        let mut sent = 0u64;
        let mut outstanding = 0u64;
        loop {
            // Take every result already here, without waiting.
            while let Some(urc) = self.urcs.try_recv() {
                self.completion(urc, &mut outstanding, &mut times)?;
            }
            if times.messages >= count {
                break;
            }
            if sent < count && outstanding < window {
                let id = self.next_id();
                let cmd = format!(
                    "AT+QMTPUBEX={MQTT_CLIENT},{id},1,0,\"{}\",{}",
                    self.topic,
                    payload.len()
                );
                let t0 = Instant::now();
                let resp = self.client.send_with_payload(cmd.as_str(), payload).await?;
                times.exchange += t0.elapsed();
                if !resp.is_ok() {
                    bail!("{cmd} answered {} ({outstanding} in flight)", resp.result);
                }
                sent += 1;
                outstanding += 1;
            } else {
                if sent < count {
                    times.window_full += 1;
                }
                let t0 = Instant::now();
                let urc = tokio::time::timeout(PATIENCE, self.urcs.recv())
                    .await
                    .map_err(|_| {
                        anyhow!(
                            "no +QMTPUBEX result within {PATIENCE:?}: {outstanding} in flight, \
                             last msgID sent {}, {} of {count} done",
                            self.next_id,
                            times.messages
                        )
                    })?;
                times.window_wait += t0.elapsed();
                self.completion(urc, &mut outstanding, &mut times)?;
            }
        }
        Ok(times)
    }

    fn completion(
        &self,
        urc: Result<Urc, UrcError>,
        outstanding: &mut u64,
        times: &mut PipelineTimes,
    ) -> Result<()> {
        match urc.context("URC stream")? {
            Urc::QmtPub {
                client: MQTT_CLIENT,
                result,
                form: PubForm::PubEx,
                ..
            } => match result {
                PacketResult::Sent => {
                    *outstanding = outstanding
                        .checked_sub(1)
                        .ok_or_else(|| anyhow!("a +QMTPUBEX result for nothing in flight"))?;
                    times.messages += 1;
                }
                PacketResult::Retransmission => times.retransmissions += 1,
                other => bail!("a publish failed: {other:?}"),
            },
            Urc::QmtStat { code, .. } => bail!("the MQTT link closed: +QMTSTAT {code:?}"),
            _ => {}
        }
        Ok(())
    }

    /// One QoS 1 publish, not pipelined: `qmt_pubex` returns on the `+QMTPUBEX` result.
    pub(crate) async fn publish_one(&mut self, payload: &[u8]) -> Result<Duration> {
        let id = self.next_id();
        let t0 = Instant::now();
        let outcome = self
            .client
            .qmt_pubex(MQTT_CLIENT, id, 1, false, &self.topic, payload)
            .await?;
        let took = t0.elapsed();
        if !outcome.is_sent() {
            bail!("a single publish failed: {outcome:?}");
        }
        // Its URC also went to our subscription; keep it from counting later.
        while self.urcs.try_recv().is_some() {}
        Ok(took)
    }

    /// Drops URCs that came since the last pipeline (none are expected).
    pub(crate) fn clear_urcs(&mut self) {
        while self.urcs.try_recv().is_some() {}
    }
}

/// `AT` until `OK`: the module may still be booting when the host connects.
pub(crate) async fn wait_until_answering(client: &Client) -> Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match client.with_timeout(Duration::from_millis(500)).at().await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(e).context("the module never answered AT")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// `AT+QMTOPEN` (retried while the module's network is still coming up), then `AT+QMTCONN`.
pub(crate) async fn open_and_connect(
    client: &Client,
    broker: SocketAddr,
    client_id: &str,
) -> Result<()> {
    let host = broker.ip().to_string();
    let deadline = Instant::now() + PATIENCE;
    loop {
        match client.qmt_open(MQTT_CLIENT, &host, broker.port()).await? {
            OpenResult::Opened => break,
            other if Instant::now() > deadline => bail!("AT+QMTOPEN: {other:?}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let conn = client.qmt_conn(MQTT_CLIENT, client_id, None, None).await?;
    if !conn.is_accepted() {
        bail!("AT+QMTCONN: {conn:?}");
    }
    Ok(())
}
