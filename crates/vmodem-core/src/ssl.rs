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
//! **Decision:** if the security level needs a CA certificate (levels 1 and
//! 2) that does not exist then, the link is not attempted and the host gets
//! `+QMTOPEN: c,-1` right after `OK`, the code a real module gives for a
//! failed handshake (module-behaviour.md, "TLS"; the EG800K fails the same
//! way with no certificate); the driver is told why
//! ([`ModemEvent::OpenFailed`](crate::ModemEvent::OpenFailed)). Level 2 is
//! "server and client authentication *if requested by the remote server*"
//! (the SSL manual): without a client certificate and key (not set, or a
//! file missing) the link is attempted, and fails only if the server asks
//! for a certificate; [`TlsSettings::client_identity_missing`] says why
//! there is none. Files the level does not use are not passed to the driver.

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
        SslContext::FACTORY
    }
}

/// Read for every SSL context never configured (`Sparse`).
static FACTORY_CONTEXT: SslContext = SslContext::FACTORY;

impl crate::sparse::Entry for SslContext {
    fn fresh(_index: usize) -> Self {
        SslContext::FACTORY
    }
    fn idle(_index: usize) -> &'static Self {
        &FACTORY_CONTEXT
    }
}

impl SslContext {
    /// The factory settings (`const` for the `static` above).
    pub(crate) const FACTORY: SslContext = {
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
    };
}

/// The CA certificate the security level needs cannot be read; the text
/// says why, for the driver's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MissingFile(pub(crate) String);

impl SslContext {
    /// What the driver needs to open a link with this context, the files read now.
    pub(crate) fn tls_settings(
        &self,
        context: u8,
        files: &Files,
        local_time_ms: i64,
    ) -> Result<TlsSettings, MissingFile> {
        let level = self.seclevel.number();
        let ca_cert = match self.seclevel {
            SecLevel::None => None,
            _ => Some(
                files
                    .get(&self.ca_cert)
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| {
                        MissingFile(format!(
                            "seclevel {level} verifies the server against cacert, and {}",
                            missing(context, "cacert", &self.ca_cert)
                        ))
                    })?,
            ),
        };
        let (mut client_cert, mut client_key, mut client_identity_missing) = (None, None, None);
        if self.seclevel == SecLevel::ServerAndClient {
            let cert = files.get(&self.client_cert);
            let key = files.get(&self.client_key);
            match (cert, key) {
                (Some(cert), Some(key)) => {
                    client_cert = Some(cert.to_vec());
                    client_key = Some(key.to_vec());
                }
                (cert, _) => {
                    let (what, name) = if cert.is_none() {
                        ("clientcert", &self.client_cert)
                    } else {
                        ("clientkey", &self.client_key)
                    };
                    client_identity_missing = Some(missing(context, what, name));
                }
            }
        }
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
            client_identity_missing,
            ignore_local_time: self.ignore_local_time,
            negotiate_timeout: Duration::from_secs(u64::from(self.negotiate_time)),
            sni: self.sni,
            local_time_ms,
        })
    }
}

/// `AT+QSSLCFG="<what>",<context>` names no file, or one that does not exist.
fn missing(context: u8, what: &str, name: &str) -> String {
    if name.is_empty() {
        format!("SSL context {context} has no {what} (AT+QSSLCFG=\"{what}\",{context},\"<file>\")")
    } else {
        format!(
            "the {what} file of SSL context {context}, {name:?}, does not exist (AT+QFLST; \
             upload it with AT+QFUPL)"
        )
    }
}

/// The six contexts; one is stored from its first `AT+QSSLCFG` that sets
/// something (lazy, issue 13: a fleet rarely uses TLS on every module).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ssl {
    pub(crate) contexts: crate::sparse::Sparse<SslContext, CONTEXTS>,
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
        // Level 2 without a client identity still connects; the driver is
        // told why there is none, for when a server asks for one.
        ctx.seclevel = SecLevel::ServerAndClient;
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!((got.client_cert, got.client_key), (None, None));
        assert_eq!(
            got.client_identity_missing.as_deref(),
            Some(
                "the clientcert file of SSL context 0, \"RAM:cc.pem\", does not exist \
                 (AT+QFLST; upload it with AT+QFUPL)"
            )
        );
        files.ram.create("cc.pem", b"CC".to_vec()).unwrap();
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!(
            got.client_cert, None,
            "a certificate without its key is no identity"
        );
        assert!(got
            .client_identity_missing
            .unwrap()
            .contains("clientkey file"));
        files.ram.create("ck.pem", b"CK".to_vec()).unwrap();
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!(got.client_key.as_deref(), Some(&b"CK"[..]));
        assert_eq!(got.client_identity_missing, None);
        // Nothing named at all.
        ctx.client_cert.clear();
        let got = ctx.tls_settings(0, &files, 0).unwrap();
        assert_eq!(
            got.client_identity_missing.as_deref(),
            Some("SSL context 0 has no clientcert (AT+QSSLCFG=\"clientcert\",0,\"<file>\")")
        );
        // The CA is needed at levels 1 and 2.
        ctx.ca_cert = "UFS:other.pem".into();
        let Err(MissingFile(why)) = ctx.tls_settings(0, &files, 0) else {
            panic!("a missing cacert fails the open");
        };
        assert!(
            why.starts_with("seclevel 2 verifies the server against cacert, and the cacert file"),
            "{why}"
        );
    }
}
