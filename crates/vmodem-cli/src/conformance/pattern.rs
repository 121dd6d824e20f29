//! Expected answers with holes: exact bytes, plus placeholders for values that vary from
//! module to module (`{imei}`, `{clock}`, `{digits}` …), matched by shape.
//!
//! A pattern is a list of literal byte runs and character classes with a length range. It is
//! matched against the start of what the module sent so far, by a small backtracking search
//! (greedy, like a regular expression): the answer may still be arriving, so besides "matched"
//! and "differs" the search can say "could still match" ([`Outcome::Partial`]).
//!
//! Named placeholders that identify the module (`{imei}`, `{imsi}`, `{iccid}`, `{model}`,
//! `{revision}`) **bind**: the first match in a case fixes the value, and later ones must be
//! the same bytes (AT+CGSN and AT+GSN must give one IMEI).

use std::collections::BTreeMap;
use std::ops::Range;

/// Values bound by named placeholders, per case.
pub(crate) type Bindings = BTreeMap<String, Vec<u8>>;

/// Which bytes a placeholder takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Digit,
    Hex,
    /// Any byte but CR and LF.
    Line,
    /// Printable ASCII but CR, LF and `"`: the inside of a quoted string.
    Quoted,
    /// Letters, digits, `_`, `.`, `-`: a revision or model name.
    Token,
    /// Digits, hex letters, `.` and `:`: an IPv4 or IPv6 address.
    Ip,
    Sign,
    Minus,
    /// Exactly this byte.
    Byte(u8),
}

impl Class {
    fn accepts(self, b: u8) -> bool {
        match self {
            Class::Digit => b.is_ascii_digit(),
            Class::Hex => b.is_ascii_hexdigit(),
            Class::Line => b != b'\r' && b != b'\n',
            Class::Quoted => (0x20..0x7f).contains(&b) && b != b'"',
            Class::Token => b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'),
            Class::Ip => b.is_ascii_hexdigit() || b == b'.' || b == b':',
            Class::Sign => b == b'+' || b == b'-',
            Class::Minus => b == b'-',
            Class::Byte(x) => b == x,
        }
    }
}

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Elem {
    Lit(Vec<u8>),
    Hole {
        class: Class,
        min: usize,
        max: usize,
        /// The placeholder's name when it binds.
        bind: Option<&'static str>,
        /// Index of the placeholder in the source text, for showing it.
        source: usize,
    },
}

/// A placeholder: its name, what it stands for (for the docs and errors), and its shape.
struct Placeholder {
    name: &'static str,
    /// Read by the test that checks `conformance/README.md` documents every placeholder.
    #[cfg_attr(not(test), allow(dead_code))]
    doc: &'static str,
    binds: bool,
    shape: &'static [(Class, usize, usize)],
}

const MANY: usize = usize::MAX;

/// Every placeholder a transcript may use.
const PLACEHOLDERS: &[Placeholder] = &[
    Placeholder {
        name: "digits",
        doc: "one or more decimal digits",
        binds: false,
        shape: &[(Class::Digit, 1, MANY)],
    },
    Placeholder {
        name: "int",
        doc: "a decimal integer, maybe negative",
        binds: false,
        shape: &[(Class::Minus, 0, 1), (Class::Digit, 1, MANY)],
    },
    Placeholder {
        name: "hex",
        doc: "one or more hex digits",
        binds: false,
        shape: &[(Class::Hex, 1, MANY)],
    },
    Placeholder {
        name: "text",
        doc: "one or more printable characters but `\"` (the inside of a quoted string)",
        binds: false,
        shape: &[(Class::Quoted, 1, MANY)],
    },
    Placeholder {
        name: "any",
        doc: "anything up to the end of the line, maybe nothing",
        binds: false,
        shape: &[(Class::Line, 0, MANY)],
    },
    Placeholder {
        name: "ip",
        doc: "an IPv4 or IPv6 address",
        binds: false,
        shape: &[(Class::Ip, 2, 45)],
    },
    Placeholder {
        name: "clock",
        doc: "a +CCLK time, yy/MM/dd,hh:mm:ss±zz",
        binds: false,
        shape: &[
            (Class::Digit, 2, 2),
            (Class::Byte(b'/'), 1, 1),
            (Class::Digit, 2, 2),
            (Class::Byte(b'/'), 1, 1),
            (Class::Digit, 2, 2),
            (Class::Byte(b','), 1, 1),
            (Class::Digit, 2, 2),
            (Class::Byte(b':'), 1, 1),
            (Class::Digit, 2, 2),
            (Class::Byte(b':'), 1, 1),
            (Class::Digit, 2, 2),
            (Class::Sign, 1, 1),
            (Class::Digit, 2, 2),
        ],
    },
    Placeholder {
        name: "imei",
        doc: "the IMEI: 15 digits (binds)",
        binds: true,
        shape: &[(Class::Digit, 15, 15)],
    },
    Placeholder {
        name: "imsi",
        doc: "the IMSI: 6 to 15 digits (binds)",
        binds: true,
        shape: &[(Class::Digit, 6, 15)],
    },
    Placeholder {
        name: "iccid",
        doc: "the ICCID: 18 to 22 hex digits (binds)",
        binds: true,
        shape: &[(Class::Hex, 18, 22)],
    },
    Placeholder {
        name: "model",
        doc: "the model name, e.g. EC25 (binds)",
        binds: true,
        shape: &[(Class::Token, 1, 32)],
    },
    Placeholder {
        name: "revision",
        doc: "the firmware revision, e.g. EC25EFAR06A06M4G (binds)",
        binds: true,
        shape: &[(Class::Token, 1, 64)],
    },
];

