//! The commands the module understands, one file per family, and the types
//! every handler shares.
//!
//! A handler reads its [`Command`], may add information lines to a [`Reply`],
//! and returns how the command ended: `Ok(Done::Ok)` (final `OK`),
//! `Ok(Done::Prompt(..))` (enter data entry), or `Err(Fail)` (`ERROR` or
//! `+CME ERROR`). Wrong parameters are `Fail::Error` through `?` on
//! [`vmodem_at::ArgError`]; ME conditions (SIM not ready, operation not
//! allowed) are `Fail::Cme`.

mod basic;
mod file;
mod identity;
mod network;
mod pdp;
mod psm;
mod qcfg;
mod qind;
mod qmt;
mod simstat;
mod ssl;
mod system;

use core::time::Duration;

use bytes::Bytes;
use vmodem_at::{Arg, ArgError, CmeError, Command, Form, Format, Name};

pub(crate) use qind::Qind;

use crate::modem::Modem;
use crate::output::HostOutput;
use crate::time::Instant;

/// Information lines a command writes before its result code.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub(crate) lines: Vec<Vec<u8>>,
    /// Lines given as shared bytes (a file body): index in `lines` (which
    /// holds an empty placeholder there) and the bytes, written without a copy.
    shared: Vec<(usize, Bytes)>,
    /// Write the final result code right after the last line, with no empty
    /// line between (a quirk of the QMT test commands, see `qmt::test_line`).
    pub(crate) glue_result: bool,
}

impl Reply {
    pub(crate) fn line(&mut self, text: impl Into<Vec<u8>>) {
        self.lines.push(text.into());
    }

    /// A line of bytes shared with the file system (`AT+QFDWL`'s file body):
    /// framed like any line, never copied into the response.
    pub(crate) fn shared_line(&mut self, bytes: Bytes) {
        self.shared.push((self.lines.len(), bytes));
        self.lines.push(Vec::new());
    }

    /// Writes the lines as one block of information text (nothing if none).
    pub(crate) fn frame(&self, format: Format, out: &mut HostOutput) {
        if self.lines.is_empty() {
            return;
        }
        if self.shared.is_empty() {
            format.info(out.text(), &self.lines);
            return;
        }
        let crlf = |out: &mut HostOutput| {
            out.push(format.s3);
            out.push(format.s4);
        };
        if format.verbose {
            crlf(out);
        }
        for (i, line) in self.lines.iter().enumerate() {
            match self.shared.iter().find(|(at, _)| *at == i) {
                Some((_, bytes)) => out.push_shared(bytes.clone()),
                None => out.extend_from_slice(line),
            }
            crlf(out);
        }
    }
}

/// How a command that did not fail ended.
#[derive(Debug)]
pub(crate) enum Done {
    /// Final result `OK`.
    Ok,
    /// Write a prompt and collect data; the command finishes in [`complete_data`].
    Prompt(DataEntry),
}

/// How a command failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    /// `ERROR`: unknown command, syntax, or parameters the command does not accept.
    Error,
    /// `+CME ERROR: <n>` (or `ERROR` under AT+CMEE=0).
    Cme(CmeError),
}

impl From<ArgError> for Fail {
    /// Parameters of the wrong type, missing or out of range are answered `ERROR`
    /// (docs/decisions.md, "Wrong parameters").
    fn from(_: ArgError) -> Fail {
        Fail::Error
    }
}

pub(crate) type CmdResult = Result<Done, Fail>;

/// What ends a data entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DataEnd {
    /// Exactly this many bytes.
    Fixed(usize),
    /// Ctrl-Z (0x1A) sends, ESC (0x1B) cancels; at most this many bytes are kept.
    CtrlZ { max: usize },
}

