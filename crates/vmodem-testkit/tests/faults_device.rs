//! Device faults through a real module on a real pty against the real
//! built-in broker, started with the library's `ModuleHandle::control()`
//! (what the control API calls): the network drops (registration URCs,
//! `+QIURC: "pdpdeact"`, `+QMTSTAT: 0,7`, the broker sees the client go),
//! comes back, and the host reconnects as firmware does; the network
//! deactivates the PDP context alone.

use std::time::Duration;

use vmodem_client::OpenResult;
use vmodem_core::{ClientState, Fault};
use vmodem_testkit::{start_builtin_broker, wait_for_connections, within, Observer, TestModule};

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_loss_ends_the_link_and_the_host_gets_back_after_it() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let port = broker.local_addr().port();
        let mut watcher = Observer::connect(broker.local_addr(), "watcher").await;
        watcher.subscribe("dev/#", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem.command_ok("AT+CEREG=1").await.expect("AT+CEREG=1");
        module.open_and_connect(port, "dev-loss").await;
        wait_for_connections(&broker, 2).await;

        let mut urcs = module.urcs();
        module
            .add_fault(
                Fault::NetworkLoss { stat: 0 },
                Some(Duration::from_millis(800)),
            )
            .await;
        urcs.expect_sequence(&["+CEREG: 0", "+QIURC: \"pdpdeact\",1", "+QMTSTAT: 0,7"])
            .await;
        // The broker sees the module's client go.
        wait_for_connections(&broker, 1).await;
        // While the loss lasts, the host's reconnect attempt fails as on hardware.
        assert_eq!(
            modem.qmt_open(0, "127.0.0.1", port).await.expect("open"),
            OpenResult::PdpActivationFailed
        );
        // It ends: searching, registered again.
        urcs.wait_for_line("+CEREG: 1").await;
        // Firmware brings its context up again, then MQTT.
        modem.qiact(1).await.expect("AT+QIACT=1");
        module.open_and_connect(port, "dev-loss").await;
        modem
            .qmt_pubex(0, 1, 1, false, "dev/up", b"back")
            .await
            .expect("publish after the loss");
        let up = watcher.expect_message().await;
        assert_eq!(
            (up.topic.as_str(), up.payload.as_slice()),
            ("dev/up", &b"back"[..])
        );
        let state = module
            .control()
            .with_modem(|m, _| (m.status().mqtt[0].state, m.faults().len()))
            .await
            .expect("the module runs");
        assert_eq!(state, (ClientState::Connected, 0));
        module.assert_serial_output_contains(b"\r\n+QIURC: \"pdpdeact\",1\r\n");
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pdp_deact_alone_ends_the_link_and_registration_stays() {
    within(LIMIT, async {
        let broker = start_builtin_broker().await;
        let port = broker.local_addr().port();
        let module = TestModule::start().await;
        let modem = module.client();
        module.open_and_connect(port, "dev-pdp").await;
        wait_for_connections(&broker, 1).await;
        let mut urcs = module.urcs();
        module.add_fault(Fault::PdpDeact { cid: 1 }, None).await;
        urcs.expect_sequence(&["+QIURC: \"pdpdeact\",1", "+QMTSTAT: 0,7"])
            .await;
        wait_for_connections(&broker, 0).await;
        let resp = modem.command("AT+CEREG?").await.expect("AT+CEREG?");
        assert_eq!(resp.lines, vec![b"+CEREG: 0,1".to_vec()], "{resp:?}");
        modem.qiact(1).await.expect("AT+QIACT=1");
        module.open_and_connect(port, "dev-pdp").await;
        wait_for_connections(&broker, 1).await;
        module.shutdown().await;
    })
    .await;
}
