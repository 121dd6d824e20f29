//! Device scripts of `vmodem fleet --script FILE` (issue 13 §2): the
//! `vmodem at` script format (`AT…` commands, `>> DATA` payloads, `<< TEXT`
//! URC waits, `#` comments) with placeholders and the few directives a
//! telemetry loop needs. One parsed script is shared by every module; each
//! module's host expands it with its own values.
//!
//! ```text
//! # once, after the module's RDY
//! AT+QMTCFG="version",0,4
//! @connect backoff 2s          # from here to @every: re-run after +QMTSTAT
//! ? AT+QIACT=1                 # `?`: ERROR (already active) is no failure
//! AT+QMTOPEN=0,"{broker_host}",{broker_port}
//! << +QMTOPEN: 0,0
//! AT+QMTCONN=0,"dev-{imei}"
//! << +QMTCONN: 0,0,0
//! @every 10s jitter 2s times 5 # the block to @end, every 10 s (+0–2 s)
//! AT+QMTPUBEX=0,{msgid},1,0,"fleet/{id}/t",{len}
//! >> {"imei":"{imei}","seq":{seq}}
//! << +QMTPUBEX: 0,{msgid},0
//! @end
//! AT+QMTDISC=0                 # after the last repeat
//! ```
//!
//! Decisions where the issue is silent (also in `docs/decisions.md`,
//! "Fleets"): only `{name}` with a known name is a placeholder, so JSON
//! braces need no escaping, and an unknown `{name}` is refused with the list
//! (a typo would otherwise be sent); placeholders are read before escapes
//! (`\x7b` is a literal `{`); `{len}` is the byte length of the command's own
//! `>>` payload after expansion; `{seq}` counts repeats from 0 (0 outside
//! `@every`), `{msgid}` is `seq % 65535 + 1`, a valid non-zero packet id.

use std::fmt::Write as _;
use std::time::Duration;

use crate::escape::unescape;

/// What a placeholder stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Var {
    Id,
    Imei,
    Imsi,
    Iccid,
    BrokerHost,
    BrokerPort,
    Seq,
    MsgId,
    Len,
    UnixMs,
    Count,
    Shard,
}

const VARS: &[(&str, Var)] = &[
    ("id", Var::Id),
    ("imei", Var::Imei),
    ("imsi", Var::Imsi),
    ("iccid", Var::Iccid),
    ("broker_host", Var::BrokerHost),
    ("broker_port", Var::BrokerPort),
    ("seq", Var::Seq),
    ("msgid", Var::MsgId),
    ("len", Var::Len),
    ("unix_ms", Var::UnixMs),
    ("count", Var::Count),
    ("shard", Var::Shard),
];

/// A line with placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template(Vec<Piece>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Lit(Vec<u8>),
    Var(Var),
}

/// The values of one module at one moment of its script.
pub(crate) trait Values {
    /// Appends the value of `var` to `out`.
    fn put(&self, var: Var, out: &mut Vec<u8>);
}

impl Template {
    /// Splits `text` at its placeholders; `escapes` reads `vmodem at`
    /// escapes in the literal parts (payloads have them, commands do not).
    fn parse(text: &str, escapes: bool) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        let flush = |lit: &mut String, pieces: &mut Vec<Piece>| -> Result<(), String> {
            if lit.is_empty() {
                return Ok(());
            }
            let bytes = match escapes {
                true => unescape(lit)?,
                false => lit.as_bytes().to_vec(),
            };
            pieces.push(Piece::Lit(bytes));
            lit.clear();
            Ok(())
        };
        while let Some(at) = rest.find('{') {
            lit.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let name_len = after
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
                .count();
            if name_len > 0 && after.as_bytes().get(name_len) == Some(&b'}') {
                let name = &after[..name_len];
                let Some((_, var)) = VARS.iter().find(|(n, _)| *n == name) else {
                    return Err(format!(
                        "{{{name}}} is not a placeholder; the placeholders are {}",
                        VARS.iter().fold(String::new(), |mut s, (n, _)| {
                            let _ = write!(s, "{}{{{n}}}", if s.is_empty() { "" } else { " " });
                            s
                        })
                    ));
                };
                flush(&mut lit, &mut pieces)?;
                pieces.push(Piece::Var(*var));
                rest = &after[name_len + 1..];
            } else {
                lit.push('{');
                rest = after;
            }
        }
        lit.push_str(rest);
        flush(&mut lit, &mut pieces)?;
        Ok(Template(pieces))
    }

    /// The line with `values` put in.
    pub(crate) fn expand(&self, values: &dyn Values, out: &mut Vec<u8>) {
        for piece in &self.0 {
            match piece {
                Piece::Lit(bytes) => out.extend_from_slice(bytes),
                Piece::Var(var) => values.put(*var, out),
            }
        }
    }

    fn uses(&self, var: Var) -> bool {
        self.0.contains(&Piece::Var(var))
    }
}

