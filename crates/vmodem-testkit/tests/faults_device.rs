//! Device faults through a real module on a real pty against the real
//! built-in broker, started with the library's `ModuleHandle::control()`
//! (what the control API calls): the network drops (registration URCs,
//! `+QIURC: "pdpdeact"`, `+QMTSTAT: 0,7`, the broker sees the client go),
//! comes back, and the host reconnects as firmware does; the network
//! deactivates the PDP context alone.

use std::time::{Duration, Instant};

use vmodem_client::OpenResult;
use vmodem_core::{ClientState, Fault};
use vmodem_testkit::{within, Observer, TestModule};
use vmodem_tokio::EmbeddedBroker;

const LIMIT: Duration = Duration::from_secs(20);

async fn broker() -> EmbeddedBroker {
    EmbeddedBroker::start("127.0.0.1:0".parse().expect("address"))
        .await
        .expect("the embedded broker starts")
}

/// Waits (bounded) until the broker counts `n` connected clients.
async fn connections(broker: &EmbeddedBroker, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while broker.stats().connections != n {
        assert!(
            Instant::now() < deadline,
            "the broker still counts {} connections, not {n}",
            broker.stats().connections
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn add(module: &TestModule, fault: Fault, duration: Option<Duration>) {
    module
        .control()
        .with_modem(move |m, now| m.add_fault(now, fault, duration))
        .await
        .expect("the module runs");
}

async fn open_and_connect(module: &TestModule, port: u16, id: &str) {
    let modem = module.client();
    assert_eq!(
        modem.qmt_open(0, "127.0.0.1", port).await.expect("open"),
        OpenResult::Opened
    );
    assert!(modem
        .qmt_conn(0, id, None, None)
        .await
        .expect("AT+QMTCONN")
        .is_accepted());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_loss_ends_the_link_and_the_host_gets_back_after_it() {
    within(LIMIT, async {
        let broker = broker().await;
        let port = broker.local_addr().port();
        let mut watcher = Observer::connect(broker.local_addr(), "watcher").await;
        watcher.subscribe("dev/#", 1).await;
        let module = TestModule::start().await;
        let modem = module.client();
        modem.command_ok("AT+CEREG=1").await.expect("AT+CEREG=1");
        open_and_connect(&module, port, "dev-loss").await;
        connections(&broker, 2).await;

        let mut urcs = module.urcs();
        add(
            &module,
            Fault::NetworkLoss { stat: 0 },
            Some(Duration::from_millis(800)),
        )
        .await;
        urcs.expect_sequence(&["+CEREG: 0", "+QIURC: \"pdpdeact\",1", "+QMTSTAT: 0,7"])
            .await;
        // The broker sees the module's client go.
        connections(&broker, 1).await;
        // While the loss lasts, the host's reconnect attempt fails as on hardware.
        assert_eq!(
            modem.qmt_open(0, "127.0.0.1", port).await.expect("open"),
            OpenResult::PdpActivationFailed
        );
        // It ends: searching, registered again.
        urcs.wait_for_line("+CEREG: 1").await;
        // Firmware brings its context up again, then MQTT.
        modem.qiact(1).await.expect("AT+QIACT=1");
        open_and_connect(&module, port, "dev-loss").await;
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
        let broker = broker().await;
        let port = broker.local_addr().port();
        let module = TestModule::start().await;
        let modem = module.client();
        open_and_connect(&module, port, "dev-pdp").await;
        connections(&broker, 1).await;
        let mut urcs = module.urcs();
        add(&module, Fault::PdpDeact { cid: 1 }, None).await;
        urcs.expect_sequence(&["+QIURC: \"pdpdeact\",1", "+QMTSTAT: 0,7"])
            .await;
        connections(&broker, 0).await;
        let resp = modem.command("AT+CEREG?").await.expect("AT+CEREG?");
        assert_eq!(resp.lines, vec![b"+CEREG: 0,1".to_vec()], "{resp:?}");
        modem.qiact(1).await.expect("AT+QIACT=1");
        open_and_connect(&module, port, "dev-pdp").await;
        connections(&broker, 1).await;
        module.shutdown().await;
    })
    .await;
}
