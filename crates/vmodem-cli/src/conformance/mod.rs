//! `vmodem conformance`: scripted sessions against a module, ours or a real one, compared byte
//! for byte with golden transcripts (`conformance/README.md` has the format).
//!
//! The runner talks bytes, not the client's digested items: a conformance failure must show
//! the exact bytes, CR and LF included. Per case it
//!
//! 1. sets the module up: `ATE<echo>Q0V1` (the echo the case's header names), `AT+CMEE=1`,
//!    then the case's `setup:` lines, each answered OK;
//! 2. runs the steps: writes each `>` line (with CR) or `>>` data, and waits until what came
//!    matches the `<` bytes, or can no longer match, or the step's time is up;
//! 3. waits for the line to settle: bytes after the last expected answer fail the case;
//! 4. after a failure, sends the `cleanup:` lines and lets the line settle again.

mod case;
mod link;
mod pattern;
mod text;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::time::Instant;

use self::case::{Case, Need, Send};
use self::link::Link;
use self::pattern::{substitute, Bindings, Outcome, Pattern, Segment, Trace};
use self::text::{diff, split_lines, transcript, DiffLine};
use crate::args::ConformanceArgs;
use crate::target::Target;

/// The built-in suite, from `conformance/cases` at build time.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/cases.rs"));
}

/// How long an expected answer may take unless the case says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long setup, probe and cleanup commands may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// After an answer differs, how long the rest of it may take to arrive (for the report).
const REST_OF_ANSWER: Duration = Duration::from_millis(300);
/// How long `--record` listens after a step whose answer is not known.
const RECORD_QUIET: Duration = Duration::from_millis(700);

/// Exit status: a case failed.
const EXIT_FAILED: u8 = 1;
/// Exit status: the cases or the flags are wrong.
const EXIT_USAGE: u8 = 2;
/// Exit status: the module could not be reached or stopped answering.
const EXIT_LINK: u8 = 3;

