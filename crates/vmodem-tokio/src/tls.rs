//! TLS links: an SSL context of the module (`AT+QSSLCFG`, handed over as
//! [`TlsSettings`]) turned into a rustls client with the ring provider, and
//! the handshake that opens the link.
//!
//! What each setting does here:
//!
//! - **seclevel 0** ([`SecLevel::None`]): no certificate verification at all
//!   ([`Seclevel0AcceptAnyCertificate`]); the handshake's signatures are still
//!   checked against the key in the presented certificate, as mbedTLS does
//!   with `VERIFY_NONE`, which proves nothing about who the server is.
//! - **seclevel 1** ([`SecLevel::Server`]): the server's chain must lead to a
//!   certificate of `cacert` (PEM, several allowed; never the system roots)
//!   and name the host `AT+QMTOPEN` was given (DNS name or IP literal).
//!   Validity periods are checked against the module's clock
//!   ([`TlsSettings::local_time_ms`], what `AT+CCLK?` shows), or, with
//!   `ignorelocaltime` 1, not at all ([`ModuleServerVerifier`]).
//! - **seclevel 2** ([`SecLevel::ServerAndClient`]): as 1, and `clientcert` with
//!   `clientkey` (PEM; PKCS#8, PKCS#1 RSA or SEC1 EC keys) are presented when
//!   the server asks for a client certificate. Without them (not set, or not
//!   uploaded) the handshake goes ahead and fails only if the server asks for
//!   a certificate ("server and client authentication if requested by the
//!   remote server"); the log then says which file is missing.
//! - **sslversion** 3 offers TLS 1.2, 4 offers TLS 1.2 and 1.3. rustls has no
//!   SSL 3.0, TLS 1.0 or 1.1: 0–2 fail the link before any connection.
//! - **ciphersuite** `0xFFFF` offers every suite of the ring provider; one IANA
//!   id offers that suite if rustls has it (`0xC02F`, `0xC030`, … see
//!   [`supported_suites`]), and fails the link otherwise.
//! - **sni** 1 sends the host name as Server Name Indication (never for an IP
//!   literal, which RFC 6066 does not allow); 0 sends none.
//! - **negotiatetime** bounds the handshake.
//!
//! Every failure is a `ConnectError::Tls` whose text says what was wrong
//! (unknown issuer, name mismatch, expired, a client certificate the server
//! requires, a PEM file that does not parse…); the link task logs it at info
//! level and the host sees `+QMTOPEN: <client>,-1`.
//!
//! **TLS 1.3 and client certificates.** In TLS 1.3 the client's handshake ends
//! before the server has judged its certificate (or its lack of one): a server
//! that refuses it says so in an alert right after. A real EC25 speaks TLS 1.2,
//! where that refusal fails the handshake, so when the server asked for a
//! client certificate over TLS 1.3 the link waits for the server's first word
//! — a session ticket, data, or the alert — before reporting itself open, at
//! most [`POST_HANDSHAKE_WAIT`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionStore, ResolvesClientCert, Resumption, WebPkiServerVerifier};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{
    AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, NamedGroup,
    ProtocolVersion, RootCertStore, SignatureScheme, SupportedProtocolVersion,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tracing::debug;
use vmodem_core::{CipherSuites, SecLevel, SslVersion, TlsSettings};

/// After a TLS 1.3 handshake in which the server asked for a client
/// certificate, how long to wait for the server to show it accepted the
/// client (a session ticket or data) before reporting the link open anyway.
pub(crate) const POST_HANDSHAKE_WAIT: Duration = Duration::from_secs(2);

/// A TLS client for one link, built from the module's SSL context.
pub(crate) struct TlsClient {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
    negotiate_timeout: Duration,
    signals: Arc<Signals>,
    has_client_cert: bool,
    /// Why no client certificate is presented, for a server that asks for one.
    no_client_cert: String,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .field("negotiate_timeout", &self.negotiate_timeout)
            .field("has_client_cert", &self.has_client_cert)
            .finish_non_exhaustive()
    }
}

/// A TLS link, open, and any application data the server sent while the
/// handshake was being confirmed.
pub(crate) struct Established<S = TcpStream> {
    pub(crate) stream: TlsStream<S>,
    pub(crate) early_data: Vec<u8>,
}

/// What the handshake saw that the error messages need.
#[derive(Debug, Default)]
struct Signals {
    /// The server sent a CertificateRequest.
    client_cert_requested: AtomicBool,
    /// The server sent a TLS 1.3 session ticket: it accepted the handshake.
    ticket_received: AtomicBool,
}

