//! The control API over HTTP/JSON (issue 10 §1): status, faults, the
//! timeline as Server-Sent Events, Prometheus metrics. `docs/control.md`
//! documents every path with curl examples.
//!
//! Every request reaches a module through its [`ModuleControl`] (a bounded
//! queue run on the module's task), so the API never touches a module's
//! state from another thread and a busy API cannot make a module queue
//! without bound. Errors are JSON `{"error": "…"}` that say what is allowed;
//! a fault's parameters are checked by [`Fault::parse`], the one parser the
//! API shares with `vmodem ctl`, scenario files and fleets.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use vmodem_core::{ActiveFault, Fault, FaultId, Instant, ModuleStatus};

use super::registry::{ModuleEntry, Registry, SerialLine};
use crate::fault_log::params_json;
use crate::ModuleGone;

/// The largest request body taken (a fault is a few hundred bytes).
const BODY_LIMIT: usize = 64 * 1024;

/// How many modules one listing asks at a time: enough to hide the round
/// trip to each module's task on a fleet, few enough not to flood the runtime.
const CONCURRENT_SNAPSHOTS: usize = 64;

/// The longest duration a fault may be given: a year, far from any clock's limit.
const MAX_DURATION_MS: u64 = 366 * 86_400_000;

/// Serves the control API on `listener` until the task is dropped. With a
/// `token`, every request needs `Authorization: Bearer <token>` (`401`
/// otherwise); without one, callers should bind loopback only (`vmodem run`
/// refuses anything else).
pub async fn serve(
    listener: TcpListener,
    token: Option<String>,
    registry: Registry,
) -> std::io::Result<()> {
    axum::serve(listener, router(token, registry)).await
}

