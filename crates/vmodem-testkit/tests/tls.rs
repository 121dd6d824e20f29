//! MQTT over TLS with real parts: a module on a real pty, driven through
//! `vmodem_client`, against mosquitto's TLS listener (OpenSSL) and a tiny
//! rustls server, with certificates made here with rcgen.
//!
//! What the host sees for each case is `+QMTOPEN: c,0` or `+QMTOPEN: c,-1`;
//! the driver logs why a link failed, and some tests read that log.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use vmodem_client::{Client, RecvMode, SecLevel, SslVersion, Urc};
use vmodem_testkit::{
    line, qfupl_checksum, within, Leaf, MosquittoTls, SniRecorder, TestModule, TestPki,
};

const LIMIT: Duration = Duration::from_secs(90);
const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The broker of the note's example, resolved to loopback for the module.
const AWS_HOST: &str = "a1zgnxur10j8ux.iot.us-east-1.amazonaws.com";
/// A name resolved to loopback for the module (`--hosts`).
const BROKER: &str = "broker.test";

/// Everything the driver logs at info level, from every test in this binary.
fn log() -> &'static Mutex<Vec<u8>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(move || LogWriter(sink.clone()))
            .try_init();
        buf
    })
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log lines that contain every one of `parts`.
fn logged(parts: &[&str]) -> Vec<String> {
    let text = String::from_utf8_lossy(&log().lock().unwrap()).into_owned();
    text.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .map(str::to_owned)
        .collect()
}

/// A module that resolves the note's broker and [`BROKER`] to loopback.
async fn module() -> TestModule {
    log();
    TestModule::builder()
        .host(AWS_HOST, LOOPBACK)
        .host(BROKER, LOOPBACK)
        .start()
        .await
}

/// One SSL context as a test sets it up.
struct Ctx<'a> {
    id: u8,
    seclevel: SecLevel,
    ca: Option<&'a [u8]>,
    client: Option<&'a Leaf>,
    ignore_local_time: Option<bool>,
    version: Option<SslVersion>,
    sni: Option<bool>,
}

impl<'a> Ctx<'a> {
    fn new(id: u8, seclevel: SecLevel) -> Ctx<'a> {
        Ctx {
            id,
            seclevel,
            ca: None,
            client: None,
            ignore_local_time: None,
            version: None,
            sni: None,
        }
    }
}

/// Uploads the context's files to RAM and configures it with AT+QSSLCFG.
async fn configure(modem: &Client, ctx: &Ctx<'_>) {
    let id = ctx.id;
    if let Some(ca) = ctx.ca {
        let name = format!("RAM:ca{id}.pem");
        modem.qfupl(&name, ca, 100).await.expect("upload the CA");
        modem.qsslcfg_cacert(id, &name).await.expect("cacert");
    }
    if let Some(client) = ctx.client {
        let (cert, key) = (format!("RAM:client{id}.pem"), format!("RAM:client{id}.key"));
        modem.qfupl(&cert, &client.cert, 100).await.expect("upload");
        modem.qfupl(&key, &client.key, 100).await.expect("upload");
        modem
            .qsslcfg_clientcert(id, &cert)
            .await
            .expect("clientcert");
        modem.qsslcfg_clientkey(id, &key).await.expect("clientkey");
    }
    modem
        .qsslcfg_seclevel(id, ctx.seclevel)
        .await
        .expect("seclevel");
    if let Some(ignore) = ctx.ignore_local_time {
        modem
            .qsslcfg_ignorelocaltime(id, ignore)
            .await
            .expect("ignorelocaltime");
    }
    if let Some(version) = ctx.version {
        modem
            .qsslcfg_sslversion(id, version)
            .await
            .expect("sslversion");
    }
    if let Some(sni) = ctx.sni {
        modem.qsslcfg_sni(id, sni).await.expect("sni");
    }
}

/// Opens MQTT client `client` over SSL context `ctx` to `host:port`; the
/// `+QMTOPEN` result.
async fn open(modem: &Client, client: u8, ctx: u8, host: &str, port: u16) -> i32 {
    modem
        .qmt_cfg_ssl(client, Some(ctx))
        .await
        .expect("AT+QMTCFG=\"ssl\"");
    modem
        .qmt_open(client, host, port)
        .await
        .expect("AT+QMTOPEN answers")
        .code()
}

