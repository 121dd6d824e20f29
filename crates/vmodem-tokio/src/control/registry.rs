//! Module ids to their control handles, and the shared timeline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use super::timeline::{TimelineEvent, TimelineKind, TimelineSender};
use crate::ModuleControl;

/// How many timeline events the ring keeps for readers that fall behind.
/// At ~200 bytes an event that is ~1 MB, whatever the number of modules.
pub const TIMELINE_CAPACITY: usize = 4096;

/// What the registry knows about one module.
#[derive(Clone, Debug)]
pub struct ModuleEntry {
    /// Its id.
    pub id: u32,
    /// Its model name (`EC25`, `BG96`…).
    pub model: String,
    /// Its IMEI.
    pub imei: String,
    /// Its control handle.
    pub control: ModuleControl,
    /// Where its serial line is, for `GET /v1/modules/{id}` (`serial`).
    pub serial: SerialLine,
}

impl ModuleEntry {
    /// An entry for module `id`; `model` and `imei` are for listings only
    /// (the status asks the module itself), `serial` says where its host is.
    pub fn new(id: u32, control: ModuleControl, serial: SerialLine) -> ModuleEntry {
        ModuleEntry {
            id,
            model: String::new(),
            imei: String::new(),
            control,
            serial,
        }
    }
}

/// Where a module's serial line is, as the control API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum SerialLine {
    /// A pseudo-terminal: the slave's path (`/dev/pts/N`), and the
    /// symlink to it if there is one (`--link`, a fleet's `DIR/tty<i>`).
    Pty {
        /// The slave device.
        path: PathBuf,
        /// The symlink to it.
        link: Option<PathBuf>,
    },
    /// A TCP listener.
    Tcp(SocketAddr),
    /// None the API can name (stdio, or a fleet module driven in-process).
    #[default]
    None,
}

/// Running modules by id and one timeline for all; cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Registry {
    modules: Arc<Mutex<BTreeMap<u32, ModuleEntry>>>,
    timeline: broadcast::Sender<TimelineEvent>,
    /// The seed of fleet-wide choices (`"modules": "10%"`).
    seed: u64,
    /// How many fleet-wide choices were drawn: the n-th draw of a run is the
    /// same for the same seed.
    draws: Arc<AtomicU64>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry with a timeline ring of [`TIMELINE_CAPACITY`].
    pub fn new() -> Registry {
        Registry::with_seed(0)
    }

    /// An empty registry whose fleet-wide random choices (which modules of
    /// a fleet get a fault sent to `"10%"`) follow `seed` (`--seed`).
    pub fn with_seed(seed: u64) -> Registry {
        let (timeline, _) = broadcast::channel(TIMELINE_CAPACITY);
        Registry {
            modules: Arc::default(),
            timeline,
            seed,
            draws: Arc::default(),
        }
    }

    /// The seed for the next fleet-wide draw: the registry's seed mixed with
    /// how many draws came before, so a run's n-th draw repeats with its seed.
    pub(crate) fn next_draw_seed(&self) -> u64 {
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// The ids of all modules, in order.
    pub fn ids(&self) -> Vec<u32> {
        self.lock().keys().copied().collect()
    }

    /// Where module `id` publishes; give it to
    /// [`ModuleOptions::timeline`](crate::ModuleOptions::timeline) before
    /// spawning, then [`register`](Self::register) its handle's control.
    pub fn timeline_sender(&self, id: u32) -> TimelineSender {
        TimelineSender {
            module: id,
            tx: self.timeline.clone(),
        }
    }

    /// Adds (or replaces) a module.
    pub fn register(&self, entry: ModuleEntry) {
        self.lock().insert(entry.id, entry);
    }

    /// Removes a module; `None` if there was none with that id.
    pub fn unregister(&self, id: u32) -> Option<ModuleEntry> {
        self.lock().remove(&id)
    }

    /// The module with that id.
    pub fn get(&self, id: u32) -> Option<ModuleEntry> {
        self.lock().get(&id).cloned()
    }

    /// All modules, by id.
    pub fn modules(&self) -> Vec<ModuleEntry> {
        self.lock().values().cloned().collect()
    }

    /// How many modules are registered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A reader of the timeline from now on.
    pub fn subscribe(&self) -> TimelineReader {
        TimelineReader {
            rx: self.timeline.subscribe(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u32, ModuleEntry>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.modules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads the timeline; a reader that fell behind gets one
/// [`TimelineKind::Lagged`] event saying how many it missed, then carries on.
#[derive(Debug)]
pub struct TimelineReader {
    rx: broadcast::Receiver<TimelineEvent>,
}

impl TimelineReader {
    /// The next event; `None` once the registry is gone.
    pub async fn next(&mut self) -> Option<TimelineEvent> {
        match self.rx.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(missed)) => Some(TimelineEvent {
                module: 0,
                at_ms: 0,
                kind: TimelineKind::Lagged { missed },
            }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SerialDirection;
    use super::*;

    #[tokio::test]
    async fn a_slow_reader_is_told_what_it_missed_and_the_publisher_never_waits() {
        let registry = Registry::new();
        let mut reader = registry.subscribe();
        let tx = registry.timeline_sender(7);
        let n = TIMELINE_CAPACITY as u64 + 5;
        for i in 0..n {
            tx.publish(
                i,
                TimelineKind::serial(SerialDirection::HostToModule, b"AT\r"),
            );
        }
        assert_eq!(
            reader.next().await.unwrap().kind,
            TimelineKind::Lagged { missed: 5 }
        );
        let next = reader.next().await.unwrap();
        assert_eq!((next.module, next.at_ms), (7, 5));
    }
}