/// The API as a [`Router`], for embedding it in another server.
pub fn router(token: Option<String>, registry: Registry) -> Router {
    let api = Router::new()
        .route("/v1/modules", get(list_modules))
        .route("/v1/modules/{id}", get(get_module))
        .route(
            "/v1/modules/{id}/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route(
            "/v1/modules/{id}/faults/{fid}",
            get(get_fault).delete(end_fault),
        )
        .route(
            "/v1/faults",
            get(fleet_faults)
                .post(fleet_add_fault)
                .delete(fleet_clear_faults),
        )
        .route("/v1/events", get(super::sse::events))
        .route("/metrics", get(super::metrics::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(registry);
    match token {
        Some(token) => api.layer(middleware::from_fn_with_state(
            std::sync::Arc::<str>::from(token),
            require_token,
        )),
        None => api,
    }
}

/// An answer of the API that is not a success: a status and `{"error": …}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// A module that has stopped is still registered for a moment (a fleet
/// removes it when its task ends): `410 Gone`, not `404`, so a client can
/// tell it from a typo.
impl From<(u32, ModuleGone)> for ApiError {
    fn from((id, _): (u32, ModuleGone)) -> ApiError {
        ApiError::new(
            StatusCode::GONE,
            format!("module {id} has stopped; GET /v1/modules lists the running ones"),
        )
    }
}

async fn require_token(
    State(token): State<std::sync::Arc<str>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 §11.1).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token);
    match given {
        Some(given) if same_secret(given.trim().as_bytes(), token.as_bytes()) => {
            next.run(request).await
        }
        _ => {
            let message = match given {
                None => {
                    "this control API needs a token: send the header \
                         Authorization: Bearer <the --control-token it was started with>"
                }
                Some(_) => {
                    "wrong token: send Authorization: Bearer <the --control-token \
                            it was started with>"
                }
            };
            let mut response = ApiError::new(StatusCode::UNAUTHORIZED, message).into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

/// Compares secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no such path; the API has GET /v1/modules, GET /v1/modules/{id}, \
         GET|POST|DELETE /v1/modules/{id}/faults, GET|DELETE /v1/modules/{id}/faults/{fault_id}, \
         GET|POST|DELETE /v1/faults, GET /v1/events, GET /metrics",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this path; GET reads, POST adds a fault \
         (…/faults, /v1/faults), DELETE ends faults",
    )
}

// ---- status ------------------------------------------------------------------

/// What one request to a module brings back: its status, the `--model`
/// name it imitates and its clock.
pub(crate) struct Snapshot {
    pub(crate) status: ModuleStatus,
    pub(crate) model: &'static str,
    pub(crate) now: Instant,
}

/// Every module's snapshot, in id order, asked [`CONCURRENT_SNAPSHOTS`] at a
/// time, as a stream (a fleet's metrics fold it without holding every
/// status at once); a module that stopped meanwhile is an `Err`.
pub(crate) fn snapshot_stream(
    registry: &Registry,
) -> impl futures_util::Stream<Item = (ModuleEntry, Result<Snapshot, ApiError>)> {
    use futures_util::stream::{self, StreamExt};
    stream::iter(registry.modules())
        .map(|entry| async move {
            let snap = snapshot(&entry).await;
            (entry, snap)
        })
        .buffered(CONCURRENT_SNAPSHOTS)
}

/// [`snapshot_stream`], collected.
async fn snapshots(registry: &Registry) -> Vec<(ModuleEntry, Result<Snapshot, ApiError>)> {
    futures_util::StreamExt::collect(snapshot_stream(registry)).await
}

pub(crate) async fn snapshot(entry: &ModuleEntry) -> Result<Snapshot, ApiError> {
    entry
        .control
        .with_modem(|m, now| Snapshot {
            status: m.status(),
            model: m.config().model.profile().cli_name,
            now,
        })
        .await
        .map_err(|e| ApiError::from((entry.id, e)))
}

#[derive(Serialize)]
struct StatusJson {
    id: u32,
    model: &'static str,
    imei: String,
    imsi: String,
    iccid: String,
    power: &'static str,
    registration: RegistrationJson,
    signal: SignalJson,
    pdp: Vec<PdpJson>,
    mqtt: Vec<ClientJson>,
    faults: Vec<FaultJson>,
    serial: Value,
    /// Final error results since the module started, by code: `"ERROR"` or
    /// the `+CME ERROR` number (as text: JSON keys are strings).
    errors: BTreeMap<String, u64>,
    /// The module's clock now, so `ends_ms` can be read as a time left.
    t_ms: u64,
}

#[derive(Serialize)]
struct RegistrationJson {
    stat: u8,
    act: Option<u8>,
}

#[derive(Serialize)]
struct SignalJson {
    rssi: u8,
    ber: u8,
}

#[derive(Serialize)]
struct PdpJson {
    cid: u8,
    active: bool,
    address: Option<String>,
}

#[derive(Serialize)]
struct ClientJson {
    client: u8,
    state: &'static str,
    host: Option<String>,
    port: Option<u16>,
    in_flight: usize,
    sent: u64,
    received: u64,
}

/// A fault as the API shows it: times on the module's clock (ms since it
/// was created), `null` when open-ended.
#[derive(Serialize)]
pub(crate) struct FaultJson {
    id: u64,
    module: u32,
    kind: &'static str,
    params: Map<String, Value>,
    started_ms: u64,
    duration_ms: Option<u64>,
    ends_ms: Option<u64>,
}

impl FaultJson {
    pub(crate) fn new(module: u32, f: &ActiveFault) -> FaultJson {
        FaultJson {
            id: f.id.0,
            module,
            kind: f.fault.kind(),
            params: params_json(&f.fault),
            started_ms: f.started.as_millis(),
            duration_ms: f
                .ends
                .map(|e| e.as_millis().saturating_sub(f.started.as_millis())),
            ends_ms: f.ends.map(Instant::as_millis),
        }
    }
}

fn serial_json(serial: &SerialLine) -> Value {
    match serial {
        SerialLine::Pty { path, link } => {
            let mut v = json!({"kind": "pty", "path": path.display().to_string()});
            if let Some(link) = link {
                v["link"] = json!(link.display().to_string());
            }
            v
        }
        SerialLine::Tcp(addr) => json!({"kind": "tcp", "addr": addr.to_string()}),
        SerialLine::None => json!({"kind": "none"}),
    }
}

fn status_json(entry: &ModuleEntry, snap: Snapshot) -> StatusJson {
    let s = snap.status;
    StatusJson {
        id: entry.id,
        model: snap.model,
        imei: s.imei,
        imsi: s.imsi,
        iccid: s.iccid,
        power: s.power.as_str(),
        registration: RegistrationJson {
            stat: s.registration.stat,
            act: s.registration.act,
        },
        signal: SignalJson {
            rssi: s.signal.rssi,
            ber: s.signal.ber,
        },
        pdp: s
            .pdp
            .into_iter()
            .map(|p| PdpJson {
                cid: p.cid,
                active: p.active,
                address: p.address,
            })
            .collect(),
        mqtt: s
            .mqtt
            .into_iter()
            .map(|c| ClientJson {
                client: c.client,
                state: c.state.as_str(),
                host: c.host,
                port: c.port,
                in_flight: c.in_flight,
                sent: c.sent,
                received: c.received,
            })
            .collect(),
        faults: s
            .faults
            .iter()
            .map(|f| FaultJson::new(entry.id, f))
            .collect(),
        serial: serial_json(&entry.serial),
        errors: s
            .errors
            .iter()
            .map(|(code, n)| {
                (
                    code.map_or_else(|| "ERROR".to_owned(), |c| c.to_string()),
                    *n,
                )
            })
            .collect(),
        t_ms: snap.now.as_millis(),
    }
}

/// A module id from the path; `400` if it is not a number, `404` if no
/// module has it.
pub(crate) fn entry(registry: &Registry, id: &str) -> Result<ModuleEntry, ApiError> {
    let n: u32 = id.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "module ids are numbers (0, 1, …), not {id:?}; GET /v1/modules lists them"
        ))
    })?;
    registry.get(n).ok_or_else(|| {
        let ids = registry.ids();
        let known = match (ids.first(), ids.last()) {
            (Some(a), Some(b)) if a == b => format!("the only module is {a}"),
            (Some(a), Some(b)) => format!("modules are {a}–{b} ({} of them)", ids.len()),
            _ => "there are no modules".to_owned(),
        };
        ApiError::new(StatusCode::NOT_FOUND, format!("no module {n}; {known}"))
    })
}

