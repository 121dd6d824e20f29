//! `vmodem trace FILE`: a `--trace` file (JSON lines, see
//! `vmodem-tokio/src/trace.rs`) as a readable transcript, host ↔ module ↔ broker
//! (issue 10 item 4).
//!
//! One line per record, the time relative to the first record, an arrow for
//! the direction:
//!
//! ```text
//!    0.000  host   → module  AT+QMTOPEN=0,"127.0.0.1",1883
//!    0.002  host   ← module  OK
//!    0.150  module → broker  [0] CONNECT id=dev1 keepalive=60 (31 B)
//!    0.151  module ← broker  [0] CONNACK rc=0 (4 B)
//!    0.151  host   ← module  +QMTCONN: 0,0,0
//!    1.151  fault start #1 network_loss stat=0
//! ```
//!
//! Serial records are split at line ends so each AT line stands alone. Records
//! of other shapes (MQTT packets `{"packet":…}`, faults `{"fault":…}`) are shown
//! from their fields; an unknown record is printed raw rather than dropped, so
//! the transcript never hides what the file holds.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::Value;

use crate::scenario_file::parse_duration;

/// Flags of `vmodem trace`.
#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// The file `vmodem run --trace FILE` wrote.
    pub(crate) file: PathBuf,
    /// Only records at or after this time since the first record (e.g. "30s", "1m30s").
    #[arg(long)]
    pub(crate) since: Option<String>,
    /// Only records before this time since the first record.
    #[arg(long)]
    pub(crate) until: Option<String>,
    /// Only transcript lines containing this text.
    #[arg(long)]
    pub(crate) grep: Option<String>,
}

