//! SSL contexts 0–5, as `AT+QSSLCFG` sets them, and the [`TlsSettings`] a
//! context becomes when `AT+QMTOPEN` opens a link with it.
//!
//! Factory settings (EC2x SSL manual, checked against real modules where a
//! capture exists): `sslversion` 4 (all), `ciphersuite` 0xFFFF (all),
//! `seclevel` 0, no `cacert`/`clientcert`/`clientkey`, `ignorelocaltime` 1 (a
//! BG96 log reads `+QSSLCFG: "ignorelocaltime",1,1` before anything set it,
//! and an EG800K bench report says the same), `negotiatetime` 300, `sni` 0
//! (that bench report: SNI had to be turned on by hand). The contexts are not
//! stored: a boot (`AT+CFUN=1,1`, power key) brings the factory settings back,
//! as the same report observed for `sni` and `cacert`.
//!
//! Certificate files are named, not read, by `AT+QSSLCFG`: a name that does
//! not exist yet is accepted, and the file is read when `AT+QMTOPEN` runs.
//! **Decision:** if the security level needs a file that does not exist then
//! (level 1: the CA certificate; level 2: also the client certificate and
//! key), the link is not attempted and the host gets `+QMTOPEN: c,-1` right
//! after `OK`, the code a real module gives for a failed handshake
//! (module-behaviour.md, "TLS"; the EG800K fails the same way with no
//! certificate). Files the level does not use are not passed to the driver.

use core::time::Duration;

use crate::fs::Files;
use crate::io::{CipherSuites, SecLevel, SslVersion, TlsSettings};

/// How many SSL contexts there are (`<SSL_ctxID>` 0–5).
pub(crate) const CONTEXTS: usize = 6;

/// `<cipher_suites>` value meaning "all".
pub(crate) const ALL_SUITES: u16 = 0xFFFF;

/// The cipher suites `AT+QSSLCFG="ciphersuite"` accepts, in the order the test
/// command lists them (an EG25-G's `AT+QSSLCFG=?`), `0xFFFF` last.
pub(crate) const SUITES: [u16; 33] = [
    0x0035, 0x002F, 0x0005, 0x0004, 0x000A, 0x003D, 0xC002, 0xC003, 0xC004, 0xC005, 0xC007, 0xC008,
    0xC009, 0xC00A, 0xC011, 0xC012, 0xC013, 0xC014, 0xC00C, 0xC00D, 0xC00E, 0xC00F, 0xC023, 0xC024,
    0xC025, 0xC026, 0xC027, 0xC028, 0xC029, 0xC02A, 0xC02F, 0xC030, ALL_SUITES,
];

/// One SSL context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SslContext {
    pub(crate) version: SslVersion,
    /// One of [`SUITES`]; [`ALL_SUITES`] for all.
    pub(crate) cipher_suite: u16,
    pub(crate) seclevel: SecLevel,
    /// File names as the host gave them; empty when not set.
    pub(crate) ca_cert: String,
    pub(crate) client_cert: String,
    pub(crate) client_key: String,
    pub(crate) ignore_local_time: bool,
    /// Seconds, 10–300.
    pub(crate) negotiate_time: u16,
    pub(crate) sni: bool,
}

impl Default for SslContext {
    fn default() -> Self {
        SslContext {
            version: SslVersion::All,
            cipher_suite: ALL_SUITES,
            seclevel: SecLevel::None,
            ca_cert: String::new(),
            client_cert: String::new(),
            client_key: String::new(),
            ignore_local_time: true,
            negotiate_time: 300,
            sni: false,
        }
    }
}

/// A certificate or key file the security level needs does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MissingFile;

impl SslContext {
    /// What the driver needs to open a link with this context, the files read now.
    pub(crate) fn tls_settings(
        &self,
        context: u8,
        files: &Files,
        local_time_ms: i64,
    ) -> Result<TlsSettings, MissingFile> {
        let read = |name: &str| files.get(name).map(<[u8]>::to_vec).ok_or(MissingFile);
        let ca_cert = match self.seclevel {
            SecLevel::None => None,
            _ => Some(read(&self.ca_cert)?),
        };
        let (client_cert, client_key) = match self.seclevel {
            SecLevel::ServerAndClient => (
                Some(read(&self.client_cert)?),
                Some(read(&self.client_key)?),
            ),
            _ => (None, None),
        };
        let cipher_suites = if self.cipher_suite == ALL_SUITES {
            CipherSuites::All
        } else {
            CipherSuites::Only(vec![self.cipher_suite])
        };
        Ok(TlsSettings {
            context,
            version: self.version,
            cipher_suites,
            seclevel: self.seclevel,
            ca_cert,
            client_cert,
            client_key,
            ignore_local_time: self.ignore_local_time,
            negotiate_timeout: Duration::from_secs(u64::from(self.negotiate_time)),
            sni: self.sni,
            local_time_ms,
        })
    }
}

/// The six contexts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ssl {
    pub(crate) contexts: [SslContext; CONTEXTS],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factory_settings_are_what_tls_settings_new_says() {
        let files = Files::new(100, 100, Vec::new());
        let ctx = SslContext::default();
        assert_eq!(ctx.tls_settings(3, &files, 0), Ok(TlsSettings::new(3)));
    }

    #[test]
    fn only_the_files_the_level_uses_are_read_and_they_must_exist() {
        let mut files = Files::new(100, 100, vec![("ca.pem".into(), b"CA".to_vec())]);
        let mut ctx = SslContext {
            ca_cert: "UFS:ca.pem".into(),
            client_cert: "RAM:cc.pem".into(),
            client_key: "RAM:ck.pem".into(),
            ..SslContext::default()
        };
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!((got.ca_cert, got.client_cert), (None, None));
        ctx.seclevel = SecLevel::Server;
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!(got.ca_cert.as_deref(), Some(&b"CA"[..]));
        assert_eq!(got.client_key, None);
        ctx.seclevel = SecLevel::ServerAndClient;
        assert_eq!(ctx.tls_settings(0, &files, 0), Err(MissingFile));
        files.ram.create("cc.pem", b"CC".to_vec()).unwrap();
        assert_eq!(ctx.tls_settings(0, &files, 0), Err(MissingFile));
        files.ram.create("ck.pem", b"CK".to_vec()).unwrap();
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!(got.client_key.as_deref(), Some(&b"CK"[..]));
    }
}
