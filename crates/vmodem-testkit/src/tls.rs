//! Certificates for the TLS tests, made with rcgen in the test, and the TLS
//! servers that use them: mosquitto with a TLS listener, and a tiny rustls
//! server that records the Server Name Indication each client sent.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::Acceptor;
use rustls::ServerConfig;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::LazyConfigAcceptor;

use crate::mosquitto::{Mosquitto, MosquittoConfig};
use crate::net::free_port;
use crate::scratch::ScratchDir;

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate, PEM.
    pub cert: Vec<u8>,
    /// Its private key, PEM (PKCS#8, ECDSA P-256).
    pub key: Vec<u8>,
}

/// A test CA of its own (ECDSA P-256, valid 2020–2040) that issues server
/// and client certificates, and a directory (0755, files 0644) to put them
/// in where mosquitto, once it has dropped to its own user, can read them.
pub struct TestPki {
    ca: CertifiedIssuer<'static, KeyPair>,
    dir: ScratchDir,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").field("dir", &self.dir).finish()
    }
}

impl TestPki {
    /// A new CA named `name`.
    pub fn new(name: &str) -> TestPki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2040, 1, 1);
        let key = KeyPair::generate().expect("a CA key");
        TestPki {
            ca: CertifiedIssuer::self_signed(params, key).expect("a CA certificate"),
            dir: ScratchDir::new("pki"),
        }
    }

    /// The CA certificate, PEM: what a module uploads as its `cacert`.
    pub fn ca_pem(&self) -> Vec<u8> {
        self.ca.pem().into_bytes()
    }

    /// A server certificate for `names` (DNS names or IP addresses), valid
    /// 2020–2040 (so both at the module's default clock, 2025, and now).
    pub fn server(&self, names: &[&str]) -> Leaf {
        self.issue(names, (2020, 2040), ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A server certificate for `names` that expired on 2021-01-01 (valid
    /// from 2020-01-01): expired by the module's default clock (2025).
    pub fn expired_server(&self, names: &[&str]) -> Leaf {
        self.issue(names, (2020, 2021), ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate named `name`, valid 2020–2040.
    pub fn client(&self, name: &str) -> Leaf {
        self.issue(&[name], (2020, 2040), ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], years: (i32, i32), usage: ExtendedKeyUsagePurpose) -> Leaf {
        let sans: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(sans).expect("leaf parameters");
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        params.not_before = rcgen::date_time_ymd(years.0, 1, 1);
        params.not_after = rcgen::date_time_ymd(years.1, 1, 1);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("a leaf key");
        let cert = params
            .signed_by(&key, &self.ca)
            .expect("a leaf certificate");
        Leaf {
            cert: cert.pem().into_bytes(),
            key: key.serialize_pem().into_bytes(),
        }
    }

    /// Writes `bytes` as `name` in the PKI's directory (world-readable).
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        self.dir.write(name, bytes)
    }
}

/// mosquitto with a plain listener (its [`Mosquitto::port`]) and a TLS
/// listener on [`tls_port`](Self::tls_port), serving `server` and trusting
/// the PKI's CA for client certificates.
#[derive(Debug)]
pub struct MosquittoTls {
    /// The broker; its log shows the TLS errors it saw.
    pub broker: Mosquitto,
    /// The TLS listener's port on 127.0.0.1.
    pub tls_port: u16,
}

impl MosquittoTls {
    /// Starts mosquitto with a TLS listener that presents `server`; with
    /// `require_certificate` clients must present a certificate of `pki`'s CA.
    pub async fn start(pki: &TestPki, server: &Leaf, require_certificate: bool) -> MosquittoTls {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ca = pki.write(&format!("mosquitto-{n}-ca.pem"), &pki.ca_pem());
        let cert = pki.write(&format!("mosquitto-{n}-server.pem"), &server.cert);
        let key = pki.write(&format!("mosquitto-{n}-server.key"), &server.key);
        let tls_port = free_port();
        let config = MosquittoConfig::default()
            .line(&format!("listener {tls_port} 127.0.0.1"))
            .line(&format!("cafile {}", ca.display()))
            .line(&format!("certfile {}", cert.display()))
            .line(&format!("keyfile {}", key.display()))
            .line(&format!("require_certificate {require_certificate}"));
        let broker = Mosquitto::start_with(config).await;
        MosquittoTls { broker, tls_port }
    }
}

/// A TLS server on a free loopback port that completes every handshake with
/// `server`'s certificate, records the SNI each client sent (`None`: no
/// SNI), then holds the connection until the client closes it.
#[derive(Debug)]
pub struct SniRecorder {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Option<String>>>>,
    task: JoinHandle<()>,
}

impl SniRecorder {
    /// Starts the server.
    pub async fn start(server: &Leaf) -> SniRecorder {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("its address");
        let config = Arc::new(server_config(server));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let config = config.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let Ok(start) = LazyConfigAcceptor::new(Acceptor::default(), tcp).await else {
                        return;
                    };
                    let sni = start.client_hello().server_name().map(str::to_owned);
                    record.lock().expect("not poisoned").push(sni);
                    if let Ok(mut stream) = start.into_stream(config).await {
                        let mut buf = [0u8; 1024];
                        while let Ok(1..) = stream.read(&mut buf).await {}
                    }
                });
            }
        });
        SniRecorder { addr, seen, task }
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The SNI of each connection so far, in order (`None`: none sent).
    pub fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

impl Drop for SniRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn server_config(server: &Leaf) -> ServerConfig {
    let chain = CertificateDer::pem_slice_iter(&server.cert)
        .collect::<Result<Vec<_>, _>>()
        .expect("the server certificate parses");
    let key = PrivateKeyDer::from_pem_slice(&server.key).expect("the server key parses");
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a usable certificate and key")
}

/// The checksum `AT+QFUPL` reports, computed independently of vmodem: XOR of
/// the data as big-endian 16-bit words (an odd last byte padded with 0),
/// lowercase hex without leading zeros.
pub fn qfupl_checksum(data: &[u8]) -> String {
    let mut sum = 0u16;
    for pair in data.chunks(2) {
        let hi = u16::from(pair[0]) << 8;
        let lo = pair.get(1).copied().map_or(0, u16::from);
        sum ^= hi | lo;
    }
    format!("{sum:x}")
}
