//! Issue 12's stalled broker against real parts: the broker stops reading
//! while the host publishes (up to) 20,000 QoS 0 messages of 1,400 bytes
//! through a real pty, stopping once the module has found the link dead. The module's memory must stay bounded (its send buffer per link
//! is 16 KiB; the kernel's socket buffers are not the process's memory), the
//! host must be told when a publish cannot be sent (`+QMTPUBEX: 0,0,2`), and
//! keep-alive, counting bytes written, must find the link dead.
//!
//! Alone in its test binary: it measures the process's resident memory.

use std::time::{Duration, Instant};

use vmodem_testkit::{within, RawLine, ScriptedBroker, TestModule};

const LIMIT: Duration = Duration::from_secs(120);
const COUNT: usize = 20_000;
const LEN: usize = 1_400;

/// The process's resident set size, from /proc/self/status (VmRSS, KiB).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Keeps the link's URCs of `text` (not the 20,000 results: the test
/// measures memory).
fn keep_link_urcs(kept: &mut String, text: &str) {
    for line in text.split("\r\n") {
        if line.starts_with("+QMTPING") || line.starts_with("+QMTSTAT") {
            kept.push_str(line);
            kept.push('\n');
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_broker_keeps_memory_bounded_and_publishes_report_failure() {
    within(LIMIT, async {
        let broker = ScriptedBroker::start().await;
        let module = TestModule::builder().without_client().start().await;
        let mut host = RawLine::new(module.open_raw());
        host.read_until(b"+QIND: PB DONE\r\n").await;
        host.command("ATE0\r", "OK\r\n").await;
        // Keep-alive 5 s, packet timeout 1 s: a dead link is found in ~11 s
        // after its last write.
        host.command("AT+QMTCFG=\"keepalive\",0,5\r", "OK\r\n")
            .await;
        host.command("AT+QMTCFG=\"timeout\",0,1,3,0\r", "OK\r\n")
            .await;
        let open = format!("AT+QMTOPEN=0,\"127.0.0.1\",{}\r", broker.port());
        host.command(&open, "+QMTOPEN: 0,0\r\n").await;
        host.command("AT+QMTCONN=0,\"stall\"\r", "+QMTCONN: 0,0,0\r\n")
            .await;
        broker.stop_reading();

        // Firmware that streams: each publish's command and payload written
        // without waiting for the prompt (fast timing takes them in order),
        // in batches, then the batch's results read.
        let mut one = format!("AT+QMTPUBEX=0,0,0,0,\"s/t\",{LEN}\r").into_bytes();
        one.extend(std::iter::repeat_n(b'x', LEN));
        let batch_of = 50;
        let batch = one.repeat(batch_of);
        let (mut sent, mut failed, mut refused) = (0usize, 0usize, 0usize);
        let mut rss_start = None;
        let started = Instant::now();
        let mut dead = String::new();
        for b in 0..COUNT / batch_of {
            if refused > 0 {
                // Found dead (keep-alive, below): every further publish is ERROR.
                break;
            }
            if b == 1_000 / batch_of {
                // After warm-up: buffers, allocator arenas and the pty are in use.
                rss_start = Some(rss_kib());
            }
            host.send(&batch).await;
            for _ in 0..batch_of {
                let result = host
                    .read_until_one_of(&[
                        "+QMTPUBEX: 0,0,0\r\n",
                        "+QMTPUBEX: 0,0,2\r\n",
                        "ERROR\r\n",
                    ])
                    .await;
                if result.ends_with("0,0,0\r\n") {
                    sent += 1;
                } else if result.ends_with("0,0,2\r\n") {
                    failed += 1;
                } else {
                    refused += 1;
                }
                keep_link_urcs(&mut dead, &result);
            }
        }
        let elapsed = started.elapsed();
        let rss_end = rss_kib();
        assert!(
            sent + failed >= 5_000,
            "only {sent} + {failed} publishes before the link died"
        );
        let growth = rss_end.saturating_sub(rss_start.expect("warm-up done"));
        println!(
            "{sent} sent, {failed} failed (+QMTPUBEX: 0,0,2), {refused} refused, in {elapsed:?}; \
             RSS {rss_end} KiB, grew {growth} KiB after warm-up"
        );
        assert!(
            failed > 0,
            "no publish failed although the broker read nothing"
        );
        // Before the send bound every publish was queued: +23 MiB here.
        assert!(growth < 8 * 1024, "RSS grew {growth} KiB");

        // Keep-alive counts bytes written, so the dead link is found.
        if !dead.contains("+QMTSTAT: 0,2") {
            let rest = host.read_until(b"+QMTSTAT: 0,2\r\n").await;
            dead.push_str(&String::from_utf8_lossy(&rest));
        }
        assert!(
            dead.contains("+QMTPING: 0,1"),
            "no +QMTPING: 0,1 before +QMTSTAT"
        );
        assert!(
            broker.stats().pingreqs == 0,
            "the broker read nothing, so no PINGREQ either"
        );
        module.shutdown().await;
    })
    .await;
}