pub(crate) fn run(args: TraceArgs) -> Result<ExitCode> {
    let ms = |s: &Option<String>| -> Result<Option<u64>> {
        s.as_deref()
            .map(|s| {
                parse_duration(s)
                    .map(|d| d.as_millis() as u64)
                    .map_err(anyhow::Error::msg)
            })
            .transpose()
    };
    let (since, until) = (ms(&args.since)?, ms(&args.until)?);
    let file = std::fs::File::open(&args.file)
        .with_context(|| format!("cannot open {}", args.file.display()))?;
    let mut out = std::io::stdout().lock();
    let mut first: Option<u64> = None;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", args.file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let Ok(record) = serde_json::from_str::<Value>(&line) else {
            writeln!(out, "line {}: not JSON: {line}", n + 1)?;
            continue;
        };
        let t = record.get("t_ms").and_then(Value::as_u64).unwrap_or(0);
        let rel = t.saturating_sub(*first.get_or_insert(t));
        if since.is_some_and(|s| rel < s) || until.is_some_and(|u| rel >= u) {
            continue;
        }
        for text in render(&record) {
            let shown = format!("{:>4}.{:03}  {text}", rel / 1000, rel % 1000);
            if args.grep.as_deref().is_none_or(|g| shown.contains(g)) {
                writeln!(out, "{shown}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The transcript lines of one record (without the time).
fn render(r: &Value) -> Vec<String> {
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    if let (Some(dir), Some(text)) = (s("dir"), s("text")) {
        if let Some(arrow) = serial_arrow(dir) {
            // AT lines end in CR (host) or CR LF (module): one transcript line each.
            return text
                .split(['\r', '\n'])
                .filter(|l| !l.is_empty())
                .map(|l| format!("{arrow}  {}", visible(l)))
                .collect();
        }
    }
    if let Some(p) = r.get("packet") {
        let arrow = match s("dir") {
            Some("module_to_broker") => "module → broker",
            Some("broker_to_module") => "module ← broker",
            _ => "module ? broker",
        };
        let client = r
            .get("client")
            .and_then(Value::as_u64)
            .map_or(String::new(), |c| format!("[{c}] "));
        let mut line = format!(
            "{arrow}  {client}{}",
            p.get("type").and_then(Value::as_str).unwrap_or("?")
        );
        if let Some(obj) = p.as_object() {
            for (k, v) in obj.iter().filter(|(k, _)| *k != "type" && *k != "size") {
                let _ = write!(
                    line,
                    " {k}={}",
                    v.as_str().map_or(v.to_string(), str::to_owned)
                );
            }
            if let Some(n) = obj.get("size") {
                let _ = write!(line, " ({n} B)");
            }
        }
        return vec![line];
    }
    if let Some(what) = s("scenario") {
        // Scenario steps (`vmodem run --scenario`; fields in fault_log.rs).
        let source = s("source").unwrap_or("?");
        let mut line = format!("scenario {source} {what}");
        if let Some(l) = s("line") {
            let _ = write!(line, " by {l:?}");
        }
        if let Some(id) = r.get("fault_id") {
            let _ = write!(line, ": fault #{id}");
        }
        if let Some(kind) = s("kind") {
            let _ = write!(line, " {kind}");
        }
        if let Some(d) = r.get("due_ms").and_then(Value::as_u64) {
            let _ = write!(line, ", due at {}.{:03}", d / 1000, d % 1000);
        }
        if let Some(e) = s("error") {
            let _ = write!(line, ": {e}");
        }
        return vec![line];
    }
    if let Some(what) = s("fault") {
        let mut line = format!("fault {what}");
        if let Some(id) = r.get("id") {
            let _ = write!(line, " #{id}");
        }
        if let Some(kind) = s("kind") {
            let _ = write!(line, " {kind}");
        }
        if let Some(params) = r.get("params").and_then(Value::as_object) {
            for (k, v) in params {
                let _ = write!(
                    line,
                    " {k}={}",
                    v.as_str().map_or(v.to_string(), str::to_owned)
                );
            }
        }
        if let Some(d) = r.get("duration_ms").and_then(Value::as_u64) {
            let _ = write!(line, " for {}.{:03} s", d / 1000, d % 1000);
        }
        return vec![line];
    }
    vec![format!("? {r}")]
}

fn serial_arrow(dir: &str) -> Option<&'static str> {
    match dir {
        "host_to_module" => Some("host   → module"),
        "module_to_host" => Some("host   ← module"),
        _ => None,
    }
}

/// Control characters shown as `<0x1a>` (Ctrl-Z ends a `>` prompt's data).
fn visible(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    for c in line.chars() {
        if c.is_control() {
            let _ = write!(out, "<{:#04x}>", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(json: &str) -> Vec<String> {
        render(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn serial_records_split_into_lines_with_arrows() {
        assert_eq!(
            lines(
                r#"{"t_ms":12,"dir":"module_to_host","text":"AT\r\r\nOK\r\n","hex":"41540d0d0a4f4b0d0a"}"#
            ),
            vec!["host   ← module  AT", "host   ← module  OK"]
        );
        assert_eq!(
            lines(r#"{"t_ms":1,"dir":"host_to_module","text":"hi\u001a","hex":""}"#),
            vec!["host   → module  hi<0x1a>"]
        );
    }

    #[test]
    fn a_chunk_of_host_commands_is_one_line_each() {
        assert_eq!(
            lines(r#"{"t_ms":1,"dir":"host_to_module","text":"ATE0\rAT+CGSN\r","hex":""}"#),
            vec!["host   → module  ATE0", "host   → module  AT+CGSN"]
        );
    }

    #[test]
    fn packet_and_fault_records() {
        assert_eq!(
            lines(
                r#"{"t_ms":5,"client":0,"dir":"broker_to_module","packet":{"type":"CONNACK","rc":0,"size":4}}"#
            ),
            vec!["module ← broker  [0] CONNACK rc=0 (4 B)"]
        );
        assert_eq!(
            lines(
                r#"{"t_ms":5,"fault":"start","id":1,"kind":"network_loss","params":{"stat":"0"}}"#
            ),
            vec!["fault start #1 network_loss stat=0"]
        );
        assert_eq!(
            lines(
                r#"{"t_ms":8748,"fault":"start","id":1,"kind":"network_loss","params":{"stat":0},"duration_ms":5000}"#
            ),
            vec!["fault start #1 network_loss stat=0 for 5.000 s"]
        );
        assert_eq!(
            lines(
                r#"{"t_ms":7748,"scenario":"armed","source":"step[0]","line":"+QMTCONN: 0,0,0","due_ms":8748}"#
            ),
            vec!["scenario step[0] armed by \"+QMTCONN: 0,0,0\", due at 8.748"]
        );
        assert_eq!(
            lines(
                r#"{"t_ms":8748,"scenario":"fired","source":"step[0]","due_ms":8748,"fault_id":1,"kind":"network_loss","params":{"stat":0},"duration_ms":5000}"#
            ),
            vec!["scenario step[0] fired: fault #1 network_loss, due at 8.748"]
        );
        assert_eq!(lines(r#"{"x":1}"#), vec![r#"? {"x":1}"#]);
    }
}
