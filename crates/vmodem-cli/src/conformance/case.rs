//! Case files: the transcript format of `conformance/README.md`.
//!
//! ```text
//! # AT+CPIN? with a SIM that needs no PIN.     comments and blank lines anywhere
//! title: the SIM is ready                      header: `key: value` lines, first
//! covers: AT+CPIN
//! echo: on
//!
//! > AT+CPIN?                                   a command line; the runner adds CR
//! < AT+CPIN?\r                                 the bytes expected back, concatenated
//! < \r\n+CPIN: READY\r\n
//! < \r\nOK\r\n
//! >> hello\z                                   raw bytes (a payload), nothing added
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use super::pattern::{pieces, Pattern, Piece};

/// Runner variables a case may use in what it sends and expects.
pub(crate) const VARIABLES: [&str; 3] = ["broker_host", "broker_port", "run"];

/// What a case needs that the runner may not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Need {
    /// An MQTT broker the module can reach (`--broker`).
    Broker,
}

/// What the runner puts after a `>` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineEnd {
    /// CR (S3).
    Cr,
    /// CR LF, in the same write as the line.
    CrLf,
}

impl LineEnd {
    /// The bytes.
    pub(crate) fn bytes(self) -> &'static [u8] {
        match self {
            LineEnd::Cr => b"\r",
            LineEnd::CrLf => b"\r\n",
        }
    }
}

/// What a step sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Send {
    /// A command line; CR (S3), or CR LF with `line-end: crlf`, is added.
    Line(String),
    /// Raw bytes after a prompt, as written (escapes resolved).
    Raw(String),
}

/// One step: something sent (or nothing), then the bytes expected back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// What is sent, and on which line of the file (1-based).
    pub(crate) send: Option<(usize, Send)>,
    /// The `<` lines: line number and text after `< `.
    pub(crate) expect: Vec<(usize, String)>,
}

impl Step {
    /// The expected bytes as one pattern.
    pub(crate) fn pattern(&self, vars: &BTreeMap<&str, String>) -> Pattern {
        let mut p = Pattern::default();
        for (_, text) in &self.expect {
            // Checked when the case was parsed.
            let _ = p.push(text, vars);
        }
        p
    }

    /// The line number a report names: the send's, or the first `<` line's.
    pub(crate) fn line(&self) -> usize {
        self.send
            .as_ref()
            .map(|(l, _)| *l)
            .or_else(|| self.expect.first().map(|(l, _)| *l))
            .unwrap_or(0)
    }
}

/// A parsed case file.
#[derive(Clone, Debug)]
pub(crate) struct Case {
    /// The file name without `.case`.
    pub(crate) name: String,
    /// The file name, for messages.
    pub(crate) file: String,
    /// The text, for `--record`.
    pub(crate) source: String,
    pub(crate) title: Option<String>,
    /// The commands the case exercises (`AT+CPIN`, `ATE`), for the report and README.
    pub(crate) covers: Vec<String>,
    /// Whether the module echoes when the case starts (`echo: on|off`).
    pub(crate) echo: bool,
    /// What ends a `>` line (`line-end: cr|crlf`): CR alone (S3, the default),
    /// or CR LF in the same write, as many drivers send.
    pub(crate) line_end: LineEnd,
    pub(crate) needs: Vec<Need>,
    /// Models the case applies to (the second line of ATI); empty for all. A trailing `*`
    /// matches any rest.
    pub(crate) models: Vec<String>,
    /// How long each expected answer may take.
    pub(crate) timeout: Option<Duration>,
    /// Lines sent before the case, whose answer must end in OK.
    pub(crate) setup: Vec<String>,
    /// Lines sent after a failed case, to leave the module as the next case expects.
    pub(crate) cleanup: Vec<String>,
    pub(crate) steps: Vec<Step>,
}

impl Case {
    /// `true` if the case applies to `model` (ATI's second line).
    pub(crate) fn applies_to(&self, model: &str) -> bool {
        self.models.is_empty()
            || self.models.iter().any(|m| match m.strip_suffix('*') {
                Some(prefix) => model
                    .get(..prefix.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(prefix)),
                None => m.eq_ignore_ascii_case(model),
            })
    }
}

/// Why a case file is not valid: where, and what to write instead.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Values for checking a case's text when the real ones are not known yet.
fn dummy_vars() -> BTreeMap<&'static str, String> {
    VARIABLES.iter().map(|v| (*v, String::from("x"))).collect()
}