/// Runs `vmodem conformance`.
pub(crate) async fn run(args: ConformanceArgs) -> ExitCode {
    let cases = match load(&args.cases) {
        Ok(cases) => cases,
        Err(e) => {
            crate::report(&e);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let cases: Vec<Case> = cases
        .into_iter()
        .filter(|c| args.only.is_empty() || args.only.iter().any(|o| c.name.contains(o.as_str())))
        .collect();
    if args.list {
        list(&cases);
        return ExitCode::SUCCESS;
    }
    if cases.is_empty() {
        eprintln!("error: no case to run: --only matches no case name (see --list)");
        return ExitCode::from(EXIT_USAGE);
    }
    if let Some(dir) = &args.record {
        if let Err(e) = std::fs::create_dir_all(dir)
            .with_context(|| format!("--record {}: cannot create the directory", dir.display()))
        {
            crate::report(&e);
            return ExitCode::from(EXIT_USAGE);
        }
    }
    let Some(target) = args.target.target() else {
        eprintln!("error: say where the module is: --port DEVICE (e.g. /dev/ttyUSB2, or the device `vmodem run` prints) or --tcp HOST:PORT");
        return ExitCode::from(EXIT_USAGE);
    };
    match suite(&args, &target, &cases).await {
        Ok(tally) => {
            println!(
                "\n{} passed, {} failed, {} not applicable",
                tally.passed, tally.failed, tally.not_applicable
            );
            if let Some(dir) = &args.record {
                println!(
                    "recorded {} transcripts in {} (check them, then copy them to \
                     conformance/cases to make them the golden files)",
                    tally.recorded,
                    dir.display()
                );
            }
            if tally.failed > 0 {
                ExitCode::from(EXIT_FAILED)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            crate::report(&e);
            ExitCode::from(EXIT_LINK)
        }
    }
}

/// Loads the built-in cases, or the files and directories given with `--cases`.
fn load(paths: &[PathBuf]) -> Result<Vec<Case>> {
    let mut texts: Vec<(String, String)> = Vec::new();
    if paths.is_empty() {
        texts.extend(
            embedded::CASES
                .iter()
                .map(|(name, text)| (name.to_string(), text.to_string())),
        );
    }
    for path in paths {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("--cases {}: cannot read the directory", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "case"))
                .collect();
            files.sort();
            files
        } else {
            vec![path.clone()]
        };
        for file in files {
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!("--cases {}: cannot read the case file", file.display())
            })?;
            texts.push((file.display().to_string(), text));
        }
    }
    let mut cases = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in &texts {
        match case::parse(file, text) {
            Ok(c) => cases.push(c),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        anyhow::bail!(
            "{} case file(s) are not valid (conformance/README.md has the format):\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(cases)
}

fn list(cases: &[Case]) {
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in cases {
        let mut notes = Vec::new();
        if c.needs.contains(&Need::Broker) {
            notes.push("needs --broker".to_string());
        }
        if !c.models.is_empty() {
            notes.push(format!("models {}", c.models.join(" ")));
        }
        let notes = match notes.is_empty() {
            true => String::new(),
            false => format!("  ({})", notes.join("; ")),
        };
        println!("{:width$}  {}{notes}", c.name, c.covers.join(", "));
    }
    println!("{} cases", cases.len());
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    not_applicable: usize,
    recorded: usize,
}

/// What the probe learned about the module.
#[derive(Debug, Default)]
struct Identity {
    manufacturer: String,
    model: String,
    revision: String,
    imei: String,
    imsi: String,
    iccid: String,
}

async fn suite(args: &ConformanceArgs, target: &Target, cases: &[Case]) -> Result<Tally> {
    let io = target.open().await?;
    let mut link = Link::new(io);
    sync(&mut link).await?;
    let id = probe(&mut link).await?;
    let mut vars: BTreeMap<&'static str, String> = BTreeMap::new();
    vars.insert("run", run_id());
    if let Some(broker) = &args.broker {
        let (host, port) = broker.rsplit_once(':').unwrap_or((broker, "1883"));
        vars.insert("broker_host", host.trim_matches(['[', ']']).to_string());
        vars.insert("broker_port", port.to_string());
    }
    println!(
        "module: {} {}, revision {}, on {target}",
        id.manufacturer, id.model, id.revision
    );
    match &args.broker {
        Some(b) => println!("broker: {b} (as the module reaches it)"),
        None => println!(
            "broker: none (cases that need one are not applicable; pass --broker HOST:PORT)"
        ),
    }
    println!("cases:  {}\n", cases.len());
    let mut runner = Runner {
        link,
        masks: masks(&id, &vars),
        vars,
        min_timeout: args.timeout.unwrap_or(Duration::ZERO),
        settle: args.settle,
        recording: args.record.is_some(),
    };
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut tally = Tally::default();
    for case in cases {
        let verdict = if args.skip.iter().any(|s| s == &case.name) {
            Verdict::NotApplicable("skipped with --skip".into())
        } else if case.needs.contains(&Need::Broker) && args.broker.is_none() {
            Verdict::NotApplicable("needs a broker: pass --broker HOST:PORT".into())
        } else if !case.applies_to(&id.model) {
            Verdict::NotApplicable(format!(
                "for {} only; this module is {}",
                case.models.join(", "),
                id.model
            ))
        } else {
            let (verdict, records) = runner.case(case).await?;
            if let Some(dir) = &args.record {
                write_record(dir, case, &records, &runner.masks)?;
                tally.recorded += 1;
            }
            verdict
        };
        let covers = case.covers.join(", ");
        match &verdict {
            Verdict::Pass => {
                tally.passed += 1;
                println!("pass  {:width$}  {covers}", case.name);
            }
            Verdict::NotApplicable(why) => {
                tally.not_applicable += 1;
                println!("n/a   {:width$}  {why}", case.name);
            }
            Verdict::Fail(f) => {
                tally.failed += 1;
                println!("FAIL  {:width$}  {covers}", case.name);
                print!("{}", f.render(case));
            }
        }
        std::io::stdout().flush().ok();
    }
    Ok(tally)
}

/// A short id unique to this run, for client IDs and topics (`{run}`).
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{:08x}", nanos ^ std::process::id().rotate_left(16))
}

/// Gets the module's attention: `ATQ0V1` until a result comes (the module may be powering
/// up, or have results switched off), then, if it has just started, waits for the end of its
/// boot URCs, and lets the line settle.
async fn sync(link: &mut Link) -> Result<()> {
    let start = Instant::now();
    let patience = Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        link.send(b"ATQ0V1\r").await?;
        let next = Instant::now() + Duration::from_secs(1);
        let mut answered = false;
        while link.fill(next).await? {
            if split_lines(&link.buf)
                .iter()
                .any(|l| matches!(l.trim_ascii(), b"OK" | b"0"))
            {
                answered = true;
                break;
            }
        }
        seen.extend(link.take());
        if answered {
            break;
        }
        if start.elapsed() > patience {
            anyhow::bail!(
                "the module did not answer ATQ0V1 within {patience:?} (it sent {:?}): is it on, \
                 and is this its AT port (an EC25 on USB: /dev/ttyUSB2)?",
                crate::escape::show(&seen)
            );
        }
    }
    let booting = seen.windows(3).any(|w| w == b"RDY");
    // The boot chain ends with +QIND: PB DONE on EC2x, +QIND: SMS DONE on BG9x
    // (whose chain has APP RDY and no PB DONE).
    let booted = |bytes: &[u8]| {
        let has = |s: &[u8]| bytes.windows(s.len()).any(|w| w == s);
        has(b"PB DONE") || (has(b"APP RDY") && has(b"SMS DONE"))
    };
    if booting && !booted(&seen) {
        let until = Instant::now() + Duration::from_secs(15);
        loop {
            let mut all = seen.clone();
            all.extend_from_slice(&link.buf);
            if booted(&all) || !link.fill(until).await? {
                break;
            }
        }
    }
    link.settle(Duration::from_millis(300), Duration::from_secs(3))
        .await?;
    link.take();
    Ok(())
}