impl TlsClient {
    /// Builds the client that connects to `host` (as `AT+QMTOPEN` named it)
    /// with `settings`. `Err` says why the settings cannot be honoured: the
    /// link then fails without a connection being made.
    pub(crate) fn new(host: &str, settings: &TlsSettings) -> Result<TlsClient, String> {
        let versions = protocol_versions(settings.version)?;
        let provider = Arc::new(provider_for(&settings.cipher_suites, settings.version)?);
        let versions: Vec<&'static SupportedProtocolVersion> = versions
            .iter()
            .copied()
            .filter(|v| provider.cipher_suites.iter().any(|s| s.version() == *v))
            .collect();
        if versions.is_empty() {
            return Err(format!(
                "{} cannot be used with sslversion {}: the suite is for another TLS version",
                suites_text(&settings.cipher_suites),
                settings.version.number()
            ));
        }

        let server_name = server_name(host, settings.seclevel)?;
        let verifier: Arc<dyn ServerCertVerifier> = match settings.seclevel {
            SecLevel::None => Arc::new(Seclevel0AcceptAnyCertificate {
                provider: provider.clone(),
            }),
            _ => {
                let ca = settings
                    .ca_cert
                    .as_deref()
                    .ok_or("seclevel 1 or 2 but no CA certificate was handed to the driver")?;
                Arc::new(ModuleServerVerifier::new(
                    ca,
                    provider.clone(),
                    (!settings.ignore_local_time).then(|| module_time(settings.local_time_ms)),
                )?)
            }
        };
        let identity = match (&settings.client_cert, &settings.client_key) {
            (Some(cert), Some(key)) if settings.seclevel == SecLevel::ServerAndClient => {
                Some(Arc::new(client_identity(cert, key, &provider)?))
            }
            _ => None,
        };
        let has_client_cert = identity.is_some();
        let no_client_cert = match settings.seclevel {
            SecLevel::ServerAndClient => {
                settings.client_identity_missing.clone().unwrap_or_else(|| {
                    "no client certificate and key were handed to the driver".to_owned()
                })
            }
            other => format!(
                "seclevel {} presents none (seclevel 2 with clientcert and clientkey does)",
                other.number()
            ),
        };
        let signals = Arc::new(Signals::default());

        let mut config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| format!("the TLS settings do not fit together: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_cert_resolver(Arc::new(ClientIdentity {
                identity,
                signals: signals.clone(),
            }));
        config.enable_sni = settings.sni;
        config.resumption = Resumption::store(Arc::new(TicketWatch {
            signals: signals.clone(),
        }));
        Ok(TlsClient {
            config: Arc::new(config),
            server_name,
            negotiate_timeout: settings.negotiate_timeout,
            signals,
            has_client_cert,
            no_client_cert,
        })
    }

    /// Runs the handshake on `tcp` (a link's socket, with its toxics: they
    /// act under TLS), within `negotiatetime`. `Err` is the reason, in words
    /// for the log.
    pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        tcp: S,
    ) -> Result<Established<S>, String> {
        let deadline = tokio::time::Instant::now() + self.negotiate_timeout;
        let connector = TlsConnector::from(self.config.clone());
        let connect = connector.connect(self.server_name.clone(), tcp);
        let mut stream = match tokio::time::timeout_at(deadline, connect).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(self.explain(&e)),
            Err(_) => return Err(self.too_slow()),
        };
        let (_, conn) = stream.get_ref();
        let tls13 = conn.protocol_version() == Some(ProtocolVersion::TLSv1_3);
        debug!(
            version = ?conn.protocol_version(),
            suite = ?conn.negotiated_cipher_suite().map(|s| s.suite()),
            "TLS handshake done"
        );
        let mut early_data = Vec::new();
        if tls13 && self.signals.client_cert_requested.load(Ordering::Relaxed) {
            let wait = deadline.min(tokio::time::Instant::now() + POST_HANDSHAKE_WAIT);
            let confirmed =
                tokio::time::timeout_at(wait, confirm_accepted(&mut stream, &self.signals)).await;
            match confirmed {
                Ok(Ok(data)) => early_data = data,
                Ok(Err(e)) => return Err(self.explain(&e)),
                Err(_) => {
                    debug!("the server said nothing after the handshake; taking it as accepted")
                }
            }
        }
        Ok(Established { stream, early_data })
    }

    fn too_slow(&self) -> String {
        format!(
            "the TLS handshake did not finish within {} s (AT+QSSLCFG=\"negotiatetime\")",
            self.negotiate_timeout.as_secs()
        )
    }

    /// Words for a failed handshake.
    fn explain(&self, e: &io::Error) -> String {
        let requested = self.signals.client_cert_requested.load(Ordering::Relaxed);
        let Some(error) = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) else {
            return match e.kind() {
                io::ErrorKind::UnexpectedEof if requested && !self.has_client_cert => format!(
                    "the server closed the connection during the handshake after asking for a \
                     client certificate, and this SSL context has none to present: {}; {e}",
                    self.no_client_cert
                ),
                io::ErrorKind::UnexpectedEof => format!(
                    "the server closed the connection during the TLS handshake (is it a TLS port?): {e}"
                ),
                _ => format!("the TLS handshake failed: {e}"),
            };
        };
        let hint = match error {
            rustls::Error::AlertReceived(alert) => {
                let client = match (requested, self.has_client_cert) {
                    (true, false) => format!(
                        "; it asked for a client certificate, and this SSL context has none to \
                         present: {}",
                        self.no_client_cert
                    ),
                    (true, true) => {
                        "; it may not trust the client certificate presented".to_owned()
                    }
                    _ => String::new(),
                };
                let alert = match alert {
                    AlertDescription::CertificateRequired => {
                        "certificate required: the server requires a client certificate".to_owned()
                    }
                    AlertDescription::ProtocolVersion => {
                        "protocol version: no TLS version in common".to_owned()
                    }
                    AlertDescription::HandshakeFailure => {
                        "handshake failure: no cipher suite or parameters in common, or a \
                         refused client certificate"
                            .to_owned()
                    }
                    other => format!("{other:?}"),
                };
                return format!("the server refused the TLS handshake (alert {alert}){client}");
            }
            rustls::Error::InvalidCertificate(cert) => certificate_problem(cert),
            rustls::Error::PeerIncompatible(why) => format!(
                "the server has nothing in common with this SSL context's TLS version or cipher \
                 suites ({why:?})"
            ),
            other => format!("the TLS handshake failed: {other}"),
        };
        hint
    }
}

