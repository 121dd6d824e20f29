//! The tokio driver for [`vmodem_core`]: serial lines, network links, timers
//! and an embedded MQTT broker around the sans-I/O module.
//!
//! ```text
//!   host port (pty · TCP · stdio) ──read───►┌──────────── module task ────────────┐
//!    AsyncRead + AsyncWrite       ◄─write───│  vmodem_core::Modem (one out buffer)│
//!    (no queue of its own)                  │  select!: port · net events · timer │
//!   link tasks (one per TCP link) ─events──►│  drain: actions, events             │
//!                                ◄actions───└─────────────────────────────────────┘
//! ```
//!
//! The driver is thin on purpose: it owns transports, sockets and time, and
//! holds no logic about AT commands or MQTT. Each module is one tokio task
//! (plus one per open network link), with no OS thread and no large buffer of
//! its own, so one process can run thousands.
//!
//! # Use
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vmodem_tokio::{spawn_module, ModuleOptions, PtyPort};
//!
//! let port = PtyPort::open(Some("/tmp/ttyEC25".as_ref()))?;
//! println!("serial line on {}", port.path().display());
//! let module = spawn_module(port, ModuleOptions::default())?;
//! // … until it is time to stop:
//! module.shutdown().await?;
//! # Ok(()) }
//! ```
//!
//! # Decisions
//!
//! - **Time.** A module's epoch is the tokio instant it was created at;
//!   `now` is whole milliseconds since. Under `tokio::time::pause` a module
//!   runs in virtual time.
//! - **Output nobody reads waits, and is never dropped**, as on a UART with
//!   RTS/CTS flow control: it stays in the core's one output buffer (the
//!   kernel's pty or socket buffer holds a few KiB more), the core pauses its
//!   links so TCP pushes back on the broker, and past 32 KiB the module task
//!   stops reading host input. Ports keep no queue of their own.
//! - **TCP serial:** a new connection replaces the current host, like
//!   re-plugging a cable; while none is connected, output waits for the next
//!   one ([`TcpSerialPort`]).
//! - **stdio:** end of stdin stops the module ([`StdioPort`]).
//! - **Power-down** (`AT+QPOWD`) is logged; the module stays off unless
//!   [`ModuleOptions::power_on_after`] presses the power key again.
//! - **Network links** resolve names through [`ModuleOptions::hosts`] first,
//!   then the system resolver, within [`ModuleOptions::connect_timeout`]; a
//!   paused link stops reading so TCP back-pressure reaches the broker.
//! - **TLS links** (`AT+QMTCFG="ssl"`) use rustls with the ring provider,
//!   configured from the module's SSL context alone (its CA, never the system
//!   roots; the module's clock for validity); what rustls cannot do (SSL 3.0,
//!   TLS 1.0/1.1, most of the module's cipher suites) fails the link with
//!   `+QMTOPEN: c,-1` and the reason in the log.
//! - **UFS** is kept in [`ModuleOptions::ufs_dir`] if given, so uploaded
//!   files survive the process as they survive a power cycle.
//! - **Trace:** JSON lines, one per chunk of serial bytes:
//!   `{"t_ms":12,"dir":"host_to_module","text":"AT\r","hex":"41540d"}`, with
//!   `dir` either `host_to_module` or `module_to_host`, `t_ms` the module's
//!   clock, `text` lossy UTF-8 and `hex` the exact bytes.
#![warn(missing_docs, unreachable_pub)]

mod attach;
mod broker;
mod broker_tls;
pub mod control;
mod dial;
mod fault_log;
mod host;
mod links;
mod module;
mod pty;
mod reactor;
mod stdio;
mod symlink;
mod tcp_serial;
mod termios;
mod tls;
mod trace;
mod ufs;

pub use broker::{
    BrokerError, BrokerOptions, EmbeddedBroker, Limits as BrokerLimits, Stats as BrokerStats,
    BROKER_PROTOCOLS, TLS_HANDSHAKE_TIMEOUT,
};
pub use broker_tls::{BrokerCerts, BROKER_TLS_NAMES};
pub use host::{HostPort, PortError};
pub use module::{
    spawn_module, ModuleControl, ModuleError, ModuleGone, ModuleHandle, ModuleOptions, PowerOn,
};
pub use pty::PtyPort;
pub use stdio::StdioPort;
pub use tcp_serial::TcpSerialPort;
