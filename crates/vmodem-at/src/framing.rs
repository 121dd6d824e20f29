//! How responses are framed on the wire (V.250 §5.7, as the EC2x does it).
//!
//! Verbose (ATV1): information text is `<S3><S4>` then each line followed by
//! `<S3><S4>`; a final result code is `<S3><S4>OK<S3><S4>`. Numeric (ATV0):
//! information lines are `<line><S3><S4>` and result codes `0<S3>`. With ATQ1
//! result codes are not sent at all, information text still is. URCs are
//! framed like information text.

use crate::cme::CmeError;

/// V.250 final result codes, with their numeric forms (§5.7.1 table 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultCode {
    /// `OK` / `0`.
    Ok,
    /// `CONNECT` / `1`.
    Connect,
    /// `RING` / `2`.
    Ring,
    /// `NO CARRIER` / `3`.
    NoCarrier,
    /// `ERROR` / `4`.
    Error,
    /// `NO DIALTONE` / `6`.
    NoDialtone,
    /// `BUSY` / `7`.
    Busy,
    /// `NO ANSWER` / `8`.
    NoAnswer,
}

impl ResultCode {
    /// The verbose text.
    pub fn text(self) -> &'static str {
        match self {
            ResultCode::Ok => "OK",
            ResultCode::Connect => "CONNECT",
            ResultCode::Ring => "RING",
            ResultCode::NoCarrier => "NO CARRIER",
            ResultCode::Error => "ERROR",
            ResultCode::NoDialtone => "NO DIALTONE",
            ResultCode::Busy => "BUSY",
            ResultCode::NoAnswer => "NO ANSWER",
        }
    }

    /// The numeric form (ATV0).
    pub fn number(self) -> u8 {
        match self {
            ResultCode::Ok => 0,
            ResultCode::Connect => 1,
            ResultCode::Ring => 2,
            ResultCode::NoCarrier => 3,
            ResultCode::Error => 4,
            ResultCode::NoDialtone => 6,
            ResultCode::Busy => 7,
            ResultCode::NoAnswer => 8,
        }
    }
}

/// The framing settings in force: ATV, ATQ, S3 and S4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// ATV1 (verbose, default) or ATV0 (numeric).
    pub verbose: bool,
    /// ATQ1: result codes suppressed.
    pub quiet: bool,
    /// S3, the line terminator (CR, 13).
    pub s3: u8,
    /// S4, the response formatting character (LF, 10).
    pub s4: u8,
}

impl Default for Format {
    fn default() -> Self {
        Format {
            verbose: true,
            quiet: false,
            s3: b'\r',
            s4: b'\n',
        }
    }
}

/// How `+CME ERROR` is reported (AT+CMEE, 27.007 §9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmeMode {
    /// AT+CMEE=0: plain `ERROR`.
    Disabled,
    /// AT+CMEE=1: `+CME ERROR: <n>`.
    Numeric,
    /// AT+CMEE=2: `+CME ERROR: <text>`.
    Verbose,
}

impl Format {
    fn crlf(&self, out: &mut Vec<u8>) {
        out.push(self.s3);
        out.push(self.s4);
    }

    /// Writes one block of information text (one or more lines).
    pub fn info<L: AsRef<[u8]>>(&self, out: &mut Vec<u8>, lines: &[L]) {
        if self.verbose {
            self.crlf(out);
        }
        for line in lines {
            out.extend_from_slice(line.as_ref());
            self.crlf(out);
        }
    }

    /// Writes an unsolicited result code.
    pub fn urc(&self, out: &mut Vec<u8>, text: &[u8]) {
        self.info(out, &[text]);
    }

    /// Writes a final result code (nothing under ATQ1).
    pub fn result(&self, out: &mut Vec<u8>, code: ResultCode) {
        if self.quiet {
            return;
        }
        if self.verbose {
            self.crlf(out);
            out.extend_from_slice(code.text().as_bytes());
            self.crlf(out);
        } else {
            out.extend_from_slice(code.number().to_string().as_bytes());
            out.push(self.s3);
        }
    }

    /// Writes an ME error as AT+CMEE asks: `ERROR`, `+CME ERROR: <n>` or its text.
    ///
    /// `+CME ERROR` is a final result code (27.007 §9.2), so ATQ1 suppresses it.
    /// With ATV0 it is framed like numeric information text, `+CME ERROR: 3<S3><S4>`.
    pub fn cme(&self, out: &mut Vec<u8>, mode: CmeMode, err: CmeError) {
        let text = match mode {
            CmeMode::Disabled => return self.result(out, ResultCode::Error),
            CmeMode::Numeric => format!("+CME ERROR: {}", err.code()),
            CmeMode::Verbose => format!("+CME ERROR: {}", err.text()),
        };
        if self.quiet {
            return;
        }
        self.info(out, &[text]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn verbose_framing() {
        let f = Format::default();
        assert_eq!(run(|o| f.result(o, ResultCode::Ok)), b"\r\nOK\r\n");
        assert_eq!(
            run(|o| f.info(o, &["Quectel", "EC25"])),
            b"\r\nQuectel\r\nEC25\r\n"
        );
        assert_eq!(run(|o| f.urc(o, b"RDY")), b"\r\nRDY\r\n");
        assert_eq!(
            run(|o| f.cme(o, CmeMode::Numeric, CmeError::SIM_FAILURE)),
            b"\r\n+CME ERROR: 13\r\n"
        );
        assert_eq!(
            run(|o| f.cme(o, CmeMode::Verbose, CmeError::INCORRECT_PARAMETERS)),
            b"\r\n+CME ERROR: incorrect parameters\r\n"
        );
        assert_eq!(
            run(|o| f.cme(o, CmeMode::Disabled, CmeError::UNKNOWN)),
            b"\r\nERROR\r\n"
        );
    }

    #[test]
    fn numeric_and_quiet_framing() {
        let f = Format {
            verbose: false,
            ..Format::default()
        };
        assert_eq!(run(|o| f.result(o, ResultCode::Ok)), b"0\r");
        assert_eq!(run(|o| f.result(o, ResultCode::Error)), b"4\r");
        assert_eq!(run(|o| f.info(o, &["+CSQ: 24,99"])), b"+CSQ: 24,99\r\n");
        let q = Format {
            quiet: true,
            ..Format::default()
        };
        assert_eq!(run(|o| q.result(o, ResultCode::Ok)), b"");
        assert_eq!(run(|o| q.cme(o, CmeMode::Numeric, CmeError::UNKNOWN)), b"");
        assert_eq!(run(|o| q.info(o, &["x"])), b"\r\nx\r\n");
    }

    #[test]
    fn custom_s3_s4() {
        let f = Format {
            s3: b'!',
            s4: b'#',
            ..Format::default()
        };
        assert_eq!(run(|o| f.result(o, ResultCode::Ok)), b"!#OK!#");
    }
}