async fn list_modules(State(registry): State<Registry>) -> Result<Json<Vec<StatusJson>>, ApiError> {
    // A module that stopped while we were listing is left out.
    let out = snapshots(&registry)
        .await
        .into_iter()
        .filter_map(|(entry, snap)| Some(status_json(&entry, snap.ok()?)))
        .collect();
    Ok(Json(out))
}

async fn get_module(
    State(registry): State<Registry>,
    Path(id): Path<String>,
) -> Result<Json<StatusJson>, ApiError> {
    let entry = entry(&registry, &id)?;
    let snap = snapshot(&entry).await?;
    Ok(Json(status_json(&entry, snap)))
}

// ---- faults ------------------------------------------------------------------

/// A fault request: the fault, how long it lasts, and the body's other
/// fields the caller may want (`modules`, `seed`).
#[derive(Debug)]
struct FaultRequest {
    fault: Fault,
    duration: Option<Duration>,
    extra: Map<String, Value>,
}

/// Reads a JSON body; `415` for another content type, `400` for bad JSON
/// or anything but an object.
fn json_object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or_default().to_ascii_lowercase();
        let essence = ct.split(';').next().unwrap_or_default().trim();
        if essence != "application/json" && !essence.ends_with("+json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "the body must be JSON (Content-Type: application/json), not {essence:?}; \
                     with curl: --json '{{\"kind\": \"urc\", \"text\": \"+QIND: 1\"}}'"
                ),
            ));
        }
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "the body must be a JSON object, e.g. {\"kind\": \"network_loss\", \"stat\": 2, \
             \"duration_ms\": 5000}",
        )),
        Err(e) => Err(ApiError::bad_request(format!(
            "the body is not JSON ({e}); send e.g. {{\"kind\": \"network_loss\", \"stat\": 2}}"
        ))),
    }
}