/// `(name, description)` of every placeholder, for the test that the README lists them all.
#[cfg(test)]
pub(crate) fn placeholders() -> impl Iterator<Item = (&'static str, &'static str)> {
    PLACEHOLDERS.iter().map(|p| (p.name, p.doc))
}

/// Why a pattern's text is not valid.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PatternError {
    /// `{name}` with an unknown name.
    UnknownPlaceholder(String),
    /// A `{` without `}`.
    Unclosed,
    /// A bad backslash escape.
    Escape(String),
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatternError::UnknownPlaceholder(name) => {
                let known: Vec<String> = PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{}}}", p.name))
                    .collect();
                write!(
                    f,
                    "unknown placeholder {{{name}}}; the placeholders are {}, and the runner's \
                     variables {{broker_host}}, {{broker_port}}, {{run}} (write \\{{ for a literal brace)",
                    known.join(" ")
                )
            }
            PatternError::Unclosed => write!(
                f,
                "a `{{` without its `}}` (write \\{{ for a literal brace)"
            ),
            PatternError::Escape(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for PatternError {}

/// A piece of transcript text: literal bytes or `{name}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    Name(String),
}

/// Splits transcript text into bytes (escapes resolved) and `{name}`s.
///
/// Escapes: `\r` `\n` `\t` `\\` `\{` `\}` `\xNN`, and `\e` for ESC, `\z` for Ctrl-Z.
pub(crate) fn pieces(text: &str) -> Result<Vec<Piece>, PatternError> {
    let mut out = Vec::new();
    let mut bytes = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' => {
                let Some((_, e)) = chars.next() else {
                    return Err(PatternError::Escape(
                        "a `\\` at the end of the line (write \\\\ for a backslash)".into(),
                    ));
                };
                match e {
                    'r' => bytes.push(b'\r'),
                    'n' => bytes.push(b'\n'),
                    't' => bytes.push(b'\t'),
                    'e' => bytes.push(0x1b),
                    'z' => bytes.push(0x1a),
                    '\\' | '{' | '}' => bytes.push(e as u8),
                    'x' => {
                        let hex: String = (0..2).filter_map(|_| chars.next().map(|(_, c)| c)).collect();
                        let value = u8::from_str_radix(&hex, 16)
                            .ok()
                            .filter(|_| hex.len() == 2)
                            .ok_or(())
                            .map_err(|()| {
                            PatternError::Escape(format!("\\x{hex}: write \\x and two hex digits"))
                        })?;
                        bytes.push(value);
                    }
                    other => {
                        return Err(PatternError::Escape(format!(
                            "unknown escape \\{other}; the escapes are \\r \\n \\t \\e \\z \\\\ \\{{ \\}} \\xNN"
                        )))
                    }
                }
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some((_, '}')) => break,
                        Some((_, c)) => name.push(c),
                        None => return Err(PatternError::Unclosed),
                    }
                }
                if !bytes.is_empty() {
                    out.push(Piece::Bytes(std::mem::take(&mut bytes)));
                }
                out.push(Piece::Name(name));
            }
            c => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if !bytes.is_empty() {
        out.push(Piece::Bytes(bytes));
    }
    Ok(out)
}

