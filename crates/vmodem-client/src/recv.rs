//! `+QMTRECV` lines: where they end on the wire, and what they hold.
//!
//! The note (ch. 4, "+QMTRECV" URC; ch. 3, AT+QMTRECV) gives three shapes:
//!
//! * `+QMTRECV: <client_idx>,<msgID>,"<topic>",[<payload_len>,]"<payload>"` — a message, as a URC
//!   (`recv/mode` 0) or as a line of the AT+QMTRECV=c[,id] response (`recv/mode` 1);
//! * `+QMTRECV: <client_idx>,<recv_id>` — a message was stored in buffer `recv_id`;
//! * `+QMTRECV: <client_idx>,<s0>,<s1>,<s2>,<s3>,<s4>` — the AT+QMTRECV? buffer status.
//!
//! The payload is written raw between quotes: it may hold `"`, `,`, CR, LF or NUL. So a
//! `+QMTRECV` line cannot be cut at the first CR like other lines. [`RecvFramer`] decides where
//! it ends, byte by byte:
//!
//! * **with the length field** the payload is exactly `<payload_len>` bytes after `,"`, whatever
//!   they are; the closing `"` and the line end follow. This is the only binary-safe form:
//!   enable it with `AT+QMTCFG="recv/mode",c,<mode>,1`.
//! * **without it** the payload ends at the first `"` CR LF after its opening quote. A payload
//!   that itself contains `"` CR LF is therefore cut there; the rest of it is read as the next
//!   line(s). This is ambiguous by nature (the module gives no other delimiter), and the first
//!   `"\r\n` is the only rule a streaming reader can apply without unbounded look-ahead.

use crate::params::strip_prefix_ci;

/// The prefix shared by the URC and the AT+QMTRECV responses.
pub(crate) const PREFIX: &[u8] = b"+QMTRECV:";

/// An MQTT message delivered by the module, as a URC or read from its buffer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Message {
    /// `<client_idx>`, 0–5.
    pub client: u8,
    /// `<msgID>` of the PUBLISH (0 for QoS 0).
    pub msg_id: u16,
    /// `<topic>` (lossily decoded if not UTF-8).
    pub topic: String,
    /// `<payload>`, raw bytes.
    pub payload: Vec<u8>,
}

/// What a complete `+QMTRECV` line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecvLine {
    Message(Message),
    Stored { client: u8, recv_id: u8 },
    Status { client: u8, stored: Vec<bool> },
}

/// Parses a complete `+QMTRECV:` line (without its terminator). `None` if it does not fit any of
/// the three shapes.
pub(crate) fn parse_line(line: &[u8]) -> Option<RecvLine> {
    let mut cur = Cursor(strip_prefix_ci(line, PREFIX)?);
    cur.skip_spaces();
    let client = u8::try_from(cur.int()?).ok()?;
    cur.expect(b',')?;
    let second = cur.int()?;
    if cur.at_end() {
        let recv_id = u8::try_from(second).ok()?;
        return Some(RecvLine::Stored { client, recv_id });
    }
    cur.expect(b',')?;
    if cur.peek()? != b'"' {
        let mut stored = vec![second != 0];
        stored.push(cur.int()? != 0);
        while !cur.at_end() {
            cur.expect(b',')?;
            stored.push(cur.int()? != 0);
        }
        return Some(RecvLine::Status { client, stored });
    }
    let msg_id = u16::try_from(second).ok()?;
    cur.expect(b'"')?;
    let topic = cur.take_until(b'"')?;
    let topic = String::from_utf8_lossy(topic).into_owned();
    cur.expect(b'"')?;
    cur.expect(b',')?;
    let payload = if cur.peek()? == b'"' {
        // No length: the payload runs to the quote that ends the line.
        let rest = cur.rest();
        if rest.len() < 2 || rest[rest.len() - 1] != b'"' {
            return None;
        }
        rest[1..rest.len() - 1].to_vec()
    } else {
        let len = usize::try_from(cur.int()?).ok()?;
        cur.expect(b',')?;
        cur.expect(b'"')?;
        // The length is authoritative; a missing closing quote or trailing bytes are tolerated.
        cur.take(len)?.to_vec()
    };
    Some(RecvLine::Message(Message {
        client,
        msg_id,
        topic,
        payload,
    }))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn skip_spaces(&mut self) {
        while self.0.first() == Some(&b' ') {
            self.0 = &self.0[1..];
        }
    }
    fn at_end(&self) -> bool {
        self.0.iter().all(|&b| b == b' ')
    }
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }
    fn rest(&self) -> &'a [u8] {
        self.0
    }
    fn expect(&mut self, b: u8) -> Option<()> {
        self.skip_spaces();
        if self.0.first() == Some(&b) {
            self.0 = &self.0[1..];
            Some(())
        } else {
            None
        }
    }
    fn int(&mut self) -> Option<i64> {
        self.skip_spaces();
        let neg = self.0.first() == Some(&b'-');
        let digits_start = usize::from(neg);
        let n = self.0[digits_start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if n == 0 || n > 18 {
            return None;
        }
        let text = std::str::from_utf8(&self.0[..digits_start + n]).ok()?;
        self.0 = &self.0[digits_start + n..];
        self.skip_spaces();
        text.parse().ok()
    }
    fn take_until(&mut self, b: u8) -> Option<&'a [u8]> {
        let pos = self.0.iter().position(|&x| x == b)?;
        let (head, tail) = self.0.split_at(pos);
        self.0 = tail;
        Some(head)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
}