/// A parameter's value as the text [`Fault::parse`] takes.
fn param_text(key: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        _ => Err(ApiError::bad_request(format!(
            "parameter {key} must be a string or a number"
        ))),
    }
}

/// Builds the fault from a body `{"kind", <params flat or under "params">,
/// "duration_ms"?}`; `keep` names body fields that are not parameters.
fn fault_request(mut body: Map<String, Value>, keep: &[&str]) -> Result<FaultRequest, ApiError> {
    let kind = match body.remove("kind") {
        Some(Value::String(kind)) => kind,
        _ => {
            return Err(ApiError::bad_request(format!(
                "the body needs \"kind\", one of {}; e.g. {{\"kind\": \"urc\", \"text\": \
                 \"+QIND: 1\"}}",
                Fault::KINDS.join(", ")
            )))
        }
    };
    let duration = match body.remove("duration_ms") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64() {
            Some(ms) if ms <= MAX_DURATION_MS => Some(Duration::from_millis(ms)),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "duration_ms must be a whole number of milliseconds from 0 to \
                     {MAX_DURATION_MS}, or left out (the fault lasts until ended), not {v}"
                )))
            }
        },
    };
    let mut extra = Map::new();
    for key in keep {
        if let Some(v) = body.remove(*key) {
            extra.insert((*key).to_owned(), v);
        }
    }
    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(nested) = body.remove("params") {
        let Value::Object(nested) = nested else {
            return Err(ApiError::bad_request(
                "\"params\" must be an object, e.g. {\"stat\": 2}; or give the parameters \
                 beside \"kind\"",
            ));
        };
        for (k, v) in &nested {
            if let Some(text) = param_text(k, v)? {
                params.push((k.clone(), text));
            }
        }
    }
    for (k, v) in &body {
        if let Some(text) = param_text(k, v)? {
            params.push((k.clone(), text));
        }
    }
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let fault = Fault::parse(&kind, &pairs).map_err(|e| ApiError::bad_request(e.message))?;
    Ok(FaultRequest {
        fault,
        duration,
        extra,
    })
}

/// Starts `fault` on one module; its id and how the API shows it.
async fn start_fault(
    entry: &ModuleEntry,
    fault: Fault,
    duration: Option<Duration>,
) -> Result<FaultJson, ApiError> {
    let id = entry.id;
    entry
        .control
        .with_modem(move |m, now| {
            let fid = m.add_fault(now, fault.clone(), duration);
            // Listed until it ends; one with a zero duration has ended already.
            let active = m.faults().iter().find(|f| f.id == fid).cloned();
            let active = active.unwrap_or(ActiveFault {
                id: fid,
                fault,
                started: now,
                ends: Some(now),
            });
            FaultJson::new(id, &active)
        })
        .await
        .map_err(|e| ApiError::from((id, e)))
}

async fn list_faults(
    State(registry): State<Registry>,
    Path(id): Path<String>,
) -> Result<Json<Vec<FaultJson>>, ApiError> {
    let entry = entry(&registry, &id)?;
    let snap = snapshot(&entry).await?;
    Ok(Json(
        snap.status
            .faults
            .iter()
            .map(|f| FaultJson::new(entry.id, f))
            .collect(),
    ))
}

async fn add_fault(
    State(registry): State<Registry>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<FaultJson>), ApiError> {
    let entry = entry(&registry, &id)?;
    let request = fault_request(json_object(&headers, &body)?, &[])?;
    let fault = start_fault(&entry, request.fault, request.duration).await?;
    Ok((StatusCode::CREATED, Json(fault)))
}

fn fault_id(module: u32, fid: &str) -> Result<FaultId, ApiError> {
    fid.parse().map(FaultId).map_err(|_| {
        ApiError::bad_request(format!(
            "fault ids are numbers, not {fid:?}; GET /v1/modules/{module}/faults lists them"
        ))
    })
}

