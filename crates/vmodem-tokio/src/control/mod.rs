//! The control layer (issue 10): a registry of running modules, their control
//! handles and one timeline of what they do, for the HTTP API, `vmodem ctl`,
//! scenarios and fleets.
//!
//! **Bounds.** Nothing here can hold up a module: control requests go through
//! a bounded queue per module ([`ModuleControl`](crate::ModuleControl)), and the
//! timeline is a [`tokio::sync::broadcast`] ring of [`TIMELINE_CAPACITY`]
//! events: a reader that falls behind loses the oldest and is told how many
//! ([`TimelineKind::Lagged`]), a module never waits for it.

mod http;
mod metrics;
mod registry;
mod sse;
mod timeline;

pub use http::{router, serve};

pub use registry::{ModuleEntry, Registry, SerialLine, TimelineReader, TIMELINE_CAPACITY};
pub use timeline::{
    FaultPhase, ScenarioPhase, SerialDirection, TimelineEvent, TimelineKind, TimelineSender,
    MAX_EVENT_TEXT,
};
