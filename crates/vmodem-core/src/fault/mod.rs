//! Faults: the field's misbehaviour on cue (issue 10).
//!
//! Faults are *inputs* to the sans-I/O core, like host bytes and network
//! events, so what they do is deterministic and testable in virtual time.
//! One parser from `key=value` strings ([`Fault::parse`]) serves the HTTP
//! API, `vmodem ctl`, scenario files and fleets, so their errors are the same.
//! Link faults ([`Fault::Link`]) are only recorded here; the driver applies
//! them as toxics on the TCP links.

use core::fmt;

use crate::time::Instant;

mod device;
mod modem;
mod module;

pub(crate) use device::Environment;

/// Identifies one fault started on a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FaultId(pub u64);

/// One kind of fault with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Registration lost with `<stat>` 0, 2, 3 or 4 (27.007 §7.2).
    NetworkLoss {
        /// The `<stat>` the module reports while the fault lasts.
        stat: u8,
    },
    /// The network deactivates PDP context `cid` (`+QIURC: "pdpdeact",<cid>`).
    PdpDeact {
        /// 1–16.
        cid: u8,
    },
    /// Signal quality as `AT+CSQ` reports it.
    Signal {
        /// 0–31 or 99.
        rssi: u8,
        /// 0–7 or 99.
        ber: u8,
    },
    /// The SIM card is taken out.
    SimRemoved,
    /// DNS lookups fail; IP literals still work.
    DnsFail,
    /// The module's clock is off by `offset_s` seconds (`AT+CCLK`, TLS validity).
    Clock {
        /// Seconds added to the real time.
        offset_s: i64,
    },
    /// Commands starting with `command` fail.
    Error {
        /// Command prefix, e.g. `AT+QMTOPEN` (case-insensitive).
        command: String,
        /// `+CME ERROR: <cme>`; `None` gives plain `ERROR`.
        cme: Option<u16>,
    },
    /// The module ignores the host (a hung module).
    NoAnswer,
    /// Every answer comes `delay_ms` later.
    Slow {
        /// Milliseconds added before every answer.
        delay_ms: u64,
    },
    /// Writes `text` once as a URC line.
    Urc {
        /// The URC's text, without CR LF.
        text: String,
    },
    /// An unexpected reboot.
    Reset,
    /// Power lost: silence until the fault ends, then a cold boot.
    PowerLoss,
    /// A toxic on the TCP links, applied by the driver.
    Link(LinkFault),
}

/// A toxic between a module's client and its broker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkFault {
    /// The MQTT client 0–5; `None` for all.
    pub client: Option<u8>,
    /// What happens to the bytes.
    pub toxic: Toxic,
    /// Which way.
    pub direction: Direction,
}

/// The toxics people know from toxiproxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Toxic {
    /// Delay each chunk by `latency_ms` ± `jitter_ms`.
    Latency {
        /// Milliseconds.
        latency_ms: u64,
        /// Milliseconds.
        jitter_ms: u64,
    },
    /// Limit the rate.
    Bandwidth {
        /// Bytes per second.
        rate_bps: u64,
    },
    /// Bytes vanish; the link stays up.
    Blackhole,
    /// The link is reset now.
    Reset,
    /// Closing is delayed.
    SlowClose {
        /// Milliseconds.
        delay_ms: u64,
    },
    /// The link closes after `bytes`.
    LimitData {
        /// Bytes.
        bytes: u64,
    },
}

impl Toxic {
    /// The toxic names the `toxic` parameter takes.
    pub const NAMES: &'static [&'static str] = &[
        "latency",
        "bandwidth",
        "blackhole",
        "reset",
        "slow_close",
        "limit_data",
    ];

    /// The toxic's name.
    pub fn name(&self) -> &'static str {
        match self {
            Toxic::Latency { .. } => "latency",
            Toxic::Bandwidth { .. } => "bandwidth",
            Toxic::Blackhole => "blackhole",
            Toxic::Reset => "reset",
            Toxic::SlowClose { .. } => "slow_close",
            Toxic::LimitData { .. } => "limit_data",
        }
    }
}

