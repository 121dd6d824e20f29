//! Issue 9, item 6, against a real mosquitto that stops answering: every
//! accepted publish ends with exactly one result URC, as a raw host that
//! counts its outstanding messages sees them.

use std::time::Duration;

use vmodem_testkit::{within, HostStyle, Mosquitto, Prompt, PtyStream, RawHost, TestModule};

const LIMIT: Duration = Duration::from_secs(90);

async fn connected(broker: &Mosquitto, setup: &[&str]) -> (TestModule, RawHost<PtyStream>) {
    let module = TestModule::builder().without_client().start().await;
    let mut host = RawHost::open_pty(&module, HostStyle::CrOnly);
    host.wait_for_boot().await;
    host.command_ok("ATE0").await;
    for line in setup {
        host.command_ok(line).await;
    }
    host.command_ok(&format!("AT+QMTOPEN=0,\"127.0.0.1\",{}", broker.port()))
        .await;
    assert_eq!(host.wait_urc("+QMTOPEN: 0,").await, "+QMTOPEN: 0,0");
    host.command_ok("AT+QMTCONN=0,\"final-results\"").await;
    assert_eq!(host.wait_urc("+QMTCONN: 0,").await, "+QMTCONN: 0,0,0");
    (module, host)
}

/// The next `n` result or status URCs (`+QMTPUBEX`, `+QMTSTAT`).
async fn next_urcs(host: &mut RawHost<PtyStream>, n: usize) -> Vec<String> {
    let mut urcs = Vec::new();
    while urcs.len() < n {
        urcs.push(host.wait_urc("+QMT").await);
    }
    urcs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_broker_ends_all_three_publishes_before_the_qmtstat() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let (module, mut host) = connected(&broker, &["AT+QMTCFG=\"timeout\",0,2,1,0"]).await;
        broker.stop();
        for id in [21, 22, 23] {
            let line = format!("AT+QMTPUBEX=0,{id},1,0,\"final/a\",2");
            assert!(host.send_data(&line, Prompt::Gt, b"hi").await.is_ok());
        }
        // 2 s, one retry, 2 s more: then all three end, then the link.
        let urcs = next_urcs(&mut host, 4).await;
        assert_eq!(
            urcs,
            [
                "+QMTPUBEX: 0,21,2",
                "+QMTPUBEX: 0,22,2",
                "+QMTPUBEX: 0,23,2",
                "+QMTSTAT: 0,6"
            ],
            "{}",
            host.transcript()
        );
        broker.cont();
        let later = host.read_for(Duration::from_millis(500)).await;
        assert!(later.is_empty(), "{}", later.escape_ascii());
        drop(host);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_dies_ends_every_publish_in_flight() {
    within(LIMIT, async {
        let mut broker = Mosquitto::start().await;
        let (module, mut host) = connected(&broker, &[]).await;
        broker.stop();
        for id in [1, 2] {
            let line = format!("AT+QMTPUBEX=0,{id},{id},0,\"final/b\",2");
            assert!(host.send_data(&line, Prompt::Gt, b"hi").await.is_ok());
        }
        broker.kill();
        let urcs = next_urcs(&mut host, 3).await;
        assert_eq!(
            urcs,
            ["+QMTPUBEX: 0,1,2", "+QMTPUBEX: 0,2,2", "+QMTSTAT: 0,1"],
            "{}",
            host.transcript()
        );
        drop(host);
        module.shutdown().await;
    })
    .await;
}