/// Reads who the module is (ATI, AT+CGSN, AT+CIMI, AT+QCCID): the model decides which cases
/// apply, and `--record` writes the identity back as placeholders.
async fn probe(link: &mut Link) -> Result<Identity> {
    let mut id = Identity::default();
    link.command("ATE1Q0V1", COMMAND_TIMEOUT).await?;
    let (lines, _) = link.command("ATI", COMMAND_TIMEOUT).await?;
    id.manufacturer = lines.first().cloned().unwrap_or_default();
    id.model = lines.get(1).cloned().unwrap_or_default();
    id.revision = lines
        .iter()
        .find_map(|l| l.strip_prefix("Revision:"))
        .map(|r| r.trim().to_string())
        .unwrap_or_default();
    let value = |lines: &[String], prefix: &str| {
        lines
            .iter()
            .map(|l| l.strip_prefix(prefix).unwrap_or(l).trim().to_string())
            .find(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric()))
            .unwrap_or_default()
    };
    id.imei = value(&link.command("AT+CGSN", COMMAND_TIMEOUT).await?.0, "");
    id.imsi = value(&link.command("AT+CIMI", COMMAND_TIMEOUT).await?.0, "");
    id.iccid = value(
        &link.command("AT+QCCID", COMMAND_TIMEOUT).await?.0,
        "+QCCID:",
    );
    Ok(id)
}

