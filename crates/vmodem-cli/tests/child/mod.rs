//! The built `vmodem` binary as a child process of a test, shared by the
//! CLI's test files (`mod child;`): its stdout and stderr collected by
//! threads, bounded waits for the start-up message and the exit, SIGTERM by
//! its own pid, and a kill when a test fails before it exits, so no child
//! outlives its test.
#![allow(dead_code, unreachable_pub)]

use std::io::Read;
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long the start-up message or an exit may take on a loaded CI machine.
pub const CHILD_PATIENCE: Duration = Duration::from_secs(20);

/// `vmodem` with no arguments yet, its control token not inherited from the
/// developer's shell (`VMODEM_CONTROL_TOKEN` would change what the control tests see).
pub fn vmodem_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vmodem"));
    cmd.env_remove("VMODEM_CONTROL_TOKEN");
    cmd
}

/// A `vmodem` child process.
pub struct Vmodem {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Vmodem {
    /// Starts `vmodem ARGS…` with stdin closed.
    pub fn start(args: &[&str]) -> Vmodem {
        Vmodem::start_with_stdin(args, Stdio::null())
    }

    /// Starts `vmodem ARGS…` with `stdin` (e.g. `Stdio::piped()` for `--stdio`).
    pub fn start_with_stdin(args: &[&str], stdin: Stdio) -> Vmodem {
        Vmodem::spawn(vmodem_command().args(args).stdin(stdin))
    }

    /// Spawns `cmd` (from [`vmodem_command`]) with stdout and stderr collected.
    pub fn spawn(cmd: &mut Command) -> Vmodem {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("vmodem starts");
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Vmodem {
            child,
            stdout,
            stderr,
        }
    }

    /// `vmodem run --tcp 127.0.0.1:0 --broker-listen 127.0.0.1:0 EXTRA…`.
    pub fn run(extra: &[&str]) -> Vmodem {
        let mut args = vec![
            "run",
            "--tcp",
            "127.0.0.1:0",
            "--broker-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        Vmodem::start(&args)
    }

    /// The child's stdin, when it was started with `Stdio::piped()`.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin was piped")
    }

    /// Everything on stdout so far.
    pub fn stdout_bytes(&self) -> Vec<u8> {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything on stdout so far, as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// Everything on stderr so far.
    pub fn stderr_bytes(&self) -> Vec<u8> {
        self.stderr.lock().unwrap().clone()
    }

    /// Everything on stderr so far, as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The start-up message, once its last line (`stop: …`) is out.
    pub fn banner(&self) -> String {
        let deadline = Instant::now() + CHILD_PATIENCE;
        loop {
            let out = self.stdout();
            if out.contains("\nstop:") {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "no start-up message; stdout {out:?}, stderr {:?}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The value of the start-up line `key: value`, once the message is out.
    pub fn field(&self, key: &str) -> String {
        banner_field(&self.banner(), key).to_owned()
    }

    /// The serial line's address (`serial: tcp ADDR …`).
    pub fn serial_addr(&self) -> String {
        let serial = self.field("serial");
        serial
            .strip_prefix("tcp ")
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("serial: {serial}"))
            .to_owned()
    }

    /// The built-in broker's address (`broker: ADDR …`).
    pub fn broker_addr(&self) -> String {
        let broker = self.field("broker");
        broker.split_whitespace().next().unwrap().to_owned()
    }

    /// The built-in broker's port.
    pub fn broker_port(&self) -> u16 {
        let addr = self.broker_addr();
        addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The exit status, if the child has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    /// Waits (at most [`CHILD_PATIENCE`]) until the child exits by itself.
    pub fn wait(&mut self) -> ExitStatus {
        self.wait_within(CHILD_PATIENCE)
    }

    /// Waits until the child exits by itself; fails the test (the child is
    /// killed on drop) if that takes longer than `limit`.
    pub fn wait_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait() {
                // Let the reader threads take the last bytes.
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "vmodem did not exit within {limit:?}; stdout {:?}, stderr {:?}",
                self.stdout(),
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM to this child, and its exit status.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = Pid::from_raw(self.child.id().try_into().unwrap());
        kill(pid, Signal::SIGTERM).unwrap();
        self.wait()
    }
}

impl Drop for Vmodem {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The value of the start-up line `key: value` in `banner`, trimmed.
pub fn banner_field<'a>(banner: &'a str, key: &str) -> &'a str {
    banner
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {key}: line in {banner:?}"))
        .trim()
}

/// Runs `cmd` (from [`vmodem_command`]) to its end with stdin closed, killed
/// and the test failed if it takes longer than `limit`; its whole output.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut vmodem = Vmodem::spawn(cmd.stdin(Stdio::null()));
    let status = vmodem.wait_within(limit);
    Output {
        status,
        stdout: vmodem.stdout_bytes(),
        stderr: vmodem.stderr_bytes(),
    }
}

/// Reads a pipe to its end on a thread of its own.
fn collect(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<Vec<u8>>> {
    let bytes = Arc::new(Mutex::new(Vec::new()));
    let sink = bytes.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = pipe.read(&mut buf) {
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    bytes
}
