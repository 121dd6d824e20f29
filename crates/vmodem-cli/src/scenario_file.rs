//! `vmodem run --scenario FILE.toml`: the scenario file's TOML, mapped onto the
//! core's plain [`Scenario`] (issue 10 item 3; the format is in
//! `docs/scenarios.md`).
//!
//! The core has no serde, so the mapping lives here. Every error names the
//! line and the field, so a CI job's log says what to fix without a debugger.
//! Fault parameters stay `key=value` strings: the driver builds each fault
//! with the same parser the HTTP API uses, so their errors read alike.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use vmodem_core::scenario::{FaultSpec, ParamValue, RandomFault, Scenario, Step, Trigger};
use vmodem_core::Fault;

/// `--scenario FILE`: the file's path and what it holds, checked.
#[derive(Clone, Debug)]
pub(crate) struct ScenarioArg {
    /// As given on the command line.
    pub(crate) path: PathBuf,
    /// The parsed scenario (boxed: `vmodem run`'s flags stay small).
    pub(crate) scenario: Box<Scenario>,
}

/// Reads and checks a scenario file for `--scenario` (a clap value parser:
/// an error here is a usage error, exit status 2, before anything starts).
pub(crate) fn load(path: &str) -> Result<ScenarioArg, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let scenario = Box::new(parse(&text)?);
    Ok(ScenarioArg {
        path: PathBuf::from(path),
        scenario,
    })
}

/// Random parameter ranges up to this wide are checked value by value at
/// start; wider ones at their ends (a value in between that the kind
/// refuses is reported when drawn, and nothing starts).
const CHECK_EVERY_VALUE: i64 = 256;

/// Checks a fault with [`Fault::parse`], the parser the control API uses.
fn check_fault(kind: &str, params: &[(String, String)]) -> Result<(), String> {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    Fault::parse(kind, &pairs).map(drop).map_err(|e| e.message)
}

/// Checks a random entry's kind and parameters: each range's values (or its
/// ends), the other parameters at their low end.
fn check_random(r: &RandomFault) -> Result<(), String> {
    let at = |which: usize, value: i64| -> Vec<(String, String)> {
        r.params
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let v = match v {
                    ParamValue::Fixed(s) => s.clone(),
                    ParamValue::Range(_, _) if i == which => value.to_string(),
                    ParamValue::Range(lo, _) => lo.to_string(),
                };
                (k.clone(), v)
            })
            .collect()
    };
    check_fault(&r.kind, &at(usize::MAX, 0))?;
    for (i, (_, v)) in r.params.iter().enumerate() {
        if let ParamValue::Range(lo, hi) = *v {
            let values: Vec<i64> = if hi.saturating_sub(lo) <= CHECK_EVERY_VALUE {
                (lo..=hi).collect()
            } else {
                vec![lo, hi]
            };
            for value in values {
                check_fault(&r.kind, &at(i, value))?;
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    step: Vec<StepToml>,
    #[serde(default)]
    random: Vec<Spanned<toml::Table>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepToml {
    after: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    delay: Option<Spanned<String>>,
    fault: Spanned<toml::Table>,
    duration: Option<Spanned<String>>,
    every: Option<Spanned<String>>,
    count: Option<u32>,
}

/// Parses a scenario file's text and checks every fault with the control
/// API's parser. Errors say `line N: field: what is wrong`.
pub(crate) fn parse(text: &str) -> Result<Scenario, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    // 1 + the newlines before the span's start.
    let line = |span: std::ops::Range<usize>| {
        text.as_bytes()[..span.start.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    };
    let dur = |field: &str, s: &Spanned<String>| {
        parse_duration(s.get_ref()).map_err(|e| format!("line {}: {field}: {e}", line(s.span())))
    };
    let mut steps = Vec::new();
    for (i, s) in file.step.iter().enumerate() {
        let trigger = match (&s.after, &s.at) {
            (Some(a), None) => {
                let want = a.get_ref();
                if want.trim().is_empty() || want.contains(['\r', '\n']) {
                    return Err(format!(
                        "line {}: after: a line the module writes to the host, without CR/LF, e.g. \"+QMTCONN: 0,0,0\"",
                        line(a.span())
                    ));
                }
                Trigger::After(want.clone())
            }
            (None, Some(at)) => Trigger::At(dur("at", at)?),
            _ => {
                return Err(format!(
                    "line {}: step[{i}]: give exactly one of `after` (a host line) or `at` (a time after power-up)",
                    line(s.fault.span())
                ))
            }
        };
        let fault = fault_spec(s.fault.get_ref())
            .and_then(|f| check_fault(&f.kind, &f.params).map(|()| f))
            .map_err(|e| format!("line {}: fault: {e}", line(s.fault.span())))?;
        steps.push(Step {
            trigger,
            delay: s
                .delay
                .as_ref()
                .map(|d| dur("delay", d))
                .transpose()?
                .unwrap_or_default(),
            fault,
            duration: s
                .duration
                .as_ref()
                .map(|d| dur("duration", d))
                .transpose()?,
            every: match &s.every {
                Some(e) if dur("every", e)?.is_zero() => {
                    return Err(format!(
                        "line {}: every: a period of at least 1ms, e.g. \"1h\"",
                        line(e.span())
                    ))
                }
                e => e.as_ref().map(|d| dur("every", d)).transpose()?,
            },
            count: s.count,
        });
    }
    let mut random = Vec::new();
    for r in &file.random {
        let at = line(r.span());
        let entry = random_fault(r.get_ref())
            .and_then(|f| check_random(&f).map(|()| f))
            .map_err(|e| format!("line {at}: random: {e}"))?;
        random.push(entry);
    }
    Ok(Scenario {
        seed: file.seed,
        steps,
        random,
    })
}

fn fault_spec(t: &toml::Table) -> Result<FaultSpec, String> {
    let kind = match t.get("kind") {
        Some(toml::Value::String(k)) => k.clone(),
        _ => return Err("`kind` (a string, e.g. \"network_loss\") is required".into()),
    };
    let mut params = Vec::new();
    for (k, v) in t.iter().filter(|(k, _)| *k != "kind") {
        params.push((k.clone(), scalar(k, v)?));
    }
    Ok(FaultSpec { kind, params })
}

fn scalar(key: &str, v: &toml::Value) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!("`{key}`: a string, integer or boolean")),
    }
}

