//! What a test needs to play the host: a serial client for a pseudo-terminal
//! and a scratch directory. Shared by vmodem-tokio's and vmodem-cli's tests
//! (the latter includes this file by path).
#![allow(dead_code, unreachable_pub)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::termios::{self, SetArg, SpecialCharacterIndices};

/// How long any expected output may take to arrive.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// What the module prints at power-up (EC25, `Timing::Fast`).
pub const BOOT: &[u8] = b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\
                          \r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n";

/// A host on a pseudo-terminal, as firmware test rigs and picocom are: opens
/// the slave device in raw mode and reads with a bounded wait. Blocking on
/// purpose, so the test thread plays the host while tokio runs the module.
pub struct SerialClient {
    file: File,
}

impl SerialClient {
    /// Opens `path` (a pty slave or a symlink to one) in raw mode.
    pub fn open(path: &Path) -> SerialClient {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(OFlag::O_NOCTTY.bits())
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        let mut raw = termios::tcgetattr(&file).unwrap();
        termios::cfmakeraw(&mut raw);
        // Reads return after 0.1 s without data, so every wait is bounded.
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 1;
        termios::tcsetattr(&file, SetArg::TCSANOW, &raw).unwrap();
        SerialClient { file }
    }

    /// Writes `bytes` as the host.
    pub fn send(&mut self, bytes: &[u8]) {
        self.file.write_all(bytes).unwrap();
    }

    /// Turns on local echo, as `stty echo` on the device would.
    pub fn turn_echo_on(&mut self) {
        let mut settings = termios::tcgetattr(&self.file).unwrap();
        settings.local_flags |= termios::LocalFlags::ECHO;
        termios::tcsetattr(&self.file, SetArg::TCSANOW, &settings).unwrap();
    }

    /// Checks nothing arrives for `quiet`.
    pub fn expect_silence(&mut self, quiet: Duration) {
        let until = Instant::now() + quiet;
        let mut buf = [0u8; 256];
        while Instant::now() < until {
            let n = self.file.read(&mut buf).unwrap();
            assert_eq!(buf[..n].escape_ascii().to_string(), "", "expected silence");
        }
    }

    /// Reads exactly as many bytes as `expected` has and checks they match.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_exactly(expected.len());
        assert_eq!(
            got.escape_ascii().to_string(),
            expected.escape_ascii().to_string(),
            "unexpected bytes from the module"
        );
    }

    /// Reads `n` bytes, or panics with what came if they do not come in time.
    pub fn read_exactly(&mut self, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        let mut got = vec![0u8; n];
        let mut filled = 0;
        while filled < n {
            assert!(
                Instant::now() < deadline,
                "waited {PATIENCE:?} for {n} bytes, got {:?}",
                got[..filled].escape_ascii().to_string()
            );
            filled += self.file.read(&mut got[filled..]).unwrap();
        }
        got
    }
}

/// A directory of its own for one test, removed when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// A fresh, empty directory named after the test.
    pub fn new(test: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("vmodem-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }

    /// A path inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