/// Direction of a link toxic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Module → broker.
    Up,
    /// Broker → module.
    Down,
    /// Both ways.
    Both,
}

impl Direction {
    /// `up`, `down` or `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Both => "both",
        }
    }
}

/// A parameter error; its text says what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultError {
    /// What was wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FaultError {}

fn err(message: String) -> FaultError {
    FaultError { message }
}

/// A fault that is active on a module.
#[derive(Clone, Debug)]
pub struct ActiveFault {
    /// Its id.
    pub id: FaultId,
    /// What it is.
    pub fault: Fault,
    /// When it started.
    pub started: Instant,
    /// When it ends by itself; `None` lasts until ended.
    pub ends: Option<Instant>,
}

/// The parameters each kind takes, with their ranges, for error messages.
const PARAMS: &[(&str, &[&str], &str)] = &[
    ("network_loss", &["stat"], "stat: 0|2|3|4 (default 0)"),
    ("pdp_deact", &["cid"], "cid: 1-16 (default 1)"),
    (
        "signal",
        &["rssi", "ber"],
        "rssi: 0-31|99 (required), ber: 0-7|99 (default 99)",
    ),
    ("sim_removed", &[], "no parameters"),
    ("dns_fail", &[], "no parameters"),
    ("clock", &["offset_s"], "offset_s: signed seconds (required)"),
    (
        "link",
        &[
            "toxic",
            "client",
            "direction",
            "latency_ms",
            "jitter_ms",
            "rate_bps",
            "delay_ms",
            "bytes",
        ],
        "toxic: latency|bandwidth|blackhole|reset|slow_close|limit_data (required), client: 0-5 (default all), direction: up|down|both (default both); latency: latency_ms (required), jitter_ms (default 0); bandwidth: rate_bps >= 1 (required); slow_close: delay_ms (required); limit_data: bytes (required)",
    ),
    (
        "error",
        &["command", "cme"],
        "command: AT command prefix starting with AT (required), cme: 0-65535 (default: plain ERROR)",
    ),
    ("no_answer", &[], "no parameters"),
    ("slow", &["delay_ms"], "delay_ms: 1-600000 (required)"),
    (
        "urc",
        &["text"],
        "text: 1-1024 printable characters without CR/LF (required)",
    ),
    ("reset", &[], "no parameters"),
    ("power_loss", &[], "no parameters"),
];

struct Params<'a> {
    kind: &'static str,
    allowed: &'static str,
    params: &'a [(&'a str, &'a str)],
}

impl<'a> Params<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.params.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn bad(&self, key: &str, value: &str) -> FaultError {
        err(format!(
            "{}: bad value {value:?} for {key}; allowed: {}",
            self.kind, self.allowed
        ))
    }

    fn missing(&self, key: &str) -> FaultError {
        err(format!(
            "{}: missing parameter {key}; allowed: {}",
            self.kind, self.allowed
        ))
    }

    fn num<T: core::str::FromStr>(&self, key: &str) -> Result<Option<T>, FaultError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| self.bad(key, v)),
        }
    }

    fn required<T: core::str::FromStr>(&self, key: &str) -> Result<T, FaultError> {
        self.num(key)?.ok_or_else(|| self.missing(key))
    }
}

