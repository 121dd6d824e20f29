//! AT parameter lists: splitting `0,"host",1883` into typed fields, and quoting strings for
//! command lines.
//!
//! The Quectel string syntax has **no escape mechanism**: the first `"` after an opening quote ends
//! the string (see `module-behaviour.md`, "Framing"). Parsing follows that rule, and building
//! a command refuses strings that the module could not read back intact.

use std::fmt;

use crate::error::Error;

/// One field of an AT parameter list, as the module wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Param {
    /// A decimal integer, possibly negative (`-1` in `+QMTOPEN: 0,-1`).
    Int(i64),
    /// A double-quoted string, quotes removed.
    Str(String),
    /// Anything else that is not empty, trimmed: `READY`, `0x1F`, `(0-5)`.
    Raw(String),
    /// An empty field, as in `+CEREG: 2,1,,,7`.
    Empty,
}

impl Param {
    /// The integer value, if this field is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Param::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The text of a quoted string or a raw token; `None` for integers and empty fields.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Param::Str(s) | Param::Raw(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Int(v) => write!(f, "{v}"),
            Param::Str(s) => write!(f, "\"{s}\""),
            Param::Raw(s) => f.write_str(s),
            Param::Empty => Ok(()),
        }
    }
}

/// Why a parameter list could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamError {
    /// A string was opened with `"` and never closed.
    #[error("unterminated quoted string starting at byte {0}")]
    UnterminatedString(usize),
    /// Text followed a closing quote before the next comma (`"a"b`).
    #[error("unexpected text after a quoted string at byte {0}")]
    TextAfterString(usize),
}

/// Splits an AT parameter list (`0,"host",1883`) into fields.
///
/// Commas inside quotes do not split; the first `"` closes a string (no escapes). Spaces around
/// unquoted fields are trimmed. An empty input gives no fields.
pub fn parse_params(s: &str) -> Result<Vec<Param>, ParamError> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'"' {
            let start = i;
            let Some(len) = bytes[i + 1..].iter().position(|&b| b == b'"') else {
                return Err(ParamError::UnterminatedString(start));
            };
            out.push(Param::Str(s[i + 1..i + 1 + len].to_string()));
            i += len + 2;
            while i < bytes.len() && bytes[i] == b' ' {
                i += 1;
            }
            if i < bytes.len() && bytes[i] != b',' {
                return Err(ParamError::TextAfterString(i));
            }
        } else {
            let end = bytes[i..]
                .iter()
                .position(|&b| b == b',')
                .map_or(bytes.len(), |p| i + p);
            let field = s[i..end].trim();
            out.push(if field.is_empty() {
                Param::Empty
            } else if let Ok(v) = field.parse::<i64>() {
                Param::Int(v)
            } else {
                Param::Raw(field.to_string())
            });
            i = end;
        }
        if i >= bytes.len() {
            return Ok(out);
        }
        // bytes[i] is a comma.
        i += 1;
        if i == bytes.len() {
            out.push(Param::Empty);
            return Ok(out);
        }
    }
}

/// Quotes `value` for a command line, refusing what the module cannot read back.
///
/// `"` would end the string early (no escapes, see the module notes), CR ends the command line
/// (S3), LF is swallowed after CR, and Ctrl-Z/ESC end or cancel data entry.
pub(crate) fn quote(argument: &'static str, value: &str) -> Result<String, Error> {
    if let Some(bad) = value
        .chars()
        .find(|c| matches!(c, '"' | '\r' | '\n' | '\u{1a}' | '\u{1b}'))
    {
        let reason = match bad {
            '"' => "contains '\"': AT strings have no escape, the module would end the string \
                    there; send such data as a payload (qmt_pubex) instead"
                .to_string(),
            other => format!(
                "contains the control character {:?}, which ends or cancels an AT command line",
                other
            ),
        };
        return Err(Error::InvalidArgument { argument, reason });
    }
    Ok(format!("\"{value}\""))
}

/// Parses the fields after `prefix` on a response or URC line (`+QMTOPEN: 0,0` with prefix
/// `+QMTOPEN:`). The prefix is matched case-insensitively.
pub(crate) fn params_after(line: &[u8], prefix: &str) -> Option<Result<Vec<Param>, ParamError>> {
    let rest = strip_prefix_ci(line, prefix.as_bytes())?;
    let text = std::str::from_utf8(rest).ok()?;
    Some(parse_params(text))
}

/// `line` without `prefix` (ASCII case-insensitive), or `None` if it does not start with it.
pub(crate) fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    if line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&line[prefix.len()..])
    } else {
        None
    }
}

/// Integer at `index`, converted to `T`, or `None` when absent, not an integer or out of range.
pub(crate) fn int_at<T: TryFrom<i64>>(params: &[Param], index: usize) -> Option<T> {
    params
        .get(index)
        .and_then(Param::as_int)
        .and_then(|v| T::try_from(v).ok())
}

/// String or raw token at `index`, or `None` when absent or empty.
pub(crate) fn str_at(params: &[Param], index: usize) -> Option<String> {
    match params.get(index) {
        Some(Param::Str(s)) | Some(Param::Raw(s)) => Some(s.clone()),
        Some(Param::Int(v)) => Some(v.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Param {
        Param::Str(v.to_string())
    }
    fn r(v: &str) -> Param {
        Param::Raw(v.to_string())
    }

    #[test]
    fn parse_table() {
        use Param::{Empty, Int};
        let table: &[(&str, Vec<Param>)] = &[
            ("", vec![]),
            ("0", vec![Int(0)]),
            ("0,-1", vec![Int(0), Int(-1)]),
            (
                "0,\"iot.example\",1883",
                vec![Int(0), s("iot.example"), Int(1883)],
            ),
            ("\"a,b\",1", vec![s("a,b"), Int(1)]),
            ("READY", vec![r("READY")]),
            ("SMS DONE", vec![r("SMS DONE")]),
            ("2,1,,,7", vec![Int(2), Int(1), Empty, Empty, Int(7)]),
            ("1,", vec![Int(1), Empty]),
            (" 1 , 2 ", vec![Int(1), Int(2)]),
            ("\"\"", vec![s("")]),
            ("(0-5),(3,4)", vec![r("(0-5)"), r("(3"), r("4)")]),
            ("\"band\",0x0,0x2", vec![s("band"), r("0x0"), r("0x2")]),
            ("\"a\" ,2", vec![s("a"), Int(2)]),
        ];
        for (input, want) in table {
            assert_eq!(&parse_params(input).unwrap(), want, "input {input:?}");
        }
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            parse_params("0,\"abc"),
            Err(ParamError::UnterminatedString(2))
        );
        assert_eq!(
            parse_params("\"a\"b,1"),
            Err(ParamError::TextAfterString(3))
        );
    }

    #[test]
    fn quote_refuses_what_the_module_cannot_read() {
        assert_eq!(quote("topic", "a/b").unwrap(), "\"a/b\"");
        for bad in ["{\"a\":1}", "a\rb", "a\nb", "a\u{1a}", "\u{1b}"] {
            assert!(
                matches!(
                    quote("topic", bad),
                    Err(Error::InvalidArgument {
                        argument: "topic",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn params_after_prefix() {
        assert_eq!(
            params_after(b"+qmtopen: 0,0", "+QMTOPEN:")
                .unwrap()
                .unwrap(),
            vec![Param::Int(0), Param::Int(0)]
        );
        assert!(params_after(b"+QMTCONN: 0,0", "+QMTOPEN:").is_none());
    }
}