/// Connects, subscribes, publishes to itself and disconnects: MQTT really
/// flows over the link.
async fn mqtt_round_trip(modem: &Client, client: u8, topic: &str) {
    let id = format!("tls-{client}-{}", std::process::id());
    let conn = modem
        .qmt_conn(client, &id, None, None)
        .await
        .expect("AT+QMTCONN");
    assert!(conn.is_accepted(), "{conn:?}");
    let mut urcs = modem.subscribe_urcs();
    let sub = modem.qmt_sub(client, 1, &[(topic, 1)]).await.expect("SUB");
    assert!(sub.is_sent(), "{sub:?}");
    let publish = modem
        .qmt_pubex(client, 2, 1, false, topic, b"over TLS")
        .await
        .expect("PUBEX");
    assert!(publish.is_sent(), "{publish:?}");
    let got = tokio::time::timeout(vmodem_testkit::PATIENCE, async {
        loop {
            if let Urc::QmtRecv { payload, .. } = urcs.recv().await.expect("URCs") {
                return payload;
            }
        }
    })
    .await
    .expect("the message comes back");
    assert_eq!(got, b"over TLS");
    modem.qmt_disc(client).await.expect("AT+QMTDISC");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notes_ssl_session_byte_for_byte_against_mosquitto_requiring_client_certificates() {
    within(LIMIT, async {
        let pki = TestPki::new("note CA");
        let server = pki.server(&[AWS_HOST]);
        let tls = MosquittoTls::start(&pki, &server, true).await;
        let device = pki.client("M26_0206");
        let module = module().await;
        let modem = module.client();
        let topic = "$aws/things/M26_0206/shadow/update/accepted";
        let payload = b"This is publish data from client";

        modem
            .qmt_cfg_recv_mode(0, RecvMode::Urc, true)
            .await
            .expect("recv/mode");
        modem
            .command_ok("AT+QMTCFG=\"SSL\",0,1,2")
            .await
            .expect("SSL");
        let files = [
            ("RAM:cacert.pem", pki.ca_pem()),
            ("RAM:client.pem", device.cert.clone()),
            ("RAM:user_key.pem", device.key.clone()),
        ];
        for (name, data) in &files {
            let upload = modem.qfupl(name, data, 100).await.expect("AT+QFUPL");
            assert_eq!(upload.size as usize, data.len(), "{name}");
            assert_eq!(
                format!("{:x}", upload.checksum),
                qfupl_checksum(data),
                "{name}"
            );
        }
        modem
            .qsslcfg_cacert(2, "RAM:cacert.pem")
            .await
            .expect("cacert");
        modem
            .qsslcfg_clientcert(2, "RAM:client.pem")
            .await
            .expect("clientcert");
        modem
            .qsslcfg_clientkey(2, "RAM:user_key.pem")
            .await
            .expect("clientkey");
        modem
            .qsslcfg_seclevel(2, SecLevel::MutualAuth)
            .await
            .expect("seclevel");
        modem
            .qsslcfg_sslversion(2, SslVersion::All)
            .await
            .expect("sslversion");
        modem
            .qsslcfg_ciphersuite(2, 0xFFFF)
            .await
            .expect("ciphersuite");
        modem
            .qsslcfg_ignorelocaltime(2, true)
            .await
            .expect("ignorelocaltime");
        let opened = modem
            .qmt_open(0, AWS_HOST, tls.tls_port)
            .await
            .expect("open");
        assert_eq!(opened.code(), 0, "mosquitto log:\n{}", tls.broker.log());
        let conn = modem
            .qmt_conn(0, "M26_0206", None, None)
            .await
            .expect("conn");
        assert!(conn.is_accepted(), "{conn:?}");
        let mut urcs = modem.subscribe_urcs();
        let sub = modem.qmt_sub(0, 1, &[(topic, 1)]).await.expect("sub");
        assert!(sub.is_sent(), "{sub:?}");
        modem
            .qmt_pubex(0, 1, 1, false, topic, payload)
            .await
            .expect("pubex");
        let recv = tokio::time::timeout(vmodem_testkit::PATIENCE, async {
            loop {
                let urc = urcs.recv().await.expect("URCs");
                if matches!(urc, Urc::QmtRecv { .. }) {
                    return line(&urc);
                }
            }
        })
        .await
        .expect("+QMTRECV");
        assert_eq!(
            recv,
            format!(
                "+QMTRECV: 0,1,\"{topic}\",32,\"{}\"",
                "This is publish data from client"
            )
        );
        modem.qmt_disc(0).await.expect("disc");
        // +QMTSTAT: 0,5 follows +QMTDISC: 0,0 (decisions.md).
        tokio::time::timeout(vmodem_testkit::PATIENCE, async {
            while !matches!(urcs.recv().await, Ok(Urc::QmtStat { .. })) {}
        })
        .await
        .expect("+QMTSTAT after the disconnect");

        // The whole session as the module wrote it, after its boot chain.
        let upload = |name: &str, data: &[u8]| {
            format!(
                "AT+QFUPL=\"{name}\",{n},100\r\r\nCONNECT\r\n\r\n+QFUPL: {n},{}\r\n\r\nOK\r\n",
                qfupl_checksum(data),
                n = data.len()
            )
        };
        let head = [
            "AT+QMTCFG=\"recv/mode\",0,0,1\r\r\nOK\r\n".to_owned(),
            "AT+QMTCFG=\"SSL\",0,1,2\r\r\nOK\r\n".to_owned(),
            upload(files[0].0, &files[0].1),
            upload(files[1].0, &files[1].1),
            upload(files[2].0, &files[2].1),
            "AT+QSSLCFG=\"cacert\",2,\"RAM:cacert.pem\"\r\r\nOK\r\n".to_owned(),
            "AT+QSSLCFG=\"clientcert\",2,\"RAM:client.pem\"\r\r\nOK\r\n".to_owned(),
            "AT+QSSLCFG=\"clientkey\",2,\"RAM:user_key.pem\"\r\r\nOK\r\n".to_owned(),
            "AT+QSSLCFG=\"seclevel\",2,2\r\r\nOK\r\n".to_owned(),
            "AT+QSSLCFG=\"sslversion\",2,4\r\r\nOK\r\n".to_owned(),
            "AT+QSSLCFG=\"ciphersuite\",2,0xFFFF\r\r\nOK\r\n".to_owned(),
            "AT+QSSLCFG=\"ignorelocaltime\",2,1\r\r\nOK\r\n".to_owned(),
            format!(
                "AT+QMTOPEN=0,\"{AWS_HOST}\",{}\r\r\nOK\r\n\r\n+QMTOPEN: 0,0\r\n",
                tls.tls_port
            ),
            "AT+QMTCONN=0,\"M26_0206\"\r\r\nOK\r\n\r\n+QMTCONN: 0,0,0\r\n".to_owned(),
            format!("AT+QMTSUB=0,1,\"{topic}\",1\r\r\nOK\r\n\r\n+QMTSUB: 0,1,0,1\r\n"),
            format!(
                "AT+QMTPUBEX=0,1,1,0,\"{topic}\",32\r\r\n> This is publish data from client\
                 \r\nOK\r\n"
            ),
        ]
        .concat();
        let puback = "\r\n+QMTPUBEX: 0,1,0\r\n".to_owned();
        let recv =
            format!("\r\n+QMTRECV: 0,1,\"{topic}\",32,\"This is publish data from client\"\r\n");
        let tail = "AT+QMTDISC=0\r\r\nOK\r\n\r\n+QMTDISC: 0,0\r\n\r\n+QMTSTAT: 0,5\r\n";
        // mosquitto may forward the message before or after it acknowledges it.
        let either = [
            [head.as_str(), &puback, &recv, tail].concat(),
            [head.as_str(), &recv, &puback, tail].concat(),
        ];
        let out = module.serial_output();
        let start = out
            .windows(12)
            .position(|w| w == b"AT+QMTCFG=\"r")
            .expect("the session's first command");
        let session = String::from_utf8_lossy(&out[start..]).into_owned();
        assert!(
            either.contains(&session),
            "the session differs:\n{}\nexpected:\n{}",
            session.escape_debug(),
            either[0].escape_debug()
        );
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seclevels_0_1_and_2_open_and_carry_mqtt() {
    within(LIMIT, async {
        let pki = TestPki::new("levels CA");
        let server = pki.server(&[BROKER, "127.0.0.1"]);
        let plain = MosquittoTls::start(&pki, &server, false).await;
        let mutual = MosquittoTls::start(&pki, &server, true).await;
        // seclevel 0 does not look at the certificate: one nobody vouches for.
        let stranger = TestPki::new("stranger").server(&["elsewhere.example"]);
        let anyone = MosquittoTls::start(&TestPki::new("stranger 2"), &stranger, false).await;
        let device = pki.client("device");
        let ca = pki.ca_pem();
        let module = module().await;
        let modem = module.client();

        configure(modem, &Ctx::new(0, SecLevel::None)).await;
        assert_eq!(open(modem, 0, 0, "127.0.0.1", anyone.tls_port).await, 0);
        mqtt_round_trip(modem, 0, "tls/level0").await;

        let mut level1 = Ctx::new(1, SecLevel::ServerAuth);
        level1.ca = Some(&ca);
        level1.ignore_local_time = Some(false);
        configure(modem, &level1).await;
        // An IP literal is checked against the certificate's IP addresses.
        assert_eq!(open(modem, 1, 1, "127.0.0.1", plain.tls_port).await, 0);
        mqtt_round_trip(modem, 1, "tls/level1").await;

        let mut level2 = Ctx::new(2, SecLevel::MutualAuth);
        level2.ca = Some(&ca);
        level2.client = Some(&device);
        level2.ignore_local_time = Some(false);
        configure(modem, &level2).await;
        assert_eq!(
            open(modem, 2, 2, BROKER, mutual.tls_port).await,
            0,
            "mosquitto log:\n{}",
            mutual.broker.log()
        );
        mqtt_round_trip(modem, 2, "tls/level2").await;
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_ca_or_for_another_name_fails_the_open() {
    within(LIMIT, async {
        let pki = TestPki::new("name CA");
        let server = pki.server(&[BROKER]);
        let tls = MosquittoTls::start(&pki, &server, false).await;
        let other_ca = TestPki::new("not the broker's CA").ca_pem();
        let ca = pki.ca_pem();
        let module = module().await;
        let modem = module.client();

        let mut wrong_ca = Ctx::new(3, SecLevel::ServerAuth);
        wrong_ca.ca = Some(&other_ca);
        configure(modem, &wrong_ca).await;
        assert_eq!(open(modem, 3, 3, BROKER, tls.tls_port).await, -1);
        let why = logged(&["ssl_context=3", "(unknown issuer)"]);
        assert_eq!(why.len(), 1, "{why:?}");

        let mut right_ca = Ctx::new(4, SecLevel::ServerAuth);
        right_ca.ca = Some(&ca);
        configure(modem, &right_ca).await;
        // The certificate names broker.test; 127.0.0.1 is not in it.
        assert_eq!(open(modem, 4, 4, "127.0.0.1", tls.tls_port).await, -1);
        let why = logged(&["ssl_context=4", "(name mismatch)"]);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].contains("broker.test"), "{why:?}");
        // The same context and broker by its name: open.
        assert_eq!(open(modem, 5, 4, BROKER, tls.tls_port).await, 0);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_fails_by_the_module_clock_unless_local_time_is_ignored() {
    within(LIMIT, async {
        let pki = TestPki::new("expiry CA");
        let expired = pki.expired_server(&[BROKER]);
        let tls = MosquittoTls::start(&pki, &expired, false).await;
        let ca = pki.ca_pem();
        let module = module().await;
        let modem = module.client();

        let mut checking = Ctx::new(0, SecLevel::ServerAuth);
        checking.ca = Some(&ca);
        checking.ignore_local_time = Some(false);
        configure(modem, &checking).await;
        assert_eq!(open(modem, 0, 0, BROKER, tls.tls_port).await, -1);
        let why = logged(&[
            "ssl_context=0",
            "expired at 2021-01-01 00:00:00 UTC and the module's clock reads 2025-01-01",
        ]);
        assert!(!why.is_empty(), "{:?}", logged(&["ssl_context=0"]));

        let mut ignoring = Ctx::new(1, SecLevel::ServerAuth);
        ignoring.ca = Some(&ca);
        ignoring.ignore_local_time = Some(true);
        configure(modem, &ignoring).await;
        assert_eq!(open(modem, 1, 1, BROKER, tls.tls_port).await, 0);
        mqtt_round_trip(modem, 1, "tls/expired").await;
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_client_certificate_fails_when_mosquitto_requires_one() {
    within(LIMIT, async {
        let pki = TestPki::new("mutual CA");
        let server = pki.server(&[BROKER]);
        let tls = MosquittoTls::start(&pki, &server, true).await;
        let ca = pki.ca_pem();
        let module = module().await;
        let modem = module.client();

        // seclevel 1: no client certificate to present. Over TLS 1.3
        // (sslversion 4) OpenSSL refuses after the client's handshake is done
        // (alert certificate_required); over TLS 1.2 within it.
        for (id, version) in [(2, SslVersion::All), (3, SslVersion::Tls1_2)] {
            let mut server_only = Ctx::new(id, SecLevel::ServerAuth);
            server_only.ca = Some(&ca);
            server_only.version = Some(version);
            configure(modem, &server_only).await;
            assert_eq!(open(modem, id, id, BROKER, tls.tls_port).await, -1);
            let context = format!("ssl_context={id}");
            let why = logged(&[&context, "client certificate"]);
            assert_eq!(why.len(), 1, "{:?}", logged(&[&context]));
        }
        let refused = logged(&["ssl_context=2", "alert certificate required"]);
        assert_eq!(
            refused.len(),
            1,
            "TLS 1.3: {:?}",
            logged(&["ssl_context=2"])
        );
        let refused = logged(&["ssl_context=3", "alert handshake failure"]);
        assert_eq!(
            refused.len(),
            1,
            "TLS 1.2: {:?}",
            logged(&["ssl_context=3"])
        );
        let log = tls.broker.log();
        assert!(log.contains("peer did not return a certificate"), "{log}");
        module.shutdown().await;
    })
    .await;
}

/// Issue 9: seclevel 2 is "server and client authentication if requested
/// by the remote server". Without a client certificate and key it used to
/// answer `+QMTOPEN: c,-1` at once, with nothing in any log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seclevel_2_without_a_client_certificate_fails_only_if_the_server_asks() {
    within(LIMIT, async {
        let pki = TestPki::new("level 2 CA");
        let server = pki.server(&[BROKER]);
        let open_tls = MosquittoTls::start(&pki, &server, false).await;
        let mutual = MosquittoTls::start(&pki, &server, true).await;
        let ca = pki.ca_pem();
        let module = module().await;
        let modem = module.client();

        // No clientcert or clientkey set at all (context 0); a clientcert
        // named but never uploaded (context 1). Both connect where nobody asks.
        for id in [0, 1] {
            let mut level2 = Ctx::new(id, SecLevel::MutualAuth);
            level2.ca = Some(&ca);
            configure(modem, &level2).await;
            if id == 1 {
                modem
                    .qsslcfg_clientcert(id, "RAM:never-uploaded.pem")
                    .await
                    .expect("clientcert");
            }
            assert_eq!(
                open(modem, id, id, BROKER, open_tls.tls_port).await,
                0,
                "{:?}",
                logged(&[&format!("ssl_context={id}")])
            );
            mqtt_round_trip(modem, id, &format!("tls/level2-{id}")).await;
        }
        // Against mosquitto's require_certificate, over TLS 1.3 and 1.2: -1,
        // and the log says why, naming what is missing.
        for (id, version) in [(2, SslVersion::All), (3, SslVersion::Tls1_2)] {
            let mut level2 = Ctx::new(id, SecLevel::MutualAuth);
            level2.ca = Some(&ca);
            level2.version = Some(version);
            configure(modem, &level2).await;
            assert_eq!(open(modem, id, id, BROKER, mutual.tls_port).await, -1);
            let context = format!("ssl_context={id}");
            let why = logged(&[
                &context,
                &format!(
                    "this SSL context has none to present: SSL context {id} has no clientcert"
                ),
            ]);
            assert_eq!(why.len(), 1, "{:?}", logged(&[&context]));
        }
        module.shutdown().await;
    })
    .await;
}

/// Every `+QMTOPEN: c,-1` has its reason in the log at info, also the one
/// the module gives without trying (the CA certificate is not there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ca_certificate_fails_at_once_with_the_reason_logged() {
    within(LIMIT, async {
        let module = module().await;
        let modem = module.client();
        modem
            .qsslcfg_seclevel(4, SecLevel::ServerAuth)
            .await
            .expect("seclevel");
        modem
            .qsslcfg_cacert(4, "RAM:not-uploaded-ca.pem")
            .await
            .expect("cacert");
        assert_eq!(open(modem, 4, 4, BROKER, 8883).await, -1);
        let why = logged(&[
            "(+QMTOPEN: 4,-1)",
            "seclevel 1 verifies the server against cacert, and the cacert file of SSL \
             context 4, \"RAM:not-uploaded-ca.pem\", does not exist",
        ]);
        assert_eq!(why.len(), 1, "{:?}", logged(&["+QMTOPEN: 4,-1"]));
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_reaches_the_server_only_when_enabled() {
    within(LIMIT, async {
        let pki = TestPki::new("sni CA");
        let recorder = SniRecorder::start(&pki.server(&[BROKER])).await;
        let ca = pki.ca_pem();
        let module = module().await;
        let modem = module.client();

        // Factory setting: no SNI.
        configure(modem, &Ctx::new(0, SecLevel::None)).await;
        assert_eq!(open(modem, 0, 0, BROKER, recorder.port()).await, 0);
        let mut with_sni = Ctx::new(1, SecLevel::ServerAuth);
        with_sni.ca = Some(&ca);
        with_sni.sni = Some(true);
        configure(modem, &with_sni).await;
        assert_eq!(open(modem, 1, 1, BROKER, recorder.port()).await, 0);
        // An IP literal is never sent as SNI (RFC 6066), even when enabled.
        assert_eq!(open(modem, 2, 1, "127.0.0.1", recorder.port()).await, -1);
        let mut ip_sni = Ctx::new(2, SecLevel::None);
        ip_sni.sni = Some(true);
        configure(modem, &ip_sni).await;
        assert_eq!(open(modem, 3, 2, "127.0.0.1", recorder.port()).await, 0);

        // The failed open (name mismatch) also reached the server with its SNI.
        assert_eq!(recorder.seen(), [None, Some(BROKER.to_owned()), None, None],);
        module.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_versions_and_cipher_suites_rustls_lacks_fail_with_the_reason_logged() {
    within(LIMIT, async {
        let pki = TestPki::new("versions CA");
        let server = pki.server(&[BROKER]);
        let tls = MosquittoTls::start(&pki, &server, false).await;
        let module = module().await;
        let modem = module.client();

        for (id, version, name) in [
            (0, SslVersion::Ssl3, "0 (SSL 3.0)"),
            (1, SslVersion::Tls1_0, "1 (TLS 1.0)"),
            (2, SslVersion::Tls1_1, "2 (TLS 1.1)"),
        ] {
            let mut old = Ctx::new(id, SecLevel::None);
            old.version = Some(version);
            configure(modem, &old).await;
            assert_eq!(open(modem, id, id, BROKER, tls.tls_port).await, -1);
            let context = format!("ssl_context={id}");
            let reason = format!(
                "+QMTOPEN: {id},-1): sslversion {name} is not supported by vmodem (rustls): use \
                 sslversion 3 or 4"
            );
            let why = logged(&[&context, &reason]);
            assert_eq!(why.len(), 1, "{:?}", logged(&[&context]));
        }

        // TLS_RSA_WITH_AES_256_CBC_SHA, in the module's list, not in rustls.
        configure(modem, &Ctx::new(3, SecLevel::None)).await;
        modem
            .qsslcfg_ciphersuite(3, 0x0035)
            .await
            .expect("ciphersuite");
        assert_eq!(open(modem, 3, 3, BROKER, tls.tls_port).await, -1);
        let why = logged(&[
            "ssl_context=3",
            "cipher suite 0x0035 is not supported by vmodem (rustls): use ciphersuite 0xFFFF",
        ]);
        assert_eq!(why.len(), 1, "{:?}", logged(&["ssl_context=3"]));

        // TLS 1.2 alone works against OpenSSL.
        let mut tls12 = Ctx::new(4, SecLevel::None);
        tls12.version = Some(SslVersion::Tls1_2);
        configure(modem, &tls12).await;
        assert_eq!(open(modem, 4, 4, BROKER, tls.tls_port).await, 0);
        mqtt_round_trip(modem, 4, "tls/tls12").await;
        module.shutdown().await;
    })
    .await;
}
