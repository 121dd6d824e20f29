//! Line assembly: from characters typed on the serial line to command lines.
//!
//! V.250 §5.2: a command line starts with the prefix `AT` (any case) and ends
//! with the S3 character (CR by default); characters before the prefix are
//! ignored; S5 (backspace) deletes the last character; `A/` repeats the
//! previous line at once, without S3. Hosts often end lines with CR LF, so an
//! LF right after the CR that ended a line is swallowed (and not echoed).

/// Longest command line kept, in bytes, counted from the start of the `AT`
/// prefix. Longer lines are answered `ERROR` at their S3.
///
/// The application note gives no figure. MQTT passwords are often JWTs or SAS
/// tokens of several hundred bytes, and `AT+QMTCONN` carries client ID, user
/// name and password on one line, so the limit must sit well above that;
/// 4096 bytes does, while keeping a module's worst-case line buffer small.
pub const MAX_LINE_LEN: usize = 4096;

/// What one typed character did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineEvent {
    /// Nothing complete yet. `echo` says whether the character should be
    /// echoed (when echo is on): everything is, except an LF swallowed after CR.
    Pending {
        /// Echo this character (if ATE1).
        echo: bool,
    },
    /// A complete command line (prefix included, S3 excluded).
    Line(Vec<u8>),
    /// The line was longer than [`MAX_LINE_LEN`]; answer `ERROR`.
    Overflow,
    /// `A/` was typed: run the previous line again.
    Repeat,
    /// S3 ended a line that had no `AT` prefix; V.250 says to ignore it.
    Ignored,
}

/// Assembles typed characters into command lines.
///
/// Holds at most [`MAX_LINE_LEN`] bytes, and only while a line is being typed:
/// the buffer is released after every line, so an idle module costs nothing here.
#[derive(Clone, Debug, Default)]
pub struct LineEditor {
    buf: Vec<u8>,
    overflow: bool,
    after_cr: bool,
}

impl LineEditor {
    /// An empty editor.
    pub fn new() -> Self {
        Self::default()
    }

    /// True while part of a line has been typed.
    pub fn is_typing(&self) -> bool {
        !self.buf.is_empty() || self.overflow
    }

    /// True right after the S3 that ended a line, until the next character:
    /// an LF now would be the second half of a CR LF.
    pub fn ended_by_s3(&self) -> bool {
        self.after_cr
    }

    /// Forgets a partly typed line.
    pub fn clear(&mut self) {
        self.buf = Vec::new();
        self.overflow = false;
        self.after_cr = false;
    }

    /// Feeds one character; `s3` ends lines, `s5` deletes.
    pub fn feed(&mut self, byte: u8, s3: u8, s5: u8) -> LineEvent {
        let after_cr = std::mem::take(&mut self.after_cr);
        if byte == s3 {
            self.after_cr = true;
            let overflow = std::mem::take(&mut self.overflow);
            let line = std::mem::take(&mut self.buf);
            return if overflow {
                LineEvent::Overflow
            } else if let Some(start) = find_prefix(&line) {
                let mut line = line;
                line.drain(..start);
                LineEvent::Line(line)
            } else {
                LineEvent::Ignored
            };
        }
        if byte == b'\n' {
            // Not part of any command; an LF ending a CR LF pair is not even echoed.
            return LineEvent::Pending { echo: !after_cr };
        }
        if byte == s5 {
            self.buf.pop();
            return LineEvent::Pending { echo: true };
        }
        if byte == b'/'
            && find_prefix(&self.buf).is_none()
            && self
                .buf
                .last()
                .is_some_and(|b| b.eq_ignore_ascii_case(&b'a'))
        {
            self.buf = Vec::new();
            self.overflow = false;
            return LineEvent::Repeat;
        }
        if self.overflow {
            return LineEvent::Pending { echo: true };
        }
        if self.buf.len() >= MAX_LINE_LEN {
            // Before the prefix, old junk can simply be dropped to make room.
            match find_prefix(&self.buf) {
                None => {
                    let keep = self.buf.len() - 1;
                    self.buf.drain(..keep);
                }
                Some(_) => {
                    self.buf = Vec::new();
                    self.overflow = true;
                    return LineEvent::Pending { echo: true };
                }
            }
        }
        self.buf.push(byte);
        LineEvent::Pending { echo: true }
    }
}

