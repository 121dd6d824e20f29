//! [`Command`]: one AT command line plus what the digester and the client need to know about
//! it: its maximum response time, which information lines belong to its response, and whether
//! it enters data mode.
//!
//! Everything is derived from the command text by [`Command::new`] and can be overridden with
//! the `with_*` builders.

use std::time::Duration;

use crate::params::{parse_params, Param};

/// How a command takes a payload after its command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DataEntry {
    /// No data entry.
    #[default]
    None,
    /// `> ` prompt, then exactly the number of bytes the command declared, then the result
    /// (AT+QMTPUBEX, note ch. 3; AT+QMTPUB with a length).
    Fixed,
    /// `> ` prompt, then data ended by Ctrl-Z (0x1A); ESC (0x1B) cancels (AT+QMTPUB without a
    /// length, module notes "Publishing: three dialects").
    CtrlZ,
    /// `CONNECT`, then exactly the declared size, then `+QFUPL: <size>,<checksum>` and `OK`
    /// (AT+QFUPL, note ch. 5 SSL example).
    Connect,
}

/// Commands whose write form answers only `OK` and reports its outcome later as a URC with the
/// command's own name (note ch. 2, figure 1). A `+QMTOPEN:` line that arrives while
/// `AT+QMTOPEN=…` is pending is therefore a URC, not part of the response.
const RESULT_AS_URC: &[&str] = &[
    "+QMTOPEN",
    "+QMTCLOSE",
    "+QMTCONN",
    "+QMTDISC",
    "+QMTSUB",
    "+QMTUNS",
    "+QMTPUB",
    "+QMTPUBEX",
    "+QPING",
    "+QIOPEN",
    "+QNTP",
];

/// The shape of an extended command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form<'a> {
    Exec,
    Read,
    Test,
    Write(&'a str),
}

/// `(name, form)` of an extended command (`AT+QMTOPEN=0,"h",1` → `("+QMTOPEN", Write(..))`),
/// or `None` for basic commands (`ATI`, `ATE0`).
fn analyse(text: &str) -> Option<(String, Form<'_>)> {
    let rest = text
        .get(..2)
        .filter(|at| at.eq_ignore_ascii_case("AT"))
        .map(|_| &text[2..])?;
    if !rest.starts_with(['+', '$', '%', '^', '#']) {
        return None;
    }
    let end = rest.find(['=', '?']).unwrap_or(rest.len());
    let name = rest[..end].trim().to_ascii_uppercase();
    let tail = &rest[end..];
    let form = if tail.starts_with("=?") {
        Form::Test
    } else if tail.starts_with('?') {
        Form::Read
    } else if let Some(args) = tail.strip_prefix('=') {
        Form::Write(args)
    } else {
        Form::Exec
    };
    Some((name, form))
}

/// The documented maximum response time of a command.
///
/// MQTT values are the note's "Maximum Response Time" rows (ch. 3); `pkt_timeout`-based ones
/// use the defaults (5 s, 3 retries). Others are the EC25 AT manual's values for the commands
/// boot scripts use; anything else gets the manual's common 300 ms.
fn documented_timeout(name: Option<&str>, form: &Form<'_>) -> Duration {
    let ms = |v| Duration::from_millis(v);
    let s = Duration::from_secs;
    let Some(name) = name else {
        return ms(300);
    };
    match name {
        "+QMTCFG" | "+QMTRECV" => ms(300),
        "+QMTOPEN" => s(120),
        "+QMTCLOSE" | "+QMTDISC" => s(30),
        "+QMTCONN" => s(5),
        "+QMTSUB" | "+QMTUNS" | "+QMTPUB" | "+QMTPUBEX" => s(15),
        "+CPIN" => s(5),
        "+CFUN" => s(15),
        "+COPS" => s(180),
        "+CGATT" => s(140),
        "+CGACT" | "+QIACT" => s(150),
        "+QIDEACT" => s(40),
        "+CLAC" => s(10),
        "+QFUPL" => {
            // <timeout> (default 5 s) is how long the module waits for the data; the answer
            // follows it.
            let wait = match form {
                Form::Write(args) => parse_params(args)
                    .ok()
                    .and_then(|p| p.get(2).and_then(Param::as_int))
                    .and_then(|v| u64::try_from(v).ok())
                    .unwrap_or(5),
                _ => 0,
            };
            s(wait + 5)
        }
        _ => ms(300),
    }
}