/// `[[random]]`: `kind`, `rate = "1/10m"`, optional `duration` ("5s" or
/// ["5s", "30s"]), `count`, and any fault parameter as a value or an
/// inclusive integer range `[lo, hi]`.
fn random_fault(t: &toml::Table) -> Result<RandomFault, String> {
    let kind = match t.get("kind") {
        Some(toml::Value::String(k)) => k.clone(),
        _ => return Err("`kind` (a string) is required".into()),
    };
    let rate = match t.get("rate") {
        Some(toml::Value::String(r)) => parse_rate(r).map_err(|e| format!("rate: {e}"))?,
        _ => {
            return Err(
                "`rate` (e.g. \"1/10m\": once per ten minutes on average) is required".into(),
            )
        }
    };
    let duration = match t.get("duration") {
        None => None,
        Some(toml::Value::String(d)) => {
            let d = parse_duration(d).map_err(|e| format!("duration: {e}"))?;
            Some((d, d))
        }
        Some(toml::Value::Array(a)) if a.len() == 2 => {
            let get = |v: &toml::Value| match v {
                toml::Value::String(s) => parse_duration(s),
                _ => Err("a duration string".into()),
            };
            let (lo, hi) = (
                get(&a[0]).map_err(|e| format!("duration: {e}"))?,
                get(&a[1]).map_err(|e| format!("duration: {e}"))?,
            );
            if hi < lo {
                return Err("duration: [lo, hi] with lo <= hi".into());
            }
            Some((lo, hi))
        }
        Some(_) => return Err("duration: \"5s\" or a range [\"5s\", \"30s\"]".into()),
    };
    let count = match t.get("count") {
        None => None,
        Some(toml::Value::Integer(n)) if *n >= 0 => {
            Some(u32::try_from(*n).map_err(|_| "count: too large")?)
        }
        Some(_) => return Err("count: a non-negative integer".into()),
    };
    let mut params = Vec::new();
    for (k, v) in t
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "kind" | "rate" | "duration" | "count"))
    {
        let p = match v {
            toml::Value::Array(a) => match a.as_slice() {
                [toml::Value::Integer(lo), toml::Value::Integer(hi)] if lo <= hi => {
                    ParamValue::Range(*lo, *hi)
                }
                _ => return Err(format!("`{k}`: a range is [lo, hi], integers, lo <= hi")),
            },
            v => ParamValue::Fixed(scalar(k, v)?),
        };
        params.push((k.clone(), p));
    }
    Ok(RandomFault {
        kind,
        params,
        mean_interval: rate,
        duration,
        count,
    })
}