/// Where the `AT` prefix starts, if the line has one.
fn find_prefix(line: &[u8]) -> Option<usize> {
    line.windows(2)
        .position(|w| w[0].eq_ignore_ascii_case(&b'a') && w[1].eq_ignore_ascii_case(&b't'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(ed: &mut LineEditor, bytes: &[u8]) -> Vec<LineEvent> {
        bytes
            .iter()
            .map(|&b| ed.feed(b, b'\r', 8))
            .filter(|e| !matches!(e, LineEvent::Pending { echo: true }))
            .collect()
    }

    #[test]
    fn cr_ends_a_line_and_a_following_lf_is_swallowed() {
        let mut ed = LineEditor::new();
        assert_eq!(
            feed_all(&mut ed, b"AT+CSQ\r\nat\r"),
            vec![
                LineEvent::Line(b"AT+CSQ".to_vec()),
                LineEvent::Pending { echo: false },
                LineEvent::Line(b"at".to_vec())
            ]
        );
    }

    #[test]
    fn junk_before_the_prefix_is_dropped_and_lines_without_prefix_ignored() {
        let mut ed = LineEditor::new();
        assert_eq!(
            feed_all(&mut ed, b"xx\x00AT\r"),
            vec![LineEvent::Line(b"AT".to_vec())]
        );
        assert_eq!(feed_all(&mut ed, b"hello\r"), vec![LineEvent::Ignored]);
        assert_eq!(feed_all(&mut ed, b"\r"), vec![LineEvent::Ignored]);
    }

    #[test]
    fn backspace_edits() {
        let mut ed = LineEditor::new();
        assert_eq!(
            feed_all(&mut ed, b"ATX\x08I\r"),
            vec![LineEvent::Line(b"ATI".to_vec())]
        );
    }

    #[test]
    fn a_slash_repeats_without_cr() {
        let mut ed = LineEditor::new();
        assert_eq!(feed_all(&mut ed, b"a/"), vec![LineEvent::Repeat]);
        assert!(!ed.is_typing());
        // Inside a line, '/' is an ordinary character.
        assert_eq!(
            feed_all(&mut ed, b"AT+X=\"a/\"\r"),
            vec![LineEvent::Line(b"AT+X=\"a/\"".to_vec())]
        );
    }

    #[test]
    fn overlong_lines_overflow_once_and_the_editor_recovers() {
        let mut ed = LineEditor::new();
        let mut long = b"AT+".to_vec();
        long.resize(MAX_LINE_LEN + 10, b'A');
        long.push(b'\r');
        assert_eq!(feed_all(&mut ed, &long), vec![LineEvent::Overflow]);
        assert_eq!(
            feed_all(&mut ed, b"AT\r"),
            vec![LineEvent::Line(b"AT".to_vec())]
        );
        // Exactly at the limit is fine.
        let mut max = b"AT".to_vec();
        max.resize(MAX_LINE_LEN, b'E');
        max.push(b'\r');
        assert!(
            matches!(feed_all(&mut ed, &max)[..], [LineEvent::Line(ref l)] if l.len() == MAX_LINE_LEN)
        );
    }

    #[test]
    fn endless_junk_without_prefix_stays_bounded() {
        let mut ed = LineEditor::new();
        for _ in 0..(3 * MAX_LINE_LEN) {
            ed.feed(b'x', b'\r', 8);
        }
        assert!(ed.buf.len() <= MAX_LINE_LEN);
        assert_eq!(
            feed_all(&mut ed, b"AT\r"),
            vec![LineEvent::Line(b"AT".to_vec())]
        );
    }

    #[test]
    fn s3_can_be_changed() {
        let mut ed = LineEditor::new();
        let evs: Vec<_> = b"AT!".iter().map(|&b| ed.feed(b, b'!', 8)).collect();
        assert_eq!(evs.last(), Some(&LineEvent::Line(b"AT".to_vec())));
    }
}
