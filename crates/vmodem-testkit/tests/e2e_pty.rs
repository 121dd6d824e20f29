//! End to end through a real pseudo-terminal: what firmware sees when it
//! opens the device of a freshly started module.

use std::time::Duration;

use vmodem_client::{Client, FinalResult, RegStat, SimState};
use vmodem_core::{Model, Timing};
use vmodem_testkit::{close_client, line, within, TestModule};
use vmodem_tokio::{spawn_module, ModuleOptions, TcpSerialPort};

/// The EC25's power-up chain (fast timing), exact bytes.
const BOOT: &[u8] = b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\
                      \r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n";

const LIMIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sees_the_boot_chain_and_gets_answers() {
    within(LIMIT, async {
        let mut module = TestModule::builder().without_client().start().await;
        module.attach_client(module.open_client());
        let modem = module.client();

        // Written at power-up, before the device was opened: the pty kept it.
        let mut boot = Vec::new();
        for _ in 0..6 {
            let urc = tokio::time::timeout(Duration::from_secs(20), modem.next_urc())
                .await
                .expect("the boot chain arrives")
                .expect("the URC stream is open");
            boot.push(line(&urc));
        }
        assert_eq!(
            boot,
            [
                "RDY",
                "+CFUN: 1",
                "+CPIN: READY",
                "+QUSIM: 1",
                "+QIND: SMS DONE",
                "+QIND: PB DONE"
            ]
        );

        modem.at().await.expect("AT → OK");
        let id = modem.ati().await.expect("ATI");
        assert_eq!(
            (
                id.manufacturer.as_str(),
                id.model.as_str(),
                id.revision.as_str()
            ),
            ("Quectel", "EC25", "EC25EFAR06A06M4G")
        );
        assert_eq!(modem.cpin().await.expect("AT+CPIN?"), SimState::Ready);
        let cereg = modem.cereg().await.expect("AT+CEREG?");
        assert_eq!(cereg.registration.stat, RegStat::Home, "{cereg:?}");

        for unknown in ["AT+FOOBAR", "ATBOGUS", "AT+QNOPE=1"] {
            let resp = modem.command(unknown).await.expect("an answer");
            assert_eq!(resp.result, FinalResult::Error, "{unknown}");
            assert!(resp.lines.is_empty(), "{unknown}: {:?}", resp.lines);
        }

        modem.ate(false).await.expect("ATE0 → OK");
        modem.at().await.expect("AT → OK without echo");
        let id = modem.ati().await.expect("ATI without echo");
        assert_eq!(id.model, "EC25");
        modem.ate(true).await.expect("ATE1 → OK");
        modem.at().await.expect("AT → OK with echo again");

        // The exact bytes of the whole session, as the module wrote them.
        let mut want = BOOT.to_vec();
        for chunk in [
            &b"AT\r\r\nOK\r\n"[..],
            b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
            b"AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n",
            b"AT+CEREG?\r\r\n+CEREG: 0,1\r\n\r\nOK\r\n",
            b"AT+FOOBAR\r\r\nERROR\r\n",
            b"ATBOGUS\r\r\nERROR\r\n",
            b"AT+QNOPE=1\r\r\nERROR\r\n",
            b"ATE0\r\r\nOK\r\n",
            b"\r\nOK\r\n",
            b"\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n",
            b"\r\nOK\r\n",
            b"AT\r\r\nOK\r\n",
        ] {
            want.extend_from_slice(chunk);
        }
        assert_eq!(
            module.serial_output().escape_ascii().to_string(),
            want.escape_ascii().to_string()
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_bytes_on_the_raw_device() {
    within(LIMIT, async {
        let module = TestModule::builder().without_client().start().await;
        let mut pty = module.open_raw();
        pty.expect(BOOT).await;
        pty.send(b"AT\r").await;
        pty.expect(b"AT\r\r\nOK\r\n").await;
        pty.send(b"ATI\r").await;
        pty.expect(b"ATI\r\r\nQuectel\r\nEC25\r\nRevision: EC25EFAR06A06M4G\r\n\r\nOK\r\n")
            .await;
        pty.send(b"AT+CPIN?\r").await;
        pty.expect(b"AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n")
            .await;
        pty.send(b"AT+CEREG?\r").await;
        pty.expect(b"AT+CEREG?\r\r\n+CEREG: 0,1\r\n\r\nOK\r\n")
            .await;
        pty.send(b"AT+FOOBAR\r").await;
        pty.expect(b"AT+FOOBAR\r\r\nERROR\r\n").await;
        // Echo off: the command line is no longer echoed, the answer is.
        pty.send(b"ATE0\r").await;
        pty.expect(b"ATE0\r\r\nOK\r\n").await;
        pty.send(b"AT\r").await;
        pty.expect(b"\r\nOK\r\n").await;
        // CR LF line endings give the same bytes.
        pty.send(b"AT\r\n").await;
        pty.expect(b"\r\nOK\r\n").await;
        pty.send(b"ATE1\r").await;
        pty.expect(b"\r\nOK\r\n").await;
        pty.send(b"AT\r").await;
        pty.expect(b"AT\r\r\nOK\r\n").await;
        // Nothing else was written.
        let rest = pty.read_for(Duration::from_millis(300)).await;
        assert_eq!(rest.escape_ascii().to_string(), "");
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_closes_and_reopens_the_device_still_talks() {
    within(LIMIT, async {
        let mut module = TestModule::start().await;
        module.client().at().await.expect("AT on the first open");
        module.close_client().await;

        for round in 0..3 {
            let modem = module.open_client();
            modem
                .at()
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            let id = modem.ati().await.expect("ATI after reopening");
            assert_eq!(id.manufacturer, "Quectel");
            close_client(modem).await;
        }

        // And raw: the bytes of a reopened device are the module's answers
        // only, nothing left over from the clients before.
        let mut pty = module.open_raw();
        pty.send(b"AT\r").await;
        pty.expect(b"AT\r\r\nOK\r\n").await;
        drop(pty);
        let modem = module.open_client();
        modem.at().await.expect("AT after a raw session");
        module.attach_client(modem);
        module.shutdown().await;
    })
    .await;
}

/// Realistic timing on the real pty: the boot chain takes its hardware
/// delays (RDY at 2.5 s … PB DONE at 6.6 s), and a command typed before
/// `RDY` is lost, neither echoed nor answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realistic_timing_boots_slowly_and_loses_input_before_rdy() {
    within(LIMIT, async {
        let started = std::time::Instant::now();
        let module = TestModule::builder()
            .timing(Timing::Realistic)
            .without_client()
            .start()
            .await;
        let mut pty = module.open_raw();
        pty.send(b"AT\r").await;
        pty.expect(b"\r\nRDY\r\n").await;
        let rdy = started.elapsed();
        pty.expect(&BOOT[b"\r\nRDY\r\n".len()..]).await;
        let booted = started.elapsed();
        assert!(
            rdy >= Duration::from_millis(2400),
            "RDY after {rdy:?}, expected about 2.5 s"
        );
        assert!(
            booted >= Duration::from_millis(6400),
            "PB DONE after {booted:?}, expected about 6.6 s"
        );
        pty.send(b"AT\r").await;
        pty.expect(b"AT\r\r\nOK\r\n").await;
        module.shutdown().await;
    })
    .await;
}

/// The model option: each profile says who it is, through the same client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_model_identifies_itself() {
    within(LIMIT, async {
        for (model, name, revision) in [
            (Model::Ec25, "EC25", "EC25EFAR06A06M4G"),
            (Model::Eg95, "EG95", "EG95EXGAR08A05M1G"),
            (Model::Em05, "EM05", "EM05GFAR07A07M1G"),
            (Model::Bg96, "BG96", "BG96MAR02A07M1G"),
            (Model::Bg95, "BG95-M3", "BG95M3LAR02A03"),
        ] {
            let module = TestModule::builder().model(model).start().await;
            let id = module.client().ati().await.expect("ATI");
            assert_eq!(
                (
                    id.manufacturer.as_str(),
                    id.model.as_str(),
                    id.revision.as_str()
                ),
                ("Quectel", name, revision)
            );
            module.shutdown().await;
        }
    })
    .await;
}

/// The same module on a TCP serial line (QEMU, Renode): what a host sends
/// is answered exactly as on the pty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_answers_the_same_over_a_tcp_serial_line() {
    within(LIMIT, async {
        let port = TcpSerialPort::bind("127.0.0.1:0".parse().expect("address"))
            .await
            .expect("bind a TCP serial port");
        let addr = port.local_addr().expect("its address");
        let handle = spawn_module(port, ModuleOptions::default()).expect("spawn");
        let modem = Client::connect_tcp(addr).await.expect("connect");
        modem.at().await.expect("AT");
        let id = modem.ati().await.expect("ATI");
        assert_eq!(
            (
                id.manufacturer.as_str(),
                id.model.as_str(),
                id.revision.as_str()
            ),
            ("Quectel", "EC25", "EC25EFAR06A06M4G")
        );
        assert_eq!(modem.cpin().await.expect("AT+CPIN?"), SimState::Ready);
        close_client(modem).await;
        handle.shutdown().await.expect("the module stops");
    })
    .await;
}