/// Values `--record` writes back as placeholders or variables, longest first.
fn masks(id: &Identity, vars: &BTreeMap<&'static str, String>) -> Vec<(Vec<u8>, String)> {
    let mut masks: Vec<(Vec<u8>, String)> = [
        (&id.revision, "{revision}"),
        (&id.iccid, "{iccid}"),
        (&id.imei, "{imei}"),
        (&id.imsi, "{imsi}"),
        (&id.model, "{model}"),
    ]
    .into_iter()
    .filter(|(v, _)| v.len() >= 3)
    .map(|(v, name)| (v.as_bytes().to_vec(), name.to_string()))
    .collect();
    if let (Some(host), Some(port)) = (vars.get("broker_host"), vars.get("broker_port")) {
        masks.push((
            format!("\"{host}\",{port}").into_bytes(),
            "\"{broker_host}\",{broker_port}".into(),
        ));
    }
    for name in ["broker_host", "run"] {
        if let Some(v) = vars.get(name).filter(|v| v.len() >= 3) {
            masks.push((v.as_bytes().to_vec(), format!("{{{name}}}")));
        }
    }
    masks.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    masks
}

/// How a case ended.
enum Verdict {
    Pass,
    Fail(Box<Failure>),
    NotApplicable(String),
}

/// Where and how a case failed, with the bytes to show.
struct Failure {
    /// The step's line in the case file.
    line: usize,
    /// What the step sent, as written in the file.
    sent: Option<String>,
    kind: FailKind,
    /// The expected answer, placeholders shown as what they matched where they did.
    expected: Vec<Segment>,
    got: Vec<u8>,
    /// How many bytes of `got` matched.
    at: usize,
}

enum FailKind {
    /// The answer differs from the expected one.
    Differs,
    /// The answer stopped before it was complete.
    Incomplete(Duration),
    /// Bytes came after the last expected answer.
    Trailing,
    /// A setup line was not answered OK.
    Setup(String),
}

/// What `--record` keeps of a step: its `<` lines as written, or what the module sent.
enum Record {
    Keep(Vec<u8>),
    Bytes(Vec<u8>),
}

struct Runner {
    link: Link,
    vars: BTreeMap<&'static str, String>,
    masks: Vec<(Vec<u8>, String)>,
    min_timeout: Duration,
    settle: Duration,
    recording: bool,
}

impl Runner {
    async fn case(&mut self, case: &Case) -> Result<(Verdict, Vec<Record>)> {
        let mut records = Vec::new();
        if let Some(failure) = self.prepare(case).await? {
            self.cleanup(case).await?;
            return Ok((Verdict::Fail(Box::new(failure)), records));
        }
        let timeout = case
            .timeout
            .unwrap_or(DEFAULT_TIMEOUT)
            .max(self.min_timeout);
        let mut bindings = Bindings::new();
        let mut first_failure = None;
        for step in &case.steps {
            let mut sent = None;
            if let Some((_, send)) = &step.send {
                let (text, marker) = match send {
                    Send::Line(t) => (t, "> "),
                    Send::Raw(t) => (t, ">> "),
                };
                sent = Some(format!("{marker}{text}"));
                let mut bytes = substitute(&pattern::pieces(text)?, &self.vars)?;
                if matches!(send, Send::Line(_)) {
                    bytes.extend_from_slice(case.line_end.bytes());
                }
                self.link.send(&bytes).await?;
            }
            let pattern = step.pattern(&self.vars);
            if self.recording && pattern.is_empty() {
                self.link.settle(RECORD_QUIET, timeout).await?;
                records.push(Record::Bytes(self.link.take()));
                continue;
            }
            match self.expect(&pattern, timeout, &mut bindings).await? {
                Ok(got) => records.push(Record::Keep(got)),
                Err((kind, trace, got)) => {
                    records.push(Record::Bytes(got.clone()));
                    first_failure.get_or_insert(Failure {
                        line: step.line(),
                        sent,
                        kind,
                        expected: pattern.render(&got, &trace),
                        got,
                        at: trace.matched,
                    });
                    if !self.recording {
                        break;
                    }
                }
            }
        }
        if first_failure.is_none() || self.recording {
            self.link.settle(self.settle, timeout).await?;
            let extra = self.link.take();
            if !extra.is_empty() {
                let last = case.steps.last();
                let mut all = match records.pop() {
                    Some(Record::Keep(b) | Record::Bytes(b)) => b,
                    None => Vec::new(),
                };
                all.extend_from_slice(&extra);
                records.push(Record::Bytes(all));
                first_failure.get_or_insert(Failure {
                    line: last.map_or(0, |s| s.line()),
                    sent: None,
                    kind: FailKind::Trailing,
                    expected: Vec::new(),
                    got: extra,
                    at: 0,
                });
            }
        }
        match first_failure {
            None => Ok((Verdict::Pass, records)),
            Some(failure) => {
                self.cleanup(case).await?;
                Ok((Verdict::Fail(Box::new(failure)), records))
            }
        }
    }

