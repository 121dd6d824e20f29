//! Arguments of a write command, and their typed reading.
//!
//! Strings are double-quoted with no escape mechanism: the first `"` ends the
//! string (module-behaviour.md, "Framing"). A JSON payload given inline
//! therefore arrives cut at its first quote, as on a real module.

use std::ops::RangeInclusive;

/// One argument as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Nothing between two commas (`AT+X=1,,3`): the parameter is omitted.
    Empty,
    /// A quoted string, quotes removed, bytes as typed.
    Str(Vec<u8>),
    /// An unquoted token: a number (`5`, `-1`, `0xFFFF`) or a bare word.
    Token(Vec<u8>),
}

/// Why an argument could not be read as what the command wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// A number was wanted and the argument is not one (or too large to be one).
    NotANumber,
    /// The number is outside the parameter's range.
    OutOfRange,
    /// A quoted string was wanted.
    NotAString,
    /// The parameter is omitted but required.
    Missing,
}

impl Arg {
    /// True if the parameter was omitted.
    pub fn is_empty(&self) -> bool {
        matches!(self, Arg::Empty)
    }

    /// Reads a decimal (optionally signed) or `0x` hexadecimal integer.
    pub fn int(&self) -> Result<i64, ArgError> {
        let tok = match self {
            Arg::Token(t) => t,
            Arg::Empty => return Err(ArgError::Missing),
            Arg::Str(_) => return Err(ArgError::NotANumber),
        };
        let text = std::str::from_utf8(tok).map_err(|_| ArgError::NotANumber)?;
        let parsed = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))
        {
            i64::from_str_radix(hex, 16).ok()
        } else if text.bytes().enumerate().all(|(i, c)| {
            c.is_ascii_digit() || (i == 0 && (c == b'-' || c == b'+') && text.len() > 1)
        }) {
            text.parse::<i64>().ok()
        } else {
            None
        };
        parsed.ok_or(ArgError::NotANumber)
    }

    /// Reads an integer and checks it lies in `range`.
    pub fn int_in(&self, range: RangeInclusive<i64>) -> Result<i64, ArgError> {
        let v = self.int()?;
        if range.contains(&v) {
            Ok(v)
        } else {
            Err(ArgError::OutOfRange)
        }
    }

    /// Reads a quoted string's bytes.
    pub fn str(&self) -> Result<&[u8], ArgError> {
        match self {
            Arg::Str(s) => Ok(s),
            Arg::Empty => Err(ArgError::Missing),
            Arg::Token(_) => Err(ArgError::NotAString),
        }
    }

    /// Reads a quoted string as UTF-8 text.
    pub fn text(&self) -> Result<&str, ArgError> {
        std::str::from_utf8(self.str()?).map_err(|_| ArgError::NotAString)
    }
}

/// Splits `AT+X=<here>` into arguments, stopping at `;` or the end of the
/// line. Returns the arguments and the bytes used, or the offset of a syntax error.
pub(crate) fn parse_args(s: &[u8]) -> Result<(Vec<Arg>, usize), usize> {
    let mut args = Vec::new();
    let mut pos = 0;
    loop {
        while s.get(pos) == Some(&b' ') {
            pos += 1;
        }
        let arg = match s.get(pos) {
            Some(b'"') => {
                let start = pos + 1;
                let len = s[start..].iter().position(|&c| c == b'"').ok_or(s.len())?;
                pos = start + len + 1;
                while s.get(pos) == Some(&b' ') {
                    pos += 1;
                }
                Arg::Str(s[start..start + len].to_vec())
            }
            _ => {
                let start = pos;
                while s.get(pos).is_some_and(|&c| c != b',' && c != b';') {
                    let c = s[pos];
                    if !(c.is_ascii_graphic() || c == b' ') || c == b'"' {
                        return Err(pos);
                    }
                    pos += 1;
                }
                let tok = s[start..pos].trim_ascii_end();
                if tok.is_empty() {
                    Arg::Empty
                } else {
                    Arg::Token(tok.to_vec())
                }
            }
        };
        args.push(arg);
        match s.get(pos) {
            Some(b',') => pos += 1,
            None | Some(b';') => return Ok((args, pos)),
            Some(_) => return Err(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &str) -> Arg {
        Arg::Token(s.as_bytes().to_vec())
    }

    #[test]
    fn integers() {
        assert_eq!(tok("42").int(), Ok(42));
        assert_eq!(tok("-1").int(), Ok(-1));
        assert_eq!(tok("+7").int(), Ok(7));
        assert_eq!(tok("0xFFFF").int(), Ok(0xFFFF));
        assert_eq!(
            tok("99999999999999999999999").int(),
            Err(ArgError::NotANumber)
        );
        assert_eq!(tok("1a").int(), Err(ArgError::NotANumber));
        assert_eq!(tok("-").int(), Err(ArgError::NotANumber));
        assert_eq!(Arg::Str(b"1".to_vec()).int(), Err(ArgError::NotANumber));
        assert_eq!(Arg::Empty.int(), Err(ArgError::Missing));
        assert_eq!(tok("6").int_in(0..=5), Err(ArgError::OutOfRange));
        assert_eq!(tok("5").int_in(0..=5), Ok(5));
    }

    #[test]
    fn strings_have_no_escapes() {
        // The backslash does not escape: the string ends at the first quote and
        // what follows it is not an argument separator.
        assert!(parse_args(b"\"{\\\"a\\\"}\",1").is_err());
        let (args, used) = parse_args(b"\"a b\" , 2 ;rest").unwrap();
        assert_eq!(args, vec![Arg::Str(b"a b".to_vec()), tok("2")]);
        assert_eq!(used, 10);
    }
}
