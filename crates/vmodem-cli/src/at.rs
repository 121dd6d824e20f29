//! `vmodem at`: send AT command lines to a module and print its answers as the host client
//! digests them (information lines and result codes; URCs marked `urc:`), with checks and an
//! exit status for shell scripts and CI.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::time::Instant;
use vmodem_client::{
    Client, Command, DataEntry, Error, Event, EventSubscription, FinalResult, Response, UrcError,
};

use crate::args::AtArgs;
use crate::escape::{show, unescape};

/// Exit status: an `--expect`/`--expect-urc` was not met, or a command was refused unexpectedly.
const EXIT_CHECK: u8 = 1;
/// Exit status: the command line or the script is wrong.
const EXIT_USAGE: u8 = 2;
/// Exit status: the module cannot be reached or does not answer.
const EXIT_LINK: u8 = 3;

/// Shortest wait for an answer: the documented 300 ms is tight for a loaded machine.
const MIN_TIMEOUT: Duration = Duration::from_secs(1);
/// Shortest wait for an `--expect-urc` after the last command.
const MIN_URC_WAIT: Duration = Duration::from_secs(10);

/// One command to send, and the data for its prompt.
#[derive(Debug, PartialEq, Eq)]
struct Line {
    text: String,
    payload: Option<Vec<u8>>,
}

/// A step of a run: a command, or waiting for a URC before going on.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    Command(Line),
    /// `<< TEXT`: a URC containing TEXT must come before the next command.
    WaitUrc(String),
}

