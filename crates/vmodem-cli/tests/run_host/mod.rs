//! A `vmodem run` child on a TCP serial line with the built-in broker, and a
//! host on that line, for tests that run the binary as a CI job would
//! (scenarios, trace redaction). Every wait is bounded; the child is stopped
//! by its pid (SIGTERM, then kill) and never outlives its test.
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

#[path = "../child/mod.rs"]
mod child;
pub use child::Vmodem;

/// How long anything expected may take to happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

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
