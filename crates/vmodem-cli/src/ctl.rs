//! `vmodem ctl`: the control API (issue 10 §1) on the command line, for
//! shell scripts and CI: status, faults, the live timeline.
//!
//! A small HTTP/1.1 client on hyper (one connection per request, loopback
//! in practice); it prints what a person wants to read, or with `--json`
//! the API's own JSON for `jq`. Exit status: 0 done, 1 the API refused
//! (its `{"error"}` is printed), 2 a wrong command line, 3 the API cannot
//! be reached.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpStream;

pub(crate) const CTL_ABOUT: &str = "\
Drive a running vmodem through its control API: module status, faults, the live timeline.

vmodem must run with --control (`vmodem run --control 7878` prints `control: \
http://127.0.0.1:7878`). Give that URL with --url or $VMODEM_CONTROL, and the token with \
--token or $VMODEM_CONTROL_TOKEN if it was started with --control-token. Output is for people; \
--json prints the API's JSON instead (one document, or one event per line for `events`).

Exit status: 0 done; 1 the API refused the request (its error says what is allowed); 2 a \
wrong command line; 3 the control API cannot be reached.";

pub(crate) const CTL_EXAMPLES: &str = "\
Examples
  In one terminal:
    $ vmodem run --link /tmp/ttyEC25 --control 7878
    ...
    control: http://127.0.0.1:7878
  In another:
    $ export VMODEM_CONTROL=http://127.0.0.1:7878
    $ vmodem ctl status
    module 0: ec25, IMEI 867698040000000, power on, registered (home), signal 24,99
      serial: pty /dev/pts/7
      mqtt:   0 connected 127.0.0.1:1883, 0 in flight, 3 sent, 1 received
      faults: none

  Make the module print a URC, once (the host sees \\r\\n+QIND: \"csq\",5,99\\r\\n):
    $ vmodem ctl fault add urc 'text=+QIND: \"csq\",5,99'
    fault 1 on module 0: urc text=+QIND: \"csq\",5,99 (until ended)

  Lose the network for 5 seconds, on 10% of a fleet's modules:
    $ vmodem ctl fault add network_loss stat=2 --for 5s --modules 10%

  End one fault, or all of a module's:
    $ vmodem ctl fault rm 1
    $ vmodem ctl fault clear

  Watch the serial line and the faults as they happen (Ctrl-C stops):
    $ vmodem ctl events --module 0
         1.204 s  m0  host>   AT+QMTCONN=0,\"dev1\"\\r
         1.206 s  m0  <module \\r\\nOK\\r\\n

  In a script, with jq:
    $ vmodem ctl --json status 0 | jq -r '.mqtt[0].state'
    connected

  Unknown kinds and bad parameters are refused with what is allowed:
    $ vmodem ctl fault add netwrk_loss
    error: 400 Bad Request: unknown fault kind \"netwrk_loss\"; allowed: network_loss, ...";

/// Flags of `vmodem ctl`.
#[derive(Debug, Args)]
pub(crate) struct CtlArgs {
    /// The control API: http://HOST:PORT as `vmodem run --control` printed it, HOST:PORT, or
    /// a bare PORT for 127.0.0.1.
    #[arg(long, value_name = "URL", env = "VMODEM_CONTROL", global = true)]
    pub(crate) url: Option<String>,

    /// The bearer token vmodem was started with (--control-token).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "VMODEM_CONTROL_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub(crate) token: Option<String>,

    /// Print the API's JSON instead of text (events: one JSON object per line).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: CtlCommand,
}

/// What to ask.
#[derive(Debug, Subcommand)]
pub(crate) enum CtlCommand {
    /// Every module's status, or module ID's: power, registration, signal, PDP, MQTT, faults.
    Status {
        /// The module (0 for `vmodem run`). Default: all.
        id: Option<u32>,
    },
    /// Start, list and end faults.
    #[command(subcommand)]
    Fault(FaultCommand),
    /// Print the timeline as it happens: serial bytes both ways, faults, scenario steps.
    Events {
        /// Only this module's events.
        #[arg(long, value_name = "ID")]
        module: Option<u32>,
        /// Stop after N events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
        /// Stop after this long, e.g. 30s (default: until Ctrl-C or vmodem stops).
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<Duration>,
    },
}

/// `vmodem ctl fault …`.
#[derive(Debug, Subcommand)]
pub(crate) enum FaultCommand {
    /// Start a fault: KIND and its parameters as key=value, e.g. `network_loss stat=2`.
    /// Kinds: network_loss, pdp_deact, signal, sim_removed, dns_fail, clock, link, error,
    /// no_answer, slow, urc, reset, power_loss (docs/faults.md says what each does).
    Add {
        /// The fault's kind.
        kind: String,
        /// Its parameters, key=value (numbers or text; quote text with spaces).
        #[arg(value_name = "KEY=VALUE", value_parser = parse_param)]
        params: Vec<(String, String)>,
        /// End it by itself after this long: 5s, 500ms, 2m (a unit is required). Default: until
        /// ended.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<Duration>,
        /// The module.
        #[arg(long, value_name = "ID", default_value_t = 0)]
        module: u32,
        /// Several modules of a fleet instead: a count (3, drawn by the fleet's seed), ids
        /// (0,2,5), a share (10%) or all.
        #[arg(long, value_name = "SET", conflicts_with = "module")]
        modules: Option<String>,
    },
    /// The active faults of a module (or of all modules with --all).
    List {
        /// The module.
        #[arg(long, value_name = "ID", default_value_t = 0)]
        module: u32,
        /// Every module's.
        #[arg(long, conflicts_with = "module")]
        all: bool,
    },
    /// End one fault now (its id from `fault add` or `fault list`).
    Rm {
        /// The fault's id.
        id: u64,
        /// Its module.
        #[arg(long, value_name = "ID", default_value_t = 0)]
        module: u32,
    },
    /// End every fault of a module (or of all modules with --all).
    Clear {
        /// The module.
        #[arg(long, value_name = "ID", default_value_t = 0)]
        module: u32,
        /// Every module's.
        #[arg(long, conflicts_with = "module")]
        all: bool,
    },
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!(
            "expected KEY=VALUE such as stat=2 or 'text=+QIND: 1', not {text:?}"
        )),
    }
}