/// Which command a data entry belongs to, so the data reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DataTarget {
    /// `AT+QMTPUBEX` / `AT+QMTPUB`.
    Publish(qmt::PublishTarget),
    /// `AT+QFUPL`.
    Upload(file::UploadTarget),
    /// Test-only target, to exercise the engine without a real command.
    #[cfg(test)]
    Test,
}

/// A prompt and how to collect what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DataEntry {
    /// Bytes written when the prompt is given (`\r\n> ` for publishing).
    pub(crate) prompt: Vec<u8>,
    pub(crate) end: DataEnd,
    /// Echo the data back while echo is on (a `>` prompt does, like SMS text
    /// entry; a `CONNECT` upload does not).
    pub(crate) echo: bool,
    /// Give up after this long without a byte.
    pub(crate) idle_timeout: Duration,
    pub(crate) target: DataTarget,
}

/// What the host sent after a prompt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DataInput {
    /// The data, complete.
    Complete(Vec<u8>),
    /// ESC was typed.
    Cancelled,
    /// Nothing arrived for the entry's idle timeout.
    TimedOut,
}

/// Runs one command.
pub(crate) fn execute(m: &mut Modem, now: Instant, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.name {
        Name::Basic(_) | Name::SRegister(_) => basic::execute(m, now, cmd, r),
        Name::Extended(name) => match name.as_str() {
            "+CMEE" => basic::cmee(m, cmd, r),
            "+CGMI" | "+GMI" | "+CGMM" | "+GMM" | "+CGMR" | "+GMR" | "+CGSN" | "+GSN" | "+CIMI"
            | "+QCCID" | "+CCID" | "+QGMR" => identity::execute(m, cmd, r),
            "+CFUN" | "+CPIN" | "+CSQ" | "+CREG" | "+CGREG" | "+CEREG" | "+COPS" | "+CGATT"
            | "+QNWINFO" | "+QCSQ" => network::execute(m, now, cmd, r),
            "+CGDCONT" | "+QICSGP" | "+QIACT" | "+QIDEACT" | "+CGACT" | "+QIDNSCFG"
            | "+QIGETERROR" | "+CGPADDR" | "+CGEREP" => pdp::execute(m, now, cmd, r),
            "+CPSMS" | "+CEDRXS" => psm::execute(m, cmd, r),
            "+CCLK" | "+QURCCFG" | "+IPR" | "+QPOWD" | "+QCFG" | "+CSCS" | "+QLTS" | "+CTZU"
            | "+CTZR" | "+IFC" => system::execute(m, now, cmd, r),
            "+QMTCFG" | "+QMTOPEN" | "+QMTCLOSE" | "+QMTCONN" | "+QMTDISC" | "+QMTSUB"
            | "+QMTUNS" | "+QMTPUBEX" | "+QMTPUB" | "+QMTRECV" => qmt::execute(m, now, cmd, r),
            "+QFLDS" | "+QFLST" | "+QFDEL" | "+QFUPL" | "+QFDWL" => file::execute(m, cmd, r),
            "+QSSLCFG" => ssl::qsslcfg(m, cmd, r),
            "+QINDCFG" => qind::qindcfg(m, cmd, r),
            "+QSIMSTAT" => simstat::qsimstat(m, cmd, r),
            #[cfg(test)]
            "+VMTEST" => test_support::execute(cmd),
            _ => Err(Fail::Error),
        },
    }
}

/// Finishes a command whose data entry ended.
pub(crate) fn complete_data(
    m: &mut Modem,
    now: Instant,
    target: DataTarget,
    input: DataInput,
    r: &mut Reply,
) -> CmdResult {
    match target {
        DataTarget::Publish(t) => qmt::complete_data(m, now, t, input, r),
        DataTarget::Upload(t) => file::complete_upload(m, t, input, r),
        #[cfg(test)]
        DataTarget::Test => test_support::complete(input, r),
    }
}

/// How long the module takes to answer any command line under realistic
/// timing, before the commands' own [`latency`].
pub(crate) const LINE_LATENCY: Duration = Duration::from_millis(5);

