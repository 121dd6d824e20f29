//! A record of every byte on a module's serial line, for bug reports and for
//! comparing vmodem against a capture from real hardware.
//!
//! The trace is JSON lines, one object per chunk of bytes in one direction:
//!
//! ```text
//! {"t_ms":0,"dir":"module_to_host","text":"\r\nRDY\r\n…","hex":"0d0a5244590d0a…"}
//! {"t_ms":12,"dir":"host_to_module","text":"AT\r","hex":"41540d"}
//! {"t_ms":12,"dir":"module_to_host","text":"AT\r\r\nOK\r\n","hex":"41540d0d0a4f4b0d0a"}
//! ```
//!
//! - `t_ms`: the module's clock, milliseconds since the module was created
//!   (the same `now` the core was given, so traces line up with core tests).
//! - `dir`: `host_to_module` (bytes the host wrote) or `module_to_host`
//!   (bytes the module wrote, recorded when written, whether or not a host
//!   was there to read them).
//! - `text`: the bytes as UTF-8 for reading, invalid sequences shown as U+FFFD;
//!   `hex`: the exact bytes, lower-case. Trust `hex` when they differ.
//!
//! Chunk boundaries are whatever the transport delivered; they carry no meaning.
//!
//! Secrets: unless [`Trace::create`] is told to keep them (`--trace-secrets`),
//! the password of `AT+QMTCONN=<c>,"<id>","<user>","<password>"` and the
//! device secret of `AT+QMTCFG="aliauth",<c>,"<pk>","<dn>","<secret>"` (app
//! note, sections 3.2.1.x and 3.2.4) are replaced by `***` in both `text` and
//! `hex`, and the record gets `"redacted":true` (so `hex` is then the redacted
//! bytes, not the wire's). Both directions are redacted: the module echoes the
//! command line back (ATE1). A trace is a file people attach to bug reports;
//! a broker password in it is a leak. To redact per command line even when the
//! line arrives in several chunks, a partial line that starts like a command
//! (`AT…`) is held until its end (`\r` or `\n`), so its record carries the time
//! the line was completed; held bytes are bounded by [`MAX_HELD`], past which
//! the part held is written redacted and the rest of that line is dropped from
//! the trace if it carried a secret-bearing command.
//! Each record is written with one `write` call, so the file is complete up to
//! the last record even if vmodem is killed.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use tracing::warn;
use vmodem_core::Instant;

/// Which way bytes went on the serial line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Direction {
    /// The host wrote them.
    HostToModule,
    /// The module wrote them.
    ModuleToHost,
}

#[derive(Serialize)]
struct Record<'a> {
    t_ms: u64,
    dir: Direction,
    text: &'a str,
    hex: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    redacted: bool,
}

/// Most bytes of one partial command line held back for redaction, per
/// direction. Well above the longest command line a module takes (the core's
/// line limit); a host sending more is not sending an AT command.
pub(crate) const MAX_HELD: usize = 4096;

/// What a secret is replaced by.
const MASK: &[u8] = b"***";

/// A trace being written.
pub(crate) struct Trace {
    out: Box<dyn Write + Send>,
    /// `--trace-secrets`: record the bytes exactly, secrets included.
    keep_secrets: bool,
    /// Per direction (host→module, module→host): the partial command line held back.
    held: [Vec<u8>; 2],
    /// Per direction: the rest of an over-long secret-bearing line is being dropped.
    dropping: [bool; 2],
    /// The time of the last record, for flushing what is held at the end.
    last: Instant,
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Trace")
    }
}