fn no_such_fault(module: u32, fid: FaultId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "module {module} has no active fault {} (it ended, or never was); \
             GET /v1/modules/{module}/faults lists the active ones",
            fid.0
        ),
    )
}

async fn get_fault(
    State(registry): State<Registry>,
    Path((id, fid)): Path<(String, String)>,
) -> Result<Json<FaultJson>, ApiError> {
    let entry = entry(&registry, &id)?;
    let fid = fault_id(entry.id, &fid)?;
    let snap = snapshot(&entry).await?;
    snap.status
        .faults
        .iter()
        .find(|f| f.id == fid)
        .map(|f| Json(FaultJson::new(entry.id, f)))
        .ok_or_else(|| no_such_fault(entry.id, fid))
}

async fn end_fault(
    State(registry): State<Registry>,
    Path((id, fid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let entry = entry(&registry, &id)?;
    let fid = fault_id(entry.id, &fid)?;
    let ended = entry
        .control
        .with_modem(move |m, now| m.end_fault(now, fid))
        .await
        .map_err(|e| ApiError::from((entry.id, e)))?;
    if ended {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_such_fault(entry.id, fid))
    }
}

async fn clear_faults(
    State(registry): State<Registry>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let entry = entry(&registry, &id)?;
    entry
        .control
        .with_modem(|m, now| m.clear_faults(now))
        .await
        .map_err(|e| ApiError::from((entry.id, e)))?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- fleet-wide faults -------------------------------------------------------

/// Which modules `"modules"` names: a count (drawn), a list of ids, `"N%"`
/// (drawn) or `"all"`. Draws are seeded ([`Registry::with_seed`]).
fn select(
    registry: &Registry,
    selector: Option<&Value>,
    seed: Option<u64>,
) -> Result<Vec<u32>, ApiError> {
    const FORMS: &str = "\"modules\" is a count (3), a list of ids ([0, 2]), a share (\"10%\") \
                         or \"all\"";
    let ids = registry.ids();
    let draw = |k: usize| {
        let seed = seed.unwrap_or_else(|| registry.next_draw_seed());
        seeded_choice(&ids, k, seed)
    };
    match selector {
        None => Err(ApiError::bad_request(format!(
            "the body needs \"modules\": {FORMS}"
        ))),
        Some(Value::String(s)) if s == "all" => Ok(ids),
        Some(Value::String(s)) => {
            let pct = s
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .filter(|p| *p > 0.0 && *p <= 100.0)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{FORMS}; a share is 0-100%, not {s:?}"))
                })?;
            // At least one module for any share above 0.
            let k = ((ids.len() as f64) * pct / 100.0).ceil() as usize;
            Ok(draw(k.min(ids.len())))
        }
        Some(Value::Number(n)) => {
            let k = n
                .as_u64()
                .filter(|k| *k >= 1)
                .ok_or_else(|| ApiError::bad_request(format!("{FORMS}; a count is 1 or more")))?;
            if k > ids.len() as u64 {
                return Err(ApiError::bad_request(format!(
                    "\"modules\": {k} is more than the {} modules running; use \"all\"",
                    ids.len()
                )));
            }
            Ok(draw(k as usize))
        }
        Some(Value::Array(list)) => {
            let mut chosen = Vec::with_capacity(list.len());
            for v in list {
                let id = v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("{FORMS}; ids are numbers, not {v}"))
                    })?;
                if registry.get(id).is_none() {
                    return Err(ApiError::new(
                        StatusCode::NOT_FOUND,
                        format!("no module {id}; GET /v1/modules lists them"),
                    ));
                }
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
            Ok(chosen)
        }
        Some(other) => Err(ApiError::bad_request(format!("{FORMS}, not {other}"))),
    }
}

