//! The embedded broker's TLS material: a CA of its own and a server
//! certificate for `localhost`, `127.0.0.1`, `::1` and any names the user
//! points at the broker (`vmodem run --hosts NAME=IP`), made with rcgen on
//! first use and kept in a directory, so the CA a module was given stays good
//! across runs. When the names change, only the server certificate is made
//! again, signed by the same CA.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::RootCertStore;
use tracing::{info, warn};

const CA: &str = "ca.pem";
const CA_KEY: &str = "ca-key.pem";
const CERT: &str = "server.pem";
const KEY: &str = "server-key.pem";

/// The names the server certificate holds: what a module on this machine
/// gives `AT+QMTOPEN` to reach the broker.
pub const BROKER_TLS_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A CA and a server certificate signed by it, as PEM files in one directory.
///
/// Made once ([`BrokerCerts::load_or_create`]) and reused: `ca.pem` is what a
/// module uploads (`AT+QFUPL`) to verify the broker; `server.pem` and
/// `server-key.pem` are the broker's. Valid from 2000 to 2100, so a module
/// checks them successfully whatever its clock says (`ignorelocaltime` 0).
/// Keys are ECDSA P-256, mode 0600.
#[derive(Debug, Clone)]
pub struct BrokerCerts {
    dir: PathBuf,
    created: bool,
    reissued: bool,
    names: Vec<String>,
}

impl BrokerCerts {
    /// The certificates in `dir`, for [`BROKER_TLS_NAMES`] alone; made there
    /// first if any file is missing (then all four are made anew).
    pub fn load_or_create(dir: &Path) -> io::Result<BrokerCerts> {
        BrokerCerts::load_or_create_for(dir, &[])
    }

    /// The certificates in `dir`, the server certificate naming
    /// [`BROKER_TLS_NAMES`] and `names` too (DNS names or IP addresses, e.g.
    /// a cloud broker's host name that `--hosts` sends to this broker, so a
    /// driver with that name built in verifies the broker).
    ///
    /// A complete set whose server certificate holds exactly these names is
    /// used as it is. If the names differ, a new server certificate (and key)
    /// is made and signed by the CA already there, so a module that was
    /// given the CA keeps trusting the broker; only if the CA is missing, or
    /// cannot sign (made by something else), are all four files made anew.
    /// A name that is neither a DNS name nor an IP address is an
    /// [`io::ErrorKind::InvalidInput`] error.
    pub fn load_or_create_for(dir: &Path, names: &[String]) -> io::Result<BrokerCerts> {
        let names = wanted_names(names)?;
        let has = |name: &str| dir.join(name).is_file();
        if has(CA) && has(CA_KEY) && has(CERT) && has(KEY) && cert_names(&dir.join(CERT)) == names {
            return Ok(BrokerCerts {
                dir: dir.to_owned(),
                created: false,
                reissued: false,
                names,
            });
        }
        fs::create_dir_all(dir)?;
        if has(CA) && has(CA_KEY) {
            match reissue(dir, &names) {
                Ok(()) => {
                    info!(
                        dir = %dir.display(),
                        names = names.join(", "),
                        "made a new server certificate for the embedded broker, for its new names, \
                         signed by the CA it already had"
                    );
                    return Ok(BrokerCerts {
                        dir: dir.to_owned(),
                        created: false,
                        reissued: true,
                        names,
                    });
                }
                Err(why) => warn!(
                    dir = %dir.display(),
                    "the embedded broker's CA cannot sign a new server certificate ({why}); \
                     making a new CA: modules must be given the new ca.pem"
                ),
            }
        }
        let made = make(&names).map_err(io::Error::other)?;
        // The CA last: its presence says the set is complete.
        for (name, pem, mode) in [
            (CA_KEY, &made.ca_key, 0o600),
            (KEY, &made.key, 0o600),
            (CERT, &made.cert, 0o644),
            (CA, &made.ca, 0o644),
        ] {
            write_atomically(&dir.join(name), pem.as_bytes(), mode)?;
        }
        info!(
            dir = %dir.display(),
            names = names.join(", "),
            "made a CA and a server certificate for the embedded broker"
        );
        Ok(BrokerCerts {
            dir: dir.to_owned(),
            created: true,
            reissued: false,
            names,
        })
    }