    /// Sets the module up for `case`; a failure if a line is not answered OK.
    async fn prepare(&mut self, case: &Case) -> Result<Option<Failure>> {
        let preamble = [
            format!("ATE{}Q0V1", u8::from(case.echo)),
            "AT+CMEE=1".to_string(),
        ];
        for line in preamble.iter().chain(&case.setup) {
            let bytes = substitute(&pattern::pieces(line)?, &self.vars)?;
            let line = String::from_utf8_lossy(&bytes).into_owned();
            let (_, result) = self.link.command(&line, COMMAND_TIMEOUT).await?;
            if result != "OK" {
                return Ok(Some(Failure {
                    line: 0,
                    sent: Some(format!("> {line}")),
                    kind: FailKind::Setup(result),
                    expected: Vec::new(),
                    got: Vec::new(),
                    at: 0,
                }));
            }
        }
        Ok(None)
    }

    /// After a failure: the case's cleanup lines (answers ignored), then a quiet line.
    async fn cleanup(&mut self, case: &Case) -> Result<()> {
        self.link
            .settle(Duration::from_millis(300), Duration::from_secs(3))
            .await?;
        for line in &case.cleanup {
            let bytes = substitute(&pattern::pieces(line)?, &self.vars)?;
            let line = String::from_utf8_lossy(&bytes).into_owned();
            // A module that does not answer a cleanup line is no reason to stop the run.
            let _ = self.link.command(&line, COMMAND_TIMEOUT).await;
        }
        self.link
            .settle(Duration::from_millis(500), Duration::from_secs(5))
            .await?;
        self.link.take();
        Ok(())
    }

    /// Waits until the received bytes match `pattern` (and consumes them), cannot match any
    /// more, or `timeout` passes.
    async fn expect(
        &mut self,
        pattern: &Pattern,
        timeout: Duration,
        bindings: &mut Bindings,
    ) -> Result<std::result::Result<Vec<u8>, (FailKind, Trace, Vec<u8>)>> {
        let deadline = Instant::now() + timeout;
        loop {
            match pattern.matches(&self.link.buf, bindings) {
                Outcome::Full { len, bindings: b } => {
                    *bindings = b;
                    return Ok(Ok(self.link.buf.drain(..len).collect()));
                }
                Outcome::Partial(trace) => {
                    if !self.link.fill(deadline).await? {
                        return Ok(Err((
                            FailKind::Incomplete(timeout),
                            trace,
                            self.link.take(),
                        )));
                    }
                }
                Outcome::Mismatch(trace) => {
                    // Let the rest of the answer come, for the report.
                    let quiet = if self.recording {
                        RECORD_QUIET
                    } else {
                        REST_OF_ANSWER
                    };
                    self.link.settle(quiet, timeout).await?;
                    return Ok(Err((FailKind::Differs, trace, self.link.take())));
                }
            }
        }
    }
}

