//! What an MQTT session remembers: the host's packets waiting for their
//! acknowledgement, and the QoS 2 messages received but not yet released.
//!
//! With `AT+QMTCFG="session",c,0` the session outlives the TCP link, and
//! after the next CONNACK the unacknowledged PUBLISH and PUBREL packets are
//! sent again, as MQTT 3.1.1 §4.4 requires.

use vmodem_mqtt::{Publish, QoS, Subscribe, Unsubscribe};

use crate::time::Instant;

/// The in-flight window of a client (application note, AT+QMTPUBEX note 1).
pub(crate) const WINDOW: usize = 5;

/// Most QoS 2 messages a broker may leave unreleased before the module calls it broken.
pub(crate) const MAX_INCOMING_QOS2: usize = 1024;

/// Which URC reports a publish's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PubCommand {
    /// `AT+QMTPUBEX` → `+QMTPUBEX:`.
    PubEx,
    /// `AT+QMTPUB` → `+QMTPUB:`.
    Pub,
}

impl PubCommand {
    pub(crate) fn urc_name(self) -> &'static str {
        match self {
            PubCommand::PubEx => "+QMTPUBEX",
            PubCommand::Pub => "+QMTPUB",
        }
    }
}

/// Where a QoS 1/2 publish is in its exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Sent PUBLISH; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Published,
    /// Got PUBREC, sent PUBREL; waiting for PUBCOMP.
    Released,
}

/// A packet the host asked for, not yet acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Pending {
    Publish {
        command: PubCommand,
        packet: Publish,
        stage: Stage,
    },
    Subscribe(Subscribe),
    Unsubscribe(Unsubscribe),
}

impl Pending {
    pub(crate) fn msg_id(&self) -> u16 {
        match self {
            Pending::Publish { packet, .. } => packet.pkid,
            Pending::Subscribe(s) => s.pkid,
            Pending::Unsubscribe(u) => u.pkid,
        }
    }

    /// The URC prefix that reports this packet's outcome.
    pub(crate) fn urc_name(&self) -> &'static str {
        match self {
            Pending::Publish { command, .. } => command.urc_name(),
            Pending::Subscribe(_) => "+QMTSUB",
            Pending::Unsubscribe(_) => "+QMTUNS",
        }
    }
}

/// One entry of the in-flight window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inflight {
    pub(crate) pending: Pending,
    /// When to retransmit; `None` until (re)sent on a live connection and
    /// written: the timer counts from the write, not the send.
    pub(crate) deadline: Option<Instant>,
    /// Retransmissions so far.
    pub(crate) retries: u8,
    /// While the packet waits to be written: the link's count of bytes
    /// written at which it will have been (its deadline starts then).
    pub(crate) written_by: Option<u64>,
}

/// Session state of one client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) inflight: Vec<Inflight>,
    pub(crate) incoming_qos2: Vec<u16>,
}

impl Session {
    /// Nothing in flight (`const` for the idle clients' `static`).
    pub(crate) const EMPTY: Session = Session {
        inflight: Vec::new(),
        incoming_qos2: Vec::new(),
    };

    pub(crate) fn window_full(&self) -> bool {
        self.inflight.len() >= WINDOW
    }

    pub(crate) fn has_id(&self, msg_id: u16) -> bool {
        self.inflight.iter().any(|i| i.pending.msg_id() == msg_id)
    }

    pub(crate) fn position(
        &self,
        msg_id: u16,
        matches: impl Fn(&Pending) -> bool,
    ) -> Option<usize> {
        self.inflight
            .iter()
            .position(|i| i.pending.msg_id() == msg_id && matches(&i.pending))
    }

    /// What survives the end of a link: everything for a clean session is
    /// forgotten; otherwise QoS 1/2 publishes stay, to be sent again, and
    /// subscribe/unsubscribe requests (not resent by MQTT) are dropped.
    /// Returns what was dropped, in window order: each needs its final
    /// result (docs/decisions.md, "One final result per accepted packet").
    pub(crate) fn on_link_lost(&mut self, clean: bool) -> Vec<Pending> {
        if clean {
            return self.clear();
        }
        let (kept, dropped): (Vec<Inflight>, Vec<Inflight>) =
            std::mem::take(&mut self.inflight).into_iter().partition(|i| {
                matches!(&i.pending, Pending::Publish { packet, .. } if packet.qos != QoS::AtMostOnce)
            });
        self.inflight = kept;
        for i in &mut self.inflight {
            i.deadline = None;
            i.retries = 0;
            i.written_by = None;
        }
        dropped.into_iter().map(|i| i.pending).collect()
    }

    /// Forgets everything (a clean session starts); returns the packets that
    /// were still waiting, in window order, for their final result.
    pub(crate) fn clear(&mut self) -> Vec<Pending> {
        let dropped = std::mem::take(&mut self.inflight);
        *self = Session::default();
        dropped.into_iter().map(|i| i.pending).collect()
    }
}
