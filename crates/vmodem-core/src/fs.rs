//! The module's file system: two flat storages of named files.
//!
//! - `UFS:` (user file storage, flash on a real module) keeps its files across
//!   `AT+CFUN=1,1` and `AT+QPOWD`. The core does no I/O, so keeping them across
//!   *process* runs is the driver's job: it gets them back through
//!   [`Config::ufs_files`](crate::Config::ufs_files) and learns of changes
//!   through [`ModemEvent::UfsFileWritten`](crate::ModemEvent::UfsFileWritten)
//!   and [`ModemEvent::UfsFileDeleted`](crate::ModemEvent::UfsFileDeleted).
//! - `RAM:` is emptied whenever the module boots (`AT+CFUN=1,1`, the power key
//!   after `AT+QPOWD`).
//!
//! **Names** (decision, after the EC2x FILE AT commands manual: "<filename> …
//! The maximum length is 80 bytes", "It is strongly recommended to use DOS 8.3
//! file name format"): a name is `RAM:<file>`, `UFS:<file>` or `<file>` (UFS,
//! as on the EC25), the prefix in any case. The whole parameter as typed,
//! prefix included, is 1–80 bytes; `<file>` is not empty, not `.` or `..`, and
//! holds printable ASCII (space included) except `\ / : * ? " < > |`. Names are
//! case-sensitive (UFS is a directory of the module's Linux file system).
//! Anything else is `+CME ERROR: 406`. Patterns (`AT+QFLST`, `AT+QFDEL`) follow
//! the same rules and may also hold `*`, matching any run of characters.
//!
//! **Space**: each storage holds at most its capacity in file bytes
//! ([`Config::ufs_capacity`](crate::Config::ufs_capacity),
//! [`Config::ram_capacity`](crate::Config::ram_capacity)); names and
//! directory entries cost nothing. Nothing is preallocated: a file is one
//! buffer of its own length, shared (not copied) with the host output while
//! `AT+QFDWL` writes it.

use std::collections::BTreeMap;

use bytes::Bytes;

/// One of the two storages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Storage {
    /// `UFS:`, kept across restarts.
    Ufs,
    /// `RAM:`, lost at every boot.
    Ram,
}

impl Storage {
    /// The prefix the module writes before a file name of this storage.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Storage::Ufs => "UFS:",
            Storage::Ram => "RAM:",
        }
    }
}

/// Longest name parameter, prefix included (FILE AT commands manual).
pub(crate) const MAX_NAME_LEN: usize = 80;

/// A name or pattern the file system refuses (`+CME ERROR: 406`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidName;

/// Splits a file name as typed into its storage and the name within it.
pub(crate) fn parse_name(typed: &[u8]) -> Result<(Storage, &str), InvalidName> {
    parse(typed, false)
}

/// Like [`parse_name`], but `*` is allowed as a wildcard.
pub(crate) fn parse_pattern(typed: &[u8]) -> Result<(Storage, &str), InvalidName> {
    parse(typed, true)
}

fn parse(typed: &[u8], wildcards: bool) -> Result<(Storage, &str), InvalidName> {
    if typed.len() > MAX_NAME_LEN {
        return Err(InvalidName);
    }
    let (storage, name) = split_storage(typed);
    let allowed = |c: u8| name_char(c) || (wildcards && c == b'*');
    if name.is_empty() || name == b"." || name == b".." || !name.iter().all(|&c| allowed(c)) {
        return Err(InvalidName);
    }
    // All ASCII, so this cannot fail; map it anyway rather than unwrap.
    let name = std::str::from_utf8(name).map_err(|_| InvalidName)?;
    Ok((storage, name))
}

fn split_storage(typed: &[u8]) -> (Storage, &[u8]) {
    if typed.len() >= 4 {
        let (prefix, rest) = typed.split_at(4);
        if prefix.eq_ignore_ascii_case(b"RAM:") {
            return (Storage::Ram, rest);
        }
        if prefix.eq_ignore_ascii_case(b"UFS:") {
            return (Storage::Ufs, rest);
        }
    }
    (Storage::Ufs, typed)
}

fn name_char(c: u8) -> bool {
    (0x20..=0x7e).contains(&c) && !b"\\/:*?\"<>|".contains(&c)
}

