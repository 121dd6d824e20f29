//! The module's six MQTT clients, and the narrow view of the module they act through.

mod aliauth;
pub(crate) mod client;
mod config;
mod recv;
pub(crate) mod session;

use std::collections::VecDeque;

pub(crate) use aliauth::sign as aliauth_sign;
pub(crate) use client::{stat, Client, Link, OpenResult};
pub(crate) use config::{AliAuth, WillConfig};
pub(crate) use recv::SLOTS;
pub(crate) use session::PubCommand;

use crate::engine::Engine;
use crate::io::{LinkId, NetAction, NetEvent};
use crate::radio::{Exchange, Outbound};
use crate::time::Instant;

/// Number of MQTT clients, `<client_idx>` 0–5.
pub(crate) const CLIENTS: usize = 6;

/// How many bytes may wait for the host (output it has not taken, and URCs
/// waiting for the line) before clients stop taking messages from their
/// links (and TCP back-pressure reaches the broker).
pub(crate) const MAX_URC_BACKLOG: usize = 16 * 1024;

/// A client that stopped taking messages for want of room starts again only
/// once the backlog is below this (half the room), so a host reading in
/// small pieces does not pause and resume the link for every piece.
pub(crate) const RESUME_URC_BACKLOG: usize = MAX_URC_BACKLOG / 2;

/// What a client may do to the rest of the module: write URCs, ask for network work.
pub(crate) struct Sink<'a> {
    pub(crate) engine: &'a mut Engine,
    pub(crate) net: &'a mut VecDeque<Outbound>,
    /// A radio network times the links (`Modem::radio`).
    pub(crate) shaped: bool,
}

impl Sink<'_> {
    pub(crate) fn urc(&mut self, text: impl Into<Vec<u8>>) {
        self.engine.urc(text.into());
    }

    pub(crate) fn net(&mut self, action: NetAction) {
        self.net.push_back(Outbound::Action(action));
    }

    /// A URC that reports the end of `exchange`, started by the packet just
    /// given to [`net`](Self::net) for `link`: with a radio network it comes
    /// when that exchange would be over, without one at once.
    pub(crate) fn urc_after(&mut self, link: LinkId, exchange: Exchange, text: String) {
        if self.shaped {
            self.net.push_back(Outbound::Urc {
                link,
                exchange,
                text: text.into_bytes(),
            });
        } else {
            self.urc(text);
        }
    }

    /// True while the host keeps up with its output: a client may take one
    /// more message from its link. `resuming`: the client had stopped for want
    /// of room, and starts again only below [`RESUME_URC_BACKLOG`].
    pub(crate) fn urc_room(&self, resuming: bool) -> bool {
        let limit = if resuming {
            RESUME_URC_BACKLOG
        } else {
            MAX_URC_BACKLOG
        };
        self.engine.output_backlog() < limit
    }
}

/// The six clients.
#[derive(Clone, Debug)]
pub(crate) struct Mqtt {
    pub(crate) clients: [Client; CLIENTS],
}

impl Mqtt {
    pub(crate) fn new() -> Mqtt {
        Mqtt {
            clients: std::array::from_fn(|i| Client::new(i as u8)),
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.clients.iter().filter_map(Client::next_deadline).min()
    }

    pub(crate) fn on_timeout(&mut self, now: Instant, sink: &mut Sink<'_>) {
        for c in &mut self.clients {
            if c.next_deadline().is_some_and(|d| d <= now) {
                c.on_timeout(now, sink);
            }
        }
    }

    /// Routes a network event to its client; stale events fall through.
    pub(crate) fn on_net_event(&mut self, now: Instant, event: NetEvent, sink: &mut Sink<'_>) {
        let link = match &event {
            NetEvent::Connected { link }
            | NetEvent::ConnectFailed { link, .. }
            | NetEvent::Received { link, .. }
            | NetEvent::Closed { link, .. }
            | NetEvent::SendFailed { link }
            | NetEvent::Written { link, .. } => *link,
        };
        let Some(client) = self.clients.get_mut(usize::from(link.client())) else {
            return;
        };
        match event {
            NetEvent::Connected { link } => client.on_connected(now, link, sink),
            NetEvent::ConnectFailed { link, error } => client.on_connect_failed(link, &error, sink),
            NetEvent::Received { link, data } => client.on_received(now, link, &data, sink),
            NetEvent::Closed { link, cause } => client.on_closed(link, cause, sink),
            NetEvent::SendFailed { link } => client.on_send_failed(link, sink),
            NetEvent::Written { link, len } => client.on_written(now, link, len),
        }
    }

    /// Lets paused clients take more messages once the host caught up.
    pub(crate) fn pump(&mut self, now: Instant, sink: &mut Sink<'_>) {
        for c in &mut self.clients {
            c.process_rx(now, sink);
        }
    }

    pub(crate) fn reset(&mut self, sink: &mut Sink<'_>) {
        for c in &mut self.clients {
            c.reset(sink);
        }
    }
}
