//! The device faults that change the module's surroundings rather than its
//! links — `clock`, `dns_fail`, `signal`, `sim_removed` — through a real
//! module on a real pty against the real built-in broker (plain and TLS with
//! its rcgen certificates), started with the library's
//! `ModuleHandle::control()` (what the control API calls). The host's bytes
//! are asserted where the module's are known (docs/faults.md).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use vmodem_client::{OpenResult, SecLevel};
use vmodem_core::Fault;
use vmodem_testkit::{start_builtin_broker, within, ScratchDir, TestModule};
use vmodem_tokio::{BrokerCerts, EmbeddedBroker};

const LIMIT: Duration = Duration::from_secs(20);
/// The name the broker's certificate carries; the module resolves it to loopback.
const BROKER: &str = "broker.test";

fn loopback() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("address")
}

/// The module's clock set back 26 years (1999, before the built-in broker's
/// certificates, valid 2000–2100) fails the TLS handshake with
/// `+QMTOPEN: 0,-1` when the context checks validity times
/// (`ignorelocaltime` 0); once the fault ends the same open succeeds, and
/// MQTT flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_fault_is_the_clock_tls_checks_certificates_against() {
    within(LIMIT, async {
        let dir = ScratchDir::new("faults-clock-tls");
        let certs = BrokerCerts::load_or_create_for(&dir.join("certs"), &[BROKER.to_string()])
            .expect("certificates");
        let broker = EmbeddedBroker::start_with_tls(loopback(), Some((loopback(), &certs)))
            .await
            .expect("broker");
        let port = broker.tls_addr().expect("a TLS listener").port();
        let module = TestModule::builder()
            .host(BROKER, IpAddr::V4(Ipv4Addr::LOCALHOST))
            .start()
            .await;
        let modem = module.client();
        let ca = std::fs::read(certs.ca_path()).expect("the CA");
        modem
            .qfupl("RAM:ca.pem", &ca, 100)
            .await
            .expect("upload the CA");
        modem.qsslcfg_cacert(0, "RAM:ca.pem").await.expect("cacert");
        modem
            .qsslcfg_seclevel(0, SecLevel::ServerAuth)
            .await
            .expect("seclevel");
        // The EC25 ignores certificate validity times unless told not to
        // (`AT+QSSLCFG="ignorelocaltime"` is 1 by default, SSL AT manual).
        modem
            .qsslcfg_ignorelocaltime(0, false)
            .await
            .expect("ignorelocaltime");
        modem
            .qmt_cfg_ssl(0, Some(0))
            .await
            .expect("AT+QMTCFG=\"ssl\"");

        let id = module
            .add_fault(
                Fault::Clock {
                    offset_s: -26 * 365 * 86_400,
                },
                None,
            )
            .await;
        let cclk = modem.command_ok("AT+CCLK?").await.expect("AT+CCLK?");
        assert!(
            cclk.lines[0].starts_with(b"+CCLK: \"99/"),
            "{:?}",
            String::from_utf8_lossy(&cclk.lines[0])
        );
        assert_eq!(
            modem.qmt_open(0, BROKER, port).await.expect("AT+QMTOPEN"),
            OpenResult::FailedToOpen
        );
        module.assert_serial_output_contains(b"\r\n+QMTOPEN: 0,-1\r\n");
        module.end_fault(id).await;
        assert_eq!(
            modem.qmt_open(0, BROKER, port).await.expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "clock-dev", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        module.shutdown().await;
    })
    .await;
}

/// `dns_fail`: a host name fails with `+QMTOPEN: 0,4` ("failed to parse
/// domain name", app note), an IP literal still reaches the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_fail_fails_names_and_ip_literals_still_connect() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let port = broker.local_addr().port();
        let module = TestModule::builder()
            .host(BROKER, IpAddr::V4(Ipv4Addr::LOCALHOST))
            .start()
            .await;
        let modem = module.client();
        let id = module.add_fault(Fault::DnsFail, None).await;
        assert_eq!(
            modem.qmt_open(0, BROKER, port).await.expect("AT+QMTOPEN"),
            OpenResult::DnsFailed
        );
        module.assert_serial_output_contains(b"\r\n+QMTOPEN: 0,4\r\n");
        assert_eq!(
            modem
                .qmt_open(1, "127.0.0.1", port)
                .await
                .expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        module.end_fault(id).await;
        assert_eq!(
            modem.qmt_open(0, BROKER, port).await.expect("AT+QMTOPEN"),
            OpenResult::Opened
        );
        module.shutdown().await;
    })
    .await;
}

/// `signal`: `AT+CSQ` answers it and, with `AT+QINDCFG="csq",1`, the module
/// reports the change as `+QIND: "csq",<rssi>,<ber>`; its end restores both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_answers_csq_and_reports_qind_csq() {
    within(LIMIT, async {
        let module = TestModule::start().await;
        let modem = module.client();
        modem
            .command_ok("AT+QINDCFG=\"csq\",1")
            .await
            .expect("AT+QINDCFG");
        let mut urcs = module.urcs();
        let id = module
            .add_fault(Fault::Signal { rssi: 7, ber: 3 }, None)
            .await;
        urcs.wait_for_line("+QIND: \"csq\",7,3").await;
        let csq = modem.command_ok("AT+CSQ").await.expect("AT+CSQ");
        assert_eq!(csq.lines, vec![b"+CSQ: 7,3".to_vec()]);
        module.end_fault(id).await;
        urcs.wait_for_line("+QIND: \"csq\",24,99").await;
        let csq = modem.command_ok("AT+CSQ").await.expect("AT+CSQ");
        assert_eq!(csq.lines, vec![b"+CSQ: 24,99".to_vec()]);
        module.assert_serial_output_contains(b"\r\n+QIND: \"csq\",7,3\r\n");
        module.shutdown().await;
    })
    .await;
}

/// `sim_removed`: `+CPIN: NOT READY`, SIM commands answer `+CME ERROR: 10`;
/// the SIM back, `+CPIN: READY` and the module registers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_removed_and_put_back() {
    within(LIMIT, async {
        let module = TestModule::start().await;
        let modem = module.client();
        modem.command_ok("AT+CEREG=1").await.expect("AT+CEREG=1");
        let mut urcs = module.urcs();
        let id = module.add_fault(Fault::SimRemoved, None).await;
        urcs.expect_sequence(&["+CPIN: NOT READY", "+CEREG: 0"])
            .await;
        let cpin = modem.command("AT+CPIN?").await.expect("AT+CPIN?");
        assert!(cpin.lines.is_empty(), "{cpin:?}");
        module.assert_serial_output_contains(b"\r\n+CME ERROR: 10\r\n");
        module.end_fault(id).await;
        urcs.wait_for_line("+CPIN: READY").await;
        urcs.wait_for_line("+CEREG: 1").await;
        let cpin = modem.command_ok("AT+CPIN?").await.expect("AT+CPIN?");
        assert_eq!(cpin.lines, vec![b"+CPIN: READY".to_vec()]);
        module.shutdown().await;
    })
    .await;
}
