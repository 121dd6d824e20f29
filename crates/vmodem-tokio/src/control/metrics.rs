//! `GET /metrics`: Prometheus text exposition (version 0.0.4), `vmodem_` names.
//!
//! Every figure is read from the modules' own status at scrape time (one
//! control request per module), so nothing is counted twice and nothing
//! runs when nobody scrapes. Counters (`_total`) are sums over the running
//! modules of what each counted since its power-up: a module that reboots
//! starts again from 0, which Prometheus reads as a counter reset.
//!
//! Not exposed yet, because the core does not count them: `+QMTSTAT` by
//! code, bytes on the serial line.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use vmodem_core::{ClientState, Fault, PowerState};

use futures_util::StreamExt;

use super::http::snapshot_stream;
use super::registry::Registry;

const CLIENT_STATES: [ClientState; 6] = [
    ClientState::Closed,
    ClientState::Opening,
    ClientState::Open,
    ClientState::Connecting,
    ClientState::Connected,
    ClientState::Disconnecting,
];

/// What one scrape adds up.
#[derive(Default)]
struct Totals {
    modules: u64,
    stopped: u64,
    power: BTreeMap<&'static str, u64>,
    registration: BTreeMap<u8, u64>,
    pdp_active: u64,
    clients: BTreeMap<&'static str, u64>,
    in_flight: u64,
    sent: u64,
    received: u64,
    faults: BTreeMap<&'static str, u64>,
    /// Final error results by code: `None` is plain `ERROR`.
    errors: BTreeMap<Option<u16>, u64>,
}

pub(crate) async fn metrics(State(registry): State<Registry>) -> impl IntoResponse {
    let mut t = Totals::default();
    let mut snaps = std::pin::pin!(snapshot_stream(&registry));
    while let Some((_, snap)) = snaps.next().await {
        let Ok(snap) = snap else {
            t.stopped += 1;
            continue;
        };
        let s = snap.status;
        t.modules += 1;
        *t.power.entry(s.power.as_str()).or_default() += 1;
        *t.registration.entry(s.registration.stat).or_default() += 1;
        t.pdp_active += s.pdp.iter().filter(|p| p.active).count() as u64;
        for c in &s.mqtt {
            *t.clients.entry(c.state.as_str()).or_default() += 1;
            t.in_flight += c.in_flight as u64;
            t.sent += c.sent;
            t.received += c.received;
        }
        for f in &s.faults {
            *t.faults.entry(f.fault.kind()).or_default() += 1;
        }
        for (code, n) in &s.errors {
            *t.errors.entry(*code).or_default() += n;
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&t),
    )
}

/// Writes one metric family: its `# HELP` and `# TYPE` lines, then its
/// samples as `(labels, value)` (labels already formatted, or empty).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        let _ = writeln!(out, "{name}{labels} {value}");
    }
}

fn render(t: &Totals) -> String {
    let mut out = String::new();
    let one = |v: u64| vec![(String::new(), v)];
    let by = |label: &str, names: &[&'static str], counts: &BTreeMap<&'static str, u64>| {
        names
            .iter()
            .map(|n| {
                (
                    format!("{{{label}=\"{n}\"}}"),
                    counts.get(n).copied().unwrap_or(0),
                )
            })
            .collect::<Vec<_>>()
    };
    family(
        &mut out,
        "vmodem_modules",
        "gauge",
        "Modules running.",
        &one(t.modules),
    );
    family(
        &mut out,
        "vmodem_modules_stopped",
        "gauge",
        "Modules still registered whose task has stopped.",
        &one(t.stopped),
    );
    let power = [PowerState::On, PowerState::Off, PowerState::Booting].map(PowerState::as_str);
    family(
        &mut out,
        "vmodem_modules_by_power",
        "gauge",
        "Modules by power state.",
        &by("state", &power, &t.power),
    );
    let registration: Vec<_> = t
        .registration
        .iter()
        .map(|(stat, v)| (format!("{{stat=\"{stat}\"}}"), *v))
        .collect();
    family(
        &mut out,
        "vmodem_modules_by_registration",
        "gauge",
        "Modules by registration <stat> (27.007: 1 home, 5 roaming, 2 searching, 0/3/4 not \
         registered).",
        &registration,
    );
    family(
        &mut out,
        "vmodem_pdp_contexts_active",
        "gauge",
        "PDP contexts active.",
        &one(t.pdp_active),
    );
    let states = CLIENT_STATES.map(|s| s.as_str());
    family(
        &mut out,
        "vmodem_mqtt_clients",
        "gauge",
        "MQTT clients (six per module) by state, as AT+QMTOPEN? and AT+QMTCONN? tell it.",
        &by("state", &states, &t.clients),
    );
    family(
        &mut out,
        "vmodem_mqtt_in_flight",
        "gauge",
        "MQTT packets waiting for their acknowledgement.",
        &one(t.in_flight),
    );
    family(
        &mut out,
        "vmodem_mqtt_messages_sent_total",
        "counter",
        "PUBLISH packets the modules' clients sent since their power-up.",
        &one(t.sent),
    );
    family(
        &mut out,
        "vmodem_mqtt_messages_received_total",
        "counter",
        "PUBLISH packets the modules' clients received since their power-up.",
        &one(t.received),
    );
    family(
        &mut out,
        "vmodem_faults_active",
        "gauge",
        "Active faults by kind.",
        &by("kind", Fault::KINDS, &t.faults),
    );
    let errors: Vec<_> = t
        .errors
        .iter()
        .map(|(code, n)| {
            let code = code.map_or_else(|| "ERROR".to_owned(), |c| c.to_string());
            (format!("{{code=\"{code}\"}}"), *n)
        })
        .collect();
    family(
        &mut out,
        "vmodem_at_errors_total",
        "counter",
        "Final error results the modules wrote, by code: \"ERROR\" or the +CME ERROR number.",
        &errors,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_type_and_its_samples_under_it() {
        let mut t = Totals {
            modules: 2,
            sent: 7,
            ..Totals::default()
        };
        t.power.insert("on", 2);
        t.clients.insert("connected", 1);
        t.clients.insert("closed", 11);
        t.faults.insert("urc", 1);
        let text = render(&t);
        assert!(text.starts_with(
            "# HELP vmodem_modules Modules running.\n# TYPE vmodem_modules gauge\nvmodem_modules 2\n"
        ));
        for line in [
            "vmodem_modules_by_power{state=\"on\"} 2\n",
            "vmodem_modules_by_power{state=\"off\"} 0\n",
            "vmodem_mqtt_clients{state=\"connected\"} 1\n",
            "vmodem_mqtt_clients{state=\"closed\"} 11\n",
            "# TYPE vmodem_mqtt_messages_sent_total counter\nvmodem_mqtt_messages_sent_total 7\n",
            "vmodem_faults_active{kind=\"urc\"} 1\n",
            "vmodem_faults_active{kind=\"network_loss\"} 0\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }
}