/// Parses the case file `file` (its name ends in `.case`) with text `source`.
pub(crate) fn parse(file: &str, source: &str) -> Result<Case, ParseError> {
    let name = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".case")
        .to_string();
    let err = |line: usize, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    let vars = dummy_vars();
    let mut case = Case {
        name,
        file: file.to_string(),
        source: source.to_string(),
        title: None,
        covers: Vec::new(),
        echo: true,
        line_end: LineEnd::Cr,
        needs: Vec::new(),
        models: Vec::new(),
        timeout: None,
        setup: Vec::new(),
        cleanup: Vec::new(),
        steps: Vec::new(),
    };
    let mut echo_given = false;
    let mut in_body = false;
    for (i, raw) in source.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let body = if let Some(rest) = strip(line, ">>") {
            let text = rest.to_string();
            check_send(&text).map_err(|m| err(n, m))?;
            Some(Some(Send::Raw(text)))
        } else if let Some(rest) = strip(line, ">") {
            let text = rest.to_string();
            if text.contains(['\r', '\n']) {
                return Err(err(n, "a command line cannot hold CR or LF".into()));
            }
            check_send(&text).map_err(|m| err(n, m))?;
            Some(Some(Send::Line(text)))
        } else if let Some(rest) = strip(line, "<") {
            Pattern::parse(rest, &vars).map_err(|e| err(n, e.to_string()))?;
            match case.steps.last_mut() {
                Some(step) => step.expect.push((n, rest.to_string())),
                None => case.steps.push(Step {
                    send: None,
                    expect: vec![(n, rest.to_string())],
                }),
            }
            in_body = true;
            continue;
        } else {
            None
        };
        if let Some(send) = body {
            in_body = true;
            case.steps.push(Step {
                send: send.map(|s| (n, s)),
                expect: Vec::new(),
            });
            continue;
        }
        if line.starts_with(['<', '>']) {
            return Err(err(
                n,
                format!("{line:?}: put one space after `>`, `>>` or `<`"),
            ));
        }
        if in_body {
            return Err(err(
                n,
                format!(
                    "{line:?} is not a step: steps start with `> ` (a command line), `>> ` (raw \
                     bytes) or `< ` (expected bytes); headers come before the first step"
                ),
            ));
        }
        let Some((key, value)) = line.split_once(':') else {
            return Err(err(
                n,
                format!("{line:?} is not a header: write `key: value` (title, covers, echo, line-end, needs, models, timeout, setup, cleanup)"),
            ));
        };
        let value = value.trim();
        match key.trim() {
            "title" => case.title = Some(value.to_string()),
            "covers" => case.covers.extend(list(value)),
            "echo" => {
                echo_given = true;
                case.echo = match value {
                    "on" => true,
                    "off" => false,
                    other => {
                        return Err(err(
                            n,
                            format!("echo: {other:?}: write `echo: on` or `echo: off`"),
                        ))
                    }
                };
            }
            "line-end" => {
                case.line_end = match value {
                    "cr" => LineEnd::Cr,
                    "crlf" => LineEnd::CrLf,
                    other => {
                        return Err(err(
                            n,
                            format!("line-end: {other:?}: write `line-end: cr` or `line-end: crlf`"),
                        ))
                    }
                };
            }
            "needs" => {
                for need in list(value) {
                    match need.as_str() {
                        "broker" => case.needs.push(Need::Broker),
                        other => {
                            return Err(err(
                                n,
                                format!("needs: {other:?}: the only need is `broker`"),
                            ))
                        }
                    }
                }
            }
            "models" => case.models.extend(list(value)),
            "timeout" => {
                let secs: f64 = value.parse().map_err(|_| {
                    err(n, format!("timeout: {value:?}: write a number of seconds"))
                })?;
                case.timeout = Some(Duration::try_from_secs_f64(secs).map_err(|_| {
                    err(n, format!("timeout: {value:?}: write a number of seconds"))
                })?);
            }
            "setup" => {
                check_send(value).map_err(|m| err(n, m))?;
                case.setup.push(value.to_string());
            }
            "cleanup" => {
                check_send(value).map_err(|m| err(n, m))?;
                case.cleanup.push(value.to_string());
            }
            other => {
                return Err(err(
                    n,
                    format!("unknown header {other:?}: the headers are title, covers, echo, line-end, needs, models, timeout, setup, cleanup"),
                ))
            }
        }
    }
    if !echo_given {
        return Err(err(
            1,
            "no `echo: on|off` header: say whether the module echoes when the case starts, so \
             the runner can set it up (the expected bytes show the echo or not)"
                .into(),
        ));
    }
    if !case.needs.contains(&Need::Broker) {
        let mut texts = case.steps.iter().flat_map(|s| {
            let sent = s.send.iter().map(|(n, send)| match send {
                Send::Line(t) | Send::Raw(t) => (*n, t.as_str()),
            });
            sent.chain(s.expect.iter().map(|(n, t)| (*n, t.as_str())))
        });
        if let Some((n, _)) = texts.find(|(_, t)| t.contains("{broker_")) {
            return Err(err(
                n,
                "{broker_host}/{broker_port} need a broker: add `needs: broker` to the header"
                    .into(),
            ));
        }
    }
    if case.steps.is_empty() {
        return Err(err(
            1,
            "no steps: a case sends `> ` lines and expects `< ` bytes".into(),
        ));
    }
    Ok(case)
}

