//! The module's own faults through a real module on a real pty, against the
//! real built-in broker, started with the library's
//! `ModuleHandle::control()` (what the control API calls): a reset drops the
//! broker connection and the host starts again after `RDY`; a power loss is
//! silence then a cold boot; `error` and `slow` as the host's driver sees them.

use std::time::{Duration, Instant};

use vmodem_client::{CmeError, Error, FinalResult, OpenResult, Will};
use vmodem_core::{ClientState, Fault, PowerState};
use vmodem_testkit::{start_builtin_broker, wait_for_connections, within, Observer, TestModule};

const LIMIT: Duration = Duration::from_secs(20);

/// The boot chain of the EC25 after `RDY`, as the host's URC stream shows it.
const BOOT: [&str; 6] = [
    "RDY",
    "+CFUN: 1",
    "+CPIN: READY",
    "+QUSIM: 1",
    "+QIND: SMS DONE",
    "+QIND: PB DONE",
];

async fn power(module: &TestModule) -> PowerState {
    module
        .control()
        .with_modem(|m, _| m.status().power)
        .await
        .expect("the module runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_drops_the_broker_connection_and_the_host_reconnects_after_rdy() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let mut watcher = Observer::connect(broker.local_addr(), "watcher").await;
        watcher.subscribe("dev/#", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        let port = broker.local_addr().port();
        let will = Will {
            qos: 1,
            retain: false,
            topic: "dev/will".into(),
            message: "gone".into(),
        };
        modem.qmt_cfg_will(0, Some(&will)).await.expect("will");
        assert_eq!(
            modem.qmt_open(0, "127.0.0.1", port).await.expect("open"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "dev-reset", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        wait_for_connections(&broker, 2).await;

        let mut urcs = module.urcs();
        module.add_fault(Fault::Reset, None).await;
        // The first thing the host sees is RDY: no +QMTSTAT, no +QMTDISC.
        urcs.expect_sequence(&BOOT).await;
        // The broker saw the client go without a DISCONNECT: it publishes
        // the will, and counts one connection (the watcher's).
        let gone = watcher.expect_message().await;
        assert_eq!(
            (gone.topic.as_str(), gone.payload.as_slice()),
            ("dev/will", &b"gone"[..])
        );
        wait_for_connections(&broker, 1).await;
        assert!(
            !module.serial_output().windows(8).any(|w| w == b"+QMTSTAT"),
            "a reset reports nothing about its links"
        );
        // The MQTT configuration went with the reset; the host starts again.
        assert_eq!(
            modem.qmt_open(0, "127.0.0.1", port).await.expect("reopen"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "dev-reset", None, None)
            .await
            .expect("AT+QMTCONN again")
            .is_accepted());
        wait_for_connections(&broker, 2).await;
        modem
            .qmt_pubex(0, 1, 1, false, "dev/up", b"back")
            .await
            .expect("publish after the reset");
        let up = watcher.expect_message().await;
        assert_eq!(
            (up.topic.as_str(), up.payload.as_slice()),
            ("dev/up", &b"back"[..])
        );
        let state = module
            .control()
            .with_modem(|m, _| m.status().mqtt[0].state)
            .await
            .expect("the module runs");
        assert_eq!(state, ClientState::Connected);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn power_loss_is_silence_then_a_cold_boot_and_the_link_is_gone() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let module = TestModule::start().await;
        let modem = module.client();
        let port = broker.local_addr().port();
        assert_eq!(
            modem.qmt_open(0, "127.0.0.1", port).await.expect("open"),
            OpenResult::Opened
        );
        assert!(modem
            .qmt_conn(0, "dev-power", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        wait_for_connections(&broker, 1).await;
        let mut urcs = module.urcs();
        let lost = Instant::now();
        module
            .add_fault(Fault::PowerLoss, Some(Duration::from_millis(1_500)))
            .await;
        assert_eq!(power(&module).await, PowerState::Off);
        wait_for_connections(&broker, 0).await;
        // Nothing at all while the power is off.
        urcs.expect_none_within(Duration::from_millis(1_000)).await;
        urcs.expect_sequence(&BOOT).await;
        assert!(lost.elapsed() >= Duration::from_millis(1_500));
        assert_eq!(power(&module).await, PowerState::On);
        modem.command_ok("AT").await.expect("AT after the boot");
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_and_slow_as_the_host_sees_them() {
    within(LIMIT, async {
        let module = TestModule::start().await;
        let modem = module.client();
        let fault = Fault::parse("error", &[("command", "AT+CSQ"), ("cme", "3")]).expect("fault");
        module.add_fault(fault, Some(Duration::from_secs(60))).await;
        let resp = modem.command("AT+CSQ").await.expect("an answer");
        assert_eq!(
            resp.result,
            FinalResult::CmeError(CmeError::Code(3)),
            "{resp:?}"
        );
        module.assert_serial_output_contains(b"AT+CSQ\r\r\n+CME ERROR: 3\r\n");
        module
            .control()
            .with_modem(|m, now| m.clear_faults(now))
            .await
            .expect("the module runs");

        module.add_fault(Fault::Slow { delay_ms: 400 }, None).await;
        let asked = Instant::now();
        modem.command_ok("AT+CSQ").await.expect("a slow answer");
        assert!(
            asked.elapsed() >= Duration::from_millis(400),
            "{:?}",
            asked.elapsed()
        );
        // A hung module: the host's command times out.
        module
            .add_fault(Fault::NoAnswer, Some(Duration::from_secs(4)))
            .await;
        match modem.command("AT").await {
            Err(Error::Timeout { .. }) => {}
            other => panic!("a hung module answered: {other:?}"),
        }
        module.shutdown().await;
    })
    .await;
}