/// Runs `vmodem at`.
pub(crate) async fn run(args: AtArgs) -> ExitCode {
    let steps = match plan(&args) {
        Ok(steps) => steps,
        Err(e) => {
            crate::report(&e);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let Some(target) = args.target.target() else {
        eprintln!(
            "error: say where the module is: --port DEVICE (e.g. /dev/ttyUSB2, or the device \
             `vmodem run` prints) or --tcp HOST:PORT"
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let io = match target.open().await {
        Ok(io) => io,
        Err(e) => {
            crate::report(&e);
            return ExitCode::from(EXIT_LINK);
        }
    };
    let client = Client::builder().min_timeout(MIN_TIMEOUT).build(io);
    let client = match args.timeout {
        Some(t) => client.with_timeout(t),
        None => client,
    };
    let mut session = Session {
        events: client.subscribe_events(),
        client,
        quiet: args.quiet,
        answers: Vec::new(),
        seen_urcs: Vec::new(),
        urcs_before_command: 0,
        refused: Vec::new(),
    };
    // How long a URC may take: the longest documented time of the commands, or --timeout.
    let documented = steps
        .iter()
        .filter_map(|s| match s {
            Step::Command(l) => Some(Command::new(l.text.as_str()).timeout()),
            Step::WaitUrc(_) => None,
        })
        .max()
        .unwrap_or_default();
    let urc_wait = args.timeout.unwrap_or(documented.max(MIN_URC_WAIT));
    let mut failed = Vec::new();
    for step in &steps {
        match step {
            Step::Command(line) => {
                if let Err(e) = session.send(line).await {
                    let code = match e.downcast_ref::<Error>() {
                        Some(Error::UnexpectedResponse { .. } | Error::InvalidArgument { .. }) => {
                            EXIT_USAGE
                        }
                        _ => EXIT_LINK,
                    };
                    crate::report(&e);
                    return ExitCode::from(code);
                }
            }
            Step::WaitUrc(text) => {
                if !session.wait_for_urc(text, urc_wait).await {
                    failed.push(format!(
                        "<< {text:?}: no URC containing it within {urc_wait:?} (--timeout SECS \
                         waits longer); the commands after it were not sent"
                    ));
                    break;
                }
            }
        }
    }
    if failed.is_empty() {
        let deadline = Instant::now() + urc_wait;
        while !args.expect_urc.iter().all(|t| session.urc_seen(t)) {
            if !session.next_event(deadline).await {
                break;
            }
        }
        if let Some(wait) = args.wait {
            let until = Instant::now() + wait;
            while session.next_event(until).await {}
        }
    }
    session.drain();

    for text in &args.expect {
        if !session.answers.iter().any(|a| a.contains(text.as_str())) {
            failed.push(format!("--expect {text:?}: no answer line contains it"));
        }
    }
    for text in &args.expect_urc {
        if !session.urc_seen(text) {
            failed.push(format!(
                "--expect-urc {text:?}: no URC containing it within {urc_wait:?} (--timeout \
                 SECS waits longer)"
            ));
        }
    }
    for (command, result) in &session.refused {
        if !args.expect.iter().any(|t| result.contains(t.as_str())) {
            failed.push(format!(
                "{command} was answered {result} (if that is what you want, say --expect {:?})",
                result.split(" (").next().unwrap_or(result)
            ));
        }
    }
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    for f in &failed {
        eprintln!("check failed: {f}");
    }
    ExitCode::from(EXIT_CHECK)
}

/// The steps, from the arguments or the script, each command with its payload.
fn plan(args: &AtArgs) -> Result<Vec<Step>> {
    let mut steps = match &args.script {
        Some(path) => script(path)?,
        None => {
            let text = args.lines.join("\n");
            parse_lines(&text).map_err(|(n, e)| anyhow::anyhow!("argument {n}: {e}"))?
        }
    };
    if steps.is_empty() {
        bail!(
            "no command to send: give AT lines, e.g. vmodem at --port /tmp/ttyEC25 'AT+CPIN?', \
             or --script FILE"
        );
    }
    let mut payloads = args.payload.iter();
    for step in &mut steps {
        let Step::Command(line) = step else { continue };
        if Command::new(line.text.as_str()).data_entry() == DataEntry::None
            || line.payload.is_some()
        {
            continue;
        }
        if let Some(data) = payloads.next() {
            line.payload = Some(payload(data)?);
        }
    }
    if let Some(extra) = payloads.next() {
        bail!(
            "--payload {extra:?} is left over: only AT+QMTPUBEX=…,<len>, AT+QMTPUB and \
             AT+QFUPL take data after a prompt, one --payload each, in order"
        );
    }
    for step in &steps {
        let Step::Command(line) = step else { continue };
        let takes_data = Command::new(line.text.as_str()).data_entry() != DataEntry::None;
        if takes_data && line.payload.is_none() {
            bail!(
                "{} waits for data after its prompt: give it with --payload DATA, or a `>> DATA` \
                 line after it",
                line.text
            );
        }
    }
    Ok(steps)
}

/// `--payload` text: escapes, or `@FILE` for a file's bytes.
fn payload(text: &str) -> Result<Vec<u8>> {
    match text.strip_prefix('@') {
        Some(file) => {
            std::fs::read(file).with_context(|| format!("--payload @{file}: cannot read the file"))
        }
        None => unescape(text).map_err(|e| anyhow::anyhow!("--payload {text:?}: {e}")),
    }
}

/// Reads a script (`-` for stdin).
fn script(path: &Path) -> Result<Vec<Step>> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("--script -: cannot read stdin")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("--script {}: cannot read the file", path.display()))?
    };
    parse_lines(&text).map_err(|(n, e)| anyhow::anyhow!("{}:{n}: {e}", path.display()))
}

/// Parses lines of a script or the command line: a command (`AT…`, or `> AT…`), `>> DATA`
/// for the command before it, `<< TEXT` to wait for a URC, `#` comments and blank lines.
fn parse_lines(text: &str) -> Result<Vec<Step>, (usize, String)> {
    let mut steps: Vec<Step> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(wanted) = line.strip_prefix("<<") {
            let wanted = wanted.trim();
            if wanted.is_empty() {
                return Err((n, "`<<` needs the text of the URC to wait for".into()));
            }
            steps.push(Step::WaitUrc(wanted.to_string()));
            continue;
        }
        if let Some(data) = line.strip_prefix(">>") {
            let data = data.strip_prefix(' ').unwrap_or(data);
            let Some(Step::Command(last)) = steps.last_mut() else {
                return Err((
                    n,
                    "a `>> DATA` line must follow the command it is for".into(),
                ));
            };
            if last.payload.is_some() {
                return Err((n, format!("{} has its data already", last.text)));
            }
            last.payload = Some(unescape(data).map_err(|e| (n, e))?);
            continue;
        }
        let command = line.strip_prefix("> ").unwrap_or(line);
        if !command
            .get(..2)
            .is_some_and(|at| at.eq_ignore_ascii_case("AT"))
        {
            return Err((
                n,
                format!(
                    "{command:?} is not an AT command line (commands start with AT, payloads \
                     with >>, URC waits with <<, comments with #)"
                ),
            ));
        }
        steps.push(Step::Command(Line {
            text: command.to_string(),
            payload: None,
        }));
    }
    Ok(steps)
}

struct Session {
    client: Client,
    /// Responses and URCs in the order the module sent them.
    events: EventSubscription,
    quiet: bool,
    /// Every information line and result, as printed.
    answers: Vec<String>,
    seen_urcs: Vec<String>,
    /// How many of `seen_urcs` came before the last command was sent.
    urcs_before_command: usize,
    /// Commands not answered OK: `(command, result)`.
    refused: Vec<(String, String)>,
}