fn derive_data_entry(name: Option<&str>, form: &Form<'_>) -> DataEntry {
    let (Some(name), Form::Write(args)) = (name, form) else {
        return DataEntry::None;
    };
    let params = parse_params(args).unwrap_or_default();
    let ends_with_len = matches!(params.last(), Some(Param::Int(_)));
    match (name, params.len()) {
        ("+QMTPUBEX", 6) if ends_with_len => DataEntry::Fixed,
        ("+QMTPUB", 6) if ends_with_len => DataEntry::Fixed,
        ("+QMTPUB", 5) => DataEntry::CtrlZ,
        ("+QFUPL", _) => DataEntry::Connect,
        _ => DataEntry::None,
    }
}

/// One AT command line and how to handle its answer.
///
/// ```
/// use std::time::Duration;
/// use vmodem_client::{Command, DataEntry};
///
/// let cmd = Command::new("AT+QMTOPEN?");
/// assert_eq!(cmd.response_prefixes(), ["+QMTOPEN:"]);
/// assert_eq!(cmd.timeout(), Duration::from_secs(120));
///
/// // The write form's outcome is a URC, so no line belongs to its response.
/// assert!(Command::new("AT+QMTOPEN=0,\"broker\",1883").response_prefixes().is_empty());
/// assert_eq!(
///     Command::new("AT+QMTPUBEX=0,0,0,0,\"t\",5").data_entry(),
///     DataEntry::Fixed
/// );
/// let slow = Command::new("AT+CPIN?").with_timeout(Duration::from_secs(20));
/// assert!(slow.has_explicit_timeout());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command {
    text: String,
    timeout: Duration,
    explicit_timeout: bool,
    prefixes: Vec<String>,
    data: DataEntry,
}

impl Command {
    /// A command from its text, without the final CR (a trailing CR/LF is removed).
    ///
    /// Derived from the text:
    /// * **response prefixes**: an extended command `AT+NAME…` owns the information lines
    ///   starting `+NAME:`, except the write forms that answer with a URC (AT+QMTOPEN=…,
    ///   AT+QMTCONN=…, AT+QMTSUB=… and the like), which own none. Lines without a `+` prefix
    ///   always belong to the pending command (ATI's `Quectel`, AT+CGSN's IMEI).
    /// * **timeout**: the documented maximum response time (see the crate docs).
    /// * **data entry**: AT+QMTPUBEX/AT+QMTPUB take a payload after `> `, AT+QFUPL after
    ///   `CONNECT`.
    pub fn new(text: impl Into<String>) -> Self {
        let mut text: String = text.into();
        while text.ends_with(['\r', '\n']) {
            text.pop();
        }
        let analysed = analyse(&text);
        let (name, form) = match &analysed {
            Some((name, form)) => (Some(name.as_str()), form.clone()),
            None => (None, Form::Exec),
        };
        let prefixes = match (name, &form) {
            (Some(n), Form::Write(_)) if RESULT_AS_URC.contains(&n) => Vec::new(),
            (Some(n), _) => vec![format!("{n}:")],
            (None, _) => Vec::new(),
        };
        let timeout = documented_timeout(name, &form);
        let data = derive_data_entry(name, &form);
        Command {
            text,
            timeout,
            explicit_timeout: false,
            prefixes,
            data,
        }
    }

    /// Uses exactly this timeout, unscaled (the client's scale and floor apply only to derived
    /// timeouts).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self.explicit_timeout = true;
        self
    }

    /// Replaces the documented timeout (still scaled by the client), for timeouts that depend
    /// on configuration, like `pkt_timeout`.
    pub(crate) fn with_documented_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Adds an information-line prefix (e.g. `"+QIURC:"`) that belongs to this command's
    /// response, for commands whose answer lines are not named after the command.
    #[must_use]
    pub fn with_response_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefixes.push(prefix.into());
        self
    }

    /// Declares that no `+`-prefixed line belongs to the response: all are URCs.
    #[must_use]
    pub fn without_response_prefixes(mut self) -> Self {
        self.prefixes.clear();
        self
    }

    /// Sets how the command takes its payload.
    #[must_use]
    pub fn with_data_entry(mut self, data: DataEntry) -> Self {
        self.data = data;
        self
    }

    /// The command line, without CR.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The timeout: explicit, or the documented maximum response time.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `true` if [`Command::with_timeout`] set the timeout.
    pub fn has_explicit_timeout(&self) -> bool {
        self.explicit_timeout
    }

    /// Prefixes of the information lines that belong to the response.
    pub fn response_prefixes(&self) -> &[String] {
        &self.prefixes
    }

    /// How the command takes a payload.
    pub fn data_entry(&self) -> DataEntry {
        self.data
    }
}

