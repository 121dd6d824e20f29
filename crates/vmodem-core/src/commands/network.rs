//! Radio, SIM and network registration: `AT+CFUN`, `AT+CPIN`, `AT+CSQ`,
//! `AT+CREG`/`AT+CGREG`/`AT+CEREG`, `AT+COPS`, `AT+CGATT` (27.007 §7, §8, §10).

use core::time::Duration;

use vmodem_at::{CmeError, Command, Form, Name};

use super::identity::sim_available;
use super::{arg, arg_count, at_most, int_arg, opt_int_arg, CmdResult, Done, Fail, Reply};
use crate::device::{network, RegStat};
use crate::modem::Modem;
use crate::time::Instant;
use crate::timers::Timer;

pub(super) fn execute(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    match name.as_str() {
        "+CFUN" => cfun(m, now, cmd, r),
        "+CPIN" => cpin(m, cmd, r),
        "+CSQ" => csq(m, cmd, r),
        "+CREG" => reg(m, 0, cmd, r),
        "+CGREG" => reg(m, 1, cmd, r),
        "+CEREG" => reg(m, 2, cmd, r),
        "+COPS" => cops(m, now, cmd, r),
        "+CGATT" => cgatt(m, now, cmd, r),
        _ => Err(Fail::Error),
    }
}