/// `5s`, `500ms`, `2m`, `1.5s`, `1h`: a number and its unit. A bare number
/// is refused, as in scenario files: the unit is never guessed.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let usage =
        || format!("expected a duration with its unit, such as 5s, 500ms or 2m, not {text:?}");
    let (number, unit) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = t.strip_suffix('h') {
        (n, 3600.0)
    } else {
        return Err(usage());
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .and_then(|n| Duration::try_from_secs_f64(n * unit).ok())
        .ok_or_else(usage)
}

/// Where the API is: host:port for the connection and the Host header, and
/// a path prefix (a reverse proxy may put the API under one).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    authority: String,
    prefix: String,
}

fn endpoint(url: Option<&str>) -> Result<Endpoint> {
    let Some(url) = url.map(str::trim).filter(|u| !u.is_empty()) else {
        bail!(
            "where is the control API? Pass --url http://127.0.0.1:PORT (the `control:` line \
             `vmodem run --control PORT` printed) or set VMODEM_CONTROL"
        );
    };
    if url.starts_with("https://") {
        bail!(
            "--url {url}: vmodem ctl speaks plain HTTP (the API listens on loopback); use http://"
        );
    }
    let rest = url.strip_prefix("http://").unwrap_or(url);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = if authority.parse::<u16>().is_ok() {
        format!("127.0.0.1:{authority}")
    } else if authority.contains(':') {
        authority.to_owned()
    } else {
        bail!("--url {url}: expected http://HOST:PORT, HOST:PORT or a bare PORT");
    };
    Ok(Endpoint {
        authority,
        prefix: path.trim_end_matches('/').to_owned(),
    })
}

/// One API client.
struct Api {
    endpoint: Endpoint,
    token: Option<String>,
}

