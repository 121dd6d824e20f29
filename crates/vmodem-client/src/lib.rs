//! Host-side typed async driver for the AT interface of Quectel EC2x-family modules — vmodem's
//! virtual EC25 as much as a real one on a serial port.
//!
//! Two layers, one core:
//!
//! ```text
//!                 ┌──────────────────────── vmodem-client ─────────────────────────┐
//!  your test ───► │ Client (tokio)                                                   │
//!  typed calls    │  qmt_open / qmt_pubex / cpin / command / send_with_payload …     │
//!  URC stream ◄── │  driver task: one command at a time, timeouts, payload writes    │
//!                 │          │ start/payload_sent/abandon        ▲ Items               │
//!                 │          ▼                                    │                    │
//!                 │ Digester (sans-I/O): module bytes ──► Echo | Response | Urc |    │
//!                 │                                       Prompt | Connect | Discarded │
//!                 └───────────────────────────────┬────────────────────────────────────┘
//!                                   AsyncRead + AsyncWrite (pty, serial, TCP, duplex)
//! ```
//!
//! * [`Digester`] is the sans-I/O parser (like atat's `Digester::digest(buf) -> (result,
//!   consumed)`): no I/O, no clock; any chunking of the input gives the same [`Item`]s. Its
//!   docs give the framing rules and the **response-vs-URC classification**.
//! * [`Client`] is a thin tokio layer: a cloneable handle and a background driver task.
//!
//! # Why a background task
//!
//! The module writes URCs whenever it likes, including when no command is in flight (a
//! `+QMTRECV` while the test waits for something else). A driver task reads continuously, so
//! URCs are timestamped by arrival, the module's output never backs up, and a test can wait for
//! a URC in one task while sending commands from another. Commands from every clone go through
//! one channel and are sent one at a time. A poll-driven `&mut self` design would only read
//! while someone awaits a call, and could not wait for a URC and publish concurrently.
//!
//! Cancellation is safe: dropping a call's future does not desynchronise the link. A command
//! not yet sent is skipped; one already sent is seen through (its answer is consumed) by the
//! driver.
//!
//! # Routing of URCs and results
//!
//! * Every URC goes, in arrival order, to the client's own stream ([`Client::next_urc`], which
//!   holds everything since the client started) and to each [`UrcSubscription`]
//!   ([`Client::subscribe_urcs`], everything after subscribing).
//! * [`Client::subscribe_events`] gives responses and URCs interleaved, in the order the
//!   module sent them ([`Event`]): what a tool showing a session needs (`vmodem at`).
//! * A typed call whose outcome is a URC (`qmt_open` → `+QMTOPEN: c,result`) registers a
//!   filter with the command; the driver activates it on the command's `OK`, before digesting
//!   another byte, so the result cannot be missed. The matching URCs are **delivered both
//!   ways**: the call returns the result, and the stream still shows the URC. The stream is a
//!   faithful log; it never has holes that depend on which calls were made.
//! * `result 1` (retransmission) URCs of conn/sub/uns/pub are counted in the outcome
//!   ([`PacketOutcome::retransmissions`]) and waiting continues for the final result; a
//!   `+QMTSTAT` for the same client ends the wait with [`Error::LinkClosed`].
//!
//! # Timeouts
//!
//! Each command gets the documented maximum response time of the Quectel MQTT application
//! note (ch. 3): 300 ms for AT+QMTCFG, 120 s for AT+QMTOPEN, 30 s for AT+QMTCLOSE and
//! AT+QMTDISC, and `pkt_timeout × (retry_times + 1)` for AT+QMTCONN/SUB/UNS/PUB(EX) (the
//! client remembers what [`Client::qmt_cfg_timeout`] set; defaults 5 s × 4). Other commands
//! use the EC25 AT manual's values (5 s for AT+CPIN, 15 s for AT+CFUN, 180 s for AT+COPS, 300
//! ms otherwise). 300 ms is tight for a loaded CI machine, so:
//! [`ClientBuilder::timeout_scale`] and [`ClientBuilder::min_timeout`] adjust them globally,
//! [`Client::with_timeout`] fixes the timeout for calls through one handle, and
//! [`Command::with_timeout`] for one generic command.
//!
//! After a timeout the module may still answer; the digester discards the late answer where
//! it can tell it apart (always with echo on; see [`Digester`] "After a timeout").
//!
//! # Received payloads
//!
//! `+QMTRECV` payloads are raw bytes between quotes. With the length field
//! (`AT+QMTCFG="recv/mode",c,<mode>,1`, [`Client::qmt_cfg_recv_mode`]) exactly that many bytes
//! are taken, whatever they contain. Without it, the payload ends at the first `"` CR LF: a
//! payload containing that sequence is cut there (the rest is read as another line). Enable
//! the length for binary or JSON payloads.
//!
//! # Limitations
//!
//! * ATQ1 (no result codes) is not supported: every command would time out.
//! * Final results are `OK`, `ERROR`, `+CME ERROR`, `+CMS ERROR` (and `0`/`4`); `SEND OK`,
//!   `NO CARRIER`, `BUSY` and the like are information lines, so AT+QISEND or ATD need
//!   `Command::with_timeout` and a look at [`Response::lines`] — or a typed method later.
//! * With echo off, a URC sharing the pending command's prefix that arrives just before its
//!   answer is taken as part of it ([`Digester`] explains why echo on does not have this).
//! * After a timeout, lines of the late answer that parse as typed URCs (a `+CPIN: READY`)
//!   still reach the URC stream.
//! * Concurrent QoS 0 publishes on one MQTT client cannot be told apart (all use msgID 0).
//! * [`Client::wait_for_urc`] drops the non-matching URCs it reads from the client's own
//!   stream; use a [`UrcSubscription`] to wait without disturbing other readers.
//!
//! # Example
//!
//! An MQTT session against a module on a TCP serial port. Here the module is vmodem, started
//! in the hidden lines the way `vmodem run --tcp 127.0.0.1:7000` starts it (with its built-in
//! broker); against `vmodem run` or a real module the code is the same.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let broker = vmodem_tokio::EmbeddedBroker::start("127.0.0.1:0".parse()?).await?;
//! # let serial = vmodem_tokio::TcpSerialPort::bind("127.0.0.1:0".parse()?).await?;
//! # let at_port = serial.local_addr()?;
//! # let _module = vmodem_tokio::spawn_module(serial, vmodem_tokio::ModuleOptions::default())?;
//! # let (broker_host, broker_port) = ("127.0.0.1", broker.local_addr().port());
//! use std::time::Duration;
//! use vmodem_client::{Client, OpenResult, RecvMode, Urc};
//!
//! // `at_port`: where `vmodem run --tcp` serves the AT port; `broker_host`/`broker_port`: an
//! // MQTT broker the module can reach (vmodem's built-in one here).
//! let modem = Client::connect_tcp(at_port).await?;
//! modem.at().await?;
//! println!("{:?}", modem.ati().await?);
//!
//! modem.qmt_cfg_recv_mode(0, RecvMode::Urc, true).await?;
//! assert_eq!(modem.qmt_open(0, broker_host, broker_port).await?, OpenResult::Opened);
//! assert!(modem.qmt_conn(0, "vmodem-test", None, None).await?.is_accepted());
//! modem.qmt_sub(0, 1, &[("t/#", 1)]).await?;
//! let outcome = modem.qmt_pubex(0, 2, 1, false, "t/a", b"{\"v\":1}").await?;
//! assert!(outcome.is_sent());
//!
//! // The echo of our own publish, via the URC stream.
//! let msg = modem
//!     .wait_for_urc(Duration::from_secs(5), |u| matches!(u, Urc::QmtRecv { .. }))
//!     .await?;
//! let Urc::QmtRecv { topic, payload, .. } = msg else { unreachable!() };
//! assert_eq!((topic.as_str(), payload.as_slice()), ("t/a", &b"{\"v\":1}"[..]));
//! # Ok(()) }
//! ```
//!
//! On a serial device (a real EC25's `/dev/ttyUSB2`, or the pseudo-terminal `vmodem run`
//! prints), [`Client::open_serial`] opens the line ([`serial`] says how) and starts the client:
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let pty = vmodem_tokio::PtyPort::open(None)?;
//! # let device = pty.path().to_owned();
//! # let _module = vmodem_tokio::spawn_module(pty, vmodem_tokio::ModuleOptions::default())?;
//! use vmodem_client::{Client, SimState};
//!
//! let modem = Client::open_serial(&device, 115_200)?;
//! assert_eq!(modem.cpin().await?, SimState::Ready);
//! let contexts = modem.qiact_status().await?;
//! println!("context 1 has address {:?}", contexts[0].addresses);
//! # Ok(()) }
//! ```
//!
//! The generic API, for anything without a typed method:
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let serial = vmodem_tokio::TcpSerialPort::bind("127.0.0.1:0".parse()?).await?;
//! # let at_port = serial.local_addr()?;
//! # let _module = vmodem_tokio::spawn_module(serial, vmodem_tokio::ModuleOptions::default())?;
//! use vmodem_client::{Client, Command, FinalResult};
//!
//! let modem = Client::connect_tcp(at_port).await?;
//! let resp = modem.command("AT+QCFG=\"band\"").await?;
//! for line in resp.text_lines() {
//!     println!("{line}");
//! }
//! // Refusals are responses too; `command_ok` turns them into errors.
//! let resp = modem.command("AT+QMTPUBEX=0,0,0,0,\"t\",5").await?;
//! assert_eq!(resp.result, FinalResult::Error, "client 0 is not connected");
//! let slow = Command::new("AT+QIDEACT=1").with_timeout(std::time::Duration::from_secs(60));
//! modem.command_ok(slow).await?;
//! # Ok(()) }
//! ```

mod basic;
mod client;
mod codes;
mod command;
mod digest;
mod driver;
mod error;
mod file;
mod mqtt;
mod params;
mod pdp;
mod recv;
pub mod serial;
mod ssl;
mod urc;

pub use basic::{Identity, RegistrationStatus, SignalQuality};
pub use client::{Client, ClientBuilder, Event, EventSubscription, UrcSubscription};
pub use codes::{
    CloseResult, CmeError, ConnReturnCode, ConnState, FinalResult, OpenResult, PacketResult,
    PingResult, StatCode,
};
pub use command::{Command, DataEntry};
pub use digest::{Digester, DiscardReason, Discarded, EchoMode, Item, Limits, Response};
pub use error::{Error, UrcError};
pub use file::{FileEntry, Upload};
pub use mqtt::{ConnOutcome, MqttVersion, OpenStatus, PacketOutcome, RecvMode, RecvStatus, Will};
pub use params::{parse_params, Param, ParamError};
pub use pdp::PdpContext;
pub use recv::Message;
pub use ssl::{SecLevel, SslVersion};
pub use urc::{PubForm, RegKind, RegStat, Registration, SimState, Urc};
