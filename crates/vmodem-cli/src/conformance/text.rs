//! Bytes as transcript lines: how `--record` writes answers, and how a failure shows what was
//! expected and what came.

use crate::escape::push_escaped;

/// Splits bytes where a transcript breaks its `< ` lines: after a LF that ends a line with
/// text (`\r\nOK\r\n` stays whole), and after a CR not followed by LF (an echo `AT\r`, a
/// numeric result `0\r`). Concatenated, the pieces are the input.
pub(crate) fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let end = i + 1;
        let split = match b {
            b'\n' => &bytes[start..end] != b"\r\n" && &bytes[start..end] != b"\n",
            b'\r' => bytes.get(end) != Some(&b'\n'),
            _ => false,
        };
        if split {
            out.push(&bytes[start..end]);
            start = end;
        }
    }
    if start < bytes.len() {
        out.push(&bytes[start..]);
    }
    out
}

/// One transcript line's text for `bytes`: escaped, braces escaped (they start placeholders),
/// a trailing space written `\x20` (editors strip trailing spaces, and the runner does too).
/// `masks` replace known values by placeholders: `(value, "{imei}")`, longest first.
pub(crate) fn transcript(bytes: &[u8], masks: &[(Vec<u8>, String)]) -> String {
    let mut out = String::new();
    let mut i = 0;
    'bytes: while i < bytes.len() {
        for (value, name) in masks {
            if !value.is_empty() && bytes[i..].starts_with(value) {
                out.push_str(name);
                i += value.len();
                continue 'bytes;
            }
        }
        let b = bytes[i];
        if b == b' ' && i + 1 == bytes.len() {
            out.push_str("\\x20");
        } else {
            push_escaped(&mut out, b, true);
        }
        i += 1;
    }
    out
}

/// A line of a diff.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DiffLine {
    Same(String),
    Expected(String),
    Got(String),
}

/// A line diff of `expected` against `got` (longest common subsequence; answers are short).
pub(crate) fn diff(expected: &[String], got: &[String]) -> Vec<DiffLine> {
    let (n, m) = (expected.len(), got.len());
    // lcs[i][j]: the common length of expected[i..] and got[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == got[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            out.push(DiffLine::Same(expected[i].clone()));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j]) {
            out.push(DiffLine::Got(got[j].clone()));
            j += 1;
        } else {
            out.push(DiffLine::Expected(expected[i].clone()));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<String> {
        split_lines(bytes)
            .into_iter()
            .map(|l| transcript(l, &[]))
            .collect()
    }

    #[test]
    fn lines_break_where_a_person_would() {
        assert_eq!(
            lines(b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: X\r\n\r\nOK\r\n"),
            [
                "ATI\\r",
                "\\r\\nQuectel\\r\\n",
                "EC25\\r\\n",
                "Revision: X\\r\\n",
                "\\r\\nOK\\r\\n"
            ]
        );
        assert_eq!(
            lines(b"ATV0\r0\rAT\r0\r"),
            ["ATV0\\r", "0\\r", "AT\\r", "0\\r"]
        );
        assert_eq!(
            lines(b"AT+QMTPUBEX=0,0,0,0,\"t\",2\r\r\n> "),
            ["AT+QMTPUBEX=0,0,0,0,\"t\",2\\r", "\\r\\n>\\x20"]
        );
        assert_eq!(lines(b"{x}\\"), ["\\{x\\}\\\\"]);
        assert_eq!(lines(b""), Vec::<String>::new());
    }

    #[test]
    fn masks_put_placeholders_back() {
        let masks = [
            (b"EC25EFAR06A06M4G".to_vec(), "{revision}".to_string()),
            (b"EC25".to_vec(), "{model}".to_string()),
        ];
        assert_eq!(
            transcript(b"EC25 Revision: EC25EFAR06A06M4G\r\n", &masks),
            "{model} Revision: {revision}\\r\\n"
        );
    }

    #[test]
    fn diff_keeps_the_common_lines() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let d = diff(&s(&["a", "b", "c"]), &s(&["a", "x", "c", "d"]));
        assert_eq!(
            d,
            [
                DiffLine::Same("a".into()),
                DiffLine::Expected("b".into()),
                DiffLine::Got("x".into()),
                DiffLine::Same("c".into()),
                DiffLine::Got("d".into()),
            ]
        );
    }
}
