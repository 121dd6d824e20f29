//! The file commands of Quectel's EC2x FILE AT commands manual: `AT+QFLDS`,
//! `AT+QFLST`, `AT+QFDEL`, `AT+QFUPL`, `AT+QFDWL`, on the storages of
//! [`crate::fs`] (where the rules for names and space are).
//!
//! Answers, and the decisions behind those the manual leaves open:
//! - `AT+QFUPL=<name>[,<size>[,<timeout>[,<ackmode>]]]` → `CONNECT` (a result
//!   code: `\r\nCONNECT\r\n` under ATV1) → exactly `<size>` bytes, not echoed →
//!   `+QFUPL: <size>,<checksum>` `OK`. `<size>` defaults to 10240, `<timeout>`
//!   (1–65535 s, default 5) is how long the module waits for the *next* byte.
//!   `<checksum>` ([`fs::checksum`]) is printed as lowercase hex without
//!   leading zeros: real modules print `+QFUPL: 1758,384a` (the note),
//!   `+QFUPL: 1675,372`, `+QFUPL: 227,d35` (BG96 and EC25 logs).
//!   **Decisions:** an upload that times out answers `+CME ERROR: 421` and
//!   creates no file (the manual's `<upload_size>` suggests a real module keeps
//!   what arrived; vmodem's data entry does not hand partial data back yet).
//!   Bytes after the announced size are not part of the file: they are read
//!   as the next command line (a CR LF or Ctrl-Z right after is swallowed, as
//!   after any fixed-length payload). `<ackmode>` 1 (an `A` after every 1024
//!   bytes) is not implemented: `+CME ERROR: 4`, rather than a host waiting
//!   for an `A` that never comes.
//! - `AT+QFDWL=<name>` → `\r\nCONNECT\r\n<bytes>\r\n+QFDWL: <size>,<checksum>\r\n\r\nOK\r\n`
//!   (hosts in the field cut the data off at the `\r\n` before `+QFDWL:`).
//! - `AT+QFLST[=<pattern>]` → `+QFLST: "<storage>:<name>",<size>` per file, in
//!   name order; an EC25 prints the `UFS:` prefix too (`+QFLST:
//!   "UFS:client.crt",851` in an EC25EFAR06A17M4G log). No argument lists UFS;
//!   a pattern matching nothing lists nothing.
//! - `AT+QFDEL=<pattern>` deletes what the pattern matches (`"*"` all of UFS,
//!   `"RAM:*"` all of RAM; wildcards matching nothing are fine). **Decision:**
//!   deleting a named file that does not exist answers `+CME ERROR: 418`, as an
//!   EC25EFAR06A17M4G log shows for a delete before an upload.
//! - `AT+QFLDS="UFS"|"RAM"` → `+QFLDS: <free>,<total>`; `AT+QFLDS` →
//!   `+QFLDS: <bytes in UFS files>,<number of UFS files>`.
//! - Test forms as an EG25-G/BG96 answers them: `AT+QFUPL=?` →
//!   `+QFUPL: <filename>[,(1-<freesize>)[,(1-65535)[,(0,1)]]]`, `AT+QFDWL=?` →
//!   `+QFDWL: <filename>`, `AT+QFDEL=?` → `+QFDEL: <filename>`, `AT+QFLST=?`
//!   and `AT+QFLDS=?` → `OK` alone.
//!
//! Errors: a parameter of the wrong type, a missing one or too many answer
//! `ERROR`, like every other command (docs/decisions.md, "Wrong
//! parameters"); what the file system refuses is a `+CME ERROR` of the FILE
//! manual's table: 400 unknown storage, 403 storage full, 405 no such file,
//! 406 invalid name, 407 file exists, 418 delete failed, 420 no room for the
//! file, 421 upload timed out, 425 a number out of range (`<size>` 0,
//! `<timeout>` 0, `<ackmode>` 2).

use core::time::Duration;

use vmodem_at::{CmeError, Command, Form, Name, ResultCode};

use super::{
    arg, at_most, CmdResult, DataEnd, DataEntry, DataInput, DataTarget, Done, Fail, Reply,
};
use crate::fs::{self, Storage, StoreError};
use crate::io::ModemEvent;
use crate::modem::Modem;

/// `<file_size>` when omitted.
const DEFAULT_UPLOAD_SIZE: i64 = 10240;

/// `<timeout>` when omitted, seconds.
const DEFAULT_UPLOAD_TIMEOUT: i64 = 5;

/// An upload waiting for its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UploadTarget {
    storage: Storage,
    name: String,
}

pub(super) fn execute(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let Name::Extended(name) = &cmd.name else {
        return Err(Fail::Error);
    };
    match name.as_str() {
        "+QFLDS" => qflds(m, cmd, r),
        "+QFLST" => qflst(m, cmd, r),
        "+QFDEL" => qfdel(m, cmd, r),
        "+QFUPL" => qfupl(m, cmd, r),
        "+QFDWL" => qfdwl(m, cmd, r),
        _ => Err(Fail::Error),
    }
}

fn cme(err: CmeError) -> Fail {
    Fail::Cme(err)
}

/// A name parameter: a quoted string (else `ERROR`) the file system accepts
/// (else 406); `pattern` allows `*`.
fn name_arg(cmd: &Command, pattern: bool) -> Result<(Storage, String), Fail> {
    let typed = arg(cmd, 0).str()?;
    let parsed = if pattern {
        fs::parse_pattern(typed)
    } else {
        fs::parse_name(typed)
    };
    let (storage, name) = parsed.map_err(|_| cme(CmeError::FILE_INVALID_NAME))?;
    Ok((storage, name.to_string()))
}