/// Waits for the server's first word after a TLS 1.3 handshake: `Ok(data)`
/// when it sent a session ticket (no data) or data, `Err` when it sent an
/// alert or closed.
async fn confirm_accepted<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut TlsStream<S>,
    signals: &Signals,
) -> io::Result<Vec<u8>> {
    poll_fn(|cx| {
        let mut buf = [0u8; 4096];
        let mut read = ReadBuf::new(&mut buf);
        let polled = Pin::new(&mut *stream).poll_read(cx, &mut read);
        match polled {
            Poll::Ready(Ok(())) if read.filled().is_empty() => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection right after the handshake",
            ))),
            Poll::Ready(Ok(())) => Poll::Ready(Ok(read.filled().to_vec())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A ticket is handled inside the read, which then waits for more.
            Poll::Pending if signals.ticket_received.load(Ordering::Relaxed) => {
                Poll::Ready(Ok(Vec::new()))
            }
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// `sslversion` 3.
static TLS12_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// The versions `sslversion` asks for, if rustls has them.
fn protocol_versions(
    version: SslVersion,
) -> Result<&'static [&'static SupportedProtocolVersion], String> {
    match version {
        SslVersion::Tls1_2 => Ok(TLS12_ONLY),
        SslVersion::All => Ok(rustls::ALL_VERSIONS),
        other => {
            let name = match other {
                SslVersion::Ssl3_0 => "SSL 3.0",
                SslVersion::Tls1_0 => "TLS 1.0",
                SslVersion::Tls1_1 => "TLS 1.1",
                _ => "this version",
            };
            Err(format!(
                "sslversion {} ({name}) is not supported by vmodem (rustls): use sslversion 3 or 4",
                other.number()
            ))
        }
    }
}

/// The ring provider, with the cipher suites the context allows.
fn provider_for(suites: &CipherSuites, version: SslVersion) -> Result<CryptoProvider, String> {
    let mut provider = ring::default_provider();
    let ids = match suites {
        CipherSuites::All => return Ok(provider),
        CipherSuites::Only(ids) => ids,
        other => {
            return Err(format!(
                "cipher suites {other:?} are not known to this driver"
            ))
        }
    };
    provider
        .cipher_suites
        .retain(|s| ids.contains(&u16::from(s.suite())));
    if provider.cipher_suites.is_empty() {
        let supported: Vec<String> = supported_suites()
            .iter()
            .filter(|(_, v)| version == SslVersion::All || *v == ProtocolVersion::TLSv1_2)
            .map(|(id, _)| format!("0x{id:04X}"))
            .collect();
        return Err(format!(
            "{} is not supported by vmodem (rustls): use ciphersuite 0xFFFF or one of {}",
            suites_text(suites),
            supported.join(", ")
        ));
    }
    Ok(provider)
}

/// The IANA ids of the cipher suites vmodem can offer, and their TLS version.
pub(crate) fn supported_suites() -> Vec<(u16, ProtocolVersion)> {
    ring::default_provider()
        .cipher_suites
        .iter()
        .map(|s| (u16::from(s.suite()), s.version().version))
        .collect()
}

fn suites_text(suites: &CipherSuites) -> String {
    match suites {
        CipherSuites::Only(ids) => {
            let ids: Vec<String> = ids.iter().map(|id| format!("0x{id:04X}")).collect();
            format!("cipher suite {}", ids.join(", "))
        }
        _ => "the cipher suites".to_owned(),
    }
}

/// The name rustls verifies and (with `sni`) sends.
fn server_name(host: &str, seclevel: SecLevel) -> Result<ServerName<'static>, String> {
    match ServerName::try_from(host.to_owned()) {
        Ok(name) => Ok(name),
        // Nothing is checked against the name at seclevel 0; rustls still wants one.
        Err(_) if seclevel == SecLevel::None => {
            Ok(ServerName::try_from("unverified.invalid").expect("a valid DNS name"))
        }
        Err(_) => Err(format!(
            "{host:?} is neither a DNS name nor an IP address, so no certificate can name it \
             (seclevel {})",
            seclevel.number()
        )),
    }
}