/// What the digester does with a byte of a `+QMTRECV` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The byte was taken (stored or, past the payload cap, counted and dropped).
    Continue,
    /// The byte ends the line (it is a terminator and was not stored).
    EndLine,
    /// The line does not have the message shape after all: treat this byte, and the rest of the
    /// line, as an ordinary line.
    Fallback,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the topic's opening quote: `<client>,<msgID>,`.
    Header,
    /// Inside the topic.
    Topic,
    /// After the topic's closing quote, expecting `,`.
    AfterTopic,
    /// After `"topic",`: a length or the payload's opening quote.
    LenOrPayload,
    /// Reading `<payload_len>`.
    Len(usize),
    /// After `<payload_len>,`, expecting the payload's opening quote.
    LenComma(usize),
    /// Inside a payload with a length: this many bytes are left.
    Fixed(usize),
    /// After a fixed payload, expecting its closing quote.
    ClosingQuote,
    /// After the closing quote, up to the line end.
    Trailer,
    /// Inside a payload without a length.
    Open,
    /// Inside a payload without a length, just after a `"`.
    OpenQuote,
    /// Inside a payload without a length, just after `"` CR (held back, not stored yet).
    OpenQuoteCr,
}

/// Finds the end of a `+QMTRECV:` line, byte by byte; see the module docs for the rule.
///
/// The digester switches to this framer once a line starts with `+QMTRECV:`; the framer pushes
/// the bytes it keeps into the digester's line buffer. Payload bytes beyond `max_payload` are
/// counted, not stored, so memory stays bounded and the framing stays in step.
#[derive(Debug, Clone)]
pub(crate) struct RecvFramer {
    state: State,
    max_payload: usize,
    payload_stored: usize,
    overflowed: bool,
}

impl RecvFramer {
    pub(crate) fn new(max_payload: usize) -> Self {
        RecvFramer {
            state: State::Header,
            max_payload,
            payload_stored: 0,
            overflowed: false,
        }
    }

    /// Payload bytes stored in the line so far (they do not count against the line cap).
    pub(crate) fn payload_stored(&self) -> usize {
        self.payload_stored
    }

