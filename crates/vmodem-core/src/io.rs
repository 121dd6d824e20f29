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

/// How to secure a link: the SSL context `AT+QMTCFG="ssl"` names, as
/// `AT+QSSLCFG` configured it, with the certificate files already read.
///
/// The driver builds its TLS client from these settings alone; the core only
/// ever sees the link open, fail ([`ConnectError::Tls`] for a failed handshake,
/// which the host sees as `+QMTOPEN: c,-1`) or carry plaintext.
///
/// The core fills it at `AT+QMTOPEN` time. A security level that needs a CA
/// certificate which does not exist then never reaches the driver: the host
/// gets `+QMTOPEN: c,-1` at once (and the driver a
/// [`ModemEvent::OpenFailed`] saying why). So `ca_cert` is `Some` exactly
/// when the server must be verified, and `client_cert`/`client_key` are
/// `Some` exactly when the module has a client identity to present; at
/// seclevel 2 without one, [`client_identity_missing`](Self::client_identity_missing)
/// says why.
///
/// `Debug` shows the certificate and key files by length only, so logging the
/// settings does not leak a private key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsSettings {
    /// SSL context index, 0–5 (`<sslctx_idx>`): for logs; everything the
    /// context holds is in the other fields.
    pub context: u8,
    /// Which protocol versions to offer (`"sslversion"`). Offer exactly these;
    /// a version the driver's TLS library lacks (rustls has no SSL 3.0, TLS 1.0
    /// or 1.1) cannot be negotiated, so the connect fails with
    /// [`ConnectError::Tls`] — as a real module fails against a server that
    /// refuses its version.
    pub version: SslVersion,
    /// Which cipher suites to offer (`"ciphersuite"`). With
    /// [`CipherSuites::Only`], offer just those the library has among the listed
    /// IANA ids; if it has none, fail the connect with [`ConnectError::Tls`].
    pub cipher_suites: CipherSuites,
    /// What to authenticate (`"seclevel"`); see [`SecLevel`] for what each asks.
    pub seclevel: SecLevel,
    /// The trusted CA certificate(s), PEM as uploaded (`"cacert"`): `Some`
    /// exactly when `seclevel` is [`SecLevel::Server`] or
    /// [`SecLevel::ServerAndClient`]. Verify the server's chain against these
    /// roots only (no system roots) and check the host name of
    /// [`NetAction::Connect`]. Bytes that do not parse as certificates fail the
    /// connect with [`ConnectError::Tls`].
    pub ca_cert: Option<Vec<u8>>,
    /// The client certificate (chain), PEM as uploaded (`"clientcert"`): `Some`
    /// when `seclevel` is [`SecLevel::ServerAndClient`] and both it and
    /// `clientkey` exist. Present it if the server asks for a client
    /// certificate.
    pub client_cert: Option<Vec<u8>>,
    /// The client's private key, PEM as uploaded (`"clientkey"`): `Some`
    /// exactly when `client_cert` is. Bytes that do not parse as a key fail the
    /// connect with [`ConnectError::Tls`].
    pub client_key: Option<Vec<u8>>,
    /// At seclevel 2 without a client identity, why there is none (which of
    /// `clientcert`/`clientkey` is not set or does not exist), in words for
    /// the log: the link is still attempted, as the level presents a
    /// certificate only "if requested by the remote server", and fails only
    /// if the server asks for one. `None` otherwise.
    pub client_identity_missing: Option<String>,
    /// `"ignorelocaltime"`: when true, do not reject a certificate for being
    /// expired or not yet valid; when false, check validity periods against
    /// [`local_time_ms`](Self::local_time_ms). Only matters when `ca_cert` is `Some`.
    pub ignore_local_time: bool,
    /// `"negotiatetime"` (10–300 s): give up a handshake that has not finished
    /// after this long, with [`ConnectError::Tls`]. The core's own 120 s limit on
    /// `AT+QMTOPEN` (`+QMTOPEN: c,5`) still applies to the whole connect.
    pub negotiate_timeout: core::time::Duration,
    /// `"sni"`: when true, send the host name of [`NetAction::Connect`] as
    /// Server Name Indication; when false, send no SNI (the factory setting).
    pub sni: bool,
    /// The module's own clock (what `AT+CCLK?` shows) at `AT+QMTOPEN`, in Unix
    /// milliseconds (UTC): the "local time" certificate validity is checked
    /// against when `ignore_local_time` is false. The host can set it wrong,
    /// and then a real module's handshake fails too.
    pub local_time_ms: i64,
}

impl TlsSettings {
    /// The factory settings of SSL context `context` (TLS of any version, all
    /// cipher suites, no authentication, no files, local time ignored, 300 s to
    /// negotiate, no SNI), with `local_time_ms` 0.
    pub fn new(context: u8) -> Self {
        TlsSettings {
            context,
            version: SslVersion::All,
            cipher_suites: CipherSuites::All,
            seclevel: SecLevel::None,
            ca_cert: None,
            client_cert: None,
            client_key: None,
            client_identity_missing: None,
            ignore_local_time: true,
            negotiate_timeout: core::time::Duration::from_secs(300),
            sni: false,
            local_time_ms: 0,
        }
    }
}

