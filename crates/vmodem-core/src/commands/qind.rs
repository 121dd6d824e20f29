//! `AT+QINDCFG` (EC2x AT commands manual, "AT+QINDCFG URC Indication
//! Configuration") and the `+QIND: "csq",<rssi>,<ber>` report it enables.
//!
//! The manual lists the `<urctype>`s `"all"` (main switch, default ON),
//! `"csq"` (signal change, default OFF), `"smsfull"`, `"ring"`,
//! `"smsincoming"`, `"act"` and `"ccinfo"`; the write form
//! `AT+QINDCFG=<urctype>[,<enable>[,<savetonvram>]]` sets one, the type alone
//! reads it back as `+QINDCFG: <urctype>,<enable>`. Only `"csq"` and `"act"`
//! (with `"all"`) have an effect here: vmodem has no SMS or calls.
//! `+QIND: "act",<actvalue>` is written at once when turned on, then when the
//! access technology changes — `"UNKNOWN"` while not registered (manual).
//!
//! **When `+QIND: "csq"` comes.** The manual says "indication of signal
//! strength and channel bit error rate change (similar to AT+CSQ)": the
//! module reports when the value `AT+CSQ` would answer changes — a `signal`
//! fault starting or ending, registration lost (`99,99`) or regained. Turning
//! the report on does not write the current value (only `"act"` is documented
//! to report at once). Real logs show the form `+QIND: "csq",27,99`
//! (asterisk-chan-quectel's debug output, RoEdAl/asterisk-chan-quectel).

use vmodem_at::{Command, Form};

use super::{arg, arg_count, at_most, int_arg, opt_int_arg, CmdResult, Done, Fail, Reply};
use crate::device::network;
use crate::modem::Modem;

/// The `<urctype>`s of the EC2x manual, in its order (the test form's lines).
const TYPES: [&str; 7] = [
    "all",
    "csq",
    "smsfull",
    "ring",
    "smsincoming",
    "act",
    "ccinfo",
];

/// Factory `<enable>` of each type: "all", "ring" and "smsincoming" ON.
const DEFAULTS: u8 = 0b0001_1001;

/// The `AT+QINDCFG` settings (one bit per [`TYPES`] entry) and the last
/// signal value reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Qind {
    /// What is in force now.
    enabled: u8,
    /// What `<savetonvram>`=1 stored: in force again after a reboot.
    saved: u8,
    /// The `<rssi>,<ber>` last seen, so a change can be reported; `None`
    /// right after power-up (the first value is not a change).
    last_csq: Option<(u8, u8)>,
    /// The `<actvalue>` last seen, likewise.
    last_act: Option<&'static str>,
}

impl Default for Qind {
    fn default() -> Self {
        Qind {
            enabled: DEFAULTS,
            saved: DEFAULTS,
            last_csq: None,
            last_act: None,
        }
    }
}

impl Qind {
    /// The settings after a reboot: the saved ones.
    pub(crate) fn rebooted(self) -> Qind {
        Qind {
            enabled: self.saved,
            saved: self.saved,
            last_csq: None,
            last_act: None,
        }
    }

    fn on(self, urctype: usize) -> bool {
        self.enabled & (1 << urctype) != 0
    }
}

/// `AT+QINDCFG=<urctype>[,<enable>[,<savetonvram>]]`; `AT+QINDCFG=?`.
pub(super) fn qindcfg(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {
            for t in TYPES {
                r.line(format!("+QINDCFG: \"{t}\",(0,1),(0,1)"));
            }
        }
        Form::Write(_) => {
            at_most(cmd, 3)?;
            let name = arg(cmd, 0).text()?;
            let urctype = TYPES
                .iter()
                .position(|t| t.eq_ignore_ascii_case(name))
                .ok_or(Fail::Error)?;
            let bit = 1u8 << urctype;
            let q = &mut m.device.qind;
            if arg_count(cmd) == 1 {
                r.line(format!(
                    "+QINDCFG: \"{}\",{}",
                    TYPES[urctype],
                    u8::from(q.on(urctype))
                ));
                return Ok(Done::Ok);
            }
            let enable = int_arg(cmd, 1, 0..=1)? == 1;
            let save = opt_int_arg(cmd, 2, 0..=1, 0)? == 1;
            q.enabled = if enable {
                q.enabled | bit
            } else {
                q.enabled & !bit
            };
            if save {
                q.saved = (q.saved & !bit) | (q.enabled & bit);
            }
            if enable && TYPES[urctype] == "act" && q.on(0) {
                // "If this configuration is ON, the URC of "act" is reported
                // immediately" (the manual); after the OK, as URCs wait for it.
                let act = m.act_now();
                m.device.qind.last_act = Some(act);
                m.urc(format!("+QIND: \"act\",\"{act}\""));
            }
        }
        _ => return Err(Fail::Error),
    }
    Ok(Done::Ok)
}

impl Modem {
    /// What `AT+CSQ` answers now (`commands::network::csq`, tested to agree):
    /// the cell's (or a `signal` fault's) value while registered, `99,99`
    /// otherwise.
    pub(crate) fn csq_now(&self) -> (u8, u8) {
        if !self.device.reg.registered() {
            return (99, 99);
        }
        self.device.env.signal.unwrap_or(network::CSQ_VALUE)
    }

    /// `<actvalue>` of `+QIND: "act"`: the RAT registered on, `"UNKNOWN"`
    /// when not registered (the manual). LTE is `"LTE"`; eMTC and NB-IoT
    /// (BG9x) take the names `AT+QNWINFO` gives them on a BG96.
    pub(crate) fn act_now(&self) -> &'static str {
        match self.camped_act() {
            None => "UNKNOWN",
            Some(0) => "GSM",
            Some(8) => "eMTC",
            Some(9) => "NBIoT",
            Some(_) => "LTE",
        }
    }

    /// Writes `+QIND: "csq",<rssi>,<ber>` when the signal changed since it
    /// was last looked at, and `+QIND: "act",<actvalue>` when the access
    /// technology did, each when its report is on (with `"all"`). Runs after
    /// every input, with the link check.
    pub(crate) fn report_signal_change(&mut self) {
        let csq = self.csq_now();
        let act = self.act_now();
        let q = &mut self.device.qind;
        let last_csq = q.last_csq.replace(csq);
        let last_act = q.last_act.replace(act);
        let (all, csq_on, act_on) = (q.on(0), q.on(1), q.on(5));
        if all && csq_on && last_csq.is_some_and(|last| last != csq) {
            self.urc(format!("+QIND: \"csq\",{},{}", csq.0, csq.1));
        }
        if all && act_on && last_act.is_some_and(|last| last != act) {
            self.urc(format!("+QIND: \"act\",\"{act}\""));
        }
    }
}