/// Resolves `{name}`s from `vars`; any other name is an error. For lines sent to the module.
pub(crate) fn substitute(
    pieces: &[Piece],
    vars: &BTreeMap<&str, String>,
) -> Result<Vec<u8>, PatternError> {
    let mut out = Vec::new();
    for piece in pieces {
        match piece {
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Name(n) => match vars.get(n.as_str()) {
                Some(v) => out.extend_from_slice(v.as_bytes()),
                None => return Err(PatternError::UnknownPlaceholder(n.clone())),
            },
        }
    }
    Ok(out)
}

/// An expected answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pattern {
    elems: Vec<Elem>,
    /// How each placeholder was written, for showing the pattern: `(source index, text)`.
    names: Vec<String>,
}

/// What matching found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The pattern matches the first `len` bytes; `bindings` includes what it bound.
    Full { len: usize, bindings: Bindings },
    /// No match yet, but the input is the start of one: wait for more. The trace shows how
    /// far it got.
    Partial(Trace),
    /// The input cannot match, whatever follows.
    Mismatch(Trace),
}

/// The attempt that got furthest, for showing where an answer differs.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Trace {
    /// Bytes of the input that matched before the difference.
    pub(crate) matched: usize,
    /// What the placeholders had matched on that attempt, by source index.
    pub(crate) holes: BTreeMap<usize, Range<usize>>,
}

/// Steps the search may take before it gives up (a guard against pathological patterns).
const BUDGET: usize = 1_000_000;

struct Search<'a> {
    elems: &'a [Elem],
    input: &'a [u8],
    steps: usize,
    partial: bool,
    best: Trace,
    holes: BTreeMap<usize, Range<usize>>,
}

impl Pattern {
    /// Builds a pattern from transcript text: escapes resolved, `{name}` a placeholder or one
    /// of `vars` (replaced by its value).
    pub(crate) fn parse(
        text: &str,
        vars: &BTreeMap<&str, String>,
    ) -> Result<Pattern, PatternError> {
        let mut p = Pattern::default();
        p.push(text, vars)?;
        Ok(p)
    }