/// `AT+CFUN=<fun>[,<rst>]`: 0 minimum (radio and SIM off), 1 full, 4 radio
/// off; `<rst>`=1 restarts the module, which boots again with its URC chain.
fn cfun(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+CFUN: {}", m.device.cfun)),
        Form::Test => r.line("+CFUN: (0,1,4),(0,1)"),
        Form::Write(_) => {
            at_most(cmd, 2)?;
            let fun = int_arg(cmd, 0, 0..=4)? as u8;
            if fun == 2 || fun == 3 {
                return Err(Fail::Error);
            }
            if opt_int_arg(cmd, 1, 0..=1, 0)? == 1 {
                let delay = if m.realistic() {
                    Duration::from_secs(1)
                } else {
                    Duration::ZERO
                };
                m.timers.set(Timer::Restart, now + delay);
                return Ok(Done::Ok);
            }
            set_cfun(m, now, fun);
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

fn set_cfun(m: &mut Modem, now: Instant, fun: u8) {
    let sim_restarts = m.device.cfun == 0 && fun != 0 && m.device.boot_step > 2;
    m.update_registration(now, |d| {
        d.cfun = fun;
        d.sim_ready = fun != 0 && (d.sim_ready || sim_restarts);
    });
    if sim_restarts {
        // The SIM powers up again: the same URCs as at boot.
        for urc in [
            "+CPIN: READY",
            "+QUSIM: 1",
            "+QIND: SMS DONE",
            "+QIND: PB DONE",
        ] {
            m.urc(urc);
        }
    }
    m.schedule_registration(now);
}

fn cpin(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            sim_available(m)?;
            r.line("+CPIN: READY");
        }
        Form::Test => {}
        // The SIM needs no PIN: entering one is not allowed (the capture:
        // `AT+CPIN="0000"` → `+CME ERROR: 3`).
        Form::Write(_) => {
            arg(cmd, 0).str()?;
            at_most(cmd, 2)?;
            sim_available(m)?;
            return Err(Fail::Cme(CmeError::OPERATION_NOT_ALLOWED));
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

fn csq(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Exec => {
            let q = if m.device.reg.registered() {
                network::CSQ
            } else {
                "99,99"
            };
            r.line(format!("+CSQ: {q}"));
        }
        Form::Test => r.line("+CSQ: (0-31,99),(0-7,99)"),
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

const REG_NAMES: [&str; 3] = ["+CREG", "+CGREG", "+CEREG"];

/// `AT+CREG` / `AT+CGREG` / `AT+CEREG`: `<n>` 0 no URC, 1 `+CREG: <stat>`,
/// 2 with location (`"<lac>","<ci>",<AcT>`) while registered.
fn reg(m: &mut Modem, which: usize, cmd: &Command, r: &mut Reply) -> CmdResult {
    let name = REG_NAMES[which];
    match &cmd.form {
        Form::Read => {
            let n = m.device.reg_urc[which];
            let stat = m.reg_stat(which);
            let mut line = format!("{name}: {n},{stat}");
            if n == 2 {
                line.push_str(&location(stat));
            }
            r.line(line);
        }
        Form::Test => r.line(format!("{name}: (0-2)")),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            m.device.reg_urc[which] = int_arg(cmd, 0, 0..=2)? as u8;
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `,"<lac>","<ci>",<AcT>` when registered, else nothing.
fn location(stat: u8) -> String {
    if stat == RegStat::Home as u8 {
        format!(
            ",\"{}\",\"{}\",{}",
            network::LAC,
            network::CELL_ID,
            network::ACT
        )
    } else {
        String::new()
    }
}

/// `AT+COPS`: operator selection. Mode 0 automatic, 1 manual (only the
/// simulated home network exists), 2 deregister, 3 set the name format only,
/// 4 manual with automatic fallback.
fn cops(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => {
            let d = &m.device;
            if d.reg.registered() {
                let name = match d.cops_format {
                    0 => network::LONG_NAME,
                    1 => network::SHORT_NAME,
                    _ => network::PLMN,
                };
                r.line(format!(
                    "+COPS: {},{},\"{name}\",{}",
                    d.cops_mode,
                    d.cops_format,
                    network::ACT
                ));
            } else {
                r.line(format!("+COPS: {}", d.cops_mode));
            }
        }
        Form::Test => {
            if m.device.cfun != 1 {
                return Err(Fail::Cme(CmeError::NO_NETWORK_SERVICE));
            }
            let stat = if m.device.reg.registered() { 2 } else { 1 };
            r.line(format!(
                "+COPS: ({stat},\"{}\",\"{}\",\"{}\",{}),,(0-4),(0-2)",
                network::LONG_NAME,
                network::SHORT_NAME,
                network::PLMN,
                network::ACT
            ));
        }
        Form::Write(_) => {
            at_most(cmd, 4)?;
            let mode = int_arg(cmd, 0, 0..=4)? as u8;
            let format = opt_int_arg(cmd, 1, 0..=2, i64::from(m.device.cops_format))? as u8;
            match mode {
                0 | 2 => {
                    if arg_count(cmd) > 2 {
                        return Err(Fail::Error);
                    }
                }
                3 => {
                    if arg_count(cmd) != 2 {
                        return Err(Fail::Error);
                    }
                }
                _ => {
                    let oper = arg(cmd, 2).text()?;
                    opt_int_arg(cmd, 3, 0..=7, 7)?;
                    let known = match format {
                        0 => network::LONG_NAME,
                        1 => network::SHORT_NAME,
                        _ => network::PLMN,
                    };
                    if oper != known && mode == 1 {
                        return Err(Fail::Cme(CmeError::NO_NETWORK_SERVICE));
                    }
                }
            }
            m.device.cops_format = format;
            if mode != 3 {
                m.update_registration(now, |d| d.cops_mode = if mode == 4 { 1 } else { mode });
                m.schedule_registration(now);
            }
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+CGATT`: packet-domain attach (27.007 §10.1.9).
fn cgatt(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Read => r.line(format!("+CGATT: {}", u8::from(m.device.attached()))),
        Form::Test => r.line("+CGATT: (0,1)"),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let attach = int_arg(cmd, 0, 0..=1)? == 1;
            if attach && !m.device.reg.registered() {
                return Err(Fail::Cme(CmeError::NO_NETWORK_SERVICE));
            }
            m.update_registration(now, |d| d.attach_wanted = attach);
        }
        Form::Exec => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

impl Modem {
    /// `<stat>` as CREG (0), CGREG (1) or CEREG (2) reports it.
    pub(crate) fn reg_stat(&self, which: usize) -> u8 {
        let d = &self.device;
        let registered = if which == 0 {
            d.reg.registered()
        } else {
            d.attached()
        };
        if registered {
            RegStat::Home as u8
        } else if d.wants_registration() && !d.reg.registered() {
            RegStat::Searching as u8
        } else {
            RegStat::NotRegistered as u8
        }
    }

    /// Applies a change to the device and writes the registration URCs that
    /// the AT+CREG/CGREG/CEREG modes ask for, for each `<stat>` that changed.
    pub(crate) fn update_registration(
        &mut self,
        now: Instant,
        change: impl FnOnce(&mut crate::device::Device),
    ) {
        let before = [self.reg_stat(0), self.reg_stat(1), self.reg_stat(2)];
        change(&mut self.device);
        let _ = now;
        if self.device.attached() {
            // LTE: the default bearer (context 1) comes up with the attach.
            if let Some(ctx) = self.device.context_mut(1) {
                if ctx.defined {
                    ctx.active = true;
                }
            }
        } else {
            for ctx in &mut self.device.contexts {
                ctx.active = false;
            }
        }
        for (which, old) in before.into_iter().enumerate() {
            let stat = self.reg_stat(which);
            let n = self.device.reg_urc[which];
            if stat == old || n == 0 {
                continue;
            }
            let mut text = format!("{}: {stat}", REG_NAMES[which]);
            if n == 2 {
                text.push_str(&location(stat));
            }
            self.urc(text);
        }
    }

    /// Registers (after [`Modem::registration_delay`]: the radio network's
    /// registration time) or deregisters as the radio, SIM and operator
    /// selection now want. Also the way back after losing the network.
    pub(crate) fn schedule_registration(&mut self, now: Instant) {
        if self.device.wants_registration() {
            // A search already under way goes on; it is not restarted.
            if !self.device.reg.registered() && self.timers.get(Timer::Registration).is_none() {
                let delay = self.registration_delay();
                self.timers.set(Timer::Registration, now + delay);
            }
        } else {
            self.timers.cancel(Timer::Registration);
            self.update_registration(now, |d| d.reg = RegStat::NotRegistered);
        }
    }

    pub(crate) fn registration_due(&mut self, now: Instant) {
        if self.device.wants_registration() {
            self.update_registration(now, |d| d.reg = RegStat::Home);
        }
    }
}