impl Session {
    async fn send(&mut self, line: &Line) -> Result<()> {
        self.drain();
        self.urcs_before_command = self.seen_urcs.len();
        if !self.quiet {
            println!("> {}", line.text);
            if let Some(p) = &line.payload {
                println!(">> {}", show(p));
            }
        }
        let client = self.client.clone();
        let text = line.text.clone();
        let payload = line.payload.clone();
        let call = async move {
            match payload {
                Some(p) => client.send_with_payload(text.as_str(), &p).await,
                None => client.command(text.as_str()).await,
            }
        };
        tokio::pin!(call);
        let mut answered = false;
        let mut done = None;
        // The client publishes the response event before it returns the call, so once the
        // call is back the event is waiting: print everything up to it in arrival order.
        while !answered {
            tokio::select! {
                biased;
                event = self.events.recv() => answered = self.print(event, &line.text),
                result = &mut call, if done.is_none() => match result {
                    Ok(_) => done = Some(()),
                    Err(e) => {
                        return Err(anyhow::Error::new(e)
                            .context(format!("{} got no complete answer", line.text)))
                    }
                },
            }
        }
        if done.is_none() {
            call.await.map_err(|e| {
                anyhow::Error::new(e).context(format!("{} got no complete answer", line.text))
            })?;
        }
        Ok(())
    }

    /// Prints one event; `true` if it was the response to `command`.
    fn print(&mut self, event: Result<Event, UrcError>, command: &str) -> bool {
        match event {
            Ok(Event::Urc(urc)) => self.print_urc(urc.to_string()),
            Ok(Event::Response {
                command: c,
                response,
            }) => {
                self.print_response(&c, &response);
                return c == command;
            }
            Ok(_) => {}
            Err(UrcError::Lagged { missed }) => self.print_urc(format!(
                "({missed} answers and URCs lost: printing too slowly)"
            )),
            Err(_) => {}
        }
        false
    }

    fn print_response(&mut self, command: &str, response: &Response) {
        for l in &response.lines {
            let shown = show(l);
            println!("{}{shown}", if self.quiet { "" } else { "  " });
            self.answers.push(shown);
        }
        let result = response.result.to_string();
        if !self.quiet {
            println!("  {result}");
        }
        if response.result != FinalResult::Ok {
            self.refused.push((command.to_string(), result.clone()));
        }
        self.answers.push(result);
    }

    fn print_urc(&mut self, text: String) {
        if !self.quiet {
            println!("urc: {text}");
        }
        self.seen_urcs.push(text);
    }

    /// Prints what has arrived already.
    fn drain(&mut self) {
        while let Some(event) = self.events.try_recv() {
            self.print(event, "");
        }
    }

    /// Waits for one event until `deadline`; `false` if none came.
    async fn next_event(&mut self, deadline: Instant) -> bool {
        match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Ok(Err(UrcError::Closed)) | Err(_) => false,
            Ok(event) => {
                self.print(event, "");
                true
            }
        }
    }

    /// Waits until a URC containing `text` has come (since the last command was sent).
    async fn wait_for_urc(&mut self, text: &str, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            self.drain();
            if self
                .seen_urcs
                .iter()
                .skip(self.urcs_before_command)
                .any(|u| u.contains(text))
            {
                return true;
            }
            if !self.next_event(deadline).await {
                return false;
            }
        }
    }

    fn urc_seen(&self, text: &str) -> bool {
        self.seen_urcs.iter().any(|u| u.contains(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_hold_commands_payloads_and_urc_waits() {
        let steps = parse_lines(
            "# boot\nAT\n> ATE0\n\nAT+QMTPUBEX=0,0,0,0,\"t\",5\n>> hel\\x6co\n<< +QMTPUBEX: 0,0,0\n",
        )
        .unwrap();
        let command = |text: &str, payload: Option<&[u8]>| {
            Step::Command(Line {
                text: text.into(),
                payload: payload.map(<[u8]>::to_vec),
            })
        };
        assert_eq!(
            steps,
            [
                command("AT", None),
                command("ATE0", None),
                command("AT+QMTPUBEX=0,0,0,0,\"t\",5", Some(b"hello")),
                Step::WaitUrc("+QMTPUBEX: 0,0,0".into()),
            ]
        );
        assert_eq!(parse_lines(">> x\n").unwrap_err().0, 1);
        assert!(parse_lines("CPIN?\n")
            .unwrap_err()
            .1
            .contains("not an AT command"));
        assert!(parse_lines("AT\n>> a\n>> b\n")
            .unwrap_err()
            .1
            .contains("already"));
        assert!(parse_lines("<<\n").is_err());
    }
}
