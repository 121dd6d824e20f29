//! Typed SSL context commands (Quectel's SSL AT commands manual, and the MQTT note's ch. 5 TLS
//! session): `AT+QSSLCFG="<option>",<ctx>,<value>` for the contexts 0–5, which
//! `AT+QMTCFG="ssl",<client>,1,<ctx>` ([`Client::qmt_cfg_ssl`]) then names.
//!
//! The note's TLS session, typed:
//!
//! ```no_run
//! use vmodem_client::{Client, SecLevel, SslVersion};
//! # async fn demo(modem: Client, ca: &[u8]) -> Result<(), vmodem_client::Error> {
//! modem.qfupl("RAM:cacert.pem", ca, 100).await?;
//! modem.qsslcfg_cacert(2, "RAM:cacert.pem").await?;
//! modem.qsslcfg_seclevel(2, SecLevel::ServerAuth).await?;
//! modem.qsslcfg_sslversion(2, SslVersion::All).await?;
//! modem.qsslcfg_ciphersuite(2, 0xFFFF).await?;
//! modem.qsslcfg_ignorelocaltime(2, true).await?;
//! modem.qmt_cfg_ssl(0, Some(2)).await?;
//! modem.qmt_open(0, "broker.example.com", 8883).await?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use crate::basic::{first_params, unexpected};
use crate::client::Client;
use crate::command::Command;
use crate::error::Error;
use crate::params::{quote, Param};

/// Maximum response time of AT+QSSLCFG (the SSL manual's 300 ms).
const SSLCFG_TIMEOUT: Duration = Duration::from_millis(300);

/// `"sslversion"`: which protocol versions a context offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SslVersion {
    /// 0: SSL 3.0.
    Ssl3,
    /// 1: TLS 1.0.
    Tls1_0,
    /// 2: TLS 1.1.
    Tls1_1,
    /// 3: TLS 1.2.
    Tls1_2,
    /// 4: all of them (the factory setting).
    All,
}

impl SslVersion {
    fn number(self) -> u8 {
        match self {
            SslVersion::Ssl3 => 0,
            SslVersion::Tls1_0 => 1,
            SslVersion::Tls1_1 => 2,
            SslVersion::Tls1_2 => 3,
            SslVersion::All => 4,
        }
    }
}

/// `"seclevel"`: what a context authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecLevel {
    /// 0: no authentication (the factory setting).
    None,
    /// 1: the server's certificate is checked against `"cacert"`.
    ServerAuth,
    /// 2: server authentication, and the module presents `"clientcert"`/`"clientkey"`.
    MutualAuth,
}

impl SecLevel {
    fn number(self) -> u8 {
        match self {
            SecLevel::None => 0,
            SecLevel::ServerAuth => 1,
            SecLevel::MutualAuth => 2,
        }
    }
}

fn check_ctx(ctx: u8) -> Result<(), Error> {
    if ctx <= 5 {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            argument: "ctx",
            reason: format!("{ctx} is not an SSL context 0-5"),
        })
    }
}

impl Client {
    async fn qsslcfg(&self, name: &str, ctx: u8, value: &str) -> Result<(), Error> {
        check_ctx(ctx)?;
        let text = format!("AT+QSSLCFG=\"{name}\",{ctx},{value}");
        self.command_ok(Command::new(text).with_documented_timeout(SSLCFG_TIMEOUT))
            .await
            .map(drop)
    }

    /// `AT+QSSLCFG="sslversion",<ctx>,<version>`.
    pub async fn qsslcfg_sslversion(&self, ctx: u8, version: SslVersion) -> Result<(), Error> {
        self.qsslcfg("sslversion", ctx, &version.number().to_string())
            .await
    }

    /// `AT+QSSLCFG="ciphersuite",<ctx>,0x<suite>`: one suite by its IANA number
    /// (`0x0035` is TLS_RSA_WITH_AES_256_CBC_SHA), or `0xFFFF` for all the module supports.
    pub async fn qsslcfg_ciphersuite(&self, ctx: u8, suite: u16) -> Result<(), Error> {
        self.qsslcfg("ciphersuite", ctx, &format!("0x{suite:04X}"))
            .await
    }

    /// `AT+QSSLCFG="seclevel",<ctx>,<level>`.
    pub async fn qsslcfg_seclevel(&self, ctx: u8, level: SecLevel) -> Result<(), Error> {
        self.qsslcfg("seclevel", ctx, &level.number().to_string())
            .await
    }

    /// `AT+QSSLCFG="cacert",<ctx>,"<file>"`: the trusted CA certificate, a file uploaded with
    /// [`Client::qfupl`] (e.g. `"RAM:cacert.pem"`).
    pub async fn qsslcfg_cacert(&self, ctx: u8, file: &str) -> Result<(), Error> {
        self.qsslcfg("cacert", ctx, &quote("file", file)?).await
    }

    /// `AT+QSSLCFG="clientcert",<ctx>,"<file>"`: the module's own certificate.
    pub async fn qsslcfg_clientcert(&self, ctx: u8, file: &str) -> Result<(), Error> {
        self.qsslcfg("clientcert", ctx, &quote("file", file)?).await
    }

    /// `AT+QSSLCFG="clientkey",<ctx>,"<file>"`: the private key of the client certificate.
    pub async fn qsslcfg_clientkey(&self, ctx: u8, file: &str) -> Result<(), Error> {
        self.qsslcfg("clientkey", ctx, &quote("file", file)?).await
    }

    /// `AT+QSSLCFG="ignorelocaltime",<ctx>,<0|1>`: skip the certificates' validity dates
    /// (modules without a network clock do not know the date).
    pub async fn qsslcfg_ignorelocaltime(&self, ctx: u8, ignore: bool) -> Result<(), Error> {
        self.qsslcfg("ignorelocaltime", ctx, if ignore { "1" } else { "0" })
            .await
    }

    /// `AT+QSSLCFG="sni",<ctx>,<0|1>`: send the server name (SNI) in the handshake, which
    /// most cloud brokers need.
    pub async fn qsslcfg_sni(&self, ctx: u8, sni: bool) -> Result<(), Error> {
        self.qsslcfg("sni", ctx, if sni { "1" } else { "0" }).await
    }

    /// Queries one option: `AT+QSSLCFG="<name>",<ctx>` → the fields after the name and the
    /// context in `+QSSLCFG: "<name>",<ctx>,…` (e.g. `[Int(4)]` for `"sslversion"`,
    /// `[Str("RAM:cacert.pem")]` for `"cacert"`, `[Raw("0XFFFF")]` for `"ciphersuite"`).
    pub async fn qsslcfg_query(&self, ctx: u8, name: &str) -> Result<Vec<Param>, Error> {
        check_ctx(ctx)?;
        let text = format!("AT+QSSLCFG={},{ctx}", quote("name", name)?);
        let resp = self
            .command_ok(Command::new(text.as_str()).with_documented_timeout(SSLCFG_TIMEOUT))
            .await?;
        let p = first_params(&resp, "+QSSLCFG:", &text)?;
        match (p.first(), p.get(1).and_then(Param::as_int)) {
            (Some(Param::Str(n)), Some(c))
                if n.eq_ignore_ascii_case(name) && c == i64::from(ctx) =>
            {
                Ok(p[2..].to_vec())
            }
            _ => Err(unexpected(
                &text,
                format!("expected \"{name}\",{ctx} first, got {p:?}"),
            )),
        }
    }
}
