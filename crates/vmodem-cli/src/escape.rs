//! Bytes as readable text and back: what `vmodem at` prints and takes, and how transcripts
//! write the bytes of a serial line.
//!
//! The escapes are the same everywhere: `\r` `\n` `\t` `\\` `\xNN`, plus `\e` (ESC, which
//! cancels a data entry) and `\z` (Ctrl-Z, which ends one).

/// Reads text with escapes into bytes.
pub(crate) fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('e') => out.push(0x1b),
            Some('z') => out.push(0x1a),
            Some('\\') => out.push(b'\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(
                    u8::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| hex.len() == 2)
                        .ok_or_else(|| format!("\\x{hex}: write \\x and two hex digits"))?,
                );
            }
            Some(other) => {
                return Err(format!(
                    "unknown escape \\{other}: the escapes are \\r \\n \\t \\e \\z \\\\ \\xNN"
                ))
            }
            None => return Err("a `\\` at the end: write \\\\ for a backslash".into()),
        }
    }
    Ok(out)
}

/// Shows bytes on one line: printable ASCII as is, the rest escaped.
pub(crate) fn show(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        push_escaped(&mut out, b, false);
    }
    out
}

/// Appends one byte, escaped; `braces` escapes `{` and `}` too (for transcripts, where braces
/// start placeholders).
pub(crate) fn push_escaped(out: &mut String, b: u8, braces: bool) {
    match b {
        b'\r' => out.push_str("\\r"),
        b'\n' => out.push_str("\\n"),
        b'\t' => out.push_str("\\t"),
        b'\\' => out.push_str("\\\\"),
        0x1b => out.push_str("\\e"),
        0x1a => out.push_str("\\z"),
        b'{' | b'}' if braces => {
            out.push('\\');
            out.push(char::from(b));
        }
        0x20..=0x7e => out.push(char::from(b)),
        _ => out.push_str(&format!("\\x{b:02x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = b"AT\r\r\nOK\r\n\x1a\x1b\\\x00\xff{}\t";
        let text = show(bytes);
        assert_eq!(text, "AT\\r\\r\\nOK\\r\\n\\z\\e\\\\\\x00\\xff{}\\t");
        assert_eq!(unescape(&text).unwrap(), bytes);
        assert_eq!(unescape("{\"v\":1}").unwrap(), b"{\"v\":1}");
        assert!(unescape("a\\").is_err());
        assert!(unescape("\\q").unwrap_err().contains("\\xNN"));
        assert!(unescape("\\xg1").is_err());
        assert!(unescape("\\x4").is_err());
    }
}