impl core::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        /// A file shown by its length.
        struct Len<'a>(&'a Option<Vec<u8>>);
        impl core::fmt::Debug for Len<'_> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.0 {
                    Some(bytes) => write!(f, "Some({} bytes)", bytes.len()),
                    None => f.write_str("None"),
                }
            }
        }
        f.debug_struct("TlsSettings")
            .field("context", &self.context)
            .field("version", &self.version)
            .field("cipher_suites", &self.cipher_suites)
            .field("seclevel", &self.seclevel)
            .field("ca_cert", &Len(&self.ca_cert))
            .field("client_cert", &Len(&self.client_cert))
            .field("client_key", &Len(&self.client_key))
            .field("client_identity_missing", &self.client_identity_missing)
            .field("ignore_local_time", &self.ignore_local_time)
            .field("negotiate_timeout", &self.negotiate_timeout)
            .field("sni", &self.sni)
            .field("local_time_ms", &self.local_time_ms)
            .finish()
    }
}

/// The protocol versions an SSL context allows (`AT+QSSLCFG="sslversion"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslVersion {
    /// `0`: SSL 3.0 only.
    Ssl3_0,
    /// `1`: TLS 1.0 only.
    Tls1_0,
    /// `2`: TLS 1.1 only.
    Tls1_1,
    /// `3`: TLS 1.2 only.
    Tls1_2,
    /// `4` (factory setting): any version both sides support. An EC25 speaks
    /// up to TLS 1.2; a driver may also offer TLS 1.3.
    All,
}

impl SslVersion {
    /// The `<sslversion>` number, 0–4.
    pub fn number(self) -> u8 {
        match self {
            SslVersion::Ssl3_0 => 0,
            SslVersion::Tls1_0 => 1,
            SslVersion::Tls1_1 => 2,
            SslVersion::Tls1_2 => 3,
            SslVersion::All => 4,
        }
    }

    /// The version for `<sslversion>` `n`, if 0–4.
    pub fn from_number(n: u8) -> Option<SslVersion> {
        Some(match n {
            0 => SslVersion::Ssl3_0,
            1 => SslVersion::Tls1_0,
            2 => SslVersion::Tls1_1,
            3 => SslVersion::Tls1_2,
            4 => SslVersion::All,
            _ => return None,
        })
    }
}

/// The cipher suites an SSL context allows (`AT+QSSLCFG="ciphersuite"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuites {
    /// `0xFFFF` (factory setting): every suite the TLS library has.
    All,
    /// Only these, by IANA id (`0x002F` is TLS_RSA_WITH_AES_128_CBC_SHA, …);
    /// `AT+QSSLCFG` sets one at a time, so the list holds one id today.
    Only(Vec<u16>),
}

/// What an SSL context authenticates (`AT+QSSLCFG="seclevel"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecLevel {
    /// `0` (factory setting): no authentication. Accept any server
    /// certificate; present no client certificate.
    None,
    /// `1`: authenticate the server against [`TlsSettings::ca_cert`].
    Server,
    /// `2`: authenticate the server, and present [`TlsSettings::client_cert`]
    /// with [`TlsSettings::client_key`] if the server asks for a client certificate.
    ServerAndClient,
}

impl SecLevel {
    /// The `<seclevel>` number, 0–2.
    pub fn number(self) -> u8 {
        match self {
            SecLevel::None => 0,
            SecLevel::Server => 1,
            SecLevel::ServerAndClient => 2,
        }
    }

    /// The level for `<seclevel>` `n`, if 0–2.
    pub fn from_number(n: u8) -> Option<SecLevel> {
        Some(match n {
            0 => SecLevel::None,
            1 => SecLevel::Server,
            2 => SecLevel::ServerAndClient,
            _ => return None,
        })
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
    /// The driver wrote `len` more bytes of the link's
    /// [`NetAction::Send`]s to the network (its OS socket took them), in order.
    ///
    /// The module keeps a send buffer per link, as a real module's TCP stack
    /// does: bytes sent and not yet reported written count against it, and a
    /// publish that does not fit fails (`+QMTPUBEX: c,<msgid>,2`). Its
    /// keep-alive and retransmission timers count from writes, not sends, so
    /// a link that takes nothing is found dead. A driver must report every
    /// byte it writes; reports may be coalesced.
    Written {
        /// The link written to.
        link: LinkId,
        /// How many more bytes were written.
        len: usize,
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
    /// The module restarted (`AT+CFUN=1,1` or a `reset` fault; `ATZ` does
    /// not count); the boot URC chain follows.
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
    /// The module answered `+QMTOPEN: <client>,-1` without asking the driver
    /// for a link (the SSL context's CA certificate is missing): the host has
    /// no finer code, so a driver logs `reason` (at info level) for the person
    /// at the host.
    OpenFailed {
        /// `<client_idx>`, 0–5.
        client: u8,
        /// Why, in words, with the way out.
        reason: String,
    },
    /// A fault started ([`Modem::add_fault`](crate::Modem::add_fault)); the
    /// driver applies [`Fault::Link`](crate::Fault::Link) toxics on it and
    /// the timeline records it.
    FaultStarted {
        /// Its id.
        id: crate::FaultId,
        /// What it is.
        fault: crate::Fault,
    },
    /// A fault ended (its duration was over, or it was ended).
    FaultEnded {
        /// Its id.
        id: crate::FaultId,
        /// What it was.
        fault: crate::Fault,
    },
}
