//! A `vmodem run` child on a TCP serial line with the built-in broker, and a
//! host on that line, for tests that run the binary as a CI job would
//! (scenarios, trace redaction). Every wait is bounded; the child is stopped
//! by its pid (SIGTERM, then kill) and never outlives its test.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long anything expected may take to happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A `vmodem` child process.
pub struct Vmodem {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Vmodem {
    /// Starts `vmodem ARGS…` with stdin closed.
    pub fn start(args: &[&str]) -> Vmodem {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vmodem"))
            .args(args)
            .stdin(Stdio::null())
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

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// The value of the start-up line `key: value`, once printed.
    pub fn field(&self, key: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let out = self.stdout();
            let found = out.lines().find_map(|line| {
                let (k, v) = line.split_once(':')?;
                (k == key).then(|| v.trim().to_owned())
            });
            if let Some(v) = found.filter(|_| out.contains("\nstop:")) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "no {key}: line; stdout {out:?}, stderr {:?}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The serial line's address, from the start-up message.
    pub fn serial_addr(&self) -> String {
        let serial = self.field("serial");
        serial
            .strip_prefix("tcp ")
            .and_then(|s| s.split_whitespace().next())
            .unwrap_or_else(|| panic!("serial: {serial}"))
            .to_owned()
    }

    /// The built-in broker's port.
    pub fn broker_port(&self) -> u16 {
        let broker = self.field("broker");
        let addr = broker.split_whitespace().next().unwrap();
        addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Waits until the child exits by itself.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "vmodem did not exit; stderr {:?}",
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

/// Chunks the host received, with when each came.
type Received = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A host on the TCP serial line: everything the module sends is collected
/// by a thread, with the time each chunk came.
pub struct Host {
    stream: TcpStream,
    got: Received,
}

impl Host {
    pub fn connect(addr: &str) -> Host {
        let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        let mut reader = stream.try_clone().unwrap();
        let got: Received = Arc::default();
        let sink = got.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push((Instant::now(), buf[..n].to_vec()));
            }
        });
        Host { stream, got }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Everything received so far.
    pub fn bytes(&self) -> Vec<u8> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, b)| b.clone())
            .collect()
    }

    /// Waits until the received bytes contain `text` `n` times; when the
    /// last of those arrived.
    pub fn wait_for_n(&self, text: &str, n: usize, patience: Duration) -> Instant {
        let deadline = Instant::now() + patience;
        loop {
            {
                let got = self.got.lock().unwrap();
                let mut all = Vec::new();
                for (at, chunk) in got.iter() {
                    all.extend_from_slice(chunk);
                    if count(&all, text.as_bytes()) >= n {
                        return *at;
                    }
                }
            }
            assert!(
                Instant::now() < deadline,
                "waited {patience:?} for {n} × {text:?}; got {:?}",
                self.bytes().escape_ascii().to_string()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn wait_for(&self, text: &str) -> Instant {
        self.wait_for_n(text, 1, PATIENCE)
    }

    /// Opens client 0 on the built-in broker and connects it as `id`
    /// (with `user`/`password` if given); waits for `+QMTCONN: 0,0,0`.
    pub fn mqtt_connect(&mut self, broker_port: u16, conn: &str) {
        self.wait_for("+QIND: PB DONE");
        self.send(format!("AT+QMTOPEN=0,\"127.0.0.1\",{broker_port}\r").as_bytes());
        self.wait_for("+QMTOPEN: 0,0\r\n");
        self.send(format!("AT+QMTCONN=0,{conn}\r").as_bytes());
        self.wait_for("+QMTCONN: 0,0,0\r\n");
    }
}

pub fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// The JSON records of a trace file.
pub fn records(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Waits until the trace has a record for which `pred` holds; all records.
pub fn wait_for_record(
    path: &Path,
    patience: Duration,
    what: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + patience;
    loop {
        let recs = records(path);
        if recs.iter().any(&pred) {
            return recs;
        }
        assert!(
            Instant::now() < deadline,
            "waited {patience:?} for {what} in the trace: {recs:#?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
