//! `AT+QSSLCFG`: the SSL contexts 0–5 (EC2x SSL AT commands manual), kept in
//! [`crate::ssl`], where the factory settings and what happens at
//! `AT+QMTOPEN` are described.
//!
//! - Write: `AT+QSSLCFG="<name>",<ctx>,<value>` → `OK`.
//! - Read: `AT+QSSLCFG="<name>",<ctx>` → `+QSSLCFG: "<name>",<ctx>,<value>`,
//!   the name in lower case whatever case the host typed (names are matched
//!   case-insensitively); `"ciphersuite"` reads `0X` and four upper-case hex
//!   digits (`+QSSLCFG: "ciphersuite",1,0XFFFF`, as an EG800K answers), file
//!   names read quoted as given, `""` when unset.
//! - Test: one line per option vmodem implements, worded and ordered as an
//!   EG25-G (EG25GGBR07A08M2G) answers `AT+QSSLCFG=?` — its cipher suite
//!   list included, with the stray space before `0XC007` that firmware prints.
//!
//! Options: `"sslversion"` 0–4, `"ciphersuite"` one id of the test list or
//! `0xFFFF` (as a number, `0x0035`, or in quotes, `"0x0035"`), `"cacert"`,
//! `"clientcert"`, `"clientkey"` a file name of at most 80 bytes (not checked
//! against the file system: the file is read at `AT+QMTOPEN`; `""` unsets it),
//! `"seclevel"` 0–2, `"ignorelocaltime"` 0–1, `"negotiatetime"` 10–300,
//! `"sni"` 0–1. Unknown names, a context outside 0–5, values outside their
//! range or of the wrong type, and the read and execution forms
//! (`AT+QSSLCFG?`, `AT+QSSLCFG`) answer `ERROR`.

use vmodem_at::{Arg, Command, Form};

use super::{arg, arg_count, at_most, int_arg, CmdResult, Done, Fail, Reply};
use crate::fs::MAX_NAME_LEN;
use crate::io::{SecLevel, SslVersion};
use crate::modem::Modem;
use crate::ssl::SUITES;

const TEST: [&str; 9] = [
    "+QSSLCFG: \"sslversion\",(0-5),(0-4)",
    "+QSSLCFG: \"ciphersuite\",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC002,0XC003,0XC004,0XC005, 0XC007,0XC008,0XC009,0XC00A,0XC011,0XC012,0XC013,0XC014,0XC00C,0XC00D,0XC00E,0XC00F,0XC023,0XC024,0XC025,0XC026,0XC027,0XC028,0XC029,0XC02A,0XC02F,0XC030,0XFFFF)",
    "+QSSLCFG: \"cacert\",(0-5),<cacertpath>",
    "+QSSLCFG: \"clientcert\",(0-5),<client_cert_path>",
    "+QSSLCFG: \"clientkey\",(0-5),<client_key_path>",
    "+QSSLCFG: \"seclevel\",(0-5),(0-2)",
    "+QSSLCFG: \"ignorelocaltime\",(0-5),(0,1)",
    "+QSSLCFG: \"negotiatetime\",(0-5),(10-300)",
    "+QSSLCFG: \"sni\",(0-5),(0,1)",
];

const NAMES: [&str; 9] = [
    "sslversion",
    "ciphersuite",
    "cacert",
    "clientcert",
    "clientkey",
    "seclevel",
    "ignorelocaltime",
    "negotiatetime",
    "sni",
];

pub(super) fn qsslcfg(m: &mut Modem, cmd: &Command, r: &mut Reply) -> CmdResult {
    match &cmd.form {
        Form::Test => {
            for line in TEST {
                r.line(line);
            }
            return Ok(Done::Ok);
        }
        Form::Write(_) => {}
        _ => return Err(Fail::Error),
    }
    at_most(cmd, 3)?;
    let asked = arg(cmd, 0).text()?;
    let name = NAMES
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(asked))
        .ok_or(Fail::Error)?;
    let idx = int_arg(cmd, 1, 0..=5)?;
    if arg_count(cmd) == 2 {
        // Read-only: a query does not store the context (`Sparse`).
        let ctx = &m.ssl.contexts[idx as usize];
        let value = match name {
            "sslversion" => ctx.version.number().to_string(),
            "ciphersuite" => format!("0X{:04X}", ctx.cipher_suite),
            "cacert" => format!("\"{}\"", ctx.ca_cert),
            "clientcert" => format!("\"{}\"", ctx.client_cert),
            "clientkey" => format!("\"{}\"", ctx.client_key),
            "seclevel" => ctx.seclevel.number().to_string(),
            "ignorelocaltime" => u8::from(ctx.ignore_local_time).to_string(),
            "negotiatetime" => ctx.negotiate_time.to_string(),
            _ => u8::from(ctx.sni).to_string(),
        };
        r.line(format!("+QSSLCFG: \"{name}\",{idx},{value}"));
        return Ok(Done::Ok);
    }
    let ctx = &mut m.ssl.contexts[idx as usize];
    let number = |range| int_arg(cmd, 2, range);
    match name {
        "sslversion" => {
            ctx.version = SslVersion::from_number(number(0..=4)? as u8).ok_or(Fail::Error)?
        }
        "ciphersuite" => ctx.cipher_suite = suite(arg(cmd, 2))?,
        "cacert" => ctx.ca_cert = path(arg(cmd, 2))?,
        "clientcert" => ctx.client_cert = path(arg(cmd, 2))?,
        "clientkey" => ctx.client_key = path(arg(cmd, 2))?,
        "seclevel" => {
            ctx.seclevel = SecLevel::from_number(number(0..=2)? as u8).ok_or(Fail::Error)?
        }
        "ignorelocaltime" => ctx.ignore_local_time = number(0..=1)? == 1,
        "negotiatetime" => ctx.negotiate_time = number(10..=300)? as u16,
        _ => ctx.sni = number(0..=1)? == 1,
    }
    Ok(Done::Ok)
}

/// A cipher suite id of the test list: a hexadecimal constant (the command
/// defines it so: `0xFFFF`, `0X0035`), bare or quoted.
fn suite(a: &Arg) -> Result<u16, Fail> {
    let value = match a {
        Arg::Str(s) => Arg::Token(s.clone()).hex()?,
        _ => a.hex()?,
    };
    SUITES
        .into_iter()
        .find(|&s| u128::from(s) == value)
        .ok_or(Fail::Error)
}

/// A certificate or key file name: a quoted string of at most 80 bytes.
fn path(a: &Arg) -> Result<String, Fail> {
    let text = a.text()?;
    if text.len() > MAX_NAME_LEN {
        return Err(Fail::Error);
    }
    Ok(text.to_string())
}
