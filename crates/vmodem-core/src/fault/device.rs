//! What the device-side faults do: the world around the module changes
//! (coverage, the SIM, the signal, DNS, the clock) and the module shows it on
//! its serial line as the EC25 does (docs/faults.md, "Byte reference").
//!
//! The state is *derived* from the list of active faults each time one starts
//! or ends ([`Modem::refresh_environment`]), never toggled: two overlapping
//! `network_loss` faults compose (ending one keeps the loss while the other
//! lasts), and the environment outlives a reboot of the module, as the
//! basement outlives a power cycle.

use super::Fault;
use crate::device::{network, RegStat};
use crate::modem::Modem;
use crate::time::Instant;
use crate::timers::Timer;

/// The world around the module as the active device faults make it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Environment {
    /// No coverage: the `<stat>` +CREG/+CGREG/+CEREG report (0, 2, 3 or 4).
    pub(crate) no_coverage: Option<u8>,
    /// The SIM card is out.
    pub(crate) sim_removed: bool,
    /// `AT+CSQ`'s `<rssi>,<ber>` while registered, instead of the cell's.
    pub(crate) signal: Option<(u8, u8)>,
    /// Host names do not resolve (IP literals still work).
    pub(crate) dns_fail: bool,
    /// Seconds the module's clock is off (`AT+CCLK`, TLS validity).
    pub(crate) clock_offset_s: i64,
}

impl Environment {
    /// True when the device cannot be on the network at all.
    pub(crate) fn cut_off(&self) -> bool {
        self.no_coverage.is_some() || self.sim_removed
    }

    /// `AT+CSQ`'s `<rssi>,<ber>` while registered.
    pub(crate) fn csq(&self) -> String {
        match self.signal {
            Some((rssi, ber)) => format!("{rssi},{ber}"),
            None => network::CSQ.to_string(),
        }
    }
}

/// True for the kinds this file gives their effect.
fn is_device_fault(fault: &Fault) -> bool {
    matches!(
        fault,
        Fault::NetworkLoss { .. }
            | Fault::PdpDeact { .. }
            | Fault::Signal { .. }
            | Fault::SimRemoved
            | Fault::DnsFail
            | Fault::Clock { .. }
    )
}

impl Modem {
    /// A device fault started (it is already in the active list).
    pub(crate) fn start_device_fault(&mut self, now: Instant, fault: &Fault) {
        if let Fault::PdpDeact { cid } = fault {
            // A one-shot act of the network: the context goes down now and
            // stays down until the host activates it again (`AT+QIACT`).
            self.network_deactivates(&[*cid]);
            return;
        }
        if is_device_fault(fault) {
            self.refresh_environment(now);
        }
    }

    /// A device fault ended (it is no longer in the active list).
    pub(crate) fn stop_device_fault(&mut self, now: Instant, fault: &Fault) {
        if is_device_fault(fault) && !matches!(fault, Fault::PdpDeact { .. }) {
            self.refresh_environment(now);
        }
    }

    /// The environment the active faults make: the newest fault of a kind
    /// wins where values differ (its `stat`, its signal).
    fn environment_from_faults(&self) -> Environment {
        let mut env = Environment::default();
        for active in &self.faults {
            match &active.fault {
                Fault::NetworkLoss { stat } => env.no_coverage = Some(*stat),
                Fault::SimRemoved => env.sim_removed = true,
                Fault::Signal { rssi, ber } => env.signal = Some((*rssi, *ber)),
                Fault::DnsFail => env.dns_fail = true,
                Fault::Clock { offset_s } => env.clock_offset_s += offset_s,
                _ => {}
            }
        }
        env
    }

    /// Brings the device in line with the active faults, writing what the
    /// module writes when its world changes.
    pub(crate) fn refresh_environment(&mut self, now: Instant) {
        let new = self.environment_from_faults();
        if new == self.device.env {
            return;
        }
        // `self.device.env` stays the old one until the branch below that
        // changes it, so `update_registration` sees the change.
        let old = &self.device.env;
        let (sim_left, sim_back) = (
            new.sim_removed && !old.sim_removed,
            old.sim_removed && !new.sim_removed,
        );
        let (was_cut, is_cut) = (old.cut_off(), new.cut_off());
        if sim_left || sim_back {
            self.report_sim_insertion(sim_back);
        }
        // The SIM goes: `+CPIN: NOT READY` (the EC25 with SIM hot-plug
        // detection, AT+QSIMDET; docs/faults.md).
        if sim_left && self.device.powered {
            self.urc("+CPIN: NOT READY");
        }
        if is_cut && !was_cut {
            // Coverage (or the SIM) lost: deregistered, URCs as CREG/CGREG/
            // CEREG's <n> ask; the network tears the PDP contexts down.
            let active: Vec<u8> = (1u8..)
                .zip(&self.device.contexts)
                .filter(|(_, c)| c.active)
                .map(|(cid, _)| cid)
                .collect();
            self.timers.cancel(Timer::Registration);
            self.update_registration(now, |d| {
                d.env = new;
                d.reg = RegStat::NotRegistered;
            });
            // Deregistering took them down (Modem::update_registration).
            self.report_torn_down(&active);
        } else if was_cut && !is_cut {
            if sim_back && self.device.powered {
                // The SIM is back: it initialises as at boot, from `+CPIN: READY` on.
                let chain = self.config.model.profile().boot;
                if let Some(at) = chain.iter().position(|b| b.text == "+CPIN: READY") {
                    for urc in &chain[at..] {
                        self.urc(urc.text);
                    }
                }
            }
            // Back in coverage: searching (URCs for the changed <stat>), then
            // registered after the radio network's registration time.
            self.update_registration(now, |d| d.env = new);
            self.schedule_registration(now);
        } else if is_cut {
            // Still cut off, with another <stat>: report it.
            self.update_registration(now, |d| d.env = new);
        } else {
            self.device.env = new;
        }
    }

    /// The network deactivates these contexts: `+QIURC: "pdpdeact",<cid>`
    /// for each that was active (TCP/IP AT commands manual, "URC of PDP
    /// deactivation"). They stay down until the host sends `AT+QIACT`; the
    /// MQTT clients on them end with `+QMTSTAT: <c>,7` in the module's
    /// link check that follows every input.
    fn network_deactivates(&mut self, cids: &[u8]) {
        let mut torn = Vec::new();
        for &cid in cids {
            if let Some(ctx) = self.device.context_mut(cid).filter(|c| c.active) {
                ctx.active = false;
                torn.push(cid);
            }
        }
        self.report_torn_down(&torn);
    }

    /// The URCs of contexts the network has just deactivated (already down).
    fn report_torn_down(&mut self, cids: &[u8]) {
        if cids.is_empty() {
            return;
        }
        self.device.bearer_at_attach = false;
        if self.device.powered {
            for cid in cids {
                self.urc(format!("+QIURC: \"pdpdeact\",{cid}"));
            }
        }
    }

    /// True when a host name cannot be resolved now (`dns_fail`).
    pub(crate) fn dns_fails(&self, host: &str) -> bool {
        self.device.env.dns_fail && host.parse::<std::net::IpAddr>().is_err()
    }
}