impl Trace {
    /// Starts a trace in a new (or truncated) file, readable by its owner
    /// only (mode 0600 on Unix, also when the file existed with a wider mode):
    /// even redacted, a trace holds client ids, topics and payloads.
    pub(crate) fn create(path: &Path, keep_secrets: bool) -> io::Result<Trace> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file: File = options.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Trace::to_writer(file, keep_secrets))
    }

    /// Starts a trace written to `out`.
    pub(crate) fn to_writer(out: impl Write + Send + 'static, keep_secrets: bool) -> Trace {
        Trace {
            out: Box::new(out),
            keep_secrets,
            held: [Vec::new(), Vec::new()],
            dropping: [false; 2],
            last: Instant::from_millis(0),
        }
    }

    /// Records `bytes` going `dir` at `now`, secrets redacted unless kept. A
    /// failing trace is reported and the error returned; the caller stops
    /// tracing rather than the module.
    pub(crate) fn record(&mut self, now: Instant, dir: Direction, bytes: &[u8]) -> io::Result<()> {
        self.last = now;
        if self.keep_secrets {
            return self.write_record(now, dir, bytes, false);
        }
        let d = dir as usize;
        let mut out = Vec::with_capacity(bytes.len());
        let mut redacted = false;
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.dropping[d] {
                match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
                    Some(i) => {
                        self.dropping[d] = false;
                        rest = &rest[i..];
                    }
                    None => rest = &[],
                }
                redacted = true;
                continue;
            }
            let held = &mut self.held[d];
            match rest.iter().position(|&b| b == b'\r' || b == b'\n') {
                Some(i) => {
                    held.extend_from_slice(&rest[..=i]);
                    rest = &rest[i + 1..];
                    let line = std::mem::take(held);
                    match redact_line(&line) {
                        Some(r) => {
                            out.extend_from_slice(&r);
                            redacted = true;
                        }
                        None => out.extend_from_slice(&line),
                    }
                }
                None => {
                    held.extend_from_slice(rest);
                    rest = &[];
                    if !could_be_command(held) {
                        out.append(held);
                    } else if held.len() > MAX_HELD {
                        let line = std::mem::take(held);
                        if let Some(r) = redact_line(&line) {
                            out.extend_from_slice(&r);
                            redacted = true;
                        } else {
                            out.extend_from_slice(&line);
                        }
                        self.dropping[d] = carries_secret(&line);
                    }
                }
            }
        }
        if out.is_empty() && !redacted {
            return Ok(());
        }
        self.write_record(now, dir, &out, redacted)
    }

    /// Writes one record of another shape (faults, scenario steps: see
    /// `fault_log.rs`) as one JSON line. Added by ws-timeline (issue 10 §3).
    pub(crate) fn record_json(&mut self, record: &impl Serialize) -> io::Result<()> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        self.out.write_all(&line).inspect_err(|e| {
            warn!(error = %e, "cannot write the trace; tracing stops, the module goes on");
        })
    }

    /// Writes what is still held back (at the end of the trace), redacted.
    pub(crate) fn flush_held(&mut self) -> io::Result<()> {
        for dir in [Direction::HostToModule, Direction::ModuleToHost] {
            let line = std::mem::take(&mut self.held[dir as usize]);
            if !line.is_empty() {
                let (bytes, redacted) = match redact_line(&line) {
                    Some(r) => (r, true),
                    None => (line, false),
                };
                self.write_record(self.last, dir, &bytes, redacted)?;
            }
        }
        Ok(())
    }

    fn write_record(
        &mut self,
        now: Instant,
        dir: Direction,
        bytes: &[u8],
        redacted: bool,
    ) -> io::Result<()> {
        let mut hex = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(hex, "{b:02x}");
        }
        let record = Record {
            t_ms: now.as_millis(),
            dir,
            text: &String::from_utf8_lossy(bytes),
            hex: &hex,
            redacted,
        };
        let mut line = serde_json::to_vec(&record)?;
        line.push(b'\n');
        self.out.write_all(&line).inspect_err(|e| {
            warn!(error = %e, "cannot write the trace; tracing stops, the module goes on");
        })
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        let _ = self.flush_held();
    }
}

/// Whether a partial line may still become a command line (`AT…`, `at…`,
/// after leading blanks): only those are held back for redaction, so data-mode
/// payloads and URCs are recorded at once.
fn could_be_command(partial: &[u8]) -> bool {
    let start = partial
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(partial.len());
    let p = &partial[start..];
    match p.len() {
        0 => false,
        1 => p[0].eq_ignore_ascii_case(&b'a'),
        _ => p[..2].eq_ignore_ascii_case(b"at"),
    }
}