fn module_time(local_time_ms: i64) -> UnixTime {
    let ms = u64::try_from(local_time_ms).unwrap_or(0);
    UnixTime::since_unix_epoch(Duration::from_millis(ms))
}

/// `cacert` as a root store; `Err` if it holds no certificate.
fn root_store(pem: &[u8]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("the CA certificate file (cacert) is not PEM: {e}"))?;
        roots.add(cert).map_err(|e| {
            format!("the CA certificate file (cacert) holds a bad certificate: {e}")
        })?;
    }
    if roots.is_empty() {
        return Err(
            "the CA certificate file (cacert) holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                .to_owned(),
        );
    }
    Ok(roots)
}

/// `clientcert` and `clientkey` as rustls's client identity.
fn client_identity(
    cert: &[u8],
    key: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the client certificate file (clientcert) is not PEM: {e}"))?;
    if chain.is_empty() {
        return Err(
            "the client certificate file (clientcert) holds no PEM certificate \
             (-----BEGIN CERTIFICATE-----)"
                .to_owned(),
        );
    }
    let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
        format!("the client key file (clientkey) holds no PEM private key (PKCS#8, RSA or EC): {e}")
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => {
            "the client key (clientkey) does not belong to the client certificate (clientcert)"
                .to_owned()
        }
        other => format!("the client key (clientkey) cannot be used: {other}"),
    })
}

/// What went wrong with the server's certificate, for the log.
fn certificate_problem(error: &CertificateError) -> String {
    match error {
        CertificateError::UnknownIssuer => "the server's certificate is not signed by a CA of \
             this SSL context's cacert (unknown issuer)"
            .to_owned(),
        CertificateError::NotValidForName => {
            "the server's certificate does not name the host (name mismatch)".to_owned()
        }
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "the server's certificate does not name the host {expected:?} (name mismatch); it \
             names {}",
            presented.join(", ")
        ),
        CertificateError::Expired => {
            "the server's certificate has expired by the module's \
             clock; AT+QSSLCFG=\"ignorelocaltime\",<ctx>,1 ignores this, or set the clock (AT+CCLK)"
                .to_owned()
        }
        CertificateError::ExpiredContext { time, not_after } => format!(
            "the server's certificate expired at {} and the module's clock reads {}; \
             AT+QSSLCFG=\"ignorelocaltime\",<ctx>,1 ignores this, or set the clock (AT+CCLK)",
            utc(not_after.as_secs()),
            utc(time.as_secs())
        ),
        CertificateError::NotValidYet => "the server's certificate is not valid yet by the \
             module's clock; AT+QSSLCFG=\"ignorelocaltime\",<ctx>,1 ignores this, or set the clock \
             (AT+CCLK)"
            .to_owned(),
        CertificateError::NotValidYetContext { time, not_before } => format!(
            "the server's certificate is valid from {} and the module's clock reads {}; \
             AT+QSSLCFG=\"ignorelocaltime\",<ctx>,1 ignores this, or set the clock (AT+CCLK)",
            utc(not_before.as_secs()),
            utc(time.as_secs())
        ),
        CertificateError::BadSignature => {
            "a signature in the server's certificate chain is wrong (bad signature)".to_owned()
        }
        CertificateError::BadEncoding => "the server's certificate does not parse".to_owned(),
        other => format!("the server's certificate was refused: {other:?}"),
    }
}

/// `2025-01-01 00:00:00 UTC`, by the core's calendar.
fn utc(secs: u64) -> String {
    vmodem_core::utc_text(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// The module's seclevel 0: accepts **any** server certificate, whoever
/// signed it, whatever it names, whenever it is valid. It authenticates
/// nothing; only the handshake signatures are checked, against the key in the
/// certificate the server chose to present.
#[derive(Debug)]
struct Seclevel0AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Seclevel0AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// seclevel 1 and 2: webpki's verification against `cacert` alone, with the
/// module's clock, or with validity periods ignored.
///
/// **Ignoring time soundly.** webpki checks a certificate's validity before
/// its signature, so an `Expired` error cannot simply be taken as success: the
/// signature and name would be unchecked. Instead the whole verification is
/// run at times when the presented certificates are valid (inside the
/// intersection of their validity periods, then at each one's bounds); it
/// succeeds if it succeeds at any of them. Only the clock is relaxed: chain,
/// signatures, key usage and name are checked in full every time. (webpki
/// never checks a trust anchor's own validity period.)
#[derive(Debug)]
struct ModuleServerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    /// The module's clock, or `None` for `ignorelocaltime` 1.
    now: Option<UnixTime>,
}

impl ModuleServerVerifier {
    fn new(
        ca_pem: &[u8],
        provider: Arc<CryptoProvider>,
        now: Option<UnixTime>,
    ) -> Result<ModuleServerVerifier, String> {
        let roots = root_store(ca_pem)?;
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| format!("the CA certificate file (cacert) cannot be used: {e}"))?;
        Ok(ModuleServerVerifier { webpki, now })
    }
}