/// One step of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// A command line, and the data for its prompt.
    Command {
        text: Template,
        payload: Option<Template>,
        /// `? AT…`: a refusal (ERROR, `+CME ERROR`) is not a failure, for
        /// commands whose refusal is a state (AT+QIACT=1 on an active context).
        may_refuse: bool,
        /// The script line, for messages.
        line: usize,
    },
    /// `<< TEXT`: a URC containing TEXT must come (since the last command was sent).
    WaitUrc { text: Template, line: usize },
    /// `@sleep T [jitter J]`.
    Sleep { time: Duration, jitter: Duration },
}

/// `@every T [jitter J] [times N]` … `@end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Repeat {
    pub(crate) period: Duration,
    pub(crate) jitter: Duration,
    pub(crate) times: Option<u64>,
    pub(crate) steps: Vec<Step>,
}

/// A parsed script: a prologue, an optional connect block (re-run after
/// `+QMTSTAT`), an optional repeat block, an epilogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Script {
    pub(crate) prologue: Vec<Step>,
    pub(crate) connect: Option<(Vec<Step>, Duration)>,
    pub(crate) repeat: Option<Repeat>,
    pub(crate) epilogue: Vec<Step>,
    /// Some command subscribes (publish → delivery is then measured).
    pub(crate) subscribes: bool,
}

/// The default `@connect backoff`: the wait before connecting again (plus
/// a seeded 0–100 % of it, so a cell outage does not end in one storm).
pub(crate) const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);

#[derive(PartialEq)]
enum Section {
    Prologue,
    Connect,
    Repeat,
    Epilogue,
}