/// An optional number: `ERROR` if not a number, 425 if outside `range`.
fn opt_number(
    cmd: &Command,
    i: usize,
    range: core::ops::RangeInclusive<i64>,
    default: i64,
) -> Result<i64, Fail> {
    let a = arg(cmd, i);
    if a.is_empty() {
        return Ok(default);
    }
    let v = a.int()?;
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(cme(CmeError::FILE_INVALID_PARAMETER))
    }
}

fn qflds(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => Ok(Done::Ok),
        Form::Exec => {
            let ufs = &m.files.ufs;
            r.line(format!("+QFLDS: {},{}", ufs.used(), ufs.len()));
            Ok(Done::Ok)
        }
        Form::Write(_) => {
            at_most(cmd, 1)?;
            let asked = arg(cmd, 0).str()?;
            let storage = if asked.eq_ignore_ascii_case(b"UFS") {
                Storage::Ufs
            } else if asked.eq_ignore_ascii_case(b"RAM") {
                Storage::Ram
            } else {
                return Err(cme(CmeError::FILE_INVALID_INPUT));
            };
            let store = m.files.store(storage);
            r.line(format!("+QFLDS: {},{}", store.free(), store.capacity()));
            Ok(Done::Ok)
        }
        Form::Read => Err(Fail::Error),
    }
}

fn qflst(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    let (storage, pattern) = match &cmd.form {
        Form::Test => return Ok(Done::Ok),
        Form::Exec => (Storage::Ufs, "*".to_string()),
        Form::Write(_) => {
            at_most(cmd, 1)?;
            name_arg(cmd, true)?
        }
        Form::Read => return Err(Fail::Error),
    };
    for (name, size) in m.files.store(storage).list(&pattern) {
        r.line(format!("+QFLST: \"{}{name}\",{size}", storage.prefix()));
    }
    Ok(Done::Ok)
}

fn qfdel(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {
            r.line("+QFDEL: <filename>");
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    at_most(cmd, 1)?;
    let (storage, pattern) = name_arg(cmd, true)?;
    let store = m.files.store(storage);
    let doomed: Vec<String> = if pattern.contains('*') {
        store.list(&pattern).map(|(n, _)| n.to_string()).collect()
    } else if store.contains(&pattern) {
        vec![pattern]
    } else {
        return Err(cme(CmeError::FILE_DELETE_FAILED));
    };
    for name in doomed {
        m.files.store_mut(storage).remove(&name);
        if storage == Storage::Ufs {
            m.emit(ModemEvent::UfsFileDeleted { name });
        }
    }
    Ok(Done::Ok)
}

fn qfupl(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {
            r.line("+QFUPL: <filename>[,(1-<freesize>)[,(1-65535)[,(0,1)]]]");
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    at_most(cmd, 4)?;
    let (storage, name) = name_arg(cmd, false)?;
    let size = opt_number(cmd, 1, 1..=i64::MAX, DEFAULT_UPLOAD_SIZE)?;
    let timeout = opt_number(cmd, 2, 1..=65535, DEFAULT_UPLOAD_TIMEOUT)?;
    if opt_number(cmd, 3, 0..=1, 0)? == 1 {
        return Err(cme(CmeError::OPERATION_NOT_SUPPORTED));
    }
    let store = m.files.store(storage);
    if store.contains(&name) {
        return Err(cme(CmeError::FILE_ALREADY_EXISTS));
    }
    let free = store.free();
    if free == 0 {
        return Err(cme(CmeError::FILE_DRIVE_FULL));
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > free {
        return Err(cme(CmeError::FILE_NO_SPACE));
    }
    let mut prompt = Vec::new();
    m.engine.format().result(&mut prompt, ResultCode::Connect);
    Ok(Done::Prompt(DataEntry {
        prompt,
        end: DataEnd::Fixed(size),
        echo: false,
        idle_timeout: Duration::from_secs(timeout as u64),
        target: DataTarget::Upload(UploadTarget { storage, name }),
    }))
}

/// Stores what an `AT+QFUPL` received.
pub(super) fn complete_upload(
    m: &mut Modem,
    target: UploadTarget,
    input: DataInput,
    r: &mut Reply,
) -> CmdResult {
    let data = match input {
        DataInput::Complete(data) => data,
        // A fixed-length entry is never cancelled (ESC is data), so this is a timeout.
        DataInput::Cancelled | DataInput::TimedOut => {
            return Err(cme(CmeError::FILE_TIMEOUT));
        }
    };
    let (len, sum) = (data.len(), fs::checksum(&data));
    m.files
        .store_mut(target.storage)
        .create(&target.name, data)
        .map_err(|e| match e {
            StoreError::Exists => cme(CmeError::FILE_ALREADY_EXISTS),
            StoreError::NoSpace => cme(CmeError::FILE_NO_SPACE),
        })?;
    if target.storage == Storage::Ufs {
        m.emit(ModemEvent::UfsFileWritten { name: target.name });
    }
    r.line(format!("+QFUPL: {len},{sum:x}"));
    Ok(Done::Ok)
}

fn qfdwl(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {
            r.line("+QFDWL: <filename>");
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    at_most(cmd, 1)?;
    let (storage, name) = name_arg(cmd, false)?;
    let data = m
        .files
        .store(storage)
        .get_shared(&name)
        .ok_or(cme(CmeError::FILE_NOT_FOUND))?;
    r.line("CONNECT");
    let trailer = format!("+QFDWL: {},{:x}", data.len(), fs::checksum(&data));
    // Shared with the file system, not copied: the host takes it at its pace.
    r.shared_line(data);
    r.line(trailer);
    Ok(Done::Ok)
}