/// How long one command adds to its line's answer under realistic timing.
///
/// Real modules answer most commands in milliseconds and stay well inside the
/// documented maximum response times; the slow ones are those that touch the
/// radio or the network.
pub(crate) fn latency(cmd: &Command) -> Duration {
    let ms = match &cmd.name {
        Name::Extended(n) => match (n.as_str(), &cmd.form) {
            ("+COPS", Form::Test) => 4_000,
            ("+COPS", Form::Write(_)) | ("+CGATT", Form::Write(_)) => 1_200,
            ("+CFUN", Form::Write(_)) => 800,
            ("+QIACT", Form::Write(_)) | ("+CGACT", Form::Write(_)) => 400,
            ("+QIDEACT", Form::Write(_)) => 300,
            ("+QPOWD", _) => 30,
            // Answered at once; their outcome comes later as a URC.
            (n, _) if n.starts_with("+QMT") => 20,
            _ => 10,
        },
        _ => 0,
    };
    Duration::from_millis(ms)
}

/// The `i`-th argument of a write command, `Empty` if absent.
pub(crate) fn arg(cmd: &Command, i: usize) -> &Arg {
    const EMPTY: &Arg = &Arg::Empty;
    match &cmd.form {
        Form::Write(args) => args.get(i).unwrap_or(EMPTY),
        _ => EMPTY,
    }
}

/// How many arguments a write command has.
pub(crate) fn arg_count(cmd: &Command) -> usize {
    match &cmd.form {
        Form::Write(args) => args.len(),
        _ => 0,
    }
}

/// Fails unless the write command has at most `n` arguments.
pub(crate) fn at_most(cmd: &Command, n: usize) -> Result<(), Fail> {
    if arg_count(cmd) > n {
        Err(Fail::Error)
    } else {
        Ok(())
    }
}

/// Reads the `i`-th argument as an integer in `range`.
pub(crate) fn int_arg(
    cmd: &Command,
    i: usize,
    range: core::ops::RangeInclusive<i64>,
) -> Result<i64, Fail> {
    Ok(arg(cmd, i).int_in(range)?)
}

/// Reads the `i`-th argument as an integer in `range`, or `default` if omitted.
pub(crate) fn opt_int_arg(
    cmd: &Command,
    i: usize,
    range: core::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, Fail> {
    let a = arg(cmd, i);
    if a.is_empty() {
        Ok(default)
    } else {
        Ok(a.int_in(range)?)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    //! `AT+VMTEST=<mode>,<n>` gives a prompt so the engine's data entry can be
    //! tested before real commands use it: mode 0 fixed length `n`, mode 1
    //! Ctrl-Z with at most `n` bytes, mode 2 a `CONNECT` prompt for `n` bytes.
    use super::*;

    pub(crate) fn execute(cmd: &Command) -> CmdResult {
        let mode = int_arg(cmd, 0, 0..=2)?;
        let n = int_arg(cmd, 1, 1..=1500)? as usize;
        let (prompt, end, echo) = match mode {
            0 => (b"\r\n> ".to_vec(), DataEnd::Fixed(n), true),
            1 => (b"\r\n> ".to_vec(), DataEnd::CtrlZ { max: n }, true),
            _ => (b"\r\nCONNECT\r\n".to_vec(), DataEnd::Fixed(n), false),
        };
        Ok(Done::Prompt(DataEntry {
            prompt,
            end,
            echo,
            idle_timeout: Duration::from_secs(10),
            target: DataTarget::Test,
        }))
    }

    pub(crate) fn complete(input: DataInput, r: &mut Reply) -> CmdResult {
        match input {
            DataInput::Complete(data) => {
                r.line(format!("+VMTEST: {}", data.len()));
                Ok(Done::Ok)
            }
            DataInput::Cancelled => Ok(Done::Ok),
            DataInput::TimedOut => Err(Fail::Error),
        }
    }
}
