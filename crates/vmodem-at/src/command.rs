//! Command-line parsing: from `AT…` to a list of [`Command`]s.
//!
//! V.250 §5.3–5.4 and 27.007 §4: after the `AT` prefix a line holds basic
//! commands (`E0`, `V1`, `&F`, `S3=13`, `I`), which may follow each other
//! directly, and extended commands (`+CMEE=2`), which end at `;` or at the end
//! of the line. Extended commands come in four forms: test `=?`, read `?`,
//! write `=<args>` and execute (bare name). Names are case-insensitive and
//! stored upper-case; spaces outside strings are ignored.

use crate::args::{parse_args, Arg};

/// A command's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Name {
    /// A basic command: one letter, or `&` and a letter (`E`, `I`, `&F`), upper-case.
    Basic(String),
    /// An S-parameter (`S3`), with its number.
    SRegister(u16),
    /// An extended command with its prefix character (`+CMEE`, `+QMTCFG`), upper-case.
    Extended(String),
}

/// Which of the V.250 forms a command was given in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Form {
    /// Bare name (`AT+CSQ`, `ATI`, `ATE` without a value).
    Exec,
    /// `?` (`AT+CPIN?`, `ATS3?`).
    Read,
    /// `=?` (`AT+CFUN=?`).
    Test,
    /// `=` and arguments (`AT+CFUN=1,1`); for basic commands, the digits that
    /// follow the letter (`ATE0` is `Write([Token("0")])`).
    Write(Vec<Arg>),
}

/// One command of a command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// Its name.
    pub name: Name,
    /// Its form and arguments.
    pub form: Form,
}

impl Command {
    /// True if this is the extended command `name` (give it upper-case, with its `+`).
    pub fn is(&self, name: &str) -> bool {
        matches!(&self.name, Name::Extended(n) if n == name)
    }
}

/// The line does not follow the grammar; the module answers `ERROR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset in the line where parsing gave up.
    pub at: usize,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AT syntax error at byte {}", self.at)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses a command line that starts with the `AT` prefix (as [`crate::LineEditor`] gives it).
///
/// `AT` alone is an empty list. Any byte outside the grammar is a
/// [`SyntaxError`]; nothing here panics, whatever the input.
pub fn parse_line(line: &[u8]) -> Result<Vec<Command>, SyntaxError> {
    if line.len() < 2 || !line[..2].eq_ignore_ascii_case(b"AT") {
        return Err(SyntaxError { at: 0 });
    }
    let mut p = Parser { line, pos: 2 };
    let mut cmds = Vec::new();
    loop {
        p.skip_spaces();
        let Some(c) = p.peek() else { break };
        match c {
            b';' => p.pos += 1,
            b'+' | b'$' | b'%' | b'^' => cmds.push(p.extended()?),
            b'&' => {
                p.pos += 1;
                let letter = p.letter()?;
                cmds.push(p.basic(format!("&{letter}")));
            }
            c if c.is_ascii_alphabetic() => {
                let letter = p.letter()?;
                match letter {
                    'S' => cmds.push(p.s_register()?),
                    'D' => cmds.push(p.dial()),
                    _ => cmds.push(p.basic(letter.to_string())),
                }
            }
            _ => return Err(p.error()),
        }
    }
    Ok(cmds)
}

