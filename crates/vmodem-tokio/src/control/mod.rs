//! The control layer (issue 10): a registry of running modules, their control
//! handles and one timeline of what they do, for the HTTP API, `vmodem ctl`,
//! scenarios and fleets.
//!
//! **Bounds.** Nothing here can hold up a module: control requests go through
//! a bounded queue per module ([`ModuleControl`](crate::ModuleControl)), and the
//! timeline is a [`tokio::sync::broadcast`] ring of [`TIMELINE_CAPACITY`]
//! events: a reader that falls behind loses the oldest and is told how many
//! ([`TimelineKind::Lagged`]), a module never waits for it.

// The HTTP API (ws-control), apart from the lines below so merges stay clean.
mod http;
mod metrics;
mod sse;
pub use http::{router, serve};
pub use registry::SerialLine;

mod registry;
mod timeline;

// Fault and scenario events (ws-timeline), on a line of their own so merges stay clean.
pub use timeline::{FaultPhase, ScenarioPhase};

pub use registry::{ModuleEntry, Registry, TimelineReader, TIMELINE_CAPACITY};
pub use timeline::{SerialDirection, TimelineEvent, TimelineKind, TimelineSender, MAX_EVENT_TEXT};
