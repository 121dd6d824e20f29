//! Typed basic commands: the small set boot scripts send before MQTT (module notes, "Boot
//! scripts that real firmware sends").

use crate::client::Client;
use crate::digest::Response;
use crate::error::Error;
use crate::params::{int_at, parse_params, Param};
use crate::urc::{RegKind, Registration, SimState};

/// What ATI reports: `Quectel` / `EC25` / `Revision: EC25EFAR06A06M4G`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// First line, e.g. `Quectel`.
    pub manufacturer: String,
    /// Second line, e.g. `EC25`.
    pub model: String,
    /// The `Revision:` line's value, e.g. `EC25EFAR06A06M4G`.
    pub revision: String,
}

/// `+CSQ: <rssi>,<ber>` (27.007 §8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalQuality {
    /// 0–31, 99 = unknown.
    pub rssi: u8,
    /// 0–7, 99 = unknown.
    pub ber: u8,
}

/// `+CEREG: <n>,<stat>[,…]` and friends: the URC mode and the registration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegistrationStatus {
    /// `<n>`: 0 no URC, 1 `+CEREG: <stat>`, 2 with location.
    pub mode: u8,
    /// The registration fields after `<n>`.
    pub registration: Registration,
}

impl Client {
    /// `AT`: checks that the module answers.
    pub async fn at(&self) -> Result<(), Error> {
        self.command_ok("AT").await.map(drop)
    }

    /// `ATE1`/`ATE0`: echo on or off. The client works either way; the echo helps it tell a
    /// late answer from the next one after a timeout.
    pub async fn ate(&self, echo: bool) -> Result<(), Error> {
        self.command_ok(if echo { "ATE1" } else { "ATE0" })
            .await
            .map(drop)
    }

    /// `ATV1`/`ATV0`: verbose (`OK`) or numeric (`0`) result codes. The client reads both.
    pub async fn atv(&self, verbose: bool) -> Result<(), Error> {
        self.command_ok(if verbose { "ATV1" } else { "ATV0" })
            .await
            .map(drop)
    }

    /// `AT+CMEE=<n>`: 0 plain `ERROR`, 1 numeric `+CME ERROR: <n>`, 2 verbose text.
    pub async fn cmee(&self, mode: u8) -> Result<(), Error> {
        if mode > 2 {
            return Err(Error::InvalidArgument {
                argument: "mode",
                reason: format!("{mode} is not 0, 1 or 2"),
            });
        }
        self.command_ok(format!("AT+CMEE={mode}")).await.map(drop)
    }

    /// `ATI`: manufacturer, model and revision.
    pub async fn ati(&self) -> Result<Identity, Error> {
        let resp = self.command_ok("ATI").await?;
        let lines: Vec<String> = resp
            .text_lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        let revision = lines
            .iter()
            .find_map(|l| l.strip_prefix("Revision:"))
            .map(|r| r.trim().to_string());
        match (lines.first(), lines.get(1), revision) {
            (Some(manufacturer), Some(model), Some(revision)) => Ok(Identity {
                manufacturer: manufacturer.clone(),
                model: model.clone(),
                revision,
            }),
            _ => Err(unexpected(
                "ATI",
                format!("expected 3 lines, got {lines:?}"),
            )),
        }
    }

    /// `AT+CGMR`: the firmware revision.
    pub async fn cgmr(&self) -> Result<String, Error> {
        single_line(&self.command_ok("AT+CGMR").await?, "AT+CGMR")
    }

    /// `AT+CGSN`: the IMEI.
    pub async fn cgsn(&self) -> Result<String, Error> {
        single_line(&self.command_ok("AT+CGSN").await?, "AT+CGSN")
    }

    /// `AT+CPIN?`: the SIM state. No SIM gives `Err(Rejected { +CME ERROR: 10 })`.
    pub async fn cpin(&self) -> Result<SimState, Error> {
        let resp = self.command_ok("AT+CPIN?").await?;
        let state = resp
            .prefixed("+CPIN:")
            .next()
            .map(|rest| SimState::parse(&String::from_utf8_lossy(rest)));
        state.ok_or_else(|| unexpected("AT+CPIN?", "no +CPIN: line"))
    }

    /// `AT+CSQ`: signal quality.
    pub async fn csq(&self) -> Result<SignalQuality, Error> {
        let p = first_params(&self.command_ok("AT+CSQ").await?, "+CSQ:", "AT+CSQ")?;
        match (int_at(&p, 0), int_at(&p, 1)) {
            (Some(rssi), Some(ber)) => Ok(SignalQuality { rssi, ber }),
            _ => Err(unexpected("AT+CSQ", format!("bad fields {p:?}"))),
        }
    }

    /// `AT+CFUN?`: the functionality level (0 minimum, 1 full, 4 flight mode).
    pub async fn cfun(&self) -> Result<u8, Error> {
        let p = first_params(&self.command_ok("AT+CFUN?").await?, "+CFUN:", "AT+CFUN?")?;
        int_at(&p, 0).ok_or_else(|| unexpected("AT+CFUN?", format!("bad fields {p:?}")))
    }

    /// `AT+CFUN=<fun>`: sets the functionality level (documented up to 15 s).
    pub async fn set_cfun(&self, fun: u8) -> Result<(), Error> {
        self.command_ok(format!("AT+CFUN={fun}")).await.map(drop)
    }

    /// `AT+CREG?`, `AT+CGREG?` or `AT+CEREG?`: the registration state.
    pub async fn registration(&self, kind: RegKind) -> Result<RegistrationStatus, Error> {
        let text = format!("AT{}?", kind.name());
        let prefix = format!("{}:", kind.name());
        let p = first_params(&self.command_ok(text.as_str()).await?, &prefix, &text)?;
        let mode = int_at(&p, 0);
        let registration = Registration::from_params(kind, p.get(1..).unwrap_or_default());
        match (mode, registration) {
            (Some(mode), Some(registration)) => Ok(RegistrationStatus { mode, registration }),
            _ => Err(unexpected(&text, format!("bad fields {p:?}"))),
        }
    }

    /// `AT+CEREG?`: the EPS registration state.
    pub async fn cereg(&self) -> Result<RegistrationStatus, Error> {
        self.registration(RegKind::Cereg).await
    }

    /// `AT+CREG=<n>` and friends: which registration URCs the module reports (0 none, 1 stat,
    /// 2 stat and location).
    pub async fn set_registration_urc(&self, kind: RegKind, mode: u8) -> Result<(), Error> {
        self.command_ok(format!("AT{}={mode}", kind.name()))
            .await
            .map(drop)
    }
}

pub(crate) fn unexpected(command: &str, detail: impl Into<String>) -> Error {
    Error::UnexpectedResponse {
        command: command.to_string(),
        detail: detail.into(),
    }
}

/// The parameters of the first line starting with `prefix`.
pub(crate) fn first_params(
    resp: &Response,
    prefix: &str,
    command: &str,
) -> Result<Vec<Param>, Error> {
    let rest = resp
        .prefixed(prefix)
        .next()
        .ok_or_else(|| unexpected(command, format!("no {prefix} line")))?;
    let text = std::str::from_utf8(rest)
        .map_err(|_| unexpected(command, format!("{prefix} line is not UTF-8")))?;
    parse_params(text).map_err(|e| unexpected(command, e.to_string()))
}

fn single_line(resp: &Response, command: &str) -> Result<String, Error> {
    resp.text_lines()
        .map(|l| l.trim().to_string())
        .find(|l| !l.is_empty())
        .ok_or_else(|| unexpected(command, "no information line"))
}
