//! Starting and ending faults on a [`Modem`]: the bookkeeping every kind
//! shares (ids, deadlines, events). What each kind does to the module lives
//! where that behaviour lives (device, radio, engine, MQTT).

use core::time::Duration;

use super::{ActiveFault, Fault, FaultId};
use crate::io::ModemEvent;
use crate::modem::Modem;
use crate::status::{
    ClientState, ClientStatus, ModuleStatus, PdpStatus, PowerState, RegistrationStatus,
    SignalStatus,
};
use crate::time::Instant;

impl Modem {
    /// Starts a fault now; with a duration it ends by itself (a core
    /// deadline, included in [`poll_timeout`](Self::poll_timeout), so it is
    /// testable in virtual time). A [`ModemEvent::FaultStarted`] follows.
    pub fn add_fault(&mut self, now: Instant, fault: Fault, duration: Option<Duration>) -> FaultId {
        let now = self.advance(now);
        self.fault_seq += 1;
        let id = FaultId(self.fault_seq);
        self.emit(ModemEvent::FaultStarted {
            id,
            fault: fault.clone(),
        });
        let ends = duration.map(|d| now + d);
        self.start_module_fault(now, &fault);
        // A one-shot URC is written at once; it stays listed until its duration
        // (if any) is over, so status shows what was played.
        if let Fault::Urc { text } = &fault {
            if self.device.powered {
                self.urc(text.as_bytes().to_vec());
            }
        }
        self.faults.push(ActiveFault {
            id,
            fault,
            started: now,
            ends,
        });
        self.start_device_fault(now, &self.faults[self.faults.len() - 1].fault.clone());
        self.handle_timeout(now);
        id
    }

    /// Ends an active fault now, undoing what it did; false if there is no
    /// such active fault. A [`ModemEvent::FaultEnded`] follows.
    pub fn end_fault(&mut self, now: Instant, id: FaultId) -> bool {
        let now = self.advance(now);
        let Some(i) = self.faults.iter().position(|f| f.id == id) else {
            return false;
        };
        let active = self.faults.remove(i);
        self.finish_fault(now, active);
        self.handle_timeout(now);
        true
    }

    /// Ends every active fault now.
    pub fn clear_faults(&mut self, now: Instant) {
        let now = self.advance(now);
        for active in std::mem::take(&mut self.faults) {
            self.finish_fault(now, active);
        }
        self.faults.shrink_to_fit();
        self.handle_timeout(now);
    }

    /// The active faults, oldest first.
    pub fn faults(&self) -> &[ActiveFault] {
        &self.faults
    }

    /// The module's state as plain data (control API, fleets).
    pub fn status(&self) -> ModuleStatus {
        let profile = self.config.model.profile();
        let power = if !self.device.powered {
            PowerState::Off
        } else if usize::from(self.device.boot_step) < profile.boot.len() {
            PowerState::Booting
        } else {
            PowerState::On
        };
        let pdp = (1u8..)
            .zip(&self.device.contexts)
            .filter(|(_, c)| c.defined || c.active)
            .map(|(cid, c)| PdpStatus {
                cid,
                active: c.active,
                address: c
                    .active
                    .then(|| crate::device::Device::context_ip(self.config.instance, cid)),
            })
            .collect();
        let mqtt = self
            .mqtt
            .clients
            .iter()
            .map(|c| {
                use crate::mqtt::client::ConnState;
                use crate::mqtt::Link;
                let (state, host, port) = match &c.link {
                    Link::Closed => (ClientState::Closed, None, None),
                    Link::Opening { host, port, .. } => {
                        (ClientState::Opening, Some(host.clone()), Some(*port))
                    }
                    Link::Open {
                        host, port, conn, ..
                    } => {
                        let state = match conn.state {
                            ConnState::Initial => ClientState::Open,
                            ConnState::Connecting { .. } => ClientState::Connecting,
                            ConnState::Connected => ClientState::Connected,
                            ConnState::Disconnecting { .. } => ClientState::Disconnecting,
                        };
                        (state, Some(host.clone()), Some(*port))
                    }
                };
                ClientStatus {
                    client: c.idx,
                    state,
                    host,
                    port,
                    in_flight: c.session.inflight.len(),
                    sent: c.sent,
                    received: c.received,
                }
            })
            .collect();
        ModuleStatus {
            model: profile.model,
            imei: self.identity.imei.clone(),
            imsi: self.identity.imsi.clone(),
            iccid: self.identity.iccid.clone(),
            power,
            registration: RegistrationStatus {
                stat: self.device.reg as u8,
                act: self.camped_act(),
            },
            signal: self.signal_status(),
            pdp,
            mqtt,
            faults: self.faults.clone(),
            errors: self.errors.clone(),
        }
    }

    /// What `AT+CSQ` answers: the latest active `signal` fault's values, or
    /// the cell's while registered, or 99,99 (unknown) without service.
    // control: mirrors commands/network.rs `csq`; netfaults' signal effect
    // should read the same (one function) when it lands.
    fn signal_status(&self) -> SignalStatus {
        if let Some((rssi, ber)) = self.faults.iter().rev().find_map(|f| match f.fault {
            Fault::Signal { rssi, ber } => Some((rssi, ber)),
            _ => None,
        }) {
            return SignalStatus { rssi, ber };
        }
        if !self.device.powered || !self.device.reg.registered() {
            return SignalStatus { rssi: 99, ber: 99 };
        }
        let (rssi, ber) = crate::device::network::CSQ
            .split_once(',')
            .unwrap_or(("99", "99"));
        SignalStatus {
            rssi: rssi.parse().unwrap_or(99),
            ber: ber.parse().unwrap_or(99),
        }
    }

    /// The earliest end of an active fault.
    pub(crate) fn next_fault_end(&self) -> Option<Instant> {
        self.faults.iter().filter_map(|f| f.ends).min()
    }

    /// Ends the faults whose duration is over by `now`.
    pub(crate) fn end_due_faults(&mut self, now: Instant) {
        while let Some(i) = self
            .faults
            .iter()
            .position(|f| f.ends.is_some_and(|e| e <= now))
        {
            let active = self.faults.remove(i);
            self.finish_fault(now, active);
        }
        if self.faults.is_empty() && self.faults.capacity() > 0 {
            self.faults = Vec::new();
        }
    }

    fn finish_fault(&mut self, now: Instant, active: ActiveFault) {
        self.stop_device_fault(now, &active.fault);
        self.stop_module_fault(now, &active.fault);
        self.emit(ModemEvent::FaultEnded {
            id: active.id,
            fault: active.fault,
        });
    }
}