impl From<&str> for Command {
    fn from(text: &str) -> Self {
        Command::new(text)
    }
}

impl From<String> for Command {
    fn from(text: String) -> Self {
        Command::new(text)
    }
}

impl From<&String> for Command {
    fn from(text: &String) -> Self {
        Command::new(text.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivation_table() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let table: &[(&str, &[&str], Duration, DataEntry)] = &[
            ("AT", &[], ms(300), DataEntry::None),
            ("ATI", &[], ms(300), DataEntry::None),
            ("ATE0", &[], ms(300), DataEntry::None),
            ("AT+CPIN?", &["+CPIN:"], s(5), DataEntry::None),
            ("at+cereg?", &["+CEREG:"], ms(300), DataEntry::None),
            (
                "AT+QMTCFG=\"version\",0,4",
                &["+QMTCFG:"],
                ms(300),
                DataEntry::None,
            ),
            ("AT+QMTOPEN=?", &["+QMTOPEN:"], s(120), DataEntry::None),
            ("AT+QMTOPEN?", &["+QMTOPEN:"], s(120), DataEntry::None),
            ("AT+QMTOPEN=0,\"h\",1883", &[], s(120), DataEntry::None),
            ("AT+QMTCONN=0,\"id\"", &[], s(5), DataEntry::None),
            ("AT+QMTCONN?", &["+QMTCONN:"], s(5), DataEntry::None),
            ("AT+QMTSUB=0,1,\"t\",1", &[], s(15), DataEntry::None),
            ("AT+QMTPUBEX=0,1,1,0,\"t\",5", &[], s(15), DataEntry::Fixed),
            // BG96's inline form takes no prompt.
            (
                "AT+QMTPUBEX=0,1,1,0,\"t\",\"x\"",
                &[],
                s(15),
                DataEntry::None,
            ),
            ("AT+QMTPUB=0,1,1,0,\"t\"", &[], s(15), DataEntry::CtrlZ),
            ("AT+QMTPUB=0,1,1,0,\"t\",3", &[], s(15), DataEntry::Fixed),
            ("AT+QMTRECV=0,1", &["+QMTRECV:"], ms(300), DataEntry::None),
            ("AT+QMTDISC=0", &[], s(30), DataEntry::None),
            (
                "AT+QFUPL=\"RAM:ca.pem\",1758,100",
                &["+QFUPL:"],
                s(105),
                DataEntry::Connect,
            ),
            (
                "AT+QFUPL=\"RAM:ca.pem\",10",
                &["+QFUPL:"],
                s(10),
                DataEntry::Connect,
            ),
            ("AT+CFUN=1,1\r", &["+CFUN:"], s(15), DataEntry::None),
        ];
        for (text, prefixes, timeout, data) in table {
            let cmd = Command::new(*text);
            assert_eq!(cmd.response_prefixes(), *prefixes, "{text}");
            assert_eq!(cmd.timeout(), *timeout, "{text}");
            assert_eq!(cmd.data_entry(), *data, "{text}");
            assert!(!cmd.text().ends_with('\r'));
        }
    }

    #[test]
    fn builders_override() {
        let cmd = Command::new("AT+QIRD=0")
            .with_response_prefix("+QIRD:")
            .with_timeout(Duration::from_secs(2))
            .with_data_entry(DataEntry::CtrlZ);
        assert_eq!(cmd.response_prefixes(), ["+QIRD:", "+QIRD:"]);
        assert!(cmd.has_explicit_timeout());
        assert_eq!(cmd.data_entry(), DataEntry::CtrlZ);
        assert!(Command::new("AT+CPIN?")
            .without_response_prefixes()
            .response_prefixes()
            .is_empty());
    }
}