/// The API answered with an error status.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The API could not be reached.
#[derive(Debug)]
struct Unreachable(String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

impl Api {
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response<Incoming>> {
        let unreachable = |e: &dyn std::fmt::Display| {
            anyhow!(Unreachable(format!(
                "cannot reach the control API at http://{} ({e}): is vmodem running with \
                 --control, and is --url / VMODEM_CONTROL its `control:` address?",
                self.endpoint.authority
            )))
        };
        let stream = TcpStream::connect(&self.endpoint.authority)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.endpoint.prefix))
            .header(hyper::header::HOST, &self.endpoint.authority)
            .header(hyper::header::ACCEPT, "application/json");
        if let Some(token) = &self.token {
            request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let bytes = match body {
            Some(body) => {
                request = request.header(hyper::header::CONTENT_TYPE, "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(bytes))
            .context("cannot build the request")?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        if response.status().is_client_error() || response.status().is_server_error() {
            let status = response.status();
            let text = collect(response).await.unwrap_or_default();
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or(text);
            let hint = if status == StatusCode::UNAUTHORIZED {
                " (pass --token or set VMODEM_CONTROL_TOKEN)"
            } else {
                ""
            };
            bail!(Refused(format!("{status}: {message}{hint}")));
        }
        Ok(response)
    }

    /// A request whose answer is JSON (or nothing, for 204).
    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let response = self.send(method, path, body).await?;
        let text = collect(response).await?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).context("the control API answered something that is not JSON")
    }
}

async fn collect(response: Response<Incoming>) -> Result<String> {
    let bytes = response
        .into_body()
        .collect()
        .await
        .context("the control API's answer broke off")?
        .to_bytes();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Runs `vmodem ctl`; prints its own errors and picks the exit status.
pub(crate) async fn run(args: CtlArgs) -> ExitCode {
    match run_inner(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::report(&e);
            if e.downcast_ref::<Refused>().is_some() {
                ExitCode::from(1)
            } else if e.downcast_ref::<Unreachable>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

async fn run_inner(args: CtlArgs) -> Result<()> {
    let api = Api {
        endpoint: endpoint(args.url.as_deref())?,
        token: args.token.filter(|t| !t.is_empty()),
    };
    let json = args.json;
    let mut out = std::io::stdout().lock();
    match args.command {
        CtlCommand::Status { id } => {
            let path = match id {
                Some(id) => format!("/v1/modules/{id}"),
                None => "/v1/modules".to_owned(),
            };
            let answer = api.call(Method::GET, &path, None).await?;
            if json {
                writeln!(out, "{answer}")?;
            } else {
                let list = match answer {
                    Value::Array(list) => list,
                    one => vec![one],
                };
                if list.is_empty() {
                    writeln!(out, "no modules")?;
                }
                for status in &list {
                    write!(out, "{}", status_text(status))?;
                }
            }
        }
        CtlCommand::Fault(FaultCommand::Add {
            kind,
            params,
            duration,
            module,
            modules,
        }) => {
            let mut body = Map::new();
            body.insert("kind".into(), Value::String(kind));
            let mut nested = Map::new();
            for (k, v) in params {
                // Text as given: the API's parser reads numbers from text, and a
                // value such as text=123 stays text.
                nested.insert(k, Value::String(v));
            }
            body.insert("params".into(), Value::Object(nested));
            if let Some(d) = duration {
                body.insert(
                    "duration_ms".into(),
                    json!(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                );
            }
            let answer = match modules {
                Some(set) => {
                    body.insert("modules".into(), modules_json(&set)?);
                    api.call(Method::POST, "/v1/faults", Some(&Value::Object(body)))
                        .await?
                }
                None => {
                    api.call(
                        Method::POST,
                        &format!("/v1/modules/{module}/faults"),
                        Some(&Value::Object(body)),
                    )
                    .await?
                }
            };
            if json {
                writeln!(out, "{answer}")?;
            } else if let Some(list) = answer.get("faults").and_then(Value::as_array) {
                for item in list {
                    writeln!(out, "{}", fault_line(&item["fault"]))?;
                }
                if let Some(stopped) = answer.get("stopped") {
                    writeln!(out, "stopped modules left out: {stopped}")?;
                }
            } else {
                writeln!(out, "{}", fault_line(&answer))?;
            }
        }
        CtlCommand::Fault(FaultCommand::List { module, all }) => {
            let answer = if all {
                api.call(Method::GET, "/v1/faults", None).await?
            } else {
                api.call(Method::GET, &format!("/v1/modules/{module}/faults"), None)
                    .await?
            };
            if json {
                writeln!(out, "{answer}")?;
            } else {
                let faults: Vec<Value> = match &answer {
                    Value::Array(list) => list.clone(),
                    other => other["faults"]
                        .as_array()
                        .map(|l| l.iter().map(|i| i["fault"].clone()).collect())
                        .unwrap_or_default(),
                };
                if faults.is_empty() {
                    writeln!(out, "no active faults")?;
                }
                for f in &faults {
                    writeln!(out, "{}", fault_line(f))?;
                }
            }
        }
        CtlCommand::Fault(FaultCommand::Rm { id, module }) => {
            api.call(
                Method::DELETE,
                &format!("/v1/modules/{module}/faults/{id}"),
                None,
            )
            .await?;
            if !json {
                writeln!(out, "fault {id} on module {module} ended")?;
            }
        }
        CtlCommand::Fault(FaultCommand::Clear { module, all }) => {
            if all {
                api.call(Method::DELETE, "/v1/faults", None).await?;
                if !json {
                    writeln!(out, "every fault of every module ended")?;
                }
            } else {
                api.call(
                    Method::DELETE,
                    &format!("/v1/modules/{module}/faults"),
                    None,
                )
                .await?;
                if !json {
                    writeln!(out, "every fault of module {module} ended")?;
                }
            }
        }
        CtlCommand::Events {
            module,
            count,
            duration,
        } => {
            drop(out);
            let watch = events(&api, module, count, json);
            match duration {
                Some(d) => {
                    if let Ok(r) = tokio::time::timeout(d, watch).await {
                        r?;
                    }
                }
                None => watch.await?,
            }
        }
    }
    Ok(())
}

/// `--modules`: `all`, `10%`, a count, or ids `0,2,5`.
fn modules_json(set: &str) -> Result<Value> {
    let set = set.trim();
    if set == "all" || set.ends_with('%') {
        return Ok(Value::String(set.to_owned()));
    }
    if set.contains(',') || set.starts_with('[') {
        let ids: Result<Vec<u32>, _> = set
            .trim_matches(['[', ']'])
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().parse::<u32>())
            .collect();
        return Ok(json!(ids.map_err(|_| anyhow!(
            "--modules {set}: ids are numbers separated by commas, e.g. 0,2,5"
        ))?));
    }
    let n: u64 = set.parse().map_err(|_| {
        anyhow!("--modules {set}: expected a count (3), ids (0,2,5), a share (10%) or all")
    })?;
    Ok(json!(n))
}

/// Streams `/v1/events`, one line per event.
async fn events(api: &Api, module: Option<u32>, count: Option<u64>, json: bool) -> Result<()> {
    let path = match module {
        Some(m) => format!("/v1/events?module={m}"),
        None => "/v1/events".to_owned(),
    };
    let mut body = api.send(Method::GET, &path, None).await?.into_body();
    let mut seen = 0u64;
    let mut pending = Vec::<u8>::new();
    let mut data = String::new();
    let mut stdout = std::io::stdout();
    while count.is_none_or(|c| seen < c) {
        let Some(frame) = body.frame().await else {
            break;
        };
        let frame = frame.context("the event stream broke off")?;
        let Some(chunk) = frame.data_ref() else {
            continue;
        };
        pending.extend_from_slice(chunk);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\r', '\n']);
            if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            } else if line.is_empty() && !data.is_empty() {
                let text = if json {
                    data.clone()
                } else {
                    serde_json::from_str::<Value>(&data)
                        .map(|v| event_line(&v))
                        .unwrap_or_else(|_| data.clone())
                };
                writeln!(stdout, "{text}")?;
                stdout.flush()?;
                data.clear();
                seen += 1;
                if count.is_some_and(|c| seen >= c) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// Bytes as a person reads them off a serial line: CR, LF and other
/// control bytes escaped.
fn escaped(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

fn event_line(e: &Value) -> String {
    let t = e["t_ms"].as_u64().unwrap_or(0) as f64 / 1000.0;
    let module = e["module"].as_u64().unwrap_or(0);
    let head = format!("{t:>10.3} s  m{module}");
    match e["type"].as_str().unwrap_or("") {
        "serial" => {
            let arrow = if e["dir"] == "host_to_module" {
                "host>  "
            } else {
                "<module"
            };
            let more = match e["truncated"].as_u64() {
                Some(n) if n > 0 => format!(" (+{n} bytes)"),
                _ => String::new(),
            };
            format!(
                "{head}  {arrow} {}{more}",
                escaped(e["text"].as_str().unwrap_or(""))
            )
        }
        "fault" => format!(
            "{head}  fault {} #{} {}{}",
            e["phase"].as_str().unwrap_or("?"),
            e["id"],
            e["kind"].as_str().unwrap_or("?"),
            params_text(&e["params"])
        ),
        "lagged" => format!(
            "(fell behind: {} events missed)",
            e["missed"].as_u64().unwrap_or(0)
        ),
        other => {
            let mut rest = e.as_object().cloned().unwrap_or_default();
            for k in ["t_ms", "module", "type"] {
                rest.remove(k);
            }
            format!("{head}  {other} {}", Value::Object(rest))
        }
    }
}

fn params_text(params: &Value) -> String {
    let Some(map) = params.as_object() else {
        return String::new();
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!(" {k}={s}"),
            v => format!(" {k}={v}"),
        })
        .collect()
}

fn fault_line(f: &Value) -> String {
    let until = match (f["duration_ms"].as_u64(), f["ends_ms"].as_u64()) {
        (Some(d), Some(e)) => format!("for {}, ends at {}", seconds(d), seconds(e)),
        _ => "until ended".to_owned(),
    };
    format!(
        "fault {} on module {}: {}{} ({until})",
        f["id"],
        f["module"],
        f["kind"].as_str().unwrap_or("?"),
        params_text(&f["params"])
    )
}

fn seconds(ms: u64) -> String {
    if ms % 1000 == 0 {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.3} s", ms as f64 / 1000.0)
    }
}

/// 27.007 `<stat>` in words.
fn stat_text(stat: u64) -> &'static str {
    match stat {
        0 => "not registered",
        1 => "registered (home)",
        2 => "searching",
        3 => "registration denied",
        5 => "registered (roaming)",
        _ => "registration unknown",
    }
}

fn status_text(s: &Value) -> String {
    let mut out = format!(
        "module {}: {}, IMEI {}, power {}, {}, signal {},{}\n",
        s["id"],
        s["model"].as_str().unwrap_or("?"),
        s["imei"].as_str().unwrap_or("?"),
        s["power"].as_str().unwrap_or("?"),
        stat_text(s["registration"]["stat"].as_u64().unwrap_or(4)),
        s["signal"]["rssi"],
        s["signal"]["ber"],
    );
    let serial = &s["serial"];
    let line = match serial["kind"].as_str() {
        Some("pty") => format!("pty {}", serial["path"].as_str().unwrap_or("?")),
        Some("tcp") => format!("tcp {}", serial["addr"].as_str().unwrap_or("?")),
        _ => "none".to_owned(),
    };
    out.push_str(&format!("  serial: {line}\n"));
    let pdp: Vec<String> = s["pdp"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| match (p["active"].as_bool(), p["address"].as_str()) {
            (Some(true), Some(a)) => format!("{} active {a}", p["cid"]),
            _ => format!("{} inactive", p["cid"]),
        })
        .collect();
    if !pdp.is_empty() {
        out.push_str(&format!("  pdp:    {}\n", pdp.join("; ")));
    }
    let clients: Vec<String> = s["mqtt"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["state"] != "closed")
        .map(|c| {
            format!(
                "{} {} {}:{}, {} in flight, {} sent, {} received",
                c["client"],
                c["state"].as_str().unwrap_or("?"),
                c["host"].as_str().unwrap_or("?"),
                c["port"],
                c["in_flight"],
                c["sent"],
                c["received"]
            )
        })
        .collect();
    if clients.is_empty() {
        out.push_str("  mqtt:   every client closed\n");
    }
    for c in clients {
        out.push_str(&format!("  mqtt:   {c}\n"));
    }
    let faults: Vec<String> = s["faults"]
        .as_array()
        .into_iter()
        .flatten()
        .map(fault_line)
        .collect();
    if faults.is_empty() {
        out.push_str("  faults: none\n");
    }
    for f in faults {
        out.push_str(&format!("  {f}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_ports_and_durations_read_as_people_write_them() {
        let e = |u: &str| endpoint(Some(u)).unwrap();
        assert_eq!(e("7878").authority, "127.0.0.1:7878");
        assert_eq!(e("http://127.0.0.1:7878/").authority, "127.0.0.1:7878");
        assert_eq!(e("http://10.0.0.2:80/vmodem").prefix, "/vmodem");
        assert_eq!(e("localhost:1").authority, "localhost:1");
        assert!(endpoint(None)
            .unwrap_err()
            .to_string()
            .contains("VMODEM_CONTROL"));
        assert!(endpoint(Some("https://x:1")).is_err());
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("5").is_err(), "no unit guessed");
        assert!(parse_duration("soon").is_err());
        assert_eq!(modules_json("10%").unwrap(), json!("10%"));
        assert_eq!(modules_json("0,2").unwrap(), json!([0, 2]));
        assert_eq!(modules_json("3").unwrap(), json!(3));
        assert!(modules_json("x").is_err());
    }

    #[test]
    fn events_and_faults_print_as_lines() {
        let e = json!({"type": "serial", "module": 0, "t_ms": 1204, "dir": "module_to_host",
                       "text": "\r\nOK\r\n"});
        assert_eq!(event_line(&e), "     1.204 s  m0  <module \\r\\nOK\\r\\n");
        let f = json!({"id": 1, "module": 0, "kind": "signal", "params": {"rssi": 5, "ber": 99},
                       "started_ms": 100, "duration_ms": 5000, "ends_ms": 5100});
        assert_eq!(
            fault_line(&f),
            "fault 1 on module 0: signal ber=99 rssi=5 (for 5 s, ends at 5.100 s)"
        );
    }
}