impl Failure {
    /// The report's lines under `FAIL name`: where, what differs, and a diff of the lines.
    fn render(&self, case: &Case) -> String {
        let pad = "      ";
        let mut out = String::new();
        let at = match &self.sent {
            Some(sent) => format!("after `{sent}`"),
            None => "waiting for the module".to_string(),
        };
        match &self.kind {
            FailKind::Setup(result) => {
                out.push_str(&format!(
                    "{pad}{}: setting up: `{}` was answered {result}, not OK\n",
                    case.file,
                    self.sent.as_deref().unwrap_or_default()
                ));
                return out;
            }
            FailKind::Trailing => out.push_str(&format!(
                "{pad}{}:{}: unexpected bytes after the last expected answer:\n",
                case.file, self.line
            )),
            FailKind::Differs => out.push_str(&format!(
                "{pad}{}:{}: {at}: the answer differs at byte {}: expected `{}`, got `{}`\n",
                case.file,
                self.line,
                self.at,
                snippet_expected(&self.expected, self.at),
                snippet(&self.got[self.at.min(self.got.len())..]),
            )),
            FailKind::Incomplete(timeout) => out.push_str(&format!(
                "{pad}{}:{}: {at}: the answer stopped at byte {} ({timeout:?} without the rest): \
                 expected `{}` next\n",
                case.file,
                self.line,
                self.at,
                snippet_expected(&self.expected, self.at),
            )),
        }
        let expected = segment_lines(&self.expected);
        let got: Vec<String> = split_lines(&self.got)
            .into_iter()
            .map(|l| transcript(l, &[]))
            .collect();
        for line in diff(&expected, &got) {
            match line {
                DiffLine::Same(l) => out.push_str(&format!("{pad}  {l}\n")),
                DiffLine::Expected(l) => out.push_str(&format!("{pad}- {l}\n")),
                DiffLine::Got(l) => out.push_str(&format!("{pad}+ {l}\n")),
            }
        }
        if got.is_empty() {
            out.push_str(&format!("{pad}+ (nothing)\n"));
        }
        out
    }
}

/// A few characters of what was received, escaped.
fn snippet(bytes: &[u8]) -> String {
    let mut text = transcript(&bytes[..bytes.len().min(24)], &[]);
    if bytes.len() > 24 {
        text.push('…');
    }
    if text.is_empty() {
        text.push_str("(nothing)");
    }
    text
}

/// A few characters of the expected answer from byte `at` on.
fn snippet_expected(expected: &[Segment], at: usize) -> String {
    let mut pos = 0;
    let mut rest: Vec<Segment> = Vec::new();
    for seg in expected {
        match seg {
            Segment::Bytes(b) => {
                if pos + b.len() > at {
                    let from = at.saturating_sub(pos);
                    rest.push(Segment::Bytes(b[from..].to_vec()));
                }
                pos += b.len();
            }
            Segment::Name(_) if pos >= at => rest.push(seg.clone()),
            Segment::Name(_) => {}
        }
    }
    let mut text = String::new();
    for seg in &rest {
        match seg {
            Segment::Bytes(b) => text.push_str(&transcript(b, &[])),
            Segment::Name(n) => text.push_str(n),
        }
        if text.chars().count() > 24 {
            let cut: String = text.chars().take(24).collect();
            return format!("{cut}…");
        }
    }
    if text.is_empty() {
        text.push_str("(the end)");
    }
    text
}