impl Script {
    /// Parses a script; errors name the line.
    pub(crate) fn parse(text: &str) -> Result<Script, String> {
        let mut script = Script {
            prologue: Vec::new(),
            connect: None,
            repeat: None,
            epilogue: Vec::new(),
            subscribes: false,
        };
        let mut section = Section::Prologue;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let at = |e: String| format!("line {n}: {e}");
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(directive) = line.strip_prefix('@') {
                let mut words = directive.split_whitespace();
                let name = words.next().unwrap_or("");
                let opts = options(words).map_err(at)?;
                match name {
                    "connect" => {
                        if section != Section::Prologue {
                            return Err(at("@connect comes once, before @every".into()));
                        }
                        let backoff = opt_time(&opts, "backoff")
                            .map_err(at)?
                            .unwrap_or(DEFAULT_BACKOFF);
                        only(&opts, &["backoff"]).map_err(at)?;
                        script.connect = Some((Vec::new(), backoff));
                        section = Section::Connect;
                    }
                    "every" => {
                        if matches!(section, Section::Repeat | Section::Epilogue) {
                            return Err(at("one @every block per script".into()));
                        }
                        let period = opts
                            .iter()
                            .find(|(k, _)| k.is_empty())
                            .map(|(_, v)| time(v))
                            .transpose()
                            .map_err(at)?
                            .filter(|p| !p.is_zero())
                            .ok_or_else(|| {
                                at("@every needs a period above 0, e.g. @every 10s jitter 1s times 5".into())
                            })?;
                        let jitter = opt_time(&opts, "jitter").map_err(at)?.unwrap_or_default();
                        let times = match opts.iter().find(|(k, _)| k == "times") {
                            Some((_, v)) => Some(v.parse::<u64>().map_err(|_| {
                                at(format!("times {v:?}: expected a whole number"))
                            })?),
                            None => None,
                        };
                        only(&opts, &["", "jitter", "times"]).map_err(at)?;
                        script.repeat = Some(Repeat {
                            period,
                            jitter,
                            times,
                            steps: Vec::new(),
                        });
                        section = Section::Repeat;
                    }
                    "end" => {
                        if section != Section::Repeat {
                            return Err(at(
                                "@end closes an @every block, and there is none open".into()
                            ));
                        }
                        only(&opts, &[]).map_err(at)?;
                        section = Section::Epilogue;
                    }
                    "sleep" => {
                        let time = opts
                            .iter()
                            .find(|(k, _)| k.is_empty())
                            .map(|(_, v)| time(v))
                            .transpose()
                            .map_err(at)?
                            .ok_or_else(|| at("@sleep needs a time, e.g. @sleep 500ms".into()))?;
                        let jitter = opt_time(&opts, "jitter").map_err(at)?.unwrap_or_default();
                        only(&opts, &["", "jitter"]).map_err(at)?;
                        script.steps(&section).push(Step::Sleep { time, jitter });
                    }
                    other => {
                        return Err(at(format!(
                            "@{other} is not a directive; they are @connect [backoff T], \
                             @every T [jitter T] [times N], @end, @sleep T [jitter T]"
                        )))
                    }
                }
                continue;
            }
            if let Some(wanted) = line.strip_prefix("<<") {
                let wanted = wanted.trim();
                if wanted.is_empty() {
                    return Err(at("`<<` needs the text of the URC to wait for".into()));
                }
                let text = Template::parse(wanted, false).map_err(at)?;
                script.steps(&section).push(Step::WaitUrc { text, line: n });
                continue;
            }
            if let Some(data) = raw.trim_start().strip_prefix(">>") {
                // The payload is the raw line: a `#` in it is data.
                let data = data.strip_prefix(' ').unwrap_or(data);
                let data = data.trim_end_matches(['\r', '\n']);
                let payload = Template::parse(data, true).map_err(at)?;
                let Some(Step::Command { payload: slot, .. }) = script.steps(&section).last_mut()
                else {
                    return Err(at(
                        "a `>> DATA` line must follow the command it is for".into()
                    ));
                };
                if slot.is_some() {
                    return Err(at("that command has its data already".into()));
                }
                *slot = Some(payload);
                continue;
            }
            let (may_refuse, line) = match line.strip_prefix("? ") {
                Some(rest) => (true, rest.trim_start()),
                None => (false, line),
            };
            let command = line.strip_prefix("> ").unwrap_or(line);
            if !command
                .get(..2)
                .is_some_and(|a| a.eq_ignore_ascii_case("AT"))
            {
                return Err(at(format!(
                    "{command:?} is not an AT command line (commands start with AT, payloads \
                     with >>, URC waits with <<, directives with @, comments with #)"
                )));
            }
            let text = Template::parse(command, false).map_err(at)?;
            if command.to_ascii_uppercase().starts_with("AT+QMTSUB") {
                script.subscribes = true;
            }
            script.steps(&section).push(Step::Command {
                text,
                payload: None,
                may_refuse,
                line: n,
            });
        }
        if section == Section::Repeat {
            return Err("the @every block has no @end".into());
        }
        for step in script.all_steps() {
            if let Step::Command {
                text,
                payload: None,
                line,
                ..
            } = step
            {
                if text.uses(Var::Len) {
                    return Err(format!(
                        "line {line}: {{len}} is the length of the command's `>>` payload, and \
                         it has none"
                    ));
                }
            }
        }
        Ok(script)
    }

    fn steps(&mut self, section: &Section) -> &mut Vec<Step> {
        match section {
            Section::Prologue => &mut self.prologue,
            Section::Connect => &mut self.connect.as_mut().expect("in @connect").0,
            Section::Repeat => &mut self.repeat.as_mut().expect("in @every").steps,
            Section::Epilogue => &mut self.epilogue,
        }
    }

    fn all_steps(&self) -> impl Iterator<Item = &Step> {
        self.prologue
            .iter()
            .chain(self.connect.iter().flat_map(|(s, _)| s))
            .chain(self.repeat.iter().flat_map(|r| &r.steps))
            .chain(&self.epilogue)
    }

    /// Whether the script ends by itself (no endless `@every`).
    pub(crate) fn ends(&self) -> bool {
        self.repeat.as_ref().is_none_or(|r| r.times.is_some())
    }
}