    /// The names the server certificate holds: [`BROKER_TLS_NAMES`], then
    /// the extra ones, lower-case, each once.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the server certificate was made again just now, for changed
    /// names, with the CA kept.
    pub fn reissued(&self) -> bool {
        self.reissued
    }

    /// The CA certificate (PEM) a module needs as its `cacert`.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join(CA)
    }

    /// The broker's certificate (PEM).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CERT)
    }

    /// The broker's private key (PEM, PKCS#8).
    pub fn key_path(&self) -> PathBuf {
        self.dir.join(KEY)
    }

    /// Whether [`load_or_create`](Self::load_or_create) made them just now.
    pub fn created(&self) -> bool {
        self.created
    }
}

struct Made {
    ca: String,
    ca_key: String,
    cert: String,
    key: String,
}

/// The CA's parameters: the same every time, so the CA's key and these
/// rebuild its issuer for a new server certificate.
fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "vmodem embedded broker CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = rcgen::date_time_ymd(2000, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2100, 1, 1);
    Ok(ca)
}

/// A server certificate for `names` and its key (PEM), signed by `ca`.
fn server_cert(
    names: &[String],
    ca: &Issuer<'_, KeyPair>,
) -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut server = CertificateParams::new(names.to_vec())?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = rcgen::date_time_ymd(2000, 1, 1);
    server.not_after = rcgen::date_time_ymd(2100, 1, 1);
    let cert = server.signed_by(&key, ca)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn make(names: &[String]) -> Result<Made, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let ca_key_pem = ca_key.serialize_pem();
    let ca = CertifiedIssuer::self_signed(ca_params()?, ca_key)?;
    let (cert, key) = server_cert(names, &ca)?;
    Ok(Made {
        ca: ca.pem(),
        ca_key: ca_key_pem,
        cert,
        key,
    })
}

/// A new server certificate for `names`, signed by the CA in `dir`; checked
/// against `ca.pem` (as a module would check it) before it replaces the old one.
fn reissue(dir: &Path, names: &[String]) -> Result<(), String> {
    let ca_key = fs::read_to_string(dir.join(CA_KEY)).map_err(|e| format!("{CA_KEY}: {e}"))?;
    let ca_key = KeyPair::from_pem(&ca_key).map_err(|e| format!("{CA_KEY}: {e}"))?;
    let ca = Issuer::new(ca_params().map_err(|e| e.to_string())?, ca_key);
    let (cert, key) = server_cert(names, &ca).map_err(|e| e.to_string())?;
    let ca_pem = fs::read(dir.join(CA)).map_err(|e| format!("{CA}: {e}"))?;
    verify(&ca_pem, cert.as_bytes(), &names[0])?;
    write_atomically(&dir.join(KEY), key.as_bytes(), 0o600).map_err(|e| e.to_string())?;
    write_atomically(&dir.join(CERT), cert.as_bytes(), 0o644).map_err(|e| e.to_string())
}

/// Checks `cert` chains to `ca` and names `name`, with webpki.
fn verify(ca: &[u8], cert: &[u8], name: &str) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(ca) {
        roots
            .add(der.map_err(|e| format!("{CA}: {e}"))?)
            .map_err(|e| format!("{CA}: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| e.to_string())?;
    let leaf = CertificateDer::from_pem_slice(cert).map_err(|e| e.to_string())?;
    let name = ServerName::try_from(name.to_owned()).map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(&leaf, &[], &name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| format!("the new certificate does not verify against {CA}: {e}"))
}

/// [`BROKER_TLS_NAMES`] and `extra`, lower-case, each once, in that order.
fn wanted_names(extra: &[String]) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = BROKER_TLS_NAMES.iter().map(|n| (*n).to_owned()).collect();
    for name in extra {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.parse::<IpAddr>().is_err() && ServerName::try_from(name.as_str()).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{name:?} cannot be put in a TLS certificate: it is neither a DNS name nor \
                     an IP address"
                ),
            ));
        }
        let canonical = match name.parse::<IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => name,
        };
        if !names.contains(&canonical) {
            names.push(canonical);
        }
    }
    Ok(names)
}

