//! The sans-I/O virtual Quectel module.
//!
//! **This crate does no I/O.** It owns no socket, thread, timer or clock. A
//! [`Modem`] is a deterministic state machine: the driver feeds it what
//! happened and the current time, and drains what the module wants done.
//!
//! ```text
//!            host side (UART)                          network side
//!   bytes the MCU typed ──► handle_host_bytes(now, ..)  handle_net_event(now, ..) ◄── TCP/TLS events
//!                                 │                         │
//!                          ┌──────▼─────────────────────────▼──────┐
//!   handle_timeout(now) ──►│                Modem                  │
//!                          │ AT engine · device · MQTT clients 0-5 │
//!                          └──────┬─────────────────────────┬──────┘
//!   bytes for the MCU ◄── host_output()           poll_net_action() ──► connect / send / close
//!   the MCU took them ──► consume_host_output(now, n)
//!   next wake-up      ◄── poll_timeout()          poll_event()      ──► power-down, restart
//! ```
//!
//! Because nothing inside reads a clock, the same inputs always give the same
//! bytes out, tests run in virtual time (jump to [`Modem::poll_timeout`]), and
//! thousands of modules live in one process at the cost of their state alone.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod clock;
mod commands;
mod config;
mod device;
mod engine;
pub mod fault;
mod fs;
mod identity;
mod io;
mod model;
mod modem;
mod mqtt;
mod operator;
mod output;
pub mod radio;
pub mod scenario;
mod ssl;
mod status;
mod time;
mod timers;

#[cfg(test)]
mod tests;

pub use clock::utc_text;
pub use config::{Config, Timing};
pub use fault::{ActiveFault, Direction, Fault, FaultError, FaultId, LinkFault, Toxic};
pub use io::{
    CipherSuites, CloseCause, ConnectError, LinkId, ModemEvent, NetAction, NetEvent, SecLevel,
    SslVersion, TlsSettings,
};
pub use model::{BootUrc, Model, ModelProfile, PublishDialects, PublishUrc, QcfgProfile, Rat};
pub use modem::Modem;
pub use operator::{Operator, OperatorError};
pub use radio::Network;
pub use status::{
    ClientState, ClientStatus, ModuleStatus, PdpStatus, PowerState, RegistrationStatus,
    SignalStatus,
};
pub use time::Instant;