/// A line without its `#` comment (a `#` inside double quotes is text).
fn strip_comment(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '#' if !quoted => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `10s jitter 1s times 5` → `[("", "10s"), ("jitter", "1s"), ("times", "5")]`.
fn options<'a>(words: impl Iterator<Item = &'a str>) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut words = words.peekable();
    while let Some(w) = words.next() {
        if w.starts_with(|c: char| c.is_ascii_digit()) {
            out.push((String::new(), w.to_owned()));
            continue;
        }
        let value = words
            .next()
            .ok_or_else(|| format!("{w} needs a value after it"))?;
        out.push((w.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn only(opts: &[(String, String)], allowed: &[&str]) -> Result<(), String> {
    match opts.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        Some((k, v)) if k.is_empty() => Err(format!("{v:?} is not expected here")),
        Some((k, _)) => Err(format!(
            "{k} is not an option here{}",
            match allowed.iter().filter(|a| !a.is_empty()).count() {
                0 => String::new(),
                _ => format!(
                    " (options: {})",
                    allowed
                        .iter()
                        .filter(|a| !a.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        )),
        None => Ok(()),
    }
}

fn opt_time(opts: &[(String, String)], key: &str) -> Result<Option<Duration>, String> {
    opts.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| time(v))
        .transpose()
}

/// `250ms`, `10s`, `2m`, `1h`, or a bare number of seconds (`0.5`).
pub(crate) fn time(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?}: expected a time such as 250ms, 10s, 2m or 1.5 (seconds)");
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;
    impl Values for Fixed {
        fn put(&self, var: Var, out: &mut Vec<u8>) {
            out.extend_from_slice(match var {
                Var::Id => b"7",
                Var::Imei => b"860000000000007",
                Var::Len => b"30",
                _ => b"?",
            });
        }
    }

    fn expand(t: &Template) -> String {
        let mut out = Vec::new();
        t.expand(&Fixed, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn placeholders_are_known_names_in_braces_and_json_needs_no_escape() {
        let t = Template::parse(r#"{"imei":"{imei}","id":{id}}\r"#, true).unwrap();
        assert_eq!(expand(&t), "{\"imei\":\"860000000000007\",\"id\":7}\r");
        let t = Template::parse("AT+QMTPUBEX=0,1,1,0,\"t/{id}\",{len}", false).unwrap();
        assert_eq!(expand(&t), "AT+QMTPUBEX=0,1,1,0,\"t/7\",30");
        let e = Template::parse("{imie}", false).unwrap_err();
        assert!(
            e.contains("{imie} is not a placeholder") && e.contains("{imei}"),
            "{e}"
        );
    }

    #[test]
    fn a_script_has_a_prologue_a_connect_block_a_repeat_and_an_epilogue() {
        let s = Script::parse(
            "AT+QMTCFG=\"version\",0,4 # MQTT 3.1.1\n\
             @connect backoff 2s\n\
             AT+QMTOPEN=0,\"{broker_host}\",{broker_port}\n\
             << +QMTOPEN: 0,0\n\
             AT+QMTSUB=0,1,\"c/{id}\",1\n\
             @every 10s jitter 500ms times 3\n\
             AT+QMTPUBEX=0,{msgid},1,0,\"t/{id}\",{len}\n\
             >> {\"seq\":{seq}} # not a comment\n\
             << +QMTPUBEX: 0,{msgid},0\n\
             @end\n\
             AT+QMTDISC=0\n",
        )
        .unwrap();
        assert_eq!(s.prologue.len(), 1);
        let (connect, backoff) = s.connect.as_ref().unwrap();
        assert_eq!((connect.len(), *backoff), (3, Duration::from_secs(2)));
        let r = s.repeat.as_ref().unwrap();
        assert_eq!(
            (r.period, r.jitter, r.times, r.steps.len()),
            (
                Duration::from_secs(10),
                Duration::from_millis(500),
                Some(3),
                2
            )
        );
        let Step::Command {
            payload: Some(p), ..
        } = &r.steps[0]
        else {
            panic!("{:?}", r.steps[0])
        };
        assert_eq!(expand(p), "{\"seq\":?} # not a comment");
        assert_eq!(s.epilogue.len(), 1);
        assert!(s.subscribes && s.ends());
        let s = Script::parse("@connect\n? AT+QIACT=1\nAT+QMTOPEN=0,\"h\",1\n").unwrap();
        let steps = &s.connect.unwrap().0;
        assert!(matches!(
            steps[0],
            Step::Command {
                may_refuse: true,
                ..
            }
        ));
        assert!(matches!(
            steps[1],
            Step::Command {
                may_refuse: false,
                ..
            }
        ));
    }

    #[test]
    fn mistakes_are_refused_with_the_line() {
        let e = |text: &str| Script::parse(text).unwrap_err();
        assert!(e("AT\n@every 0s\n@end\n").starts_with("line 2: @every needs a period"));
        assert!(e("@every 1s\nAT\n").contains("no @end"));
        assert!(e("@end\n").contains("line 1: @end closes"));
        assert!(e(">> x\n").contains("line 1: a `>> DATA` line must follow"));
        assert!(e("CPIN?\n").contains("not an AT command"));
        assert!(e("@every 1s\n@end\n@connect\n").contains("@connect comes once"));
        assert!(e("@every 1s jiter 2s\n@end\n").contains("jiter is not an option here"));
        assert!(e("AT+QMTPUBEX=0,0,0,0,\"t\",{len}\n").contains("{len} is the length"));
        assert!(e("@wait 1s\n").contains("@wait is not a directive"));
        assert!(Script::parse("@every 1s\n@end\n")
            .unwrap()
            .repeat
            .unwrap()
            .times
            .is_none());
    }

    #[test]
    fn times_have_units() {
        assert_eq!(time("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(time("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(time("1.5"), Ok(Duration::from_millis(1500)));
        assert!(time("soon").is_err());
    }
}