/// `rest` of `line` after `marker` and one space (or nothing after the marker).
fn strip<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(marker)?;
    if rest.is_empty() {
        return Some("");
    }
    rest.strip_prefix(' ')
}

fn list(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A sent line may use escapes and the runner's variables, not placeholders.
fn check_send(text: &str) -> Result<(), String> {
    for piece in pieces(text).map_err(|e| e.to_string())? {
        if let Piece::Name(name) = piece {
            if !VARIABLES.contains(&name.as_str()) {
                return Err(format!(
                    "{{{name}}} in a line sent to the module: only the runner's variables \
                     {{broker_host}}, {{broker_port}} and {{run}} can be sent (placeholders like \
                     {{imei}} belong in `< ` lines)"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CPIN: &str = "\
# The SIM.
title: the SIM is ready
covers: AT+CPIN, AT+CMEE
echo: on
needs: broker
models: EC2*, EG95
timeout: 2.5
setup: AT+CMEE=1
cleanup: AT+QMTCLOSE=1

> AT+CPIN?
< AT+CPIN?\\r
# a comment inside
< \\r\\n+CPIN: READY\\r\\n
< \\r\\nOK\\r\\n
>> hello\\z
<
";

    #[test]
    fn a_whole_case() {
        let c = parse("conformance/cases/sim-cpin.case", CPIN).unwrap();
        assert_eq!(c.name, "sim-cpin");
        assert_eq!(c.title.as_deref(), Some("the SIM is ready"));
        assert_eq!(c.covers, ["AT+CPIN", "AT+CMEE"]);
        assert!(c.echo);
        assert_eq!(c.line_end, LineEnd::Cr);
        let crlf = parse("x.case", "echo: off\nline-end: crlf\n> AT\n").unwrap();
        assert_eq!(crlf.line_end.bytes(), b"\r\n");
        assert_eq!(c.needs, [Need::Broker]);
        assert_eq!(c.timeout, Some(Duration::from_millis(2500)));
        assert_eq!((c.setup.len(), c.cleanup.len()), (1, 1));
        assert_eq!(c.steps.len(), 2);
        assert_eq!(c.steps[0].send, Some((11, Send::Line("AT+CPIN?".into()))));
        assert_eq!(c.steps[0].expect.len(), 3);
        assert_eq!(c.steps[0].line(), 11);
        assert_eq!(c.steps[1].send, Some((16, Send::Raw("hello\\z".into()))));
        assert_eq!(c.steps[1].expect, [(17, String::new())]);
        assert!(c.applies_to("EC25") && c.applies_to("ec21") && c.applies_to("EG95"));
        assert!(!c.applies_to("BG96") && !c.applies_to("EG9"));
    }

    #[test]
    fn mistakes_name_the_line_and_the_fix() {
        let bad = |text: &str| parse("x.case", text).unwrap_err();
        assert!(bad("> AT\n").message.contains("echo: on|off"));
        let e = bad("echo: on\n> AT\ncovers: AT\n");
        assert_eq!(e.line, 3);
        assert!(e.message.contains("headers come before"), "{e}");
        assert!(bad("echo: maybe\n> AT\n").message.contains("echo: off"));
        assert!(bad("echo: on\nline-end: lf\n> AT\n")
            .message
            .contains("line-end: crlf"));
        assert!(bad("echo: on\ncolour: red\n> AT\n")
            .message
            .contains("unknown header"));
        assert!(bad("echo: on\n> AT+CGSN\n< {imeii}\n")
            .message
            .contains("{imei}"));
        assert!(bad("echo: on\n> AT+X={imei}\n")
            .message
            .contains("belong in `< ` lines"));
        assert!(bad("echo: on\n").message.contains("no steps"));
        assert!(bad("echo: on\n> AT\n<OK\n").message.contains("one space"));
        assert!(bad("echo: on\n> AT+QMTOPEN=0,\"{broker_host}\",1\n")
            .message
            .contains("needs: broker"));
        assert_eq!(
            bad("echo: on\nneeds: sim\n> AT\n").to_string(),
            "x.case:2: needs: \"sim\": the only need is `broker`"
        );
    }
}