/// Case-insensitive search of `needle` (upper case) in `hay`.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

fn carries_secret(line: &[u8]) -> bool {
    find_ci(line, b"+QMTCONN=").is_some() || find_ci(line, b"+QMTCFG=").is_some()
}

/// The parameter fields of a command starting at `from` (just after `=`):
/// byte ranges, quotes included; ends at `;`, `\r`, `\n` or the end. A quote
/// left open runs to the end of the line.
fn fields(line: &[u8], from: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = from;
    let mut start = from;
    let mut quoted = false;
    while i < line.len() {
        let b = line[i];
        if quoted {
            if b == b'"' {
                quoted = false;
            }
        } else if b == b'"' {
            quoted = true;
        } else if b == b',' {
            out.push((start, i));
            start = i + 1;
        } else if b == b';' || b == b'\r' || b == b'\n' {
            break;
        }
        i += 1;
    }
    out.push((start, i));
    out
}

/// The line with every secret masked, or `None` when it holds none.
/// `AT+QMTCONN`: the 4th parameter (password); `AT+QMTCFG="aliauth"`: the 5th
/// (device secret). Commands joined with `;` are each looked at.
fn redact_line(line: &[u8]) -> Option<Vec<u8>> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut at = 0;
    while let Some(i) = find_ci(&line[at..], b"+QMTCONN=") {
        let from = at + i + b"+QMTCONN=".len();
        if let Some(&f) = fields(line, from).get(3) {
            spans.push(f);
        }
        at = from;
    }
    at = 0;
    while let Some(i) = find_ci(&line[at..], b"+QMTCFG=") {
        let from = at + i + b"+QMTCFG=".len();
        let fs = fields(line, from);
        let name = fs.first().map(|&(a, b)| &line[a..b]);
        if name.is_some_and(|n| n.eq_ignore_ascii_case(b"\"aliauth\"")) {
            if let Some(&f) = fs.get(4) {
                spans.push(f);
            }
        }
        at = from;
    }
    spans.retain(|&(a, b)| b > a);
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = Vec::with_capacity(line.len());
    let mut pos = 0;
    for (a, b) in spans {
        out.extend_from_slice(&line[pos..a]);
        let field = &line[a..b];
        let quoted = field.first() == Some(&b'"');
        let closed = quoted && field.len() > 1 && field.last() == Some(&b'"');
        if quoted {
            out.push(b'"');
        }
        out.extend_from_slice(MASK);
        if closed {
            out.push(b'"');
        }
        pos = b;
    }
    out.extend_from_slice(&line[pos..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_json_line_per_chunk_with_text_and_exact_hex() {
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), false);
        trace
            .record(Instant::from_millis(12), Direction::HostToModule, b"AT\r")
            .unwrap();
        trace
            .record(
                Instant::from_millis(13),
                Direction::ModuleToHost,
                b"\xff\"\r\n",
            )
            .unwrap();
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "{\"t_ms\":12,\"dir\":\"host_to_module\",\"text\":\"AT\\r\",\"hex\":\"41540d\"}\n\
             {\"t_ms\":13,\"dir\":\"module_to_host\",\"text\":\"\u{fffd}\\\"\\r\\n\",\"hex\":\"ff220d0a\"}\n"
        );
    }

    fn lines(sink: &Shared) -> Vec<serde_json::Value> {
        String::from_utf8(sink.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    const CONN: &str = "AT+QMTCONN=0,\"dev\",\"user\",\"s3cr3t-pw\"\r";
    const ALI: &str = "AT+QMTCFG=\"aliauth\",0,\"pk\",\"dn\",\"ds-SECRET\"\r";

    fn all(sink: &Shared) -> String {
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn password_and_aliauth_secret_are_masked_in_text_and_hex_both_ways() {
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), false);
        let t = Instant::from_millis(1);
        trace
            .record(t, Direction::HostToModule, CONN.as_bytes())
            .unwrap();
        trace
            .record(t, Direction::ModuleToHost, CONN.as_bytes())
            .unwrap();
        trace
            .record(t, Direction::HostToModule, ALI.as_bytes())
            .unwrap();
        let text = all(&sink);
        for secret in ["s3cr3t-pw", "ds-SECRET"] {
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains(&hex(secret)), "{text}");
        }
        let recs = lines(&sink);
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0]["text"], "AT+QMTCONN=0,\"dev\",\"user\",\"***\"\r");
        assert_eq!(
            recs[0]["hex"],
            hex("AT+QMTCONN=0,\"dev\",\"user\",\"***\"\r")
        );
        assert_eq!(recs[0]["redacted"], true);
        assert_eq!(
            recs[2]["text"],
            "AT+QMTCFG=\"aliauth\",0,\"pk\",\"dn\",\"***\"\r"
        );
    }

    #[test]
    fn a_command_split_across_chunks_is_masked_and_other_lines_are_kept() {
        for split in 1..CONN.len() {
            let sink = Shared::default();
            let mut trace = Trace::to_writer(sink.clone(), false);
            let (a, b) = CONN.as_bytes().split_at(split);
            trace
                .record(Instant::from_millis(1), Direction::HostToModule, a)
                .unwrap();
            trace
                .record(Instant::from_millis(2), Direction::HostToModule, b)
                .unwrap();
            let text = all(&sink);
            assert!(!text.contains("s3cr3t"), "split {split}: {text}");
            assert!(!text.contains(&hex("s3cr")), "split {split}: {text}");
            assert!(text.contains("***"), "split {split}: {text}");
        }
        // byte by byte, as a person typing in picocom
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), false);
        for b in CONN.bytes() {
            trace
                .record(Instant::from_millis(1), Direction::HostToModule, &[b])
                .unwrap();
        }
        assert!(!all(&sink).contains("s3cr3t"));
        // lines without secrets, and payloads, are exact
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), false);
        trace
            .record(
                Instant::from_millis(1),
                Direction::HostToModule,
                b"AT+QMTCONN=0,\"dev\"\r",
            )
            .unwrap();
        trace
            .record(Instant::from_millis(1), Direction::HostToModule, b"payload")
            .unwrap();
        let recs = lines(&sink);
        assert_eq!(recs[0]["text"], "AT+QMTCONN=0,\"dev\"\r");
        assert!(recs[0].get("redacted").is_none());
        assert_eq!(recs[1]["text"], "payload");
    }

    #[test]
    fn held_bytes_are_bounded_and_an_open_secret_never_leaks() {
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), false);
        let t = Instant::from_millis(1);
        trace
            .record(t, Direction::HostToModule, b"AT+QMTCONN=0,\"d\",\"u\",\"pw")
            .unwrap();
        let long = vec![b'x'; MAX_HELD + 10];
        trace.record(t, Direction::HostToModule, &long).unwrap();
        assert!(trace.held[0].is_empty());
        trace
            .record(t, Direction::HostToModule, b"TAIL\"\rAT\r")
            .unwrap();
        let text = all(&sink);
        assert!(
            !text.contains("pw") && !text.contains("xxx") && !text.contains("TAIL"),
            "{text}"
        );
        assert!(text.contains("AT\\r"), "{text}");
        // a partial line held at the end is written (redacted) when the trace ends
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), false);
        trace
            .record(t, Direction::HostToModule, b"AT+QMTCONN=0,\"d\",\"u\",\"pw")
            .unwrap();
        drop(trace);
        let text = all(&sink);
        assert!(text.contains("\\\"***") && !text.contains("pw"), "{text}");
    }

    #[test]
    fn trace_secrets_keeps_the_bytes_exactly() {
        let sink = Shared::default();
        let mut trace = Trace::to_writer(sink.clone(), true);
        trace
            .record(
                Instant::from_millis(1),
                Direction::HostToModule,
                CONN.as_bytes(),
            )
            .unwrap();
        let text = all(&sink);
        assert!(
            text.contains("s3cr3t-pw") && text.contains(&hex("s3cr3t-pw")),
            "{text}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_created_0600_even_over_a_wider_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vmodem-trace-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(Trace::create(&path, false).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(mode, 0o600);
    }
}