struct Parser<'a> {
    line: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.line.get(self.pos).copied()
    }

    fn error(&self) -> SyntaxError {
        SyntaxError { at: self.pos }
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn eat(&mut self, s: &[u8]) -> bool {
        if self.line[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn letter(&mut self) -> Result<char, SyntaxError> {
        match self.peek() {
            Some(c) if c.is_ascii_alphabetic() => {
                self.pos += 1;
                Ok(c.to_ascii_uppercase() as char)
            }
            _ => Err(self.error()),
        }
    }

    fn digits(&mut self) -> &[u8] {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }

    /// A basic command's optional numeric value follows its letter directly.
    fn basic(&mut self, name: String) -> Command {
        let digits = self.digits();
        let form = if digits.is_empty() {
            Form::Exec
        } else {
            Form::Write(vec![Arg::Token(digits.to_vec())])
        };
        Command {
            name: Name::Basic(name),
            form,
        }
    }

    /// `S<n>?`, `S<n>=<v>`, `S<n>=?` (V.250 §5.3.2).
    fn s_register(&mut self) -> Result<Command, SyntaxError> {
        let digits = self.digits();
        let number = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<u16>().ok())
            .ok_or_else(|| self.error())?;
        self.skip_spaces();
        let form = if self.eat(b"=?") {
            Form::Test
        } else if self.eat(b"?") {
            Form::Read
        } else if self.eat(b"=") {
            self.skip_spaces();
            let value = self.digits().to_vec();
            if value.is_empty() {
                return Err(self.error());
            }
            Form::Write(vec![Arg::Token(value)])
        } else {
            return Err(self.error());
        };
        Ok(Command {
            name: Name::SRegister(number),
            form,
        })
    }

    /// `D` takes the rest of the line (up to `;`) as its dial string.
    fn dial(&mut self) -> Command {
        let start = self.pos;
        while self.peek().is_some_and(|c| c != b';') {
            self.pos += 1;
        }
        let dial = self.line[start..self.pos].to_vec();
        Command {
            name: Name::Basic("D".into()),
            form: Form::Write(vec![Arg::Token(dial)]),
        }
    }

    fn extended(&mut self) -> Result<Command, SyntaxError> {
        let start = self.pos;
        self.pos += 1; // the prefix character
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || b"!%-./:_".contains(&c))
        {
            self.pos += 1;
        }
        if self.pos == start + 1 {
            return Err(self.error());
        }
        let name = String::from_utf8_lossy(&self.line[start..self.pos]).to_ascii_uppercase();
        self.skip_spaces();
        let form = if self.eat(b"=?") {
            Form::Test
        } else if self.eat(b"?") {
            Form::Read
        } else if self.eat(b"=") {
            let (args, used) = parse_args(&self.line[self.pos..])
                .map_err(|at| SyntaxError { at: self.pos + at })?;
            self.pos += used;
            Form::Write(args)
        } else {
            Form::Exec
        };
        self.skip_spaces();
        match self.peek() {
            None | Some(b';') => Ok(Command {
                name: Name::Extended(name),
                form,
            }),
            Some(_) => Err(self.error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(name: &str, form: Form) -> Command {
        Command {
            name: Name::Extended(name.into()),
            form,
        }
    }
    fn basic(name: &str, form: Form) -> Command {
        Command {
            name: Name::Basic(name.into()),
            form,
        }
    }
    fn tok(s: &str) -> Arg {
        Arg::Token(s.as_bytes().to_vec())
    }
    fn st(s: &str) -> Arg {
        Arg::Str(s.as_bytes().to_vec())
    }

    #[test]
    fn table() {
        let cases: Vec<(&[u8], Vec<Command>)> = vec![
            (b"AT", vec![]),
            (b"at", vec![]),
            (b"ATE0", vec![basic("E", Form::Write(vec![tok("0")]))]),
            (b"ATE", vec![basic("E", Form::Exec)]),
            (
                b"ATE0V1Q0",
                vec![
                    basic("E", Form::Write(vec![tok("0")])),
                    basic("V", Form::Write(vec![tok("1")])),
                    basic("Q", Form::Write(vec![tok("0")])),
                ],
            ),
            (b"AT&F", vec![basic("&F", Form::Exec)]),
            (b"at&w0", vec![basic("&W", Form::Write(vec![tok("0")]))]),
            (b"ATI", vec![basic("I", Form::Exec)]),
            (
                b"ATS3?",
                vec![Command {
                    name: Name::SRegister(3),
                    form: Form::Read,
                }],
            ),
            (
                b"ATS4=10",
                vec![Command {
                    name: Name::SRegister(4),
                    form: Form::Write(vec![tok("10")]),
                }],
            ),
            (b"AT+CPIN?", vec![ext("+CPIN", Form::Read)]),
            (b"AT+cfun=?", vec![ext("+CFUN", Form::Test)]),
            (b"AT+CSQ", vec![ext("+CSQ", Form::Exec)]),
            (
                b"AT+CFUN=1,1",
                vec![ext("+CFUN", Form::Write(vec![tok("1"), tok("1")]))],
            ),
            (
                b"AT+CMEE=2;+CREG?",
                vec![
                    ext("+CMEE", Form::Write(vec![tok("2")])),
                    ext("+CREG", Form::Read),
                ],
            ),
            (
                b"ATE0;+CMEE=2",
                vec![
                    basic("E", Form::Write(vec![tok("0")])),
                    ext("+CMEE", Form::Write(vec![tok("2")])),
                ],
            ),
            (
                b"AT+QMTCFG=\"recv/mode\",0,0,1",
                vec![ext(
                    "+QMTCFG",
                    Form::Write(vec![st("recv/mode"), tok("0"), tok("0"), tok("1")]),
                )],
            ),
            (
                b"AT+QICSGP=1,1,\"a;b\",,\"\"",
                vec![ext(
                    "+QICSGP",
                    Form::Write(vec![tok("1"), tok("1"), st("a;b"), Arg::Empty, st("")]),
                )],
            ),
            (b"AT +CSQ ", vec![ext("+CSQ", Form::Exec)]),
            (b"AT$QCPWRDN", vec![ext("$QCPWRDN", Form::Exec)]),
            (b"ATD*99#", vec![basic("D", Form::Write(vec![tok("*99#")]))]),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse_line(line),
                Ok(want),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn syntax_errors() {
        for line in [
            &b"AT+"[..],
            b"AT+CSQ?x",
            b"AT+QMTOPEN=0,\"host",
            b"AT+X=\"a\"b",
            b"ATS",
            b"ATS3",
            b"ATS99999999=1",
            b"AT\x00",
            b"AT\xff",
            b"AT#",
            b"AT+ CSQ",
            b"AT&",
            b"A",
            b"XX",
        ] {
            assert!(
                parse_line(line).is_err(),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
