//! The module as the driver sees it.

use std::collections::VecDeque;

use crate::config::Config;
use crate::io::{ModemEvent, NetAction, NetEvent};
use crate::time::Instant;

/// One virtual module.
///
/// Methods come in four groups, after quinn-proto's `Connection`:
/// getters (`&self`), inputs (`handle_*`, each taking `now`), the power key
/// ([`Modem::power_on`]), and outputs (`poll_*`).
///
/// **Drain order.** After every input, call [`poll_host_output`](Self::poll_host_output)
/// until `None`, then [`poll_net_action`](Self::poll_net_action) until `None`,
/// then [`poll_event`](Self::poll_event) until `None`, and finally read
/// [`poll_timeout`](Self::poll_timeout) and call
/// [`handle_timeout`](Self::handle_timeout) no later than it says.
/// Deadlines are soft: calling `handle_timeout` early does nothing harmful.
/// `now` must never go backwards.
#[derive(Debug)]
pub struct Modem {
    config: Config,
    out: Vec<u8>,
    net: VecDeque<NetAction>,
    events: VecDeque<ModemEvent>,
}

impl Modem {
    /// A module powered up at `now`; its boot URC chain (`RDY` …) is due at once
    /// or, with [`Timing::Realistic`](crate::Timing::Realistic), over the next seconds.
    pub fn new(config: Config, now: Instant) -> Modem {
        let _ = now;
        Modem {
            config,
            out: Vec::new(),
            net: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The configuration the module was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Bytes the host wrote on the serial line.
    pub fn handle_host_bytes(&mut self, now: Instant, bytes: &[u8]) {
        let _ = (now, bytes);
    }

    /// Something happened on the network.
    pub fn handle_net_event(&mut self, now: Instant, event: NetEvent) {
        let _ = (now, event);
    }

    /// Time has passed; run whatever was due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// Presses the power key of a module that is powered down (no effect otherwise).
    pub fn power_on(&mut self, now: Instant) {
        let _ = now;
    }

    /// Bytes to write to the host, if any (all pending bytes in one buffer).
    #[must_use]
    pub fn poll_host_output(&mut self) -> Option<Vec<u8>> {
        if self.out.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.out))
        }
    }

    /// The next piece of network work, if any.
    #[must_use]
    pub fn poll_net_action(&mut self) -> Option<NetAction> {
        self.net.pop_front()
    }

    /// The next event for the driver, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ModemEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) should next be called; `None` if nothing is scheduled.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