impl ServerCertVerifier for ModuleServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _system_time: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verify = |now| {
            self.webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        };
        if let Some(now) = self.now {
            return verify(now);
        }
        let mut first_error = None;
        for now in times_inside_validity(end_entity, intermediates) {
            match verify(now) {
                Ok(verified) => return Ok(verified),
                Err(e) => {
                    // A failure not about time says more than one about time.
                    let better =
                        !is_time_error(&e) && first_error.as_ref().is_none_or(is_time_error);
                    if first_error.is_none() || better {
                        first_error = Some(e);
                    }
                }
            }
        }
        // No validity period could be read: webpki will say what is wrong.
        Err(first_error.unwrap_or_else(|| {
            verify(UnixTime::now())
                .err()
                .unwrap_or_else(|| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))
        }))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

fn is_time_error(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
        )
    )
}

/// Times at which to verify a presented chain when time is ignored: the middle
/// of the period all its certificates are valid in (if they overlap), then the
/// first and last second of each one's period. Empty if none parses.
fn times_inside_validity(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Vec<UnixTime> {
    let periods: Vec<(i64, i64)> = std::iter::once(end_entity)
        .chain(intermediates)
        .filter_map(|der| validity(der))
        .collect();
    let mut times = Vec::new();
    let start = periods.iter().map(|p| p.0).max();
    let end = periods.iter().map(|p| p.1).min();
    if let (Some(start), Some(end)) = (start, end) {
        if start <= end {
            times.push(start + (end - start) / 2);
        }
    }
    for (not_before, not_after) in &periods {
        times.extend([*not_before, *not_after]);
    }
    let mut seen = Vec::new();
    times
        .into_iter()
        .map(|t| u64::try_from(t).unwrap_or(0))
        .filter(|t| {
            let new = !seen.contains(t);
            seen.push(*t);
            new
        })
        .map(|t| UnixTime::since_unix_epoch(Duration::from_secs(t)))
        .collect()
}

/// A certificate's validity period, in Unix seconds.
fn validity(der: &CertificateDer<'_>) -> Option<(i64, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let validity = cert.validity();
    Some((
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    ))
}

/// The client identity (seclevel 2), which also notes that the server asked
/// for one, so a refusal can be explained.
#[derive(Debug)]
struct ClientIdentity {
    identity: Option<Arc<CertifiedKey>>,
    signals: Arc<Signals>,
}

impl ResolvesClientCert for ClientIdentity {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.signals
            .client_cert_requested
            .store(true, Ordering::Relaxed);
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}

/// A session store that keeps nothing (each link is a fresh handshake, as on
/// a module) and notes that the server sent a TLS 1.3 ticket.
#[derive(Debug)]
struct TicketWatch {
    signals: Arc<Signals>,
}

impl ClientSessionStore for TicketWatch {
    fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}

    fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
        None
    }

    fn set_tls12_session(
        &self,
        _: ServerName<'static>,
        _: rustls::client::Tls12ClientSessionValue,
    ) {
    }

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<rustls::client::Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(
        &self,
        _: ServerName<'static>,
        _: rustls::client::Tls13ClientSessionValue,
    ) {
        self.signals.ticket_received.store(true, Ordering::Relaxed);
    }

    fn take_tls13_ticket(
        &self,
        _: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    use rustls::server::WebPkiClientVerifier;
    use rustls::ServerConfig;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio_rustls::TlsAcceptor;

    use super::*;

    /// 2025-01-01T00:00:00Z, the module's default clock.
    const MODULE_TIME_MS: i64 = 1_735_689_600_000;
    const PATIENCE: Duration = Duration::from_secs(10);

    pub(crate) struct Ca {
        issuer: CertifiedIssuer<'static, KeyPair>,
    }

    impl Ca {
        pub(crate) fn new(name: &str) -> Ca {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2040, 1, 1);
            let issuer =
                CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
            Ca { issuer }
        }

        pub(crate) fn pem(&self) -> Vec<u8> {
            self.issuer.pem().into_bytes()
        }

        /// A leaf for `names`, valid in the years given.
        pub(crate) fn leaf(&self, names: &[&str], years: (i32, i32), client: bool) -> Leaf {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            params.distinguished_name.push(DnType::CommonName, "leaf");
            params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
            params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
            params.extended_key_usages = vec![if client {
                ExtendedKeyUsagePurpose::ClientAuth
            } else {
                ExtendedKeyUsagePurpose::ServerAuth
            }];
            let key = KeyPair::generate().unwrap();
            let cert = params.signed_by(&key, &self.issuer).unwrap();
            Leaf {
                cert: cert.pem().into_bytes(),
                key: key.serialize_pem().into_bytes(),
            }
        }
    }

    pub(crate) struct Leaf {
        pub(crate) cert: Vec<u8>,
        pub(crate) key: Vec<u8>,
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(ring::default_provider())
    }

    pub(crate) fn server_config(leaf: &Leaf, client_ca: Option<&Ca>, tls13: bool) -> ServerConfig {
        let versions: &[&SupportedProtocolVersion] = if tls13 {
            rustls::ALL_VERSIONS
        } else {
            TLS12_ONLY
        };
        let builder = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap();
        let builder = match client_ca {
            Some(ca) => {
                let roots = root_store(&ca.pem()).unwrap();
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let chain = CertificateDer::pem_slice_iter(&leaf.cert)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(&leaf.key).unwrap();
        builder.with_single_cert(chain, key).unwrap()
    }

    /// What the server saw of one connection.
    #[derive(Debug, Default)]
    struct Seen {
        sni: Option<String>,
        handshake: Option<Result<(), String>>,
        received: Vec<u8>,
    }

    /// A TLS server for one connection: records SNI and the handshake's
    /// outcome, then echoes one read back.
    async fn serve(config: ServerConfig) -> (u16, Arc<Mutex<Seen>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = seen.clone();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let accepted = acceptor.accept(tcp).await;
            let mut stream = match accepted {
                Ok(stream) => stream,
                Err(e) => {
                    record.lock().unwrap().handshake = Some(Err(e.to_string()));
                    return;
                }
            };
            {
                let mut seen = record.lock().unwrap();
                seen.sni = stream.get_ref().1.server_name().map(str::to_owned);
                seen.handshake = Some(Ok(()));
            }
            let mut buf = [0u8; 64];
            if let Ok(n) = stream.read(&mut buf).await {
                record.lock().unwrap().received = buf[..n].to_vec();
                let _ = stream.write_all(&buf[..n]).await;
                let _ = stream.flush().await;
            }
            // Hold the connection until the client goes.
            let _ = stream.read(&mut buf).await;
        });
        (port, seen)
    }

    fn settings(seclevel: SecLevel, ca: Option<&Ca>) -> TlsSettings {
        let mut settings = TlsSettings::new(2);
        settings.seclevel = seclevel;
        settings.ca_cert = ca.map(Ca::pem);
        settings.local_time_ms = MODULE_TIME_MS;
        settings.ignore_local_time = false;
        settings.negotiate_timeout = PATIENCE;
        settings
    }

    /// Connects to the local server as if to `host`, and exchanges one echo.
    async fn connect(port: u16, host: &str, settings: &TlsSettings) -> Result<(), String> {
        let client = TlsClient::new(host, settings)?;
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut established = tokio::time::timeout(PATIENCE * 2, client.handshake(tcp))
            .await
            .expect("the handshake ends in time")?;
        established.stream.write_all(b"ping").await.unwrap();
        let mut echo = [0u8; 4];
        established.stream.read_exact(&mut echo).await.unwrap();
        assert_eq!(&echo, b"ping");
        Ok(())
    }

    #[tokio::test]
    async fn seclevel_0_accepts_a_certificate_nobody_vouches_for() {
        let stranger = Ca::new("nobody").leaf(&["other.example"], (2000, 2001), false);
        let (port, _) = serve(server_config(&stranger, None, true)).await;
        connect(port, "127.0.0.1", &settings(SecLevel::None, None))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn seclevel_1_accepts_the_right_ca_and_name_ip_literals_too() {
        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test", "127.0.0.1"], (2020, 2040), false);
        for host in ["broker.test", "127.0.0.1"] {
            let (port, _) = serve(server_config(&leaf, None, true)).await;
            connect(port, host, &settings(SecLevel::Server, Some(&ca)))
                .await
                .unwrap_or_else(|e| panic!("{host}: {e}"));
        }
    }

    #[tokio::test]
    async fn seclevel_1_refuses_another_ca_and_another_name() {
        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test"], (2020, 2040), false);
        let (port, _) = serve(server_config(&leaf, None, true)).await;
        let why = connect(
            port,
            "broker.test",
            &settings(SecLevel::Server, Some(&Ca::new("other"))),
        )
        .await
        .unwrap_err();
        assert!(why.contains("(unknown issuer)"), "{why}");

        let (port, _) = serve(server_config(&leaf, None, true)).await;
        let why = connect(port, "127.0.0.1", &settings(SecLevel::Server, Some(&ca)))
            .await
            .unwrap_err();
        assert!(why.contains("(name mismatch)"), "{why}");
        assert!(why.contains("broker.test"), "{why}");
    }

    #[tokio::test]
    async fn an_expired_certificate_fails_by_the_module_clock_unless_time_is_ignored() {
        let ca = Ca::new("ca");
        let expired = ca.leaf(&["broker.test"], (2020, 2021), false);
        let (port, _) = serve(server_config(&expired, None, true)).await;
        let why = connect(port, "broker.test", &settings(SecLevel::Server, Some(&ca)))
            .await
            .unwrap_err();
        assert!(
            why.contains("expired at 2021-01-01 00:00:00 UTC and the module's clock reads 2025-01-01 00:00:00 UTC"),
            "{why}"
        );

        let mut ignoring = settings(SecLevel::Server, Some(&ca));
        ignoring.ignore_local_time = true;
        let (port, _) = serve(server_config(&expired, None, true)).await;
        connect(port, "broker.test", &ignoring).await.unwrap();

        // The module's clock is the one that counts: set back, it accepts.
        let mut back = settings(SecLevel::Server, Some(&ca));
        back.local_time_ms = 1_600_000_000_000; // 2020-09
        let (port, _) = serve(server_config(&expired, None, true)).await;
        connect(port, "broker.test", &back).await.unwrap();
        let not_yet = ca.leaf(&["broker.test"], (2030, 2031), false);
        let (port, _) = serve(server_config(&not_yet, None, true)).await;
        let why = connect(port, "broker.test", &settings(SecLevel::Server, Some(&ca)))
            .await
            .unwrap_err();
        assert!(why.contains("is valid from 2030-01-01"), "{why}");
    }

    #[tokio::test]
    async fn ignoring_time_still_checks_the_issuer_and_the_name() {
        let ca = Ca::new("ca");
        let mut ignoring = settings(SecLevel::Server, Some(&ca));
        ignoring.ignore_local_time = true;

        let forged = Ca::new("forger").leaf(&["broker.test"], (2020, 2021), false);
        let (port, _) = serve(server_config(&forged, None, true)).await;
        let why = connect(port, "broker.test", &ignoring).await.unwrap_err();
        assert!(why.contains("(unknown issuer)"), "{why}");

        let elsewhere = ca.leaf(&["other.test"], (2020, 2021), false);
        let (port, _) = serve(server_config(&elsewhere, None, true)).await;
        let why = connect(port, "broker.test", &ignoring).await.unwrap_err();
        assert!(why.contains("(name mismatch)"), "{why}");
    }

    #[tokio::test]
    async fn sni_is_sent_only_when_asked_for() {
        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test"], (2020, 2040), false);
        for sni in [false, true] {
            let (port, seen) = serve(server_config(&leaf, None, true)).await;
            let mut with = settings(SecLevel::Server, Some(&ca));
            with.sni = sni;
            connect(port, "broker.test", &with).await.unwrap();
            let got = seen.lock().unwrap().sni.clone();
            assert_eq!(got.as_deref(), sni.then_some("broker.test"));
        }
    }

    #[tokio::test]
    async fn seclevel_2_presents_the_client_certificate_a_server_requires() {
        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test"], (2020, 2040), false);
        let client = ca.leaf(&["device"], (2020, 2040), true);
        for tls13 in [true, false] {
            let (port, seen) = serve(server_config(&leaf, Some(&ca), tls13)).await;
            let mut mutual = settings(SecLevel::ServerAndClient, Some(&ca));
            mutual.client_cert = Some(client.cert.clone());
            mutual.client_key = Some(client.key.clone());
            connect(port, "broker.test", &mutual)
                .await
                .unwrap_or_else(|e| panic!("TLS 1.3 {tls13}: {e}"));
            assert_eq!(seen.lock().unwrap().received, b"ping");

            // Without one, the link fails, in TLS 1.3 too (the refusal comes
            // after the client's handshake is done).
            let (port, seen) = serve(server_config(&leaf, Some(&ca), tls13)).await;
            let why = connect(port, "broker.test", &settings(SecLevel::Server, Some(&ca)))
                .await
                .unwrap_err();
            assert!(why.contains("client certificate"), "TLS 1.3 {tls13}: {why}");
            assert!(seen.lock().unwrap().received.is_empty());
        }
    }

    #[tokio::test]
    async fn seclevel_2_without_a_client_certificate_fails_only_if_the_server_asks() {
        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test"], (2020, 2040), false);
        let mut level2 = settings(SecLevel::ServerAndClient, Some(&ca));
        level2.client_identity_missing =
            Some("the clientcert file of SSL context 2, \"RAM:client.pem\", does not exist".into());
        for tls13 in [true, false] {
            // A server that asks for nothing: the link opens.
            let (port, seen) = serve(server_config(&leaf, None, tls13)).await;
            connect(port, "broker.test", &level2)
                .await
                .unwrap_or_else(|e| panic!("TLS 1.3 {tls13}: {e}"));
            assert_eq!(seen.lock().unwrap().received, b"ping");
            // One that requires a certificate: the link fails, and says which
            // file is missing.
            let (port, _) = serve(server_config(&leaf, Some(&ca), tls13)).await;
            let why = connect(port, "broker.test", &level2).await.unwrap_err();
            assert!(
                why.contains(
                    "it asked for a client certificate, and this SSL context has none to \
                     present: the clientcert file of SSL context 2, \"RAM:client.pem\", does \
                     not exist"
                ),
                "TLS 1.3 {tls13}: {why}"
            );
        }
    }

    #[tokio::test]
    async fn a_client_certificate_the_server_does_not_trust_fails_the_link() {
        let ca = Ca::new("ca");
        let leaf = ca.leaf(&["broker.test"], (2020, 2040), false);
        let stranger = Ca::new("other").leaf(&["device"], (2020, 2040), true);
        let (port, _) = serve(server_config(&leaf, Some(&ca), true)).await;
        let mut mutual = settings(SecLevel::ServerAndClient, Some(&ca));
        mutual.client_cert = Some(stranger.cert);
        mutual.client_key = Some(stranger.key);
        let why = connect(port, "broker.test", &mutual).await.unwrap_err();
        assert!(why.contains("refused the TLS handshake"), "{why}");
    }

    #[tokio::test]
    async fn a_handshake_that_does_not_finish_in_negotiatetime_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            tokio::time::sleep(PATIENCE).await;
            drop(tcp);
        });
        let mut slow = settings(SecLevel::None, None);
        slow.negotiate_timeout = Duration::from_millis(300);
        let why = connect(port, "127.0.0.1", &slow).await.unwrap_err();
        assert_eq!(
            why,
            "the TLS handshake did not finish within 0 s (AT+QSSLCFG=\"negotiatetime\")"
        );
        silent.abort();
    }

    #[test]
    fn settings_rustls_cannot_honour_are_refused_with_the_way_out() {
        let mut s = settings(SecLevel::None, None);
        for (version, name) in [
            (SslVersion::Ssl3_0, "0 (SSL 3.0)"),
            (SslVersion::Tls1_0, "1 (TLS 1.0)"),
            (SslVersion::Tls1_1, "2 (TLS 1.1)"),
        ] {
            s.version = version;
            let why = TlsClient::new("127.0.0.1", &s).unwrap_err();
            assert_eq!(
                why,
                format!(
                    "sslversion {name} is not supported by vmodem (rustls): use sslversion 3 or 4"
                )
            );
        }
        s.version = SslVersion::Tls1_2;
        TlsClient::new("127.0.0.1", &s).unwrap();

        s.cipher_suites = CipherSuites::Only(vec![0x0035]);
        let why = TlsClient::new("127.0.0.1", &s).unwrap_err();
        assert!(
            why.starts_with(
                "cipher suite 0x0035 is not supported by vmodem (rustls): use ciphersuite 0xFFFF \
                 or one of "
            ),
            "{why}"
        );
        assert!(why.contains("0xC02F") && !why.contains("0x1301"), "{why}");
        s.cipher_suites = CipherSuites::Only(vec![0xC02F]);
        TlsClient::new("127.0.0.1", &s).unwrap();
        s.cipher_suites = CipherSuites::Only(vec![0x1301]);
        let why = TlsClient::new("127.0.0.1", &s).unwrap_err();
        assert!(why.contains("another TLS version"), "{why}");
    }

    #[test]
    fn files_that_do_not_parse_are_named() {
        let ca = Ca::new("ca");
        let client = ca.leaf(&["device"], (2020, 2040), true);
        let other = ca.leaf(&["device"], (2020, 2040), true);
        let mut s = settings(SecLevel::Server, None);
        s.ca_cert = Some(b"not a certificate".to_vec());
        let why = TlsClient::new("broker.test", &s).unwrap_err();
        assert!(why.contains("(cacert) holds no PEM certificate"), "{why}");

        let mut s = settings(SecLevel::ServerAndClient, Some(&ca));
        s.client_cert = Some(client.cert.clone());
        s.client_key = Some(client.cert.clone());
        let why = TlsClient::new("broker.test", &s).unwrap_err();
        assert!(
            why.contains("(clientkey) holds no PEM private key"),
            "{why}"
        );
        s.client_key = Some(other.key);
        let why = TlsClient::new("broker.test", &s).unwrap_err();
        assert!(why.contains("does not belong"), "{why}");
        s.client_cert = Some(client.key.clone());
        s.client_key = Some(client.key);
        let why = TlsClient::new("broker.test", &s).unwrap_err();
        assert!(
            why.contains("(clientcert) holds no PEM certificate"),
            "{why}"
        );

        let s = settings(SecLevel::Server, Some(&ca));
        let why = TlsClient::new("not a host name", &s).unwrap_err();
        assert!(
            why.contains("neither a DNS name nor an IP address"),
            "{why}"
        );
        TlsClient::new("not a host name", &settings(SecLevel::None, None)).unwrap();
    }
}