    /// `true` if the payload was longer than the cap and was not kept.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed
    }

    fn push_payload(&mut self, b: u8, line: &mut Vec<u8>) {
        if self.payload_stored < self.max_payload {
            line.push(b);
            self.payload_stored += 1;
        } else {
            self.overflowed = true;
        }
    }

    pub(crate) fn step(&mut self, b: u8, line: &mut Vec<u8>) -> Step {
        let terminator = b == b'\r' || b == b'\n';
        match self.state {
            State::Header => {
                if terminator {
                    return Step::EndLine;
                }
                if b == b'"' {
                    self.state = State::Topic;
                }
                line.push(b);
            }
            State::Topic => {
                if terminator {
                    return Step::EndLine;
                }
                if b == b'"' {
                    self.state = State::AfterTopic;
                }
                line.push(b);
            }
            State::AfterTopic => {
                if terminator {
                    return Step::EndLine;
                }
                if b != b',' {
                    return Step::Fallback;
                }
                line.push(b);
                self.state = State::LenOrPayload;
            }
            State::LenOrPayload => {
                if terminator {
                    return Step::EndLine;
                }
                match b {
                    b'"' => self.state = State::Open,
                    b'0'..=b'9' => self.state = State::Len(usize::from(b - b'0')),
                    _ => return Step::Fallback,
                }
                line.push(b);
            }
            State::Len(v) => {
                if terminator {
                    return Step::EndLine;
                }
                match b {
                    b'0'..=b'9' => {
                        let Some(v) = v
                            .checked_mul(10)
                            .and_then(|v| v.checked_add(usize::from(b - b'0')))
                        else {
                            return Step::Fallback;
                        };
                        self.state = State::Len(v);
                    }
                    b',' => self.state = State::LenComma(v),
                    _ => return Step::Fallback,
                }
                line.push(b);
            }
            State::LenComma(v) => {
                if terminator {
                    return Step::EndLine;
                }
                if b != b'"' {
                    return Step::Fallback;
                }
                line.push(b);
                self.state = if v == 0 {
                    State::ClosingQuote
                } else {
                    State::Fixed(v)
                };
            }
            State::Fixed(left) => {
                self.push_payload(b, line);
                self.state = if left == 1 {
                    State::ClosingQuote
                } else {
                    State::Fixed(left - 1)
                };
            }
            State::ClosingQuote | State::Trailer => {
                if terminator {
                    return Step::EndLine;
                }
                line.push(b);
                self.state = State::Trailer;
            }
            State::Open => {
                if b == b'"' {
                    self.state = State::OpenQuote;
                }
                self.push_payload(b, line);
            }
            State::OpenQuote => match b {
                b'\r' => self.state = State::OpenQuoteCr,
                b'"' => self.push_payload(b, line),
                _ => {
                    self.push_payload(b, line);
                    self.state = State::Open;
                }
            },
            State::OpenQuoteCr => {
                if b == b'\n' {
                    return Step::EndLine;
                }
                // The CR was payload after all.
                self.push_payload(b'\r', line);
                self.push_payload(b, line);
                self.state = if b == b'"' {
                    State::OpenQuote
                } else {
                    State::Open
                };
            }
        }
        Step::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(client: u8, msg_id: u16, topic: &str, payload: &[u8]) -> Option<RecvLine> {
        Some(RecvLine::Message(Message {
            client,
            msg_id,
            topic: topic.into(),
            payload: payload.into(),
        }))
    }

    #[test]
    fn parse_line_table() {
        let table: &[(&[u8], Option<RecvLine>)] = &[
            (
                b"+QMTRECV: 0,3",
                Some(RecvLine::Stored {
                    client: 0,
                    recv_id: 3,
                }),
            ),
            (
                b"+QMTRECV: 1,0,1,0,0,1",
                Some(RecvLine::Status {
                    client: 1,
                    stored: vec![false, true, false, false, true],
                }),
            ),
            (b"+QMTRECV: 0,0,\"t/a\",\"hi\"", msg(0, 0, "t/a", b"hi")),
            (b"+QMTRECV: 0,7,\"t\",\"\"", msg(0, 7, "t", b"")),
            (
                b"+QMTRECV: 0,0,\"t\",\"a\"b,\"c\"",
                msg(0, 0, "t", b"a\"b,\"c"),
            ),
            (
                b"+QMTRECV: 2,9,\"t\",5,\"a\"\r\n\0\"",
                msg(2, 9, "t", b"a\"\r\n\0"),
            ),
            (b"+QMTRECV: 0,0,\"t\",0,\"\"", msg(0, 0, "t", b"")),
            // The length wins over a missing closing quote.
            (b"+QMTRECV: 0,0,\"t\",2,\"ab", msg(0, 0, "t", b"ab")),
            (b"+QMTRECV: 0,0,\"t\",9,\"ab\"", None),
            (b"+QMTRECV: x", None),
            (b"+QMTRECV: 0,0,\"t\"", None),
            (b"+QMTSTAT: 0,1", None),
        ];
        for (line, want) in table {
            assert_eq!(
                &parse_line(line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    /// Runs the framer over `input` (which starts after the `+QMTRECV:` prefix) and returns the
    /// stored line and how many bytes it took, including the terminator that ended it.
    fn frame(input: &[u8], max_payload: usize) -> (Vec<u8>, usize, Step) {
        let mut framer = RecvFramer::new(max_payload);
        let mut line = PREFIX.to_vec();
        for (i, &b) in input.iter().enumerate() {
            match framer.step(b, &mut line) {
                Step::Continue => {}
                step => return (line, i + 1, step),
            }
        }
        (line, input.len(), Step::Continue)
    }

    #[test]
    fn framer_table() {
        let table: &[(&[u8], &[u8], usize, Step)] = &[
            (b" 0,3\r\n", b"+QMTRECV: 0,3", 5, Step::EndLine),
            (
                b" 0,1,\"t\",\"a\r\nb\"\r\nNEXT",
                b"+QMTRECV: 0,1,\"t\",\"a\r\nb\"",
                17,
                Step::EndLine,
            ),
            (
                b" 0,1,\"t\",\"a\"\rb\"\r\n",
                b"+QMTRECV: 0,1,\"t\",\"a\"\rb\"",
                17,
                Step::EndLine,
            ),
            (
                b" 0,1,\"t\",4,\"\"\r\n\"\"\r\n",
                b"+QMTRECV: 0,1,\"t\",4,\"\"\r\n\"\"",
                18,
                Step::EndLine,
            ),
            (b" 0,1,\"t\"x", b"+QMTRECV: 0,1,\"t\"", 9, Step::Fallback),
            (
                b" 0,1,\"t\",4x",
                b"+QMTRECV: 0,1,\"t\",4",
                11,
                Step::Fallback,
            ),
        ];
        for (input, line, used, step) in table {
            let got = frame(input, 1024);
            assert_eq!(
                (got.0.as_slice(), got.1, got.2),
                (*line, *used, *step),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn framer_counts_but_drops_payload_past_the_cap() {
        let input = b" 0,1,\"t\",6,\"abcdef\"\r\n";
        let mut framer = RecvFramer::new(4);
        let mut line = PREFIX.to_vec();
        let mut end = None;
        for (i, &b) in input.iter().enumerate() {
            if framer.step(b, &mut line) == Step::EndLine {
                end = Some(i);
                break;
            }
        }
        assert_eq!(end, Some(input.len() - 2));
        assert!(framer.overflowed());
        assert_eq!(framer.payload_stored(), 4);
    }
}