/// True if `name` matches `pattern`, where `*` stands for any run of bytes.
pub(crate) fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was, and how much of the name it has swallowed.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ni));
            pi += 1;
        } else if pi < p.len() && p[pi] == n[ni] {
            pi += 1;
            ni += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The `<checksum>` of `AT+QFUPL`/`AT+QFDWL`: the XOR of the data taken as
/// big-endian 16-bit words, an odd last byte padded with a zero low byte
/// (module-behaviour.md, "TLS"; the FILE AT commands manual: "If the number of
/// the characters is odd, set the last character as the high 8 bit, and the
/// low 8 bit as 0").
pub(crate) fn checksum(data: &[u8]) -> u16 {
    data.chunks(2).fold(0, |acc, word| {
        let high = u16::from(word[0]) << 8;
        let low = word.get(1).copied().map_or(0, u16::from);
        acc ^ high ^ low
    })
}

/// Why a file could not be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// A file of that name exists (`+CME ERROR: 407`).
    Exists,
    /// Not enough free space (`+CME ERROR: 420`).
    NoSpace,
}

/// One storage: files by name, and how much room they take.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    files: BTreeMap<String, Bytes>,
    capacity: usize,
    used: usize,
}

impl Store {
    pub(crate) fn new(capacity: usize) -> Store {
        Store {
            files: BTreeMap::new(),
            capacity,
            used: 0,
        }
    }

    /// A file's bytes.
    pub(crate) fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(|data| &data[..])
    }

    /// A file's bytes, shared rather than copied (for `AT+QFDWL`).
    pub(crate) fn get_shared(&self, name: &str) -> Option<Bytes> {
        self.files.get(name).cloned()
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }

    /// Bytes the storage holds at most.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes the files take.
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    /// Bytes still free.
    pub(crate) fn free(&self) -> usize {
        self.capacity.saturating_sub(self.used)
    }

    /// How many files there are.
    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    /// Stores a new file.
    pub(crate) fn create(&mut self, name: &str, data: Vec<u8>) -> Result<(), StoreError> {
        if self.files.contains_key(name) {
            return Err(StoreError::Exists);
        }
        if data.len() > self.free() {
            return Err(StoreError::NoSpace);
        }
        self.used += data.len();
        self.files.insert(name.to_string(), Bytes::from(data));
        Ok(())
    }

    /// Stores a file, replacing one of the same name.
    pub(crate) fn put(&mut self, name: &str, data: Vec<u8>) -> Result<(), StoreError> {
        let old = self.files.get(name).map_or(0, Bytes::len);
        if data.len() > self.free() + old {
            return Err(StoreError::NoSpace);
        }
        self.remove(name);
        self.create(name, data)
    }

    /// Deletes a file; its bytes, if it existed.
    pub(crate) fn remove(&mut self, name: &str) -> Option<Bytes> {
        let data = self.files.remove(name)?;
        self.used -= data.len();
        Some(data)
    }

    /// Names and sizes of the files `pattern` matches, in name order.
    pub(crate) fn list<'a>(&'a self, pattern: &'a str) -> impl Iterator<Item = (&'a str, usize)> {
        self.files
            .iter()
            .filter(move |(name, _)| matches(pattern, name))
            .map(|(name, data)| (name.as_str(), data.len()))
    }

    /// Deletes every file.
    pub(crate) fn clear(&mut self) {
        self.files = BTreeMap::new();
        self.used = 0;
    }
}

/// Both storages.
#[derive(Clone, Debug)]
pub(crate) struct Files {
    pub(crate) ufs: Store,
    pub(crate) ram: Store,
}

impl Files {
    /// Empty storages of these capacities, UFS then filled with `initial`
    /// (see [`Config::ufs_files`](crate::Config::ufs_files) for what is skipped).
    pub(crate) fn new(
        ufs_capacity: usize,
        ram_capacity: usize,
        initial: Vec<(String, Vec<u8>)>,
    ) -> Files {
        let mut ufs = Store::new(ufs_capacity);
        for (typed, data) in initial {
            if let Ok((Storage::Ufs, name)) = parse_name(typed.as_bytes()) {
                // A file that does not fit is skipped, as documented.
                let _ = ufs.put(name, data);
            }
        }
        Files {
            ufs,
            ram: Store::new(ram_capacity),
        }
    }

    pub(crate) fn store(&self, storage: Storage) -> &Store {
        match storage {
            Storage::Ufs => &self.ufs,
            Storage::Ram => &self.ram,
        }
    }

    pub(crate) fn store_mut(&mut self, storage: Storage) -> &mut Store {
        match storage {
            Storage::Ufs => &mut self.ufs,
            Storage::Ram => &mut self.ram,
        }
    }

