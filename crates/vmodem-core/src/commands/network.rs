//! Radio, SIM and network registration: `AT+CFUN`, `AT+CPIN`, `AT+CSQ`,
//! `AT+CREG`/`AT+CGREG`/`AT+CEREG`, `AT+COPS`, `AT+CGATT` (27.007 §7, §8, §10),
//! and Quectel's `AT+QNWINFO`, `AT+QCSQ` (network service commands).
//!
//! What registration reports comes from two places: the operator
//! ([`Config::operator`](crate::Config::operator)) and the RAT the model camps
//! on ([`Modem::serving_rat`]), whose AcT, band and signal the model profile gives.

use core::time::Duration;

use vmodem_at::{CmeError, Command, Form, Name};

use super::identity::sim_available;
use super::{arg, arg_count, at_most, int_arg, opt_int_arg, CmdResult, Done, Fail, Reply};
use crate::device::{network, RegStat};
use crate::model::Rat;
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
        "+QNWINFO" => qnwinfo(m, cmd, r),
        "+QCSQ" => qcsq(m, cmd, r),
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
    let chain = m.config.model.profile().boot;
    let sim_at = chain
        .iter()
        .position(|b| b.text == "+CPIN: READY")
        .unwrap_or(0);
    let sim_restarts = m.device.cfun == 0 && fun != 0 && usize::from(m.device.boot_step) > sim_at;
    m.update_registration(now, |d| {
        d.cfun = fun;
        d.sim_ready = fun != 0 && (d.sim_ready || sim_restarts);
    });
    if sim_restarts {
        // The SIM powers up again: the same URCs as at boot, from +CPIN: READY on.
        for urc in &chain[sim_at..] {
            m.urc(urc.text);
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
                m.device.env.csq()
            } else {
                "99,99".to_string()
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
                line.push_str(&location(stat, m.serving_rat().act));
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
fn location(stat: u8, act: u8) -> String {
    if stat == RegStat::Home as u8 {
        format!(",\"{}\",\"{}\",{act}", network::LAC, network::CELL_ID)
    } else {
        String::new()
    }
}

/// `AT+COPS`: operator selection. Mode 0 automatic, 1 manual (only the
/// simulated operator exists), 2 deregister, 3 set the name format only,
/// 4 manual with automatic fallback.
///
/// A manual selection names the operator in the current `<format>` and may
/// add an `<AcT>`: the model's own RATs register (the AcT is then what
/// `AT+COPS?` and `+CEREG` show); an AcT the model has but the network does
/// not offer, or another operator, is `+CME ERROR: 30` (no network service);
/// an AcT the model does not know is `ERROR` (docs/decisions.md, "Operator").
fn cops(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    let p = m.config.model.profile();
    match &cmd.form {
        Form::Read => {
            let d = &m.device;
            if d.reg.registered() {
                let name = m.config.operator.name_in(d.cops_format);
                r.line(format!(
                    "+COPS: {},{},\"{name}\",{}",
                    d.cops_mode,
                    d.cops_format,
                    m.serving_rat().act
                ));
            } else {
                r.line(format!("+COPS: {}", d.cops_mode));
            }
        }
        Form::Test => {
            if m.device.cfun != 1 {
                return Err(Fail::Cme(CmeError::NO_NETWORK_SERVICE));
            }
            let op = &m.config.operator;
            let serving = m.device.reg.registered().then(|| m.serving_rat().act);
            let mut line = String::from("+COPS: ");
            for rat in p.rats {
                let stat = if serving == Some(rat.act) { 2 } else { 1 };
                line.push_str(&format!(
                    "({stat},\"{}\",\"{}\",\"{}\",{}),",
                    op.long_name(),
                    op.short_name(),
                    op.plmn(),
                    rat.act
                ));
            }
            // The EC25 and BG96 manuals' examples list the modes and formats one by one.
            line.push_str(",(0,1,2,3,4),(0,1,2)");
            r.line(line);
        }
        Form::Write(_) => {
            at_most(cmd, 4)?;
            let mode = int_arg(cmd, 0, 0..=4)? as u8;
            let format = opt_int_arg(cmd, 1, 0..=2, i64::from(m.device.cops_format))? as u8;
            let mut manual_act = None;
            let mut found = mode != 4;
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
                    let act = if arg(cmd, 3).is_empty() {
                        None
                    } else {
                        let act = int_arg(cmd, 3, 0..=255)? as u8;
                        if !p.cops_acts.contains(&act) {
                            return Err(Fail::Error);
                        }
                        Some(act)
                    };
                    found = oper == m.config.operator.name_in(format)
                        && act.is_none_or(|a| p.rat(a).is_some());
                    if !found && mode == 1 {
                        return Err(Fail::Cme(CmeError::NO_NETWORK_SERVICE));
                    }
                    manual_act = act.filter(|_| found);
                }
            }
            m.device.cops_format = format;
            if mode != 3 {
                // Mode 4 is manual if the operator is there, else automatic (27.007 §7.3).
                let before = m.camped_act();
                m.update_registration(now, |d| {
                    d.cops_mode = if mode == 4 { u8::from(found) } else { mode };
                    d.manual_act = manual_act;
                });
                m.reselect_if_rat_changed(now, before);
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

/// `AT+QNWINFO`: `+QNWINFO: <Act>,"<oper>",<band>,<channel>` while
/// registered (the operator quoted, as EC25 and BG9x logs show it),
/// `+QNWINFO: No Service` otherwise.
fn qnwinfo(m: &Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Exec => {
            if m.device.reg.registered() {
                let rat = m.serving_rat();
                r.line(format!(
                    "+QNWINFO: \"{}\",\"{}\",\"{}\",{}",
                    rat.qnwinfo,
                    m.config.operator.plmn(),
                    rat.band,
                    rat.channel
                ));
            } else {
                r.line("+QNWINFO: No Service");
            }
        }
        Form::Test => {}
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

/// `AT+QCSQ`: `+QCSQ: <sysmode>,<rssi>,<rsrp>,<sinr>,<rsrq>` while registered,
/// `+QCSQ: "NOSERVICE"` otherwise (the BG770A capture).
fn qcsq(m: &Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Exec => {
            let qcsq = m.serving_rat().qcsq;
            if !m.device.reg.registered() || m.device.env.signal.is_some_and(|(rssi, _)| rssi == 99)
            {
                r.line("+QCSQ: \"NOSERVICE\"");
            } else if let Some((rssi, _)) = m.device.env.signal {
                // A signal fault: the CSQ <rssi> as dBm (27.007 §8.5: −113 + 2·rssi),
                // RSRP 30 dB below it as in the cell's own figures; SINR, RSRQ kept.
                let dbm = -113 + 2 * i32::from(rssi);
                let mut fields = qcsq.split(',');
                let sysmode = fields.next().unwrap_or("\"LTE\"");
                let rest: Vec<&str> = fields.skip(2).collect();
                r.line(format!(
                    "+QCSQ: {sysmode},{dbm},{},{}",
                    dbm - 30,
                    rest.join(",")
                ));
            } else if m.device.reg.registered() {
                r.line(format!("+QCSQ: {qcsq}"));
            } else {
                r.line("+QCSQ: \"NOSERVICE\"");
            }
        }
        Form::Test => {}
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

impl Modem {
    /// The RAT the module camps on, or will once registered: the AcT of a
    /// manual `AT+COPS`, else (BG9x) the first of eMTC/NB-IoT that
    /// `AT+QCFG="iotopmode"` allows, in `"nwscanseq"` order, else the model's
    /// first RAT.
    pub(crate) fn serving_rat(&self) -> &'static Rat {
        let p = self.config.model.profile();
        let d = &self.device;
        if let Some(rat) = d.manual_act.and_then(|a| p.rat(a)) {
            return rat;
        }
        if p.qcfg.iotopmode {
            let allowed = |act: u8| match d.qcfg.iotopmode {
                0 => act == 8,
                1 => act == 9,
                _ => true,
            };
            let by_code = |code: &str| match code {
                "02" => Some(8),
                "03" => Some(9),
                _ => None,
            };
            let seq = d.qcfg.nwscanseq.as_bytes().chunks(2);
            let preferred = seq
                .filter_map(|c| by_code(std::str::from_utf8(c).ok()?))
                .chain(p.rats.iter().map(|r| r.act))
                .find(|&a| allowed(a));
            if let Some(rat) = preferred.and_then(|a| p.rat(a)) {
                return rat;
            }
        }
        &p.rats[0]
    }

    /// The AcT the module is registered on, if it is.
    pub(crate) fn camped_act(&self) -> Option<u8> {
        self.device.reg.registered().then(|| self.serving_rat().act)
    }

    /// After a setting that chooses the RAT changed (`AT+COPS` with an AcT,
    /// `AT+QCFG="iotopmode"`/`"nwscanseq"`): a module registered on another
    /// RAT than the one now chosen registers anew (searching, then registered
    /// with the new AcT in `+CEREG`).
    pub(crate) fn reselect_if_rat_changed(&mut self, now: Instant, before: Option<u8>) {
        if before.is_some_and(|act| act != self.serving_rat().act) {
            self.update_registration(now, |d| d.reg = RegStat::NotRegistered);
            self.schedule_registration(now);
        }
    }

    /// `<stat>` as CREG (0), CGREG (1) or CEREG (2) reports it.
    pub(crate) fn reg_stat(&self, which: usize) -> u8 {
        let d = &self.device;
        if which == 1 && !self.config.model.profile().cgreg_follows_eps {
            // BG9x: no GERAN/UTRAN packet registration on eMTC/NB-IoT.
            return RegStat::NotRegistered as u8;
        }
        let registered = if which == 0 {
            d.reg.registered()
        } else {
            d.attached()
        };
        if registered {
            RegStat::Home as u8
        } else if let Some(stat) = d.env.no_coverage.filter(|_| d.cfun == 1 && d.sim_ready) {
            // A network_loss fault: the <stat> it asks for (0, 2, 3 or 4).
            stat
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
        if self.device.reg.registered() && before[0] != RegStat::Home as u8 {
            // The network sends its time (NITZ) when the module registers.
            self.device.nitz_unix_ms = Some(self.network_unix_ms(now));
        }
        if self.device.attached() {
            // LTE: the default bearer (context 1) comes up with the attach.
            let bearer = self.device.bearer_at_attach;
            if let Some(ctx) = self.device.context_mut(1) {
                if ctx.defined && bearer {
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
                text.push_str(&location(stat, self.serving_rat().act));
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
