//! What crosses the boundary between the core and its driver, besides host bytes.
//!
//! The core asks for network work with [`NetAction`]s and learns what happened
//! through [`NetEvent`]s. TCP, DNS and TLS live in the driver; the core only
//! sees a link that opened, carried bytes, or went away, and why.

/// Names one network link the core asked for.
///
/// A link belongs to one MQTT client index (0–5, `<client_idx>` in the
/// application note) and carries a generation number, so an event for a link
/// that was closed and reopened since is recognised as stale and ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId {
    client: u8,
    generation: u32,
}

impl LinkId {
    /// A link for `client` (0–5) in its `generation`-th opening.
    pub const fn new(client: u8, generation: u32) -> Self {
        LinkId { client, generation }
    }

    /// The MQTT client index this link serves.
    pub const fn client(self) -> u8 {
        self.client
    }

    /// How many links this client index had opened before this one.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

/// Network work the core asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetAction {
    /// Resolve `host` and open a TCP connection to `port`; answer with
    /// [`NetEvent::Connected`] or [`NetEvent::ConnectFailed`].
    Connect {
        /// The link to open.
        link: LinkId,
        /// Host name or IP literal as the host gave it to `AT+QMTOPEN`.
        host: String,
        /// TCP port, 1–65535.
        port: u16,
        /// Wrap the connection in TLS (`AT+QMTCFG="ssl",c,1,<ctx>`).
        tls: Option<TlsSettings>,
    },
    /// Write these bytes on the link, in order after earlier sends.
    Send {
        /// The link to write to.
        link: LinkId,
        /// Bytes to write.
        data: Vec<u8>,
    },
    /// Close the link (FIN). No event is expected back; late events for it are ignored.
    Close {
        /// The link to close.
        link: LinkId,
    },
    /// Stop reading from the link until [`NetAction::ResumeReading`]: the
    /// module's receive buffers are full, so TCP back-pressure must reach the
    /// broker instead of a message being dropped.
    PauseReading {
        /// The link to pause.
        link: LinkId,
    },
    /// Start reading from the link again.
    ResumeReading {
        /// The link to resume.
        link: LinkId,
    },
}

/// How to secure a link: the SSL context `AT+QMTCFG="ssl"` names.
///
/// The driver builds the TLS client from these settings; the core only ever
/// sees the link open, fail or carry plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsSettings {
    /// SSL context index, 0–5 (`<sslctx_idx>`).
    pub context: u8,
}

impl TlsSettings {
    /// Settings of SSL context `context`.
    pub fn new(context: u8) -> Self {
        TlsSettings { context }
    }
}

/// What happened on the network, reported by the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetEvent {
    /// The connection asked for by [`NetAction::Connect`] is established.
    Connected {
        /// The link that opened.
        link: LinkId,
    },
    /// The connection could not be established.
    ConnectFailed {
        /// The link that failed.
        link: LinkId,
        /// Why, as far as the module can tell.
        error: ConnectError,
    },
    /// Bytes arrived on the link.
    Received {
        /// The link they came on.
        link: LinkId,
        /// The bytes, in order.
        data: Vec<u8>,
    },
    /// The peer closed the link, or it broke.
    Closed {
        /// The link that went away.
        link: LinkId,
        /// How it went away.
        cause: CloseCause,
    },
    /// Writing to the link failed (the link is then also reported closed).
    SendFailed {
        /// The link that failed.
        link: LinkId,
    },
}

/// Why a connection attempt failed; each maps to a `+QMTOPEN` result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The host name did not resolve (`+QMTOPEN: c,4`).
    Dns,
    /// The peer refused or was unreachable (`+QMTOPEN: c,5`).
    Refused,
    /// No answer within the driver's connect timeout (`+QMTOPEN: c,5`).
    TimedOut,
    /// TLS handshake failed (`+QMTOPEN: c,-1`); the text says why, for logs.
    Tls(String),
    /// Anything else (`+QMTOPEN: c,-1`).
    Other(String),
}

/// How an open link ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseCause {
    /// Orderly close by the peer (FIN).
    PeerClosed,
    /// Reset by the peer or broken by the network.
    Reset,
}

/// Things a driver may want to know that are neither host bytes nor network work.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModemEvent {
    /// The module powered itself down (`AT+QPOWD`); it ignores the host until
    /// [`Modem::power_on`](crate::Modem::power_on).
    PoweredDown,
    /// The module restarted (`AT+CFUN=1,1`, `ATZ` does not count); the boot
    /// URC chain follows.
    Restarted,
    /// The host asked for a new baud rate (`AT+IPR`); a pty or TCP port has
    /// none, so drivers may ignore it.
    BaudRate(u32),
    /// A file was written to UFS, the storage that survives restarts
    /// (`AT+QFUPL`). A driver that keeps UFS across process runs fetches the
    /// bytes with [`Modem::ufs_file`](crate::Modem::ufs_file) and stores them,
    /// to hand them back through [`Config::ufs_files`](crate::Config::ufs_files).
    /// `None` there means the file was deleted since: an
    /// [`UfsFileDeleted`](Self::UfsFileDeleted) for it follows.
    UfsFileWritten {
        /// The file's name in UFS, without a `UFS:` prefix.
        name: String,
    },
    /// A file was deleted from UFS (`AT+QFDEL`); a driver that keeps UFS
    /// across process runs deletes its copy.
    UfsFileDeleted {
        /// The file's name in UFS, without a `UFS:` prefix.
        name: String,
    },
}
