//! What modules did, as events for the timeline (`GET /v1/events`, `--trace`).
//!
//! [`TimelineKind`] is `#[non_exhaustive]` and serialised with a `type` tag,
//! so kinds (MQTT packets, faults) can be added without breaking readers.

use serde::Serialize;
use tokio::sync::broadcast;

/// Longest `text` one serial event carries; the rest is counted in
/// `truncated`, so a flood of output cannot make events of unbounded size.
pub const MAX_EVENT_TEXT: usize = 4096;

/// One thing a module did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimelineEvent {
    /// The module's id in its [`Registry`](super::Registry).
    pub module: u32,
    /// The module's clock, milliseconds since it was created (`t_ms` in
    /// JSON, as in `--trace` records).
    #[serde(rename = "t_ms")]
    pub at_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: TimelineKind,
}

/// Which way serial bytes went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialDirection {
    /// The host wrote (AT commands, payloads).
    HostToModule,
    /// The module wrote (answers, URCs).
    ModuleToHost,
}

/// What happened, by kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TimelineKind {
    /// A chunk of serial bytes, as the trace records it.
    Serial {
        /// Which way.
        dir: SerialDirection,
        /// Lossy UTF-8 of at most [`MAX_EVENT_TEXT`] bytes.
        text: String,
        /// Bytes left out of `text`.
        #[serde(skip_serializing_if = "is_zero")]
        truncated: usize,
    },
    /// The reader fell behind and missed this many events (only readers see
    /// this; modules never publish it).
    Lagged {
        /// How many.
        missed: u64,
    },
    /// A fault started or ended on the module, from any source (control
    /// API, scenario). Added by ws-timeline (issue 10 §3).
    Fault {
        /// `start` or `end`.
        phase: FaultPhase,
        /// The fault's id on its module.
        id: u64,
        /// One of `Fault::KINDS`.
        kind: String,
        /// Its parameters, numbers as JSON numbers.
        params: serde_json::Map<String, serde_json::Value>,
        /// At `start`: how long it lasts; absent = until ended.
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// A step of `vmodem run --scenario`: armed by its host line, fired
    /// (its fault started as `fault_id`), or refused (parameters drawn out of
    /// range; `error` says why). Added by ws-timeline (issue 10 §3).
    Scenario {
        /// `armed`, `fired` or `refused`.
        phase: ScenarioPhase,
        /// `step[N]` or `random[N]`: the entry of the file, counted from 0.
        source: String,
        /// Armed: the host line that armed it.
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<String>,
        /// Armed and fired: when it was (or is) due, on the module's clock.
        #[serde(skip_serializing_if = "Option::is_none")]
        due_ms: Option<u64>,
        /// Fired: the id of the fault it started.
        #[serde(skip_serializing_if = "Option::is_none")]
        fault_id: Option<u64>,
        /// Fired and refused: the fault kind.
        #[serde(skip_serializing_if = "Option::is_none")]
        kind: Option<String>,
        /// Refused: the fault parser's message.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Which edge of a fault a [`TimelineKind::Fault`] event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultPhase {
    /// It started.
    Start,
    /// It ended (its duration was over, or it was ended).
    End,
}

/// What a scenario step did ([`TimelineKind::Scenario`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioPhase {
    /// Its `after` line was seen; it is due at `due_ms`.
    Armed,
    /// It started its fault.
    Fired,
    /// Its fault could not be built; nothing started.
    Refused,
}

impl TimelineKind {
    /// A serial event for `bytes`, cut to [`MAX_EVENT_TEXT`].
    pub fn serial(dir: SerialDirection, bytes: &[u8]) -> TimelineKind {
        let kept = bytes.len().min(MAX_EVENT_TEXT);
        TimelineKind::Serial {
            dir,
            text: String::from_utf8_lossy(&bytes[..kept]).into_owned(),
            truncated: bytes.len() - kept,
        }
    }
}

/// Where one module publishes its events: the registry's ring and its id.
#[derive(Clone, Debug)]
pub struct TimelineSender {
    pub(crate) module: u32,
    pub(crate) tx: broadcast::Sender<TimelineEvent>,
}

impl TimelineSender {
    /// Whether anyone listens; publishers skip building events otherwise.
    pub fn is_listened(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Publishes an event; never waits (a full ring drops its oldest event).
    pub fn publish(&self, at_ms: u64, kind: TimelineKind) {
        if self.is_listened() {
            let _ = self.tx.send(TimelineEvent {
                module: self.module,
                at_ms,
                kind,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_events_serialise_flat_with_a_type_tag_and_are_cut() {
        let e = TimelineEvent {
            module: 3,
            at_ms: 12,
            kind: TimelineKind::serial(SerialDirection::HostToModule, b"AT\r"),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"module":3,"t_ms":12,"type":"serial","dir":"host_to_module","text":"AT\r"}"#
        );
        let big = vec![b'x'; MAX_EVENT_TEXT + 10];
        match TimelineKind::serial(SerialDirection::ModuleToHost, &big) {
            TimelineKind::Serial {
                text, truncated, ..
            } => {
                assert_eq!(text.len(), MAX_EVENT_TEXT);
                assert_eq!(truncated, 10);
            }
            other => panic!("{other:?}"),
        }
    }
}
