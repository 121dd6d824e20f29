//! The module's own misbehaviour (issue 10 §2, "the module itself"):
//! `error`, `no_answer`, `slow`, `reset` and `power_loss`.
//!
//! Each is state the core reads where the behaviour lives, not a clock:
//! - `error`: [`Modem::fault_error`] is asked before a command runs
//!   (`modem.rs`, `run_commands`); a matching command is not executed at all,
//!   so it has no side effects, and fails with `+CME ERROR: <cme>` framed per
//!   `AT+CMEE` (0 → `ERROR`, 2 → the 27.007 text) or with plain `ERROR`.
//! - `no_answer`: [`Modem::hung`] closes the serial line both ways: host bytes
//!   are dropped (`host_byte`) and [`Modem::host_output`] hands out nothing,
//!   so what the module writes meanwhile (URCs, a result that was due) waits
//!   in its output, counted by the back-pressure rules, and comes out in
//!   order when the hang ends. The MQTT clients keep running: on the EC25 the
//!   MQTT stack is not the AT task (docs/decisions.md, "Module faults").
//! - `slow`: [`Modem::slow_delay`] is added to the delay of every final
//!   result (`finish`), which holds the response — information text and
//!   result code — in `State::Busy` as realistic timing already does; input
//!   typed meanwhile waits unechoed.
//! - `reset`: the `AT+CFUN=1,1` path ([`Modem::boot`]): links closed without
//!   `+QMTSTAT`, volatile state gone, `RDY` and the boot chain, registration
//!   after the radio's delay.
//! - `power_loss`: the module is off (links closed without a word, host
//!   input dropped, [`Modem::power_on`] does nothing) until the fault ends,
//!   then it boots as at power-up.
//!
//! Sources for what the EC25 shows are cited in `docs/faults.md`, "Module faults".

use core::time::Duration;

use vmodem_at::{CmeError, Command, Form, Name};

use super::Fault;
use crate::commands::Fail;
use crate::io::ModemEvent;
use crate::modem::Modem;
use crate::time::Instant;

impl Modem {
    /// A module fault starts (called from `add_fault` before the fault is listed).
    pub(crate) fn start_module_fault(&mut self, now: Instant, fault: &Fault) {
        match fault {
            // Nothing to reboot while the power is off.
            Fault::Reset if self.device.powered => {
                self.emit(ModemEvent::Restarted);
                self.boot(now);
            }
            Fault::PowerLoss if self.device.powered => self.lose_power(),
            Fault::NoAnswer => {
                // What the module had not read yet is lost with the hang.
                self.engine.pending_input.clear();
            }
            _ => {}
        }
    }

    /// A module fault ends (called from `finish_fault`, the fault already unlisted).
    pub(crate) fn stop_module_fault(&mut self, now: Instant, fault: &Fault) {
        // The power comes back when the last power loss ends: a cold boot,
        // as when a board whose PWRKEY is held low (auto power-on) gets VBAT.
        if matches!(fault, Fault::PowerLoss) && !self.power_lost() && !self.device.powered {
            self.device.powered = true;
            self.boot(now);
        }
        // `error`, `no_answer` and `slow` are read while active: nothing to undo.
    }

    /// True while a `no_answer` fault is active: the serial line is dead both ways.
    pub(crate) fn hung(&self) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f.fault, Fault::NoAnswer))
    }

    /// True while a `power_loss` fault is active.
    pub(crate) fn power_lost(&self) -> bool {
        self.faults
            .iter()
            .any(|f| matches!(f.fault, Fault::PowerLoss))
    }

    /// What every answer waits for on top of its own latency: the largest
    /// `delay_ms` of the active `slow` faults (they do not add up: each says
    /// how slow the module is).
    pub(crate) fn slow_delay(&self) -> Duration {
        self.faults
            .iter()
            .filter_map(|f| match f.fault {
                Fault::Slow { delay_ms } => Some(Duration::from_millis(delay_ms)),
                _ => None,
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// The failure an active `error` fault gives `cmd`, if one matches: the
    /// oldest matching fault decides. `None` for an empty line unless a fault
    /// names just `AT`.
    pub(crate) fn fault_error(&self, cmd: Option<&Command>) -> Option<Fail> {
        if self.faults.is_empty() {
            return None;
        }
        let key = cmd.map_or_else(|| "AT".to_string(), command_key);
        self.faults.iter().find_map(|f| match &f.fault {
            Fault::Error { command, cme } if key.starts_with(command.as_str()) => {
                Some(cme.map_or(Fail::Error, |c| Fail::Cme(CmeError::from_code(c))))
            }
            _ => None,
        })
    }

    /// The power goes: everything stops at once. Unlike `AT+QPOWD` there is
    /// no `POWERED DOWN` and no [`ModemEvent::PoweredDown`] (a driver would
    /// press the power key of a module that has no power); links are closed
    /// without `+QMTSTAT`.
    fn lose_power(&mut self) {
        if let Some(radio) = &mut self.radio {
            radio.reset();
        }
        let (mqtt, mut sink) = self.mqtt_sink();
        mqtt.reset(&mut sink);
        self.engine.reset_line();
        self.device.powered = false;
        self.timers.clear();
    }
}

/// `cmd` as an `error` fault's prefix is matched against: `AT`, its name
/// (upper-case, as the parser keeps it) and its form without arguments, so
/// `AT+QMTOPEN` matches every form and `AT+QMTOPEN=` only the write form
/// (`AT+CFUN=1,1` never matches: arguments are not compared).
fn command_key(cmd: &Command) -> String {
    let name = match &cmd.name {
        Name::Basic(n) | Name::Extended(n) => n.clone(),
        Name::SRegister(n) => format!("S{n}"),
    };
    let form = match cmd.form {
        Form::Exec => "",
        Form::Read => "?",
        Form::Test => "=?",
        Form::Write(_) => "=",
    };
    format!("AT{name}{form}")
}
