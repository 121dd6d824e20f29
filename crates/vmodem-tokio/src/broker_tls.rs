//! The embedded broker's TLS material: a CA of its own and a server
//! certificate for `localhost`, `127.0.0.1` and `::1`, made with rcgen on
//! first use and kept in a directory, so the CA a module was given stays good
//! across runs.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tracing::info;

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
}

impl BrokerCerts {
    /// The certificates in `dir`, made there first if any file is missing
    /// (then all four are made anew).
    pub fn load_or_create(dir: &Path) -> io::Result<BrokerCerts> {
        let complete = [CA, CA_KEY, CERT, KEY]
            .iter()
            .all(|name| dir.join(name).is_file());
        if complete {
            return Ok(BrokerCerts {
                dir: dir.to_owned(),
                created: false,
            });
        }
        fs::create_dir_all(dir)?;
        let made = make().map_err(io::Error::other)?;
        // The CA last: its presence says the set is complete.
        for (name, pem, mode) in [
            (CA_KEY, &made.ca_key, 0o600),
            (KEY, &made.key, 0o600),
            (CERT, &made.cert, 0o644),
            (CA, &made.ca, 0o644),
        ] {
            write_atomically(&dir.join(name), pem.as_bytes(), mode)?;
        }
        info!(dir = %dir.display(), "made a CA and a server certificate for the embedded broker");
        Ok(BrokerCerts {
            dir: dir.to_owned(),
            created: true,
        })
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

fn make() -> Result<Made, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let ca_key_pem = ca_key.serialize_pem();
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
    let ca = CertifiedIssuer::self_signed(ca, ca_key)?;

    let key = KeyPair::generate()?;
    let names: Vec<String> = BROKER_TLS_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let mut server = CertificateParams::new(names)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = rcgen::date_time_ymd(2000, 1, 1);
    server.not_after = rcgen::date_time_ymd(2100, 1, 1);
    let cert = server.signed_by(&key, &ca)?;
    Ok(Made {
        ca: ca.pem(),
        ca_key: ca_key_pem,
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
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
        fs::remove_dir_all(&dir).unwrap();
    }
}