/// The expected answer as transcript lines, split like received bytes.
fn segment_lines(segments: &[Segment]) -> Vec<String> {
    // Stand-ins for placeholders that no module byte sequence can be confused with in the
    // splitting (they hold no CR or LF), swapped back after escaping.
    let mut bytes = Vec::new();
    let mut names = Vec::new();
    for seg in segments {
        match seg {
            Segment::Bytes(b) => bytes.extend(b.iter().map(|&b| u16::from(b))),
            Segment::Name(n) => {
                bytes.push(0x100 + names.len() as u16);
                names.push(n.clone());
            }
        }
    }
    let mut lines = Vec::new();
    let mut line = String::new();
    for (i, &c) in bytes.iter().enumerate() {
        if c >= 0x100 {
            line.push_str(&names[usize::from(c - 0x100)]);
            continue;
        }
        let b = c as u8;
        let last = i + 1 == bytes.len();
        if b == b' ' && last {
            line.push_str("\\x20");
        } else {
            crate::escape::push_escaped(&mut line, b, true);
        }
        let split = match b {
            b'\n' => line != "\\r\\n" && line != "\\n",
            b'\r' => bytes.get(i + 1) != Some(&u16::from(b'\n')),
            _ => false,
        };
        if split {
            lines.push(std::mem::take(&mut line));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Writes what the module answered in `case` as a case file in `dir`: the file as it was,
/// with the `<` lines of each step that did not match replaced by the bytes that came.
fn write_record(
    dir: &Path,
    case: &Case,
    records: &[Record],
    masks: &[(Vec<u8>, String)],
) -> Result<()> {
    // A case without a broker may not use its variables (a `127.0.0.1` there is literal).
    let masks: Vec<(Vec<u8>, String)> = masks
        .iter()
        .filter(|(_, name)| case.needs.contains(&Need::Broker) || !name.contains("{broker_"))
        .cloned()
        .collect();
    let masks = masks.as_slice();
    let lines: Vec<&str> = case.source.lines().collect();
    let mut replace: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut drop = std::collections::BTreeSet::new();
    let mut insert_after: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for (step, record) in case.steps.iter().zip(records) {
        let Record::Bytes(bytes) = record else {
            continue;
        };
        let new: Vec<String> = split_lines(bytes)
            .into_iter()
            .map(|l| format!("< {}", transcript(l, masks)))
            .collect();
        match step.expect.first() {
            Some((first, _)) => {
                replace.insert(*first, new);
                drop.extend(step.expect.iter().skip(1).map(|(n, _)| *n));
            }
            None => {
                insert_after.insert(step.line(), new);
            }
        }
    }
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if drop.contains(&n) {
            continue;
        }
        match replace.get(&n) {
            Some(new) => new.iter().for_each(|l| {
                out.push_str(l);
                out.push('\n');
            }),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
        if let Some(new) = insert_after.get(&n) {
            new.iter().for_each(|l| {
                out.push_str(l);
                out.push('\n');
            });
        }
    }
    let path = dir.join(format!("{}.case", case.name));
    std::fs::write(&path, out).with_context(|| format!("--record: cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_cases_are_valid() {
        let cases = load(&[]).unwrap();
        assert!(cases.len() >= 60, "only {} built-in cases", cases.len());
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), cases.len());
        for c in &cases {
            assert!(!c.covers.is_empty(), "{}: no `covers:`", c.file);
            assert!(c.title.is_some(), "{}: no `title:`", c.file);
        }
    }

    #[test]
    fn the_readme_documents_every_placeholder() {
        let readme = include_str!("../../../../conformance/README.md");
        for (name, doc) in pattern::placeholders() {
            let row = format!("| `{{{name}}}` |");
            assert!(
                readme.contains(&row),
                "conformance/README.md lacks {{{name}}}: {doc}"
            );
        }
    }

    #[test]
    fn expected_lines_keep_placeholders_whole() {
        let segs = [
            Segment::Bytes(b"AT+CGSN\r\r\n".to_vec()),
            Segment::Name("{imei}".into()),
            Segment::Bytes(b"\r\n\r\nOK\r\n".to_vec()),
        ];
        assert_eq!(
            segment_lines(&segs),
            ["AT+CGSN\\r", "\\r\\n{imei}\\r\\n", "\\r\\nOK\\r\\n"]
        );
        assert_eq!(snippet_expected(&segs, 10), "{imei}\\r\\n\\r\\nOK\\r\\n");
        assert_eq!(
            snippet_expected(&segs, 8),
            "\\r\\n{imei}\\r\\n\\r\\nOK\\r\\n"
        );
    }
}