    /// A file by its name as the host types it (`RAM:x`, `UFS:x`, `x`);
    /// `None` if the name is invalid or no such file exists.
    pub(crate) fn get(&self, typed: &str) -> Option<&[u8]> {
        let (storage, name) = parse_name(typed.as_bytes()).ok()?;
        self.store(storage).get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_their_storage() {
        assert_eq!(
            parse_name(b"RAM:cacert.pem"),
            Ok((Storage::Ram, "cacert.pem"))
        );
        assert_eq!(parse_name(b"ram:a"), Ok((Storage::Ram, "a")));
        assert_eq!(
            parse_name(b"UFS:client.pem"),
            Ok((Storage::Ufs, "client.pem"))
        );
        assert_eq!(parse_name(b"client.pem"), Ok((Storage::Ufs, "client.pem")));
        assert_eq!(parse_name(b"my key.pem"), Ok((Storage::Ufs, "my key.pem")));
        let longest = format!("RAM:{}", "x".repeat(76));
        assert!(parse_name(longest.as_bytes()).is_ok());
        let too_long = format!("RAM:{}", "x".repeat(77));
        assert_eq!(parse_name(too_long.as_bytes()), Err(InvalidName));
        for bad in [
            &b""[..],
            b"RAM:",
            b"UFS:",
            b".",
            b"RAM:..",
            b"a/b",
            b"a\\b",
            b"UFS:RAM:x",
            b"a*",
            b"a?",
            b"a<b",
            b"a|b",
            b"a\tb",
            b"caf\xc3\xa9",
        ] {
            assert_eq!(parse_name(bad), Err(InvalidName), "{}", bad.escape_ascii());
        }
        assert_eq!(parse_pattern(b"RAM:*"), Ok((Storage::Ram, "*")));
        assert_eq!(parse_pattern(b"*.pem"), Ok((Storage::Ufs, "*.pem")));
        assert_eq!(parse_pattern(b"a?"), Err(InvalidName));
    }

    #[test]
    fn wildcards() {
        assert!(matches("*", "anything"));
        assert!(matches("*.pem", "cacert.pem"));
        assert!(!matches("*.pem", "cacert.pem.bak"));
        assert!(matches("c*t*.pem", "cacert.pem"));
        assert!(matches("a**b", "ab"));
        assert!(matches("exact", "exact"));
        assert!(!matches("exact", "exactly"));
        assert!(!matches("x*", "yx"));
    }

    #[test]
    fn checksum_by_hand() {
        // 0x4142 ^ 0x4344 ^ 0x4500 = 0x4706 (odd length: last byte is the high half).
        assert_eq!(checksum(b"ABCDE"), 0x4706);
        assert_eq!(checksum(b""), 0);
        assert_eq!(checksum(b"\x12"), 0x1200);
        assert_eq!(checksum(b"\x12\x34\x12\x34"), 0);
    }

    #[test]
    fn space_is_accounted() {
        let mut s = Store::new(10);
        assert_eq!(s.create("a", vec![0; 6]), Ok(()));
        assert_eq!(s.create("a", vec![0; 1]), Err(StoreError::Exists));
        assert_eq!(s.create("b", vec![0; 5]), Err(StoreError::NoSpace));
        assert_eq!(s.create("b", vec![0; 4]), Ok(()));
        assert_eq!((s.used(), s.free(), s.len()), (10, 0, 2));
        assert_eq!(s.put("a", vec![1; 2]), Ok(()));
        assert_eq!((s.used(), s.free()), (6, 4));
        assert_eq!(s.put("a", vec![1; 7]), Err(StoreError::NoSpace));
        assert_eq!(s.remove("b").map(|d| d.len()), Some(4));
        assert_eq!(s.remove("b"), None);
        assert_eq!(s.list("*").collect::<Vec<_>>(), vec![("a", 2)]);
        s.clear();
        assert_eq!((s.used(), s.len()), (0, 0));
    }

    #[test]
    fn initial_ufs_files_skip_what_does_not_fit_or_is_misnamed() {
        let files = Files::new(
            10,
            5,
            vec![
                ("a.pem".into(), vec![1; 4]),
                ("UFS:b.pem".into(), vec![2; 4]),
                ("RAM:c.pem".into(), vec![3; 1]),
                ("bad/name".into(), vec![4; 1]),
                ("d.pem".into(), vec![5; 3]),
                ("a.pem".into(), vec![6; 2]),
            ],
        );
        let names: Vec<_> = files.ufs.list("*").collect();
        assert_eq!(names, vec![("a.pem", 2), ("b.pem", 4)]);
        assert_eq!(files.ufs.get("a.pem"), Some(&[6, 6][..]));
        assert_eq!(files.ram.get("c.pem"), None);
        assert_eq!(files.ram.capacity(), 5);
    }
}
