//! The radio network on real parts (issue 9, item 2): a host that reads up to
//! `OK` and then waits for the URC completes an MQTT session against
//! mosquitto under `--timing realistic`, and fails without a radio network;
//! the reset-and-wait-for-`+CREG: 1` driver registers on a real pty.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use vmodem_core::{Config, Network, Timing};
use vmodem_testkit::{within, HostStyle, Mosquitto, Prompt, RawHost, TcpModule, TestModule};

const LIMIT: Duration = Duration::from_secs(90);

/// The session, each result URC awaited after the `OK`.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(host: &mut RawHost<S>, broker: u16) {
    let open = format!("AT+QMTOPEN=0,\"127.0.0.1\",{broker}");
    for (line, urc) in [
        ("ATE0", None),
        (open.as_str(), Some("+QMTOPEN: 0,0")),
        ("AT+QMTCONN=0,\"radio-dev\"", Some("+QMTCONN: 0,0,0")),
        ("AT+QMTSUB=0,1,\"radio/#\",1", Some("+QMTSUB: 0,1,0,1")),
    ] {
        host.command_ok(line).await;
        if let Some(urc) = urc {
            assert_eq!(host.wait_urc(urc).await, urc, "{}", host.transcript());
        }
    }
    for (line, payload, urc) in [
        (
            "AT+QMTPUBEX=0,2,1,0,\"radio/a\",5",
            &b"hello"[..],
            "+QMTPUBEX: 0,2,0",
        ),
        (
            "AT+QMTPUBEX=0,0,0,0,\"radio/b\",2",
            b"hi",
            "+QMTPUBEX: 0,0,0",
        ),
    ] {
        let reply = host.send_data(line, Prompt::Gt, payload).await;
        assert!(reply.is_ok(), "{}", host.transcript());
        assert_eq!(host.wait_urc(urc).await, urc, "{}", host.transcript());
    }
    for (line, urc) in [
        ("AT+QMTUNS=0,3,\"radio/#\"", "+QMTUNS: 0,3,0"),
        ("AT+QMTDISC=0", "+QMTDISC: 0,0"),
        (open.as_str(), "+QMTOPEN: 0,0"),
        ("AT+QMTCLOSE=0", "+QMTCLOSE: 0,0"),
    ] {
        host.command_ok(line).await;
        assert_eq!(host.wait_urc(urc).await, urc, "{}", host.transcript());
    }
}

/// Polls `AT+CEREG?` until registered (realistic timing registers seconds after the SIM).
async fn wait_registered<S: AsyncRead + AsyncWrite + Unpin>(host: &mut RawHost<S>) {
    for _ in 0..100 {
        let reply = host.command_ok("AT+CEREG?").await;
        if reply.lines.iter().any(|l| l.ends_with(",1")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    host.fail("never registered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_until_ok_host_gets_every_result_urc_under_realistic_timing() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let config = Config {
            timing: Timing::Realistic,
            seed: 1,
            ..Config::default()
        };
        assert_eq!(config.effective_network(), Network::Lte);
        let module = TcpModule::with_config(config, &[]).await;
        let mut host = module.host(HostStyle::ReadUntilOk).await;
        host.wait_for_boot().await;
        wait_registered(&mut host).await;
        session(&mut host, broker.port()).await;
        drop(host);
        module.shutdown().await;
    })
    .await;
}

/// The same host without a radio network: a URC comes in the read that holds
/// the OK, the host drops it and waits in vain — the failure, so the
/// test above can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_host_fails_without_a_radio_network() {
    within(LIMIT, async {
        let broker = Mosquitto::start().await;
        let port = broker.port();
        let module = TcpModule::with_config(
            Config {
                network: Some(Network::None),
                ..Config::default()
            },
            &[],
        )
        .await;
        let mut host = module
            .host(HostStyle::ReadUntilOk)
            .await
            .with_patience(Duration::from_secs(3));
        host.wait_for_boot().await;
        let outcome = tokio::spawn(async move { session(&mut host, port).await }).await;
        let panic = outcome.expect_err("the read-until-OK host completed without a radio network");
        assert!(panic.is_panic());
        module.shutdown().await;
    })
    .await;
}

/// The driver, on a real pty under realistic timing: AT+CFUN=1,1, read
/// until OK, sleep 4 s, AT+CREG=1, wait up to 90 s for +CREG: 1. Seed 3 draws
/// 2.2 s for the registration after the reset (LTE: 2–8 s), so it takes ~9 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driver_that_resets_sleeps_and_waits_for_creg_registers_on_a_pty() {
    within(LIMIT, async {
        let module = TestModule::builder()
            .timing(Timing::Realistic)
            .seed(3)
            .without_client()
            .start()
            .await;
        let mut host = RawHost::open_pty(&module, HostStyle::CrOnly).with_patience(LIMIT);
        host.wait_urc("RDY").await;
        host.command_ok("AT+CFUN=1,1").await;
        let reset = Instant::now();
        tokio::time::sleep(Duration::from_secs(4)).await;
        host.command_ok("AT+CREG=1").await;
        assert_eq!(
            host.wait_urc("+CREG: 1").await,
            "+CREG: 1",
            "{}",
            host.transcript()
        );
        let took = reset.elapsed();
        // From the OK: restart 0.2 s, RDY 2.5 s, SIM 0.5 s later, then the drawn 2.2 s.
        assert!(
            (Duration::from_millis(5_000)..Duration::from_millis(8_000)).contains(&took),
            "registered {took:?} after the reset's OK, expected about 5.4 s"
        );
        drop(host);
        module.shutdown().await;
    })
    .await;
}
