//! Arguments of a write command, and their typed reading.
//!
//! Strings are double-quoted with no escape mechanism: the first `"` ends the
//! string (module-behaviour.md, "Framing"). A JSON payload given inline
//! therefore arrives cut at its first quote, as on a real module.
//!
//! **Numbers: one rule for every command** (docs/decisions.md, "Numeric
//! parameters"). A numeric parameter is decimal: digits, leading zeros
//! allowed, a `-` in front allowed (the command's range then refuses what it
//! does not take). No `+`, no `0x`, no spaces inside: `0x3c`, `+3` and `1e2`
//! are not numbers, and the command answers `ERROR`. V.250 §5.4.2.1 lets a
//! command define hexadecimal constants; the commands that do (cipher suites,
//! band masks) read them with [`Arg::hex`]. Every handler reads its numbers
//! through [`Arg::int`], [`Arg::int_in`] or [`Arg::hex`], so every command
//! follows the rule.

use std::ops::RangeInclusive;

/// One argument as typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Nothing between two commas (`AT+X=1,,3`): the parameter is omitted.
    Empty,
    /// A quoted string, quotes removed, bytes as typed.
    Str(Vec<u8>),
    /// An unquoted token: a number (`5`, `-1`, `0xFFFF` where hexadecimal is
    /// allowed) or a bare word.
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

    /// Reads a decimal integer: digits, maybe after a `-` (module docs).
    pub fn int(&self) -> Result<i64, ArgError> {
        let tok = self.token()?;
        let digits = tok.strip_prefix(b"-").unwrap_or(tok);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(ArgError::NotANumber);
        }
        // ASCII digits and a sign: valid UTF-8; too many digits do not parse.
        std::str::from_utf8(tok)
            .ok()
            .and_then(|t| t.parse::<i64>().ok())
            .ok_or(ArgError::NotANumber)
    }

    /// Reads a hexadecimal constant, for the parameters a command defines as
    /// hexadecimal (V.250 §5.4.2.1): hex digits in either case, with or
    /// without a `0x`/`0X` prefix, at most 128 bits (`0xFFFF`, `C02F`,
    /// `0x42000000000000381A`).
    pub fn hex(&self) -> Result<u128, ArgError> {
        let tok = self.token()?;
        let digits = match tok {
            [b'0', b'x' | b'X', rest @ ..] => rest,
            _ => tok,
        };
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(ArgError::NotANumber);
        }
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| u128::from_str_radix(d, 16).ok())
            .ok_or(ArgError::NotANumber)
    }

    fn token(&self) -> Result<&[u8], ArgError> {
        match self {
            Arg::Token(t) => Ok(t),
            Arg::Empty => Err(ArgError::Missing),
            Arg::Str(_) => Err(ArgError::NotANumber),
        }
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
    fn integers_are_decimal() {
        let nan = Err(ArgError::NotANumber);
        for (text, want) in [
            ("42", Ok(42)),
            ("0", Ok(0)),
            ("007", Ok(7)),
            ("-1", Ok(-1)),
            ("-0", Ok(0)),
            ("9223372036854775807", Ok(i64::MAX)),
            // The cases: hexadecimal and a plus sign are not decimal.
            ("0x2", nan),
            ("0x3c", nan),
            ("0X3C", nan),
            ("+3", nan),
            ("+", nan),
            ("-", nan),
            ("--1", nan),
            ("1-", nan),
            ("1a", nan),
            ("1e2", nan),
            ("1.0", nan),
            ("1 2", nan),
            ("３", nan), // a full-width digit is not an ASCII digit
            ("99999999999999999999999", nan),
        ] {
            assert_eq!(tok(text).int(), want, "{text:?}");
        }
        assert_eq!(Arg::Str(b"1".to_vec()).int(), nan);
        assert_eq!(Arg::Empty.int(), Err(ArgError::Missing));
        assert_eq!(tok("6").int_in(0..=5), Err(ArgError::OutOfRange));
        assert_eq!(tok("-1").int_in(0..=5), Err(ArgError::OutOfRange));
        assert_eq!(tok("5").int_in(0..=5), Ok(5));
        assert_eq!(tok("0x5").int_in(0..=5), nan);
    }

    #[test]
    fn hex_constants_where_a_command_defines_them() {
        let nan = Err(ArgError::NotANumber);
        for (text, want) in [
            ("0xFFFF", Ok(0xFFFF)),
            ("0XFFFF", Ok(0xFFFF)),
            ("0xc02f", Ok(0xC02F)),
            ("C02F", Ok(0xC02F)),
            ("0", Ok(0)),
            ("0x0", Ok(0)),
            ("0x42000000000000381A", Ok(0x42_0000_0000_0000_381A)),
            ("0x", nan),
            ("x1", nan),
            ("-1", nan),
            ("+1", nan),
            ("0xG", nan),
            ("0x1 ", nan),
            ("0x1000000000000000000000000000000000", nan),
        ] {
            assert_eq!(tok(text).hex(), want, "{text:?}");
        }
        assert_eq!(Arg::Str(b"0x1".to_vec()).hex(), nan);
        assert_eq!(Arg::Empty.hex(), Err(ArgError::Missing));
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
