//! Errors of the client. Each variant says what the caller should do.
//!
//! The split follows the STYLE guide: the module's own answers are values where they are
//! outcomes (`OpenResult::DnsFailed` is `Ok(..)`), a refused command is [`Error::Rejected`],
//! misuse of the API is [`Error::InvalidArgument`], and transport trouble is [`Error::Io`] /
//! [`Error::Closed`]. Errors are `Clone + PartialEq` so tests can compare them.

use std::io;
use std::time::Duration;

use crate::codes::{FinalResult, StatCode};

/// Why a command or typed call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No final result code came within the timeout. The module may still answer later (the
    /// digester then discards it, see the crate docs). If the module is merely slow (loaded CI),
    /// raise the timeout with `ClientBuilder::timeout_scale`, `Client::with_timeout` or
    /// `Command::with_timeout`; otherwise check the serial link and that the module runs.
    #[error("`{command}`: no final result within {timeout:?}; raise the timeout if the module is slow, else check the link")]
    Timeout {
        /// The command line.
        command: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// The module accepted the command (`OK`) but the URC with its outcome (e.g.
    /// `+QMTOPEN: c,<result>`) did not come within the documented time. Check the network and
    /// broker side; the outcome URC may still arrive on the URC stream.
    #[error("`{command}` was accepted but its `{urc}` result did not arrive within {timeout:?}; check the network/broker, the URC may still come")]
    UrcTimeout {
        /// The command line.
        command: String,
        /// The awaited URC name, e.g. `+QMTOPEN`.
        urc: &'static str,
        /// The time waited after `OK`.
        timeout: Duration,
    },
    /// The module refused the command with `ERROR`, `+CME ERROR` or `+CMS ERROR`. Check the
    /// parameters and the module's state (for MQTT: open → connect → subscribe/publish, at most
    /// 5 publishes in flight, see the note ch. 3).
    #[error("`{command}` was refused: {result}; check the parameters and the module state")]
    Rejected {
        /// The command line.
        command: String,
        /// The final result code.
        result: FinalResult,
    },
    /// The module's answer did not have the documented shape. This is a module bug or an
    /// unsupported firmware dialect: report it with the `detail`.
    #[error("`{command}`: unexpected response ({detail}); the module or firmware dialect is not supported")]
    UnexpectedResponse {
        /// The command line.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// While waiting for an MQTT outcome, the module reported `+QMTSTAT: <client>,<code>`: the
    /// MQTT client is closed. Open and connect it again (note ch. 4, table 3 gives the action
    /// for each code).
    #[error("MQTT client {client} was closed by the module (+QMTSTAT: {client},{}): open and connect it again", .code.code())]
    LinkClosed {
        /// `<client_idx>`.
        client: u8,
        /// `<err_code>`.
        code: StatCode,
    },
    /// An argument cannot be sent as given (out of the note's range, or a string the module
    /// could not read back). Fix the argument; nothing was sent.
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument {
        /// Which argument.
        argument: &'static str,
        /// Why, and what to do instead.
        reason: String,
    },
    /// Reading from or writing to the transport failed. The client has stopped: create a new
    /// one on a fresh transport.
    #[error("transport I/O error ({kind:?}): {message}; the client stopped, reconnect")]
    Io {
        /// The I/O error kind.
        kind: io::ErrorKind,
        /// The I/O error message.
        message: String,
    },
    /// The client's background task has stopped (transport closed, I/O error, or runtime shut
    /// down). Create a new client on a fresh transport.
    #[error("the client has stopped (transport closed); reconnect with a new Client")]
    Closed,
}

impl Error {
    pub(crate) fn io(e: &io::Error) -> Self {
        Error::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}

/// Why reading the URC stream failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrcError {
    /// This subscription fell behind and `missed` URCs were dropped from it (oldest first).
    /// Read the stream faster, or raise `ClientBuilder::urc_capacity`. Reading continues with
    /// the oldest URC still kept.
    #[error("the URC subscription fell behind and missed {missed} URCs; read faster or raise urc_capacity")]
    Lagged {
        /// How many URCs were dropped.
        missed: u64,
    },
    /// No matching URC came in time (only from `UrcSubscription::wait_for`).
    #[error("no matching URC within {0:?}")]
    Timeout(Duration),
    /// The client has stopped and every URC it received has been read. Reconnect.
    #[error("the client has stopped and no URC is left")]
    Closed,
}