/// `"250ms"`, `"5s"`, `"10m"`, `"1h"`, or combined `"1m30s"`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad =
        || format!("`{s}` is not a duration (e.g. \"250ms\", \"5s\", \"10m\", \"1h\", \"1m30s\")");
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let (unit, len) = if rest.starts_with("ms") {
            (Duration::from_millis(1), 2)
        } else if rest.starts_with('s') {
            (Duration::from_secs(1), 1)
        } else if rest.starts_with('m') {
            (Duration::from_secs(60), 1)
        } else if rest.starts_with('h') {
            (Duration::from_secs(3600), 1)
        } else {
            return Err(bad());
        };
        total += unit
            .checked_mul(u32::try_from(n).map_err(|_| bad())?)
            .ok_or_else(bad)?;
        rest = &rest[len..];
    }
    Ok(total)
}

/// `"N/DURATION"`: N faults per DURATION on average → the mean gap.
fn parse_rate(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a rate (e.g. \"1/10m\", \"3/1h\")");
    let (n, per) = s.split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    let per = parse_duration(per.trim())?;
    if per.is_zero() {
        return Err(bad());
    }
    Ok(per / n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issues_minimal_form_parses_as_written() {
        let s = parse(
            r#"seed = 1
[[step]]
after = "+QMTCONN: 0,0,0"    # a line the module wrote to the host
delay = "1s"
fault = { kind = "network_loss" }
duration = "5s"
"#,
        )
        .unwrap();
        assert_eq!(s.seed, 1);
        assert_eq!(s.steps.len(), 1);
        assert_eq!(s.steps[0].trigger, Trigger::After("+QMTCONN: 0,0,0".into()));
        assert_eq!(s.steps[0].delay, Duration::from_secs(1));
        assert_eq!(s.steps[0].duration, Some(Duration::from_secs(5)));
        assert_eq!(s.steps[0].fault.kind, "network_loss");
    }

    #[test]
    fn errors_name_the_line_and_the_field() {
        let e = parse(
            "seed = 1\n[[step]]\nat = \"30s\"\ndelay = \"soon\"\nfault = { kind = \"reset\" }\n",
        )
        .unwrap_err();
        assert!(
            e.contains("line 4") && e.contains("delay") && e.contains("soon"),
            "{e}"
        );
        let e =
            parse("[[step]]\nat = \"1s\"\nfault = { kind = \"reset\" }\nbogus = 1\n").unwrap_err();
        assert!(e.contains("line 4") && e.contains("bogus"), "{e}");
        let e = parse("[[random]]\nkind = \"pdp_deact\"\nrate = \"often\"\n").unwrap_err();
        assert!(e.contains("line ") && e.contains("rate"), "{e}");
    }

    #[test]
    fn faults_are_checked_with_the_control_apis_parser_at_load() {
        let e = parse("[[step]]\nat = \"1s\"\nfault = { kind = \"network_lost\" }\n").unwrap_err();
        assert!(
            e.starts_with(
                "line 3: fault: unknown fault kind \"network_lost\"; allowed: network_loss,"
            ),
            "{e}"
        );
        let e = parse("[[step]]\nat = \"1s\"\nfault = { kind = \"network_loss\", stat = 1 }\n")
            .unwrap_err();
        assert!(
            e.contains(
                "line 3: fault: network_loss: bad value \"1\" for stat; allowed: stat: 0|2|3|4"
            ),
            "{e}"
        );
        let e = parse("\n[[random]]\nkind = \"signal\"\nrate = \"1/1m\"\nrssi = [20, 40]\n")
            .unwrap_err();
        assert!(
            e.contains("line 2: random: signal: bad value \"32\" for rssi"),
            "{e}"
        );
        let e = parse("[[step]]\nafter = \"\"\nfault = { kind = \"reset\" }\n").unwrap_err();
        assert!(e.starts_with("line 2: after: "), "{e}");
        let e = parse("[[step]]\nat = \"1s\"\nevery = \"0s\"\nfault = { kind = \"reset\" }\n")
            .unwrap_err();
        assert!(
            e.starts_with("line 3: every: a period of at least 1ms"),
            "{e}"
        );
        let e = parse("[[step]]\nfault = { kind = \"reset\" }\n").unwrap_err();
        assert!(e.contains("exactly one of `after`"), "{e}");
    }

    #[test]
    fn random_with_ranges_and_rate() {
        let s = parse(
            "seed = 9\n[[random]]\nkind = \"signal\"\nrate = \"2/10m\"\nrssi = [0, 10]\nber = 99\nduration = [\"5s\", \"1m\"]\ncount = 4\n",
        )
        .unwrap();
        let r = &s.random[0];
        assert_eq!(r.mean_interval, Duration::from_secs(300));
        assert_eq!(r.count, Some(4));
        assert_eq!(
            r.duration,
            Some((Duration::from_secs(5), Duration::from_secs(60)))
        );
        assert!(r
            .params
            .contains(&("rssi".into(), ParamValue::Range(0, 10))));
        assert!(r
            .params
            .contains(&("ber".into(), ParamValue::Fixed("99".into()))));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    /// Every example's whole schedule, in virtual time: the player started at
    /// power-up (0), `+QMTCONN: 0,0,0` written at 10 s, played for 30 days.
    /// `tests/scenarios.rs` plays the first seconds of each on a real module;
    /// this covers what no test can wait for (2 minutes, hours, random spells).
    #[test]
    fn every_example_plays_its_schedule() {
        use vmodem_core::scenario::Player;
        use vmodem_core::Instant;
        fn play(name: &str) -> Vec<(u64, String, Option<u64>)> {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/scenarios/");
            let text = std::fs::read_to_string(format!("{dir}{name}")).unwrap();
            let mut p = Player::new(parse(&text).unwrap(), Instant::ZERO);
            let mut out = Vec::new();
            let mut line_seen = false;
            loop {
                let next = p.next_deadline();
                let now = match next {
                    Some(t) if line_seen || t < Instant::from_secs(10) => t,
                    _ if !line_seen => {
                        line_seen = true;
                        p.host_line(Instant::from_secs(10), "+QMTCONN: 0,0,0\r\n");
                        continue;
                    }
                    _ => break,
                };
                if now > Instant::from_secs(30 * 86_400) {
                    break;
                }
                for s in p.poll(now) {
                    let params: Vec<String> = s
                        .fault
                        .params
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    out.push((
                        now.as_millis(),
                        format!("{} {}", s.fault.kind, params.join(" ")),
                        s.duration.map(|d| d.as_millis() as u64),
                    ));
                }
                assert!(out.len() <= 100, "{name}: bounded");
            }
            out
        }
        let s = |t: u64, what: &str, d: Option<u64>| (t, what.to_owned(), d);
        assert_eq!(
            play("basement.toml"),
            vec![s(15_000, "network_loss stat=2", Some(120_000))]
        );
        assert_eq!(
            play("broker-silent.toml"),
            vec![s(
                12_000,
                "link direction=down toxic=blackhole",
                Some(300_000)
            )]
        );
        assert_eq!(
            play("pdp-deact.toml"),
            vec![
                s(11_000, "pdp_deact cid=1", None),
                s(3_611_000, "pdp_deact cid=1", None),
                s(7_211_000, "pdp_deact cid=1", None),
            ]
        );
        assert_eq!(
            play("unexpected-reset.toml"),
            vec![s(20_000, "reset ", None)]
        );
        let cmti = "urc text=+CMTI: \"SM\",1";
        assert_eq!(
            play("unexpected-urc.toml"),
            vec![
                s(11_000, cmti, None),
                s(13_000, cmti, None),
                s(15_000, cmti, None)
            ]
        );
        let nbiot = play("slow-nbiot.toml");
        assert_eq!(nbiot, play("slow-nbiot.toml"), "the seed repeats it");
        assert_eq!(nbiot.len(), 3 + 20);
        assert!(
            nbiot[..3].iter().all(|(t, _, d)| *t == 0 && d.is_none()),
            "{nbiot:?}"
        );
        let mut last = 0;
        for (t, what, d) in &nbiot[3..] {
            assert!(*t > last, "{nbiot:?}");
            last = *t;
            let rssi: u8 = what
                // Parameters in the order of their names (see docs/scenarios.md).
                .strip_prefix("signal ber=99 rssi=")
                .and_then(|r| r.parse().ok())
                .unwrap_or_else(|| panic!("{what}"));
            assert!((2..=8).contains(&rssi), "{what}");
            assert!((10_000..=60_000).contains(&d.unwrap()), "{d:?}");
        }
    }

    /// Every example in `examples/scenarios/` parses (docs/faults.md points at them).
    #[test]
    fn every_example_scenario_parses() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/scenarios");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                let s = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert!(
                    !s.steps.is_empty() || !s.random.is_empty(),
                    "{}: no faults",
                    p.display()
                );
                n += 1;
            }
        }
        assert!(n >= 5, "examples/scenarios/ has {n} files");
    }
}