    /// Appends more transcript text (the next `<` line).
    pub(crate) fn push(
        &mut self,
        text: &str,
        vars: &BTreeMap<&str, String>,
    ) -> Result<(), PatternError> {
        for piece in pieces(text)? {
            match piece {
                Piece::Bytes(b) => self.lit(&b),
                Piece::Name(n) => {
                    if let Some(v) = vars.get(n.as_str()) {
                        self.lit(v.as_bytes());
                        continue;
                    }
                    let ph = PLACEHOLDERS
                        .iter()
                        .find(|p| p.name == n)
                        .ok_or_else(|| PatternError::UnknownPlaceholder(n.clone()))?;
                    let source = self.names.len();
                    self.names.push(format!("{{{n}}}"));
                    for &(class, min, max) in ph.shape {
                        self.elems.push(Elem::Hole {
                            class,
                            min,
                            max,
                            bind: ph.binds.then_some(ph.name),
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn lit(&mut self, bytes: &[u8]) {
        match self.elems.last_mut() {
            Some(Elem::Lit(l)) => l.extend_from_slice(bytes),
            _ => self.elems.push(Elem::Lit(bytes.to_vec())),
        }
    }

    /// `true` if the pattern expects nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.elems.is_empty()
    }

    /// Matches the pattern against the start of `input`.
    pub(crate) fn matches(&self, input: &[u8], bindings: &Bindings) -> Outcome {
        let mut s = Search {
            elems: &self.elems,
            input,
            steps: 0,
            partial: false,
            best: Trace::default(),
            holes: BTreeMap::new(),
        };
        let mut bound = bindings.clone();
        if let Some(len) = s.go(0, 0, &mut bound) {
            return Outcome::Full {
                len,
                bindings: bound,
            };
        }
        if s.partial {
            Outcome::Partial(s.best)
        } else {
            Outcome::Mismatch(s.best)
        }
    }

    /// The pattern as text for a diff: literal bytes, and for each placeholder what it matched
    /// on the `trace` attempt (or its `{name}` if it was not reached).
    pub(crate) fn render(&self, input: &[u8], trace: &Trace) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut shown = None;
        for e in &self.elems {
            match e {
                Elem::Lit(l) => out.push(Segment::Bytes(l.clone())),
                Elem::Hole { source, .. } => {
                    if shown == Some(*source) {
                        continue;
                    }
                    shown = Some(*source);
                    match trace.holes.get(source) {
                        Some(r) => out.push(Segment::Bytes(input[r.clone()].to_vec())),
                        None => out.push(Segment::Name(self.names[*source].clone())),
                    }
                }
            }
        }
        out
    }
}

/// Part of a rendered pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Bytes(Vec<u8>),
    Name(String),
}

impl Search<'_> {
    /// Tries to match `elems[e..]` at `input[i..]`; the end of the match on success.
    fn go(&mut self, e: usize, i: usize, bound: &mut Bindings) -> Option<usize> {
        self.steps += 1;
        if self.steps > BUDGET {
            return None;
        }
        if i >= self.best.matched {
            self.best.matched = i;
            self.best.holes = self.holes.clone();
        }
        let Some(elem) = self.elems.get(e) else {
            return Some(i);
        };
        match elem {
            Elem::Lit(lit) => {
                let avail = &self.input[i..];
                let n = lit.len().min(avail.len());
                let same = lit.iter().zip(avail).take_while(|(a, b)| a == b).count();
                if same < n {
                    self.note(i + same);
                    return None;
                }
                if n < lit.len() {
                    self.partial = true;
                    self.note(i + n);
                    return None;
                }
                self.go(e + 1, i + n, bound)
            }
            Elem::Hole {
                class,
                min,
                max,
                bind,
                source,
            } => {
                let (class, min, max, source) = (*class, *min, *max, *source);
                if let Some(value) = bind.and_then(|name| bound.get(name)).cloned() {
                    // Bound already (and not being bound by an earlier element of this
                    // same placeholder): the same bytes again.
                    if !self.holes.contains_key(&source) {
                        let lit = Elem::Lit(value);
                        let one = [lit];
                        let mut sub = Search {
                            elems: &one,
                            input: self.input,
                            steps: 0,
                            partial: false,
                            best: Trace::default(),
                            holes: BTreeMap::new(),
                        };
                        let end = sub.go(0, i, &mut Bindings::new());
                        self.partial |= sub.partial;
                        self.note(sub.best.matched);
                        let end = end?;
                        self.holes.insert(source, i..end);
                        let rest = self.go(e + 1, end, bound);
                        if rest.is_none() {
                            self.holes.remove(&source);
                        }
                        return rest;
                    }
                }
                let avail = &self.input[i..];
                let run = avail
                    .iter()
                    .take(max)
                    .take_while(|&&b| class.accepts(b))
                    .count();
                if run == avail.len() && run < max {
                    // The class might go on in bytes not yet received.
                    self.partial = true;
                }
                if run < min {
                    self.note(i + run);
                    return None;
                }
                let start_of_hole = !self.holes.contains_key(&source);
                for n in (min..=run).rev() {
                    let end = i + n;
                    let span = match self.holes.get(&source) {
                        Some(r) if !start_of_hole => r.start..end,
                        _ => i..end,
                    };
                    let before = self.holes.insert(source, span.clone());
                    let last_of_hole = !matches!(
                        self.elems.get(e + 1),
                        Some(Elem::Hole { source: s, .. }) if *s == source
                    );
                    let mut newly_bound = None;
                    if last_of_hole {
                        if let Some(name) = bind {
                            if !bound.contains_key(*name) {
                                bound
                                    .insert((*name).to_string(), self.input[span.clone()].to_vec());
                                newly_bound = Some(*name);
                            }
                        }
                    }
                    if let Some(end) = self.go(e + 1, end, bound) {
                        return Some(end);
                    }
                    if let Some(name) = newly_bound {
                        bound.remove(name);
                    }
                    match before {
                        Some(r) => {
                            self.holes.insert(source, r);
                        }
                        None => {
                            self.holes.remove(&source);
                        }
                    }
                }
                None
            }
        }
    }

    fn note(&mut self, at: usize) {
        if at > self.best.matched {
            self.best.matched = at;
            self.best.holes = self.holes.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<&'static str, String> {
        BTreeMap::from([("broker_port", "1883".to_string())])
    }

    fn m(pattern: &str, input: &[u8]) -> Outcome {
        Pattern::parse(pattern, &vars())
            .unwrap()
            .matches(input, &Bindings::new())
    }

    fn full(pattern: &str, input: &[u8]) -> usize {
        match m(pattern, input) {
            Outcome::Full { len, .. } => len,
            other => panic!(
                "{pattern:?} on {:?}: {other:?}",
                input.escape_ascii().to_string()
            ),
        }
    }

    #[test]
    fn literals_and_escapes() {
        assert_eq!(full("AT\\r\\r\\nOK\\r\\n", b"AT\r\r\nOK\r\nmore"), 9);
        assert!(matches!(
            m("AT\\r\\r\\nOK\\r\\n", b"AT\r\r\nO"),
            Outcome::Partial(_)
        ));
        let Outcome::Mismatch(t) = m("AT\\r\\r\\nOK\\r\\n", b"AT\r\r\nERROR\r\n") else {
            panic!()
        };
        assert_eq!(t.matched, 5);
        assert_eq!(full("\\x1a\\e\\z\\{x\\}\\\\", b"\x1a\x1b\x1a{x}\\"), 7);
        assert_eq!(full("port {broker_port}", b"port 1883"), 9);
    }

    #[test]
    fn placeholders_match_by_shape() {
        assert_eq!(full("{imei}\\r\\n", b"866695050000009\r\n"), 17);
        assert!(matches!(
            m("{imei}\\r\\n", b"86669505000000\r\n"),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(m("{imei}\\r\\n", b"8666950"), Outcome::Partial(_)));
        assert_eq!(
            full("+CCLK: \"{clock}\"", b"+CCLK: \"26/11/25,08:53:38+00\""),
            29
        );
        assert_eq!(
            full("+CCLK: \"{clock}\"", b"+CCLK: \"26/11/25,08:53:38-32\""),
            29
        );
        assert!(matches!(
            m("+CCLK: \"{clock}\"", b"+CCLK: \"26/11/25 08:53:38\""),
            Outcome::Mismatch(_)
        ));
        assert_eq!(
            full(
                "+QIACT: 1,1,1,\"{ip}\"\\r\\n",
                b"+QIACT: 1,1,1,\"10.64.0.1\"\r\n"
            ),
            27
        );
        assert_eq!(full("{int},{int}", b"-1,5"), 4);
        // {text} stops at a quote; backtracking finds the split.
        assert_eq!(
            full(
                "+COPS: 0,0,\"{text}\",{digits}\\r\\n",
                b"+COPS: 0,0,\"VMODEM NET\",7\r\n"
            ),
            27
        );
        // {any} may be empty and runs to the end of the line.
        assert_eq!(full("a{any}\\r\\n", b"a\r\n"), 3);
        assert_eq!(full("a{any}b\\r\\n", b"axxbxb\r\n"), 8);
    }

    #[test]
    fn identity_placeholders_bind() {
        let p = Pattern::parse("{imei}\\r\\n{imei}\\r\\n", &vars()).unwrap();
        assert!(matches!(
            p.matches(b"866695050000009\r\n866695050000009\r\n", &Bindings::new()),
            Outcome::Full { len: 34, .. }
        ));
        assert!(matches!(
            p.matches(b"866695050000009\r\n866695050000008\r\n", &Bindings::new()),
            Outcome::Mismatch(_)
        ));
        // Bindings from earlier steps hold.
        let bound = Bindings::from([("model".to_string(), b"EC25".to_vec())]);
        let p = Pattern::parse("{model}\\r\\n", &vars()).unwrap();
        assert!(matches!(
            p.matches(b"EC25\r\n", &bound),
            Outcome::Full { .. }
        ));
        assert!(matches!(
            p.matches(b"EG95\r\n", &bound),
            Outcome::Mismatch(_)
        ));
        assert!(matches!(p.matches(b"EC", &bound), Outcome::Partial(_)));
        let Outcome::Full { bindings, .. } = p.matches(b"EG95\r\n", &Bindings::new()) else {
            panic!()
        };
        assert_eq!(bindings["model"], b"EG95");
    }

    #[test]
    fn render_shows_what_placeholders_matched() {
        let p = Pattern::parse("{imei}\\r\\nOK {digits}", &vars()).unwrap();
        let input = b"866695050000009\r\nERROR";
        let Outcome::Mismatch(trace) = p.matches(input, &Bindings::new()) else {
            panic!()
        };
        assert_eq!(trace.matched, 17);
        assert_eq!(
            p.render(input, &trace),
            [
                Segment::Bytes(b"866695050000009".to_vec()),
                Segment::Bytes(b"\r\nOK ".to_vec()),
                Segment::Name("{digits}".into())
            ]
        );
    }

    #[test]
    fn bad_text_is_refused_with_a_hint() {
        let e = Pattern::parse("{nope}", &vars()).unwrap_err();
        assert!(e.to_string().contains("{imei}"), "{e}");
        assert_eq!(
            Pattern::parse("{imei", &vars()).unwrap_err(),
            PatternError::Unclosed
        );
        assert!(Pattern::parse("\\q", &vars())
            .unwrap_err()
            .to_string()
            .contains("\\xNN"));
        assert!(Pattern::parse("\\x4", &vars()).is_err());
    }
}
