//! Faults and scenario steps on the timeline and in the `--trace` file
//! (issue 10 §3–4): one record per fault start and end, whatever started it
//! (control API or scenario), and one per scenario step armed, fired or
//! refused, so a trace shows what was done to the module next to the bytes
//! it wrote.
//!
//! Trace records (JSON lines, beside the serial ones of `trace.rs`):
//!
//! ```text
//! {"t_ms":5210,"scenario":"armed","source":"step[0]","line":"+QMTCONN: 0,0,0","due_ms":6210}
//! {"t_ms":6210,"scenario":"fired","source":"step[0]","due_ms":6210,"fault_id":1,"kind":"network_loss",
//!   "params":{"stat":0},"duration_ms":5000}
//! {"t_ms":6210,"fault":"start","id":1,"kind":"network_loss","params":{"stat":0},"duration_ms":5000}
//! {"t_ms":11210,"fault":"end","id":1,"kind":"network_loss","params":{"stat":0}}
//! {"t_ms":0,"scenario":"refused","source":"random[0]","kind":"signal","error":"signal: bad value …"}
//! ```
//!
//! `t_ms` is the module's clock, as for serial records; `due_ms` is when the
//! step was due (a busy machine may start it a few ms later: `t_ms`).
//! Parameters that are numbers are JSON numbers (as in the control API).

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use vmodem_core::scenario::ScenarioEvent;
use vmodem_core::{Fault, FaultId, Instant};

use crate::control::{FaultPhase, ScenarioPhase, TimelineKind};

/// A fault's parameters as JSON: integers as numbers, the rest as text.
pub(crate) fn params_json(fault: &Fault) -> Map<String, Value> {
    fault
        .params()
        .into_iter()
        .map(|(k, v)| {
            let v = v
                .parse::<i64>()
                .map_or_else(|_| Value::String(v.clone()), Value::from);
            (k.to_owned(), v)
        })
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One trace line of a fault or scenario record (fields in this order,
/// `t_ms` first as in serial records).
#[derive(Debug, Default, Serialize)]
pub(crate) struct Record {
    t_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scenario: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    due_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The trace record and the timeline event of a fault's start or end.
pub(crate) fn fault_record(
    now: Instant,
    phase: FaultPhase,
    id: FaultId,
    fault: &Fault,
    duration: Option<Duration>,
) -> (Record, TimelineKind) {
    let params = params_json(fault);
    let record = Record {
        t_ms: now.as_millis(),
        fault: Some(match phase {
            FaultPhase::Start => "start",
            FaultPhase::End => "end",
        }),
        id: Some(id.0),
        kind: Some(fault.kind().to_owned()),
        params: Some(params.clone()),
        duration_ms: duration.map(millis),
        ..Record::default()
    };
    let kind = TimelineKind::Fault {
        phase,
        id: id.0,
        kind: fault.kind().to_owned(),
        params,
        duration_ms: duration.map(millis),
    };
    (record, kind)
}

/// The trace record and the timeline event of what a scenario step did.
pub(crate) fn scenario_record(now: Instant, event: &ScenarioEvent) -> (Record, TimelineKind) {
    let t_ms = now.as_millis();
    match event {
        ScenarioEvent::Armed { source, line, due } => (
            Record {
                t_ms,
                scenario: Some("armed"),
                source: Some(source.clone()),
                line: Some(line.clone()),
                due_ms: Some(due.as_millis()),
                ..Record::default()
            },
            TimelineKind::Scenario {
                phase: ScenarioPhase::Armed,
                source: source.clone(),
                line: Some(line.clone()),
                due_ms: Some(due.as_millis()),
                fault_id: None,
                kind: None,
                error: None,
            },
        ),
        ScenarioEvent::Fired {
            source,
            due,
            id,
            fault,
            duration,
        } => (
            Record {
                t_ms,
                scenario: Some("fired"),
                source: Some(source.clone()),
                due_ms: Some(due.as_millis()),
                fault_id: Some(id.0),
                kind: Some(fault.kind().to_owned()),
                params: Some(params_json(fault)),
                duration_ms: duration.map(millis),
                ..Record::default()
            },
            TimelineKind::Scenario {
                phase: ScenarioPhase::Fired,
                source: source.clone(),
                line: None,
                due_ms: Some(due.as_millis()),
                fault_id: Some(id.0),
                kind: Some(fault.kind().to_owned()),
                error: None,
            },
        ),
        ScenarioEvent::Refused {
            source,
            kind,
            error,
        } => (
            Record {
                t_ms,
                scenario: Some("refused"),
                source: Some(source.clone()),
                kind: Some(kind.clone()),
                error: Some(error.clone()),
                ..Record::default()
            },
            TimelineKind::Scenario {
                phase: ScenarioPhase::Refused,
                source: source.clone(),
                line: None,
                due_ms: None,
                fault_id: None,
                kind: Some(kind.clone()),
                error: Some(error.clone()),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::TimelineEvent;

    #[test]
    fn records_are_flat_json_with_numbers_as_numbers() {
        let fault = Fault::parse("network_loss", &[("stat", "2")]).unwrap();
        let (record, kind) = fault_record(
            Instant::from_millis(6210),
            FaultPhase::Start,
            FaultId(1),
            &fault,
            Some(Duration::from_secs(5)),
        );
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"t_ms":6210,"fault":"start","id":1,"kind":"network_loss","params":{"stat":2},"duration_ms":5000}"#
        );
        let event = TimelineEvent {
            module: 0,
            at_ms: 6210,
            kind,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"module":0,"t_ms":6210,"type":"fault","phase":"start","id":1,"kind":"network_loss","params":{"stat":2},"duration_ms":5000}"#
        );
        let urc = Fault::parse("urc", &[("text", "+CMTI: \"SM\",1")]).unwrap();
        assert_eq!(params_json(&urc)["text"], "+CMTI: \"SM\",1");
        let (record, kind) = scenario_record(
            Instant::from_millis(5),
            &ScenarioEvent::Armed {
                source: "step[0]".into(),
                line: "+QMTCONN: 0,0,0".into(),
                due: Instant::from_millis(1005),
            },
        );
        assert_eq!(
            serde_json::to_string(&record).unwrap(),
            r#"{"t_ms":5,"scenario":"armed","source":"step[0]","line":"+QMTCONN: 0,0,0","due_ms":1005}"#
        );
        assert_eq!(
            serde_json::to_string(&kind).unwrap(),
            r#"{"type":"scenario","phase":"armed","source":"step[0]","line":"+QMTCONN: 0,0,0","due_ms":1005}"#
        );
    }
}