impl Fault {
    /// Every kind's name, as [`Fault::parse`] takes them.
    pub const KINDS: &'static [&'static str] = &[
        "network_loss",
        "pdp_deact",
        "signal",
        "sim_removed",
        "dns_fail",
        "clock",
        "link",
        "error",
        "no_answer",
        "slow",
        "urc",
        "reset",
        "power_loss",
    ];

    /// A fault from its kind and `key=value` parameters. Unknown kinds,
    /// unknown or repeated parameters and values out of range are refused
    /// with a message that lists what is allowed.
    pub fn parse(kind: &str, params: &[(&str, &str)]) -> Result<Fault, FaultError> {
        let Some(&(kind, names, allowed)) = PARAMS.iter().find(|(k, _, _)| *k == kind) else {
            return Err(err(format!(
                "unknown fault kind {kind:?}; allowed: {}",
                Fault::KINDS.join(", ")
            )));
        };
        for (i, (key, _)) in params.iter().enumerate() {
            if !names.contains(key) {
                return Err(err(format!(
                    "{kind}: unknown parameter {key:?}; allowed: {allowed}"
                )));
            }
            if params[..i].iter().any(|(k, _)| k == key) {
                return Err(err(format!(
                    "{kind}: parameter {key} given twice; allowed: {allowed}"
                )));
            }
        }
        let p = Params {
            kind,
            allowed,
            params,
        };
        Ok(match kind {
            "network_loss" => {
                let stat = p.num::<u8>("stat")?.unwrap_or(0);
                if ![0, 2, 3, 4].contains(&stat) {
                    return Err(p.bad("stat", p.get("stat").unwrap_or_default()));
                }
                Fault::NetworkLoss { stat }
            }
            "pdp_deact" => {
                let cid = p.num::<u8>("cid")?.unwrap_or(1);
                if !(1..=16).contains(&cid) {
                    return Err(p.bad("cid", p.get("cid").unwrap_or_default()));
                }
                Fault::PdpDeact { cid }
            }
            "signal" => {
                let rssi: u8 = p.required("rssi")?;
                if rssi > 31 && rssi != 99 {
                    return Err(p.bad("rssi", p.get("rssi").unwrap_or_default()));
                }
                let ber = p.num::<u8>("ber")?.unwrap_or(99);
                if ber > 7 && ber != 99 {
                    return Err(p.bad("ber", p.get("ber").unwrap_or_default()));
                }
                Fault::Signal { rssi, ber }
            }
            "sim_removed" => Fault::SimRemoved,
            "dns_fail" => Fault::DnsFail,
            "clock" => {
                let offset_s: i64 = p.required("offset_s")?;
                // ±100 years keeps every time computation far from overflow.
                if offset_s.unsigned_abs() > 100 * 366 * 86_400 {
                    return Err(p.bad("offset_s", p.get("offset_s").unwrap_or_default()));
                }
                Fault::Clock { offset_s }
            }
            "link" => Fault::Link(parse_link(&p)?),
            "error" => {
                let command = p.get("command").ok_or_else(|| p.missing("command"))?.trim();
                let upper = command.to_ascii_uppercase();
                if !upper.starts_with("AT")
                    || command.len() > 64
                    || !command.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(p.bad("command", command));
                }
                let cme = p.num::<u16>("cme")?;
                Fault::Error {
                    command: upper,
                    cme,
                }
            }
            "no_answer" => Fault::NoAnswer,
            "slow" => {
                let delay_ms: u64 = p.required("delay_ms")?;
                if !(1..=600_000).contains(&delay_ms) {
                    return Err(p.bad("delay_ms", p.get("delay_ms").unwrap_or_default()));
                }
                Fault::Slow { delay_ms }
            }
            "urc" => {
                let text = p.get("text").ok_or_else(|| p.missing("text"))?;
                if text.is_empty()
                    || text.len() > 1024
                    || !text.bytes().all(|b| (0x20..0x7f).contains(&b))
                {
                    return Err(p.bad("text", text));
                }
                Fault::Urc {
                    text: text.to_string(),
                }
            }
            "reset" => Fault::Reset,
            _ => Fault::PowerLoss,
        })
    }

    /// The kind's name, one of [`Fault::KINDS`].
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::NetworkLoss { .. } => "network_loss",
            Fault::PdpDeact { .. } => "pdp_deact",
            Fault::Signal { .. } => "signal",
            Fault::SimRemoved => "sim_removed",
            Fault::DnsFail => "dns_fail",
            Fault::Clock { .. } => "clock",
            Fault::Link(_) => "link",
            Fault::Error { .. } => "error",
            Fault::NoAnswer => "no_answer",
            Fault::Slow { .. } => "slow",
            Fault::Urc { .. } => "urc",
            Fault::Reset => "reset",
            Fault::PowerLoss => "power_loss",
        }
    }

    /// The parameters as text, in the form [`Fault::parse`] takes back.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Fault::NetworkLoss { stat } => vec![("stat", stat.to_string())],
            Fault::PdpDeact { cid } => vec![("cid", cid.to_string())],
            Fault::Signal { rssi, ber } => {
                vec![("rssi", rssi.to_string()), ("ber", ber.to_string())]
            }
            Fault::Clock { offset_s } => vec![("offset_s", offset_s.to_string())],
            Fault::Error { command, cme } => {
                let mut v = vec![("command", command.clone())];
                if let Some(cme) = cme {
                    v.push(("cme", cme.to_string()));
                }
                v
            }
            Fault::Slow { delay_ms } => vec![("delay_ms", delay_ms.to_string())],
            Fault::Urc { text } => vec![("text", text.clone())],
            Fault::Link(l) => {
                let mut v = vec![("toxic", l.toxic.name().to_string())];
                if let Some(c) = l.client {
                    v.push(("client", c.to_string()));
                }
                v.push(("direction", l.direction.as_str().to_string()));
                match l.toxic {
                    Toxic::Latency {
                        latency_ms,
                        jitter_ms,
                    } => {
                        v.push(("latency_ms", latency_ms.to_string()));
                        v.push(("jitter_ms", jitter_ms.to_string()));
                    }
                    Toxic::Bandwidth { rate_bps } => v.push(("rate_bps", rate_bps.to_string())),
                    Toxic::SlowClose { delay_ms } => v.push(("delay_ms", delay_ms.to_string())),
                    Toxic::LimitData { bytes } => v.push(("bytes", bytes.to_string())),
                    Toxic::Blackhole | Toxic::Reset => {}
                }
                v
            }
            Fault::SimRemoved
            | Fault::DnsFail
            | Fault::NoAnswer
            | Fault::Reset
            | Fault::PowerLoss => Vec::new(),
        }
    }
}