/// The subject alternative names of the certificate at `path`, as
/// [`wanted_names`] writes them; empty if it cannot be read.
fn cert_names(path: &Path) -> Vec<String> {
    let Ok(pem) = fs::read(path) else {
        return Vec::new();
    };
    let Ok(der) = CertificateDer::from_pem_slice(&pem) else {
        return Vec::new();
    };
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
        return Vec::new();
    };
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
            x509_parser::extensions::GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => Some(IpAddr::from(<[u8; 4]>::try_from(*bytes).ok()?).to_string()),
                16 => Some(IpAddr::from(<[u8; 16]>::try_from(*bytes).ok()?).to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    fs::write(&temp, bytes)?;
    fs::set_permissions(&temp, fs::Permissions::from_mode(mode))?;
    fs::rename(&temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused() {
        let dir = std::env::temp_dir().join(format!("vmodem-broker-certs-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = BrokerCerts::load_or_create(&dir).unwrap();
        assert!(first.created());
        let ca = fs::read(first.ca_path()).unwrap();
        assert!(ca.starts_with(b"-----BEGIN CERTIFICATE-----"));
        let key_mode = fs::metadata(first.key_path()).unwrap().permissions().mode();
        assert_eq!(key_mode & 0o777, 0o600);

        let again = BrokerCerts::load_or_create(&dir).unwrap();
        assert!(!again.created());
        assert_eq!(fs::read(again.ca_path()).unwrap(), ca, "the same CA");
        assert_eq!(again.names(), BROKER_TLS_NAMES);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn new_names_get_a_new_server_certificate_from_the_same_ca() {
        let dir = std::env::temp_dir().join(format!("vmodem-broker-names-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = BrokerCerts::load_or_create(&dir).unwrap();
        let ca = fs::read(first.ca_path()).unwrap();
        let cloud = "A1ZGNXUR10J8UX.iot.us-east-1.amazonaws.com".to_owned();
        let named = BrokerCerts::load_or_create_for(&dir, std::slice::from_ref(&cloud)).unwrap();
        assert!(named.reissued() && !named.created());
        assert_eq!(fs::read(named.ca_path()).unwrap(), ca, "the CA stays");
        let want = [
            "localhost",
            "127.0.0.1",
            "::1",
            "a1zgnxur10j8ux.iot.us-east-1.amazonaws.com",
        ];
        assert_eq!(named.names(), want);
        assert_eq!(cert_names(&named.cert_path()), want);
        // The new certificate verifies for the new name against the old CA.
        let cert = fs::read(named.cert_path()).unwrap();
        verify(&ca, &cert, "a1zgnxur10j8ux.iot.us-east-1.amazonaws.com").unwrap();
        verify(&ca, &cert, "localhost").unwrap();
        assert!(verify(&ca, &cert, "other.example").is_err());
        // The same names again: nothing is made.
        let again = BrokerCerts::load_or_create_for(&dir, &[cloud]).unwrap();
        assert!(!again.reissued() && !again.created());
        assert_eq!(fs::read(again.cert_path()).unwrap(), cert);
        // Back to none: made again, still by the same CA.
        let plain = BrokerCerts::load_or_create(&dir).unwrap();
        assert!(plain.reissued());
        assert_eq!(cert_names(&plain.cert_path()), BROKER_TLS_NAMES);
        assert_eq!(fs::read(plain.ca_path()).unwrap(), ca);
        // A name no certificate can hold is refused, saying so.
        let bad = BrokerCerts::load_or_create_for(&dir, &["no spaces".to_owned()]).unwrap_err();
        assert_eq!(bad.kind(), io::ErrorKind::InvalidInput);
        assert!(bad.to_string().contains("neither a DNS name"), "{bad}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_ca_that_cannot_sign_is_replaced() {
        let dir =
            std::env::temp_dir().join(format!("vmodem-broker-foreign-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let first = BrokerCerts::load_or_create(&dir).unwrap();
        let old_ca = fs::read(first.ca_path()).unwrap();
        // A CA key that is not the CA certificate's.
        fs::write(
            dir.join(CA_KEY),
            KeyPair::generate().unwrap().serialize_pem(),
        )
        .unwrap();
        let named = BrokerCerts::load_or_create_for(&dir, &["broker.test".to_owned()]).unwrap();
        assert!(named.created());
        let ca = fs::read(named.ca_path()).unwrap();
        assert_ne!(ca, old_ca);
        verify(&ca, &fs::read(named.cert_path()).unwrap(), "broker.test").unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
