//! `GET /v1/events`: the timeline as Server-Sent Events.
//!
//! Each event is `event: <type>` (`serial`, `fault`, `scenario`, `mqtt` once
//! the driver records packets, `lagged`) and `data: <one JSON line>` with
//! `module`, `t_ms` and the type's fields (`docs/control.md`). The stream
//! reads the registry's one ring ([`TIMELINE_CAPACITY`](super::TIMELINE_CAPACITY)
//! events): a reader that falls behind, because its client reads slowly or
//! not at all, loses the oldest events and is sent one `lagged` event with
//! how many it missed; no module ever waits for it. A comment line every
//! 15 s keeps idle connections (and proxies) open.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};

use super::http::{module_filter, ApiError};
use super::registry::Registry;
use super::timeline::{TimelineEvent, TimelineKind};

/// How often an idle stream gets a `:` comment line.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) async fn events(
    State(registry): State<Registry>,
    query: Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let only = module_filter(&registry, &query)?;
    let reader = registry.subscribe();
    // The registry is not held: a stream must not keep a stopped fleet's ring alive.
    drop(registry);
    let stream = stream::unfold(reader, move |mut reader| async move {
        loop {
            let event = reader.next().await?;
            let lagged = matches!(event.kind, TimelineKind::Lagged { .. });
            if !lagged && only.is_some_and(|m| m != event.module) {
                continue;
            }
            return Some((Ok(sse_event(&event)), reader));
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One SSE event: its type as `event:`, the whole event as one JSON line.
fn sse_event(event: &TimelineEvent) -> Event {
    let data = serde_json::to_value(event).unwrap_or_default();
    let kind = data
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("message")
        .to_owned();
    Event::default().event(kind).data(data.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::SerialDirection;

    #[test]
    fn an_event_is_named_by_its_type_and_its_data_is_one_line() {
        let e = TimelineEvent {
            module: 2,
            at_ms: 40,
            kind: TimelineKind::serial(SerialDirection::ModuleToHost, b"\r\nOK\r\n"),
        };
        // axum writes `event:`/`data:` lines; the JSON escapes CR LF, so one data line.
        let json = serde_json::to_value(&e).unwrap().to_string();
        assert!(!json.contains('\n'));
        assert_eq!(
            json,
            r#"{"dir":"module_to_host","module":2,"t_ms":40,"text":"\r\nOK\r\n","type":"serial"}"#
        );
        let _ = sse_event(&e);
    }
}