fn parse_link(p: &Params<'_>) -> Result<LinkFault, FaultError> {
    let name = p.get("toxic").ok_or_else(|| p.missing("toxic"))?;
    let client = p.num::<u8>("client")?;
    if client.is_some_and(|c| c > 5) {
        return Err(p.bad("client", p.get("client").unwrap_or_default()));
    }
    let direction = match p.get("direction") {
        None | Some("both") => Direction::Both,
        Some("up") => Direction::Up,
        Some("down") => Direction::Down,
        Some(v) => return Err(p.bad("direction", v)),
    };
    // Only the parameters of the chosen toxic.
    let own: &[&str] = match name {
        "latency" => &["latency_ms", "jitter_ms"],
        "bandwidth" => &["rate_bps"],
        "slow_close" => &["delay_ms"],
        "limit_data" => &["bytes"],
        _ => &[],
    };
    for key in ["latency_ms", "jitter_ms", "rate_bps", "delay_ms", "bytes"] {
        if p.get(key).is_some() && !own.contains(&key) {
            return Err(err(format!(
                "link: parameter {key} does not apply to toxic {name}; allowed: {}",
                p.allowed
            )));
        }
    }
    let toxic = match name {
        "latency" => Toxic::Latency {
            latency_ms: p.required("latency_ms")?,
            jitter_ms: p.num("jitter_ms")?.unwrap_or(0),
        },
        "bandwidth" => {
            let rate_bps: u64 = p.required("rate_bps")?;
            if rate_bps == 0 {
                return Err(p.bad("rate_bps", "0"));
            }
            Toxic::Bandwidth { rate_bps }
        }
        "blackhole" => Toxic::Blackhole,
        "reset" => Toxic::Reset,
        "slow_close" => Toxic::SlowClose {
            delay_ms: p.required("delay_ms")?,
        },
        "limit_data" => Toxic::LimitData {
            bytes: p.required("bytes")?,
        },
        other => return Err(p.bad("toxic", other)),
    };
    Ok(LinkFault {
        client,
        toxic,
        direction,
    })
}