/// `k` of `ids` chosen by `seed` (a partial Fisher–Yates shuffle on
/// SplitMix64), in id order.
fn seeded_choice(ids: &[u32], k: usize, seed: u64) -> Vec<u32> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut pool = ids.to_vec();
    let k = k.min(pool.len());
    for i in 0..k {
        let j = i + (next() % (pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool.sort_unstable();
    pool
}

#[derive(Serialize)]
struct FleetFault {
    module: u32,
    fault: FaultJson,
}

async fn fleet_add_fault(
    State(registry): State<Registry>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request = fault_request(json_object(&headers, &body)?, &["modules", "seed"])?;
    let seed = match request.extra.get("seed") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| {
            ApiError::bad_request(format!("\"seed\" is a whole number, not {v}"))
        })?),
    };
    let ids = select(&registry, request.extra.get("modules"), seed)?;
    let mut faults = Vec::with_capacity(ids.len());
    let mut stopped = Vec::new();
    let started = {
        use futures_util::stream::{self, StreamExt};
        let (registry, fault, duration) = (&registry, &request.fault, request.duration);
        stream::iter(ids)
            .map(|id| async move {
                let result = match registry.get(id) {
                    Some(entry) => start_fault(&entry, fault.clone(), duration).await.ok(),
                    None => None,
                };
                (id, result)
            })
            .buffered(CONCURRENT_SNAPSHOTS)
            .collect::<Vec<_>>()
            .await
    };
    for (id, result) in started {
        match result {
            Some(fault) => faults.push(FleetFault { module: id, fault }),
            None => stopped.push(id),
        }
    }
    let mut answer = json!({ "faults": faults });
    if !stopped.is_empty() {
        answer["stopped"] = json!(stopped);
    }
    Ok((StatusCode::CREATED, Json(answer)))
}

async fn fleet_faults(State(registry): State<Registry>) -> Json<Value> {
    let mut faults = Vec::new();
    for (entry, snap) in snapshots(&registry).await {
        if let Ok(snap) = snap {
            for f in &snap.status.faults {
                faults.push(FleetFault {
                    module: entry.id,
                    fault: FaultJson::new(entry.id, f),
                });
            }
        }
    }
    Json(json!({ "faults": faults }))
}

async fn fleet_clear_faults(State(registry): State<Registry>) -> StatusCode {
    for entry in registry.modules() {
        let _ = entry.control.with_modem(|m, now| m.clear_faults(now)).await;
    }
    StatusCode::NO_CONTENT
}

/// `?module=N` of `/v1/events`: `None` for all modules.
pub(crate) fn module_filter(
    registry: &Registry,
    query: &Query<HashMap<String, String>>,
) -> Result<Option<u32>, ApiError> {
    match query.get("module") {
        None => Ok(None),
        Some(id) => entry(registry, id).map(|e| Some(e.id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_choice_repeats_with_its_seed_and_takes_k_distinct_ids() {
        let ids: Vec<u32> = (0..100).collect();
        let a = seeded_choice(&ids, 10, 7);
        assert_eq!(a, seeded_choice(&ids, 10, 7));
        assert_ne!(a, seeded_choice(&ids, 10, 8));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]), "sorted, distinct: {a:?}");
        assert_eq!(seeded_choice(&ids, 200, 1), ids);
    }

    #[test]
    fn parameters_come_flat_or_nested_numbers_or_text() {
        let body = |v: Value| fault_request(v.as_object().unwrap().clone(), &["modules"]);
        let r = body(json!({"kind": "signal", "rssi": 5, "params": {"ber": "0"},
                            "duration_ms": 300, "modules": "all"}))
        .unwrap();
        assert_eq!(r.fault, Fault::Signal { rssi: 5, ber: 0 });
        assert_eq!(r.duration, Some(Duration::from_millis(300)));
        assert_eq!(r.extra["modules"], "all");
        let e = body(json!({"kind": "netwrk_loss"})).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.message.contains("network_loss, pdp_deact"),
            "{}",
            e.message
        );
        for bad in [
            json!({"stat": 2}),
            json!({"kind": "network_loss", "duration_ms": -1}),
            json!({"kind": "network_loss", "stat": [2]}),
            json!({"kind": "slow", "delay_ms": 1.5}),
        ] {
            assert_eq!(body(bad).unwrap_err().status, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"ab", b"abc"));
    }
}
