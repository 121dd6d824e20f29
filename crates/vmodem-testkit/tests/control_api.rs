//! The control API (issue 10 §1) over real HTTP: a module on a real pty
//! driven by `vmodem-client`, the built-in broker on a free loopback port, and
//! `vmodem_tokio::control::serve` on another. Requests are written by hand
//! (HTTP/1.1 over a `TcpStream`), so the test sees the status line, headers
//! and body exactly as any client does. What each fault kind *does* is tested
//! by its own suite; here it is the API: shapes, status codes, errors.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vmodem_client::Client;
use vmodem_testkit::{
    http, http_delete, http_get, http_post, start_builtin_broker, within, HttpAnswer, PtyStream,
    PATIENCE,
};
use vmodem_tokio::control::{ModuleEntry, Registry, SerialLine};
use vmodem_tokio::{
    spawn_module, EmbeddedBroker, ModuleHandle, ModuleOptions, PtyPort, TcpSerialPort,
};

const LIMIT: Duration = Duration::from_secs(60);

/// A module on a pty (id 0), the built-in broker, and the API.
struct Rig {
    api: SocketAddr,
    broker: EmbeddedBroker,
    registry: Registry,
    module: Option<ModuleHandle>,
    pty: std::path::PathBuf,
    _server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Rig {
    async fn start(token: Option<&str>) -> Rig {
        let broker = start_builtin_broker().await;
        let registry = Registry::with_seed(1);
        let port = PtyPort::open(None).expect("a pseudo-terminal");
        let pty = port.path().to_owned();
        let module = spawn_module(
            port,
            ModuleOptions {
                timeline: Some(registry.timeline_sender(0)),
                ..ModuleOptions::default()
            },
        )
        .expect("the module starts");
        registry.register(ModuleEntry::new(
            0,
            module.control(),
            SerialLine::Pty {
                path: pty.clone(),
                link: None,
            },
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap();
        let server = tokio::spawn(vmodem_tokio::control::serve(
            listener,
            token.map(str::to_owned),
            registry.clone(),
        ));
        Rig {
            api,
            broker,
            registry,
            module: Some(module),
            pty,
            _server: server,
        }
    }

    /// A host client on the pty, once the module has booted.
    async fn host(&self) -> Client {
        let client = Client::builder()
            .timeout_scale(10.0)
            .min_timeout(Duration::from_secs(3))
            .build(PtyStream::open(&self.pty).expect("open the pty"));
        client
            .wait_for_urc(
                PATIENCE,
                |u| matches!(u, vmodem_client::Urc::Other(t) if t == "+QIND: PB DONE"),
            )
            .await
            .expect("the module boots");
        client
    }

    async fn shutdown(mut self) {
        if let Some(m) = self.module.take() {
            m.shutdown().await.expect("the module stops cleanly");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_after_a_connect_shows_the_client_connected_and_the_module_as_it_is() {
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        // Before any host: the module is off, and says so.
        let off = http_get(rig.api, "/v1/modules/0").await;
        assert_eq!(off.status, 200, "{off:?}");
        assert_eq!(off.json()["power"], "off");

        let host = rig.host().await;
        let port = rig.broker.local_addr().port();
        host.qmt_open(0, "127.0.0.1", port)
            .await
            .expect("AT+QMTOPEN");
        assert!(host
            .qmt_conn(0, "ctl-1", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        host.qmt_pubex(0, 1, 1, false, "ctl/t", b"hi")
            .await
            .expect("AT+QMTPUBEX");

        let answer = http_get(rig.api, "/v1/modules/0").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some("application/json"));
        let s = answer.json();
        assert_eq!(s["id"], 0);
        assert_eq!(s["model"], "ec25");
        assert_eq!(s["power"], "on");
        assert_eq!(s["imei"].as_str().unwrap().len(), 15, "{s}");
        assert_eq!(s["imsi"].as_str().unwrap().len(), 15, "{s}");
        assert_eq!(s["iccid"].as_str().unwrap().len(), 19, "{s}");
        assert_eq!(s["registration"], json!({"stat": 1, "act": 7}));
        assert_eq!(s["signal"], json!({"rssi": 24, "ber": 99}));
        assert_eq!(
            s["serial"],
            json!({"kind": "pty", "path": rig.pty.display().to_string()})
        );
        assert_eq!(s["pdp"][0]["cid"], 1);
        assert_eq!(s["pdp"][0]["active"], true);
        assert_eq!(s["mqtt"].as_array().unwrap().len(), 6);
        assert_eq!(
            s["mqtt"][0],
            json!({"client": 0, "state": "connected", "host": "127.0.0.1", "port": port,
                   "in_flight": 0, "sent": 1, "received": 0})
        );
        assert_eq!(s["mqtt"][1]["state"], "closed");
        assert_eq!(s["faults"], json!([]));

        let list = http_get(rig.api, "/v1/modules").await;
        assert_eq!(list.status, 200);
        assert_eq!(list.json().as_array().unwrap().len(), 1);
        assert_eq!(list.json()[0]["mqtt"][0]["state"], "connected");

        let metrics = http_get(rig.api, "/metrics").await;
        assert_eq!(metrics.status, 200);
        assert_eq!(
            metrics.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        for line in [
            "# TYPE vmodem_modules gauge\nvmodem_modules 1\n",
            "vmodem_modules_by_power{state=\"on\"} 1\n",
            "vmodem_modules_by_registration{stat=\"1\"} 1\n",
            "vmodem_pdp_contexts_active 1\n",
            "vmodem_mqtt_clients{state=\"connected\"} 1\n",
            "vmodem_mqtt_clients{state=\"closed\"} 5\n",
            "# TYPE vmodem_mqtt_messages_sent_total counter\nvmodem_mqtt_messages_sent_total 1\n",
            "vmodem_mqtt_messages_received_total 0\n",
            "vmodem_faults_active{kind=\"urc\"} 0\n",
        ] {
            assert!(
                metrics.body.contains(line),
                "{line:?} not in\n{}",
                metrics.body
            );
        }
        drop(host);
        rig.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_urc_fault_is_created_listed_and_the_host_gets_its_exact_bytes() {
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let host = rig.host().await;
        let mut raw = host.subscribe_events();
        drop(raw.try_recv());
        let answer = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "urc", "text": "+QIND: \"csq\",5,99", "duration_ms": 60000}),
        )
        .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        let f = answer.json();
        assert_eq!(f["id"], 1);
        assert_eq!(f["module"], 0);
        assert_eq!(f["kind"], "urc");
        assert_eq!(f["params"], json!({"text": "+QIND: \"csq\",5,99"}));
        assert_eq!(f["duration_ms"], 60000);
        assert_eq!(
            f["ends_ms"].as_u64().unwrap(),
            f["started_ms"].as_u64().unwrap() + 60000
        );
        // The host's line: the URC, framed as the module frames URCs.
        host.wait_for_urc(
            PATIENCE,
            |u| matches!(u, vmodem_client::Urc::Other(t) if t == "+QIND: \"csq\",5,99"),
        )
        .await
        .expect("the host sees the URC");
        drop(raw);
        let mut line = PtyStream::open(&rig.pty).unwrap();
        drop(host);
        // A second one through `params`, on a raw read of the line for the exact bytes.
        let again = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "urc", "params": {"text": "+CMTI: \"SM\",3"}}),
        )
        .await;
        assert_eq!(again.status, 201, "{again:?}");
        assert_eq!(again.json()["duration_ms"], Value::Null);
        assert_eq!(again.json()["ends_ms"], Value::Null);
        let mut got = Vec::new();
        let expected = b"\r\n+CMTI: \"SM\",3\r\n";
        tokio::time::timeout(PATIENCE, async {
            let mut buf = [0u8; 256];
            while !got.windows(expected.len()).any(|w| w == expected) {
                let n = line.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the host got {:?}", got.escape_ascii().to_string()));
        assert_eq!(got, expected, "nothing but the URC");

        let listed = http_get(rig.api, "/v1/modules/0/faults").await;
        assert_eq!(listed.status, 200);
        let ids: Vec<u64> = listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_u64().unwrap())
            .collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(
            http_get(rig.api, "/v1/modules/0/faults/2").await.json()["kind"],
            "urc"
        );
        let metrics = http_get(rig.api, "/metrics").await.body;
        assert!(
            metrics.contains("vmodem_faults_active{kind=\"urc\"} 2\n"),
            "{metrics}"
        );
        rig.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_4xx_with_an_error_that_says_what_is_allowed() {
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let a = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "netwrk_loss"}),
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(
            a.error(),
            "unknown fault kind \"netwrk_loss\"; allowed: network_loss, pdp_deact, signal, \
             sim_removed, dns_fail, clock, link, error, no_answer, slow, urc, reset, power_loss"
        );
        let a = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "network_loss", "stat": 7}),
        )
        .await;
        assert_eq!(a.status, 400);
        assert_eq!(
            a.error(),
            "network_loss: bad value \"7\" for stat; allowed: stat: 0|2|3|4 (default 0)"
        );
        let a = http_post(rig.api, "/v1/modules/0/faults", json!({"stat": 2})).await;
        assert_eq!(a.status, 400);
        assert!(a.error().contains("needs \"kind\""), "{a:?}");
        let a = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "reset", "duration_ms": "5s"}),
        )
        .await;
        assert_eq!(a.status, 400);
        assert!(
            a.error().contains("duration_ms must be a whole number"),
            "{a:?}"
        );
        let a = http(
            rig.api,
            "POST",
            "/v1/modules/0/faults",
            &["Content-Type: application/json"],
            "{nope",
        )
        .await;
        assert_eq!(a.status, 400);
        assert!(a.error().starts_with("the body is not JSON"), "{a:?}");
        let a = http(
            rig.api,
            "POST",
            "/v1/modules/0/faults",
            &["Content-Type: application/x-www-form-urlencoded"],
            "kind=reset",
        )
        .await;
        assert_eq!(a.status, 415);
        assert!(a.error().contains("application/json"), "{a:?}");

        let a = http_get(rig.api, "/v1/modules/7").await;
        assert_eq!(a.status, 404);
        assert_eq!(a.error(), "no module 7; the only module is 0");
        let a = http_post(rig.api, "/v1/modules/7/faults", json!({"kind": "reset"})).await;
        assert_eq!(a.status, 404);
        let a = http_get(rig.api, "/v1/modules/zero").await;
        assert_eq!(a.status, 400);
        let a = http_get(rig.api, "/v1/nothing").await;
        assert_eq!(a.status, 404);
        assert!(a.error().contains("GET /v1/modules"), "{a:?}");
        let a = http(rig.api, "PUT", "/v1/modules/0", &[], "").await;
        assert_eq!(a.status, 405);
        assert!(a.error().contains("not allowed"), "{a:?}");
        let a = http_get(rig.api, "/v1/events?module=9").await;
        assert_eq!(a.status, 404);
        rig.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_ends_one_fault_or_all_and_a_duration_ends_one_by_itself() {
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let signal = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "signal", "rssi": 5, "ber": 0}),
        )
        .await;
        assert_eq!(signal.status, 201, "{signal:?}");
        assert_eq!(signal.json()["params"], json!({"rssi": 5, "ber": 0}));
        let slow = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "slow", "delay_ms": 10}),
        )
        .await;
        assert_eq!(slow.status, 201);
        assert_eq!(
            http_get(rig.api, "/v1/modules/0/faults")
                .await
                .json()
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let one = http_delete(rig.api, "/v1/modules/0/faults/1").await;
        assert_eq!((one.status, one.body.as_str()), (204, ""));
        let again = http_delete(rig.api, "/v1/modules/0/faults/1").await;
        assert_eq!(again.status, 404);
        assert!(again.error().contains("no active fault 1"), "{again:?}");
        assert_eq!(
            http_get(rig.api, "/v1/modules/0/faults/1").await.status,
            404
        );
        let left = http_get(rig.api, "/v1/modules/0/faults").await.json();
        assert_eq!(left.as_array().unwrap().len(), 1);
        assert_eq!(left[0]["kind"], "slow");

        let all = http_delete(rig.api, "/v1/modules/0/faults").await;
        assert_eq!(all.status, 204);
        assert_eq!(
            http_get(rig.api, "/v1/modules/0/faults").await.json(),
            json!([])
        );

        let short = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "dns_fail", "duration_ms": 200}),
        )
        .await;
        assert_eq!(short.status, 201);
        let listed = http_get(rig.api, "/v1/modules/0").await.json()["faults"].clone();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(
            http_get(rig.api, "/v1/modules/0/faults").await.json(),
            json!([])
        );
        rig.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_wide_faults_choose_modules_by_count_list_share_or_all() {
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        // Two more modules on TCP lines nobody attaches to: they answer while off.
        let mut others = Vec::new();
        for id in [1u32, 2] {
            let port = TcpSerialPort::bind("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let addr = port.local_addr().unwrap();
            let m = spawn_module(port, ModuleOptions::default()).unwrap();
            rig.registry
                .register(ModuleEntry::new(id, m.control(), SerialLine::Tcp(addr)));
            others.push(m);
        }
        let modules_of = |a: &HttpAnswer| -> Vec<u64> {
            a.json()["faults"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    assert_eq!(f["module"], f["fault"]["module"]);
                    f["module"].as_u64().unwrap()
                })
                .collect()
        };
        let all = http_post(
            rig.api,
            "/v1/faults",
            json!({"modules": "all", "kind": "sim_removed"}),
        )
        .await;
        assert_eq!(all.status, 201, "{all:?}");
        assert_eq!(modules_of(&all), [0, 1, 2]);
        assert_eq!(all.json()["faults"][2]["fault"]["kind"], "sim_removed");
        let list = http_post(
            rig.api,
            "/v1/faults",
            json!({"modules": [2, 0], "kind": "dns_fail"}),
        )
        .await;
        assert_eq!(modules_of(&list), [2, 0]);
        // A share: ceil(3 × 50%) = 2 modules; the same seed draws the same ones.
        let a = http_post(
            rig.api,
            "/v1/faults",
            json!({"modules": "50%", "kind": "reset", "seed": 9}),
        )
        .await;
        let b = http_post(
            rig.api,
            "/v1/faults",
            json!({"modules": "50%", "kind": "reset", "seed": 9}),
        )
        .await;
        assert_eq!(modules_of(&a).len(), 2);
        assert_eq!(modules_of(&a), modules_of(&b));
        let one = http_post(
            rig.api,
            "/v1/faults",
            json!({"modules": 1, "kind": "no_answer"}),
        )
        .await;
        assert_eq!(modules_of(&one).len(), 1);
        let everything = http_get(rig.api, "/v1/faults").await.json();
        assert_eq!(
            everything["faults"].as_array().unwrap().len(),
            3 + 2 + 4 + 1
        );
        let off = http_get(rig.api, "/v1/modules/2").await.json();
        assert_eq!(off["power"], "off");
        assert_eq!(off["serial"]["kind"], "tcp");

        for (body, status) in [
            (json!({"modules": 4, "kind": "reset"}), 400),
            (json!({"modules": "150%", "kind": "reset"}), 400),
            (json!({"modules": "some", "kind": "reset"}), 400),
            (json!({"modules": [5], "kind": "reset"}), 404),
            (json!({"kind": "reset"}), 400),
            (json!({"modules": "all", "kind": "nope"}), 400),
        ] {
            let a = http_post(rig.api, "/v1/faults", body.clone()).await;
            assert_eq!(a.status, status, "{body} → {a:?}");
        }
        assert_eq!(http_delete(rig.api, "/v1/faults").await.status, 204);
        assert_eq!(
            http_get(rig.api, "/v1/faults").await.json(),
            json!({"faults": []})
        );
        for m in others {
            m.shutdown().await.unwrap();
        }
        rig.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_request_needs_it() {
    within(LIMIT, async {
        let rig = Rig::start(Some("s3cret")).await;
        for path in ["/v1/modules", "/metrics", "/v1/events", "/v1/nothing"] {
            let none = http_get(rig.api, path).await;
            assert_eq!(none.status, 401, "{path}: {none:?}");
            assert_eq!(none.header("www-authenticate"), Some("Bearer"));
            assert!(none.error().contains("Authorization: Bearer"), "{none:?}");
        }
        let wrong = http(
            rig.api,
            "GET",
            "/v1/modules",
            &["Authorization: Bearer s3cre"],
            "",
        )
        .await;
        assert_eq!(wrong.status, 401);
        assert!(wrong.error().starts_with("wrong token"), "{wrong:?}");
        let basic = http(
            rig.api,
            "GET",
            "/v1/modules",
            &["Authorization: Basic czNjcmV0"],
            "",
        )
        .await;
        assert_eq!(basic.status, 401);
        let ok = http(
            rig.api,
            "GET",
            "/v1/modules",
            &["Authorization: Bearer s3cret"],
            "",
        )
        .await;
        assert_eq!(ok.status, 200, "{ok:?}");
        let lower = http(
            rig.api,
            "GET",
            "/metrics",
            &["Authorization: bearer s3cret"],
            "",
        )
        .await;
        assert_eq!(
            lower.status, 200,
            "the scheme is case-insensitive: {lower:?}"
        );
        let post = http(
            rig.api,
            "POST",
            "/v1/modules/0/faults",
            &[
                "Authorization: Bearer s3cret",
                "Content-Type: application/json",
            ],
            r#"{"kind":"reset"}"#,
        )
        .await;
        assert_eq!(post.status, 201, "{post:?}");
        rig.shutdown().await;
    })
    .await;
}

/// Reads SSE from `stream` (a close-delimited HTTP/1.0 body, so no chunk
/// framing) until an event whose data satisfies `want`; `(type, data)`.
async fn next_sse(
    stream: &mut TcpStream,
    pending: &mut String,
    want: impl Fn(&str, &Value) -> bool,
) -> (String, Value) {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(found) = take_event(pending, &want) {
            return found;
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("no matching event; stream so far {pending:?}"))
            .unwrap();
        assert!(n > 0, "the event stream ended");
        pending.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stream_the_serial_line_and_faults_filtered_by_module() {
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let host = rig.host().await;
        let mut stream = TcpStream::connect(rig.api).await.unwrap();
        // HTTP/1.0: the body is the stream itself, until the server closes.
        stream
            .write_all(b"GET /v1/events?module=0 HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .unwrap();
        let mut pending = String::new();
        let mut buf = [0u8; 1024];
        while !pending.contains("\r\n\r\n") {
            let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0);
            pending.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let (head, rest) = pending.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/event-stream"),
            "{head}"
        );
        let mut buf_stream = rest.to_owned();

        host.command_ok("AT+CGMR").await.expect("AT+CGMR");
        let (_, typed) = next_sse(&mut stream, &mut buf_stream, |k, v| {
            k == "serial"
                && v["dir"] == "host_to_module"
                && v["text"].as_str().unwrap_or("").contains("AT+CGMR")
        })
        .await;
        assert_eq!(typed["module"], 0);
        assert!(typed["t_ms"].as_u64().is_some(), "{typed}");
        let (_, answer) = next_sse(&mut stream, &mut buf_stream, |k, v| {
            k == "serial"
                && v["dir"] == "module_to_host"
                && v["text"].as_str().unwrap_or("").contains("OK")
        })
        .await;
        assert!(
            answer["text"]
                .as_str()
                .unwrap()
                .contains("EC25EFAR06A06M4G"),
            "{answer}"
        );

        let f = http_post(
            rig.api,
            "/v1/modules/0/faults",
            json!({"kind": "signal", "rssi": 3}),
        )
        .await;
        assert_eq!(f.status, 201);
        let (_, start) = next_sse(&mut stream, &mut buf_stream, |k, _| k == "fault").await;
        assert_eq!(start["phase"], "start");
        assert_eq!(start["kind"], "signal");
        assert_eq!(start["params"], json!({"rssi": 3, "ber": 99}));
        assert_eq!(
            http_delete(rig.api, "/v1/modules/0/faults").await.status,
            204
        );
        let (_, end) = next_sse(&mut stream, &mut buf_stream, |k, _| k == "fault").await;
        assert_eq!(
            (end["phase"].as_str(), end["id"].as_u64()),
            (Some("end"), Some(1))
        );
        drop(host);
        rig.shutdown().await;
    })
    .await;
}

/// Takes complete events off the front of `text` until one matches.
fn take_event(text: &mut String, want: &impl Fn(&str, &Value) -> bool) -> Option<(String, Value)> {
    while let Some(end) = text.find("\n\n") {
        let block: String = text.drain(..end + 2).collect();
        let mut kind = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(k) = line.strip_prefix("event: ") {
                kind = k.to_owned();
            } else if let Some(d) = line.strip_prefix("data: ") {
                data.push_str(d);
            }
        }
        if data.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&data).expect("each event's data is JSON");
        assert_eq!(value["type"], kind.as_str(), "event: names the type");
        if want(&kind, &value) {
            return Some((kind, value));
        }
    }
    None
}

/// A client that stops reading `/v1/events` holds up no module: publishing
/// 50,000 events (10 MB, more than the socket buffers and the 4096-event ring
/// hold) while it sleeps takes no time, and when it reads again every event
/// is accounted for: those it gets, and the `missed` of its `lagged` events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_reading_is_told_what_it_missed_and_never_holds_up_a_module() {
    use vmodem_tokio::control::{SerialDirection, TimelineKind};
    const N: u64 = 50_000;
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        // A small window, so the server's writes block soon.
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(rig.api).await.unwrap();
        stream
            .write_all(b"GET /v1/events HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let mut pending = String::new();
        let mut buf = [0u8; 1024];
        while !pending.contains("\r\n\r\n") {
            let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            pending.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let mut pending = pending.split_once("\r\n\r\n").unwrap().1.to_owned();

        let tx = rig.registry.timeline_sender(0);
        let line = [b'x'; 200];
        let started = std::time::Instant::now();
        for i in 0..N {
            tx.publish(
                i,
                TimelineKind::serial(SerialDirection::ModuleToHost, &line),
            );
        }
        tx.publish(
            N,
            TimelineKind::serial(SerialDirection::ModuleToHost, b"the last one"),
        );
        let took = started.elapsed();
        assert!(took < Duration::from_secs(2), "publishing waited: {took:?}");

        let (mut got, mut missed, mut lags) = (0u64, 0u64, 0u64);
        loop {
            let (kind, v) = next_sse(&mut stream, &mut pending, |_, _| true).await;
            if kind == "lagged" {
                lags += 1;
                missed += v["missed"].as_u64().unwrap();
                continue;
            }
            got += 1;
            if v["text"] == "the last one" {
                assert_eq!(v["t_ms"], N);
                break;
            }
        }
        eprintln!(
            "published {} events in {took:?}; the reader got {got}, missed {missed} \
             (told in {lags} lagged events)",
            N + 1
        );
        assert!(
            lags >= 1 && missed > 0,
            "the reader was never told it lagged"
        );
        assert_eq!(
            got + missed,
            N + 1,
            "got {got}, missed {missed}: all accounted for"
        );
        rig.shutdown().await;
    })
    .await;
}

/// A fleet's listing and scrape ask the modules a few dozen at a time: 1,000
/// modules (waiting for their hosts on TCP lines) list and scrape within a
/// few seconds even on a loaded CI machine; the figures are printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_modules_list_and_scrape_in_bounded_time() {
    const N: u32 = 1000;
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let mut fleet = Vec::new();
        for id in 1..N {
            let port = TcpSerialPort::bind("127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
            let addr = port.local_addr().unwrap();
            let m = spawn_module(port, ModuleOptions::default()).unwrap();
            rig.registry
                .register(ModuleEntry::new(id, m.control(), SerialLine::Tcp(addr)));
            fleet.push(m);
        }
        let started = std::time::Instant::now();
        let list = http_get(rig.api, "/v1/modules").await;
        let listed = started.elapsed();
        assert_eq!(list.status, 200);
        let ids: Vec<u64> = list
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_u64().unwrap())
            .collect();
        assert_eq!(
            ids,
            (0..u64::from(N)).collect::<Vec<_>>(),
            "all, in id order"
        );
        let started = std::time::Instant::now();
        let metrics = http_get(rig.api, "/metrics").await;
        let scraped = started.elapsed();
        assert!(metrics.body.contains(&format!("vmodem_modules {N}\n")));
        // No host on any line: all are off, module 0 on its pty too.
        assert!(metrics
            .body
            .contains(&format!("vmodem_modules_by_power{{state=\"off\"}} {N}\n")));
        let all = http_post(
            rig.api,
            "/v1/faults",
            json!({"modules": "all", "kind": "dns_fail"}),
        )
        .await;
        assert_eq!(all.json()["faults"].as_array().unwrap().len(), N as usize);
        eprintln!(
            "{N} modules: GET /v1/modules {listed:?} ({} bytes), GET /metrics {scraped:?}",
            list.body.len()
        );
        assert!(listed < Duration::from_secs(10) && scraped < Duration::from_secs(10));
        for m in fleet {
            m.shutdown().await.unwrap();
        }
        rig.shutdown().await;
    })
    .await;
}

/// `?module=N` keeps that module's events only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_module_filter_keeps_one_modules_events() {
    use vmodem_tokio::control::{SerialDirection, TimelineKind};
    within(LIMIT, async {
        let rig = Rig::start(None).await;
        let port = TcpSerialPort::bind("127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let addr = port.local_addr().unwrap();
        let other = spawn_module(port, ModuleOptions::default()).unwrap();
        rig.registry
            .register(ModuleEntry::new(1, other.control(), SerialLine::Tcp(addr)));
        let mut stream = TcpStream::connect(rig.api).await.unwrap();
        stream
            .write_all(b"GET /v1/events?module=1 HTTP/1.0\r\n\r\n")
            .await
            .unwrap();
        let mut pending = String::new();
        let mut buf = [0u8; 1024];
        while !pending.contains("\r\n\r\n") {
            let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            pending.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        let mut pending = pending.split_once("\r\n\r\n").unwrap().1.to_owned();
        // The stream is subscribed once its head is out.
        for (module, text) in [(0, "zero"), (1, "one"), (0, "zero again"), (1, "end")] {
            rig.registry.timeline_sender(module).publish(
                5,
                TimelineKind::serial(SerialDirection::HostToModule, text.as_bytes()),
            );
        }
        let mut texts = Vec::new();
        loop {
            let (_, v) = next_sse(&mut stream, &mut pending, |_, _| true).await;
            assert_eq!(v["module"], 1, "{v}");
            texts.push(v["text"].as_str().unwrap().to_owned());
            if v["text"] == "end" {
                break;
            }
        }
        assert_eq!(texts, ["one", "end"]);
        other.shutdown().await.unwrap();
        rig.shutdown().await;
    })
    .await;
}

/// Issue 10, "how it is built and shown": every fault kind started over real
/// HTTP and seen on the host's serial line as the module shows it (the byte
/// reference, `docs/faults.md`; each kind's own suite has the exact bytes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_posted_over_http_shows_on_the_host_line() {
    use std::time::Instant;
    use vmodem_client::{CmeError, FinalResult, OpenResult};
    use vmodem_testkit::Urcs;

    within(Duration::from_secs(90), async {
        let rig = Rig::start(None).await;
        let host = rig.host().await;
        let mut urcs = Urcs::new(host.subscribe_urcs());
        let port = rig.broker.local_addr().port();
        host.command_ok("AT+CEREG=1").await.expect("AT+CEREG=1");
        let add = |body: Value| {
            let api = rig.api;
            async move {
                let answer = http_post(api, "/v1/modules/0/faults", body).await;
                assert_eq!(answer.status, 201, "{answer:?}");
            }
        };
        let clear = || async {
            assert_eq!(
                http_delete(rig.api, "/v1/modules/0/faults").await.status,
                204
            );
        };
        let line_of = |resp: vmodem_client::Response| -> String {
            resp.lines
                .first()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .unwrap_or_default()
        };

        // network_loss, then its end, then the host reactivates the context.
        add(json!({"kind": "network_loss", "stat": 2})).await;
        urcs.wait_for_line("+CEREG: 2").await;
        urcs.wait_for_line("+QIURC: \"pdpdeact\",1").await;
        clear().await;
        urcs.wait_for_line("+CEREG: 1").await;
        host.command_ok("AT+QIACT=1").await.expect("AT+QIACT=1");

        // pdp_deact.
        add(json!({"kind": "pdp_deact", "cid": 1})).await;
        urcs.wait_for_line("+QIURC: \"pdpdeact\",1").await;
        host.command_ok("AT+QIACT=1").await.expect("AT+QIACT=1");
        clear().await;

        // signal.
        add(json!({"kind": "signal", "rssi": 5, "ber": 2})).await;
        assert_eq!(
            line_of(host.command_ok("AT+CSQ").await.unwrap()),
            "+CSQ: 5,2"
        );
        clear().await;
        assert_eq!(
            line_of(host.command_ok("AT+CSQ").await.unwrap()),
            "+CSQ: 24,99"
        );

        // sim_removed, and the SIM back.
        add(json!({"kind": "sim_removed"})).await;
        urcs.wait_for_line("+CPIN: NOT READY").await;
        let resp = host.command("AT+CPIN?").await.unwrap();
        assert_eq!(
            resp.result,
            FinalResult::CmeError(CmeError::Code(10)),
            "{resp:?}"
        );
        clear().await;
        urcs.wait_for_line("+CPIN: READY").await;
        urcs.wait_for_line("+CEREG: 1").await;
        host.command_ok("AT+QIACT=1").await.expect("AT+QIACT=1");

        // dns_fail: a name fails, an IP literal opens.
        add(json!({"kind": "dns_fail"})).await;
        assert_eq!(
            host.qmt_open(0, "broker.example.com", port).await.unwrap(),
            OpenResult::DnsFailed
        );
        assert_eq!(
            host.qmt_open(0, "127.0.0.1", port).await.unwrap(),
            OpenResult::Opened
        );
        clear().await;

        // clock: AT+CCLK? a day earlier.
        let before = line_of(host.command_ok("AT+CCLK?").await.unwrap());
        add(json!({"kind": "clock", "offset_s": -86400})).await;
        let shifted = line_of(host.command_ok("AT+CCLK?").await.unwrap());
        assert_ne!(shifted, before);
        clear().await;

        // error: AT+CSQ fails with the code asked for.
        add(json!({"kind": "error", "command": "AT+CSQ", "cme": 3})).await;
        let resp = host.command("AT+CSQ").await.unwrap();
        assert_eq!(
            resp.result,
            FinalResult::CmeError(CmeError::Code(3)),
            "{resp:?}"
        );
        clear().await;
        // Counted by code in status and in /metrics (CME 10 from AT+CPIN? above, 3 here).
        let status = http_get(rig.api, "/v1/modules/0").await.json();
        assert_eq!(status["errors"]["3"], 1, "{status}");
        assert_eq!(status["errors"]["10"], 1, "{status}");
        let metrics = http_get(rig.api, "/metrics").await.body;
        assert!(
            metrics.contains("vmodem_at_errors_total{code=\"3\"} 1\n"),
            "{metrics}"
        );

        // slow: the answer comes 300 ms later at least.
        add(json!({"kind": "slow", "delay_ms": 300})).await;
        let asked = Instant::now();
        host.command_ok("AT").await.unwrap();
        assert!(
            asked.elapsed() >= Duration::from_millis(300),
            "{:?}",
            asked.elapsed()
        );
        clear().await;

        // no_answer: a hung module; the host's command times out.
        add(json!({"kind": "no_answer", "duration_ms": 2000})).await;
        assert!(host.command("AT").await.is_err(), "a hung module answered");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        host.command_ok("AT").await.expect("it answers again");

        // link latency: a QoS 1 publish waits for two delayed crossings.
        assert!(host
            .qmt_conn(0, "kinds", None, None)
            .await
            .expect("AT+QMTCONN")
            .is_accepted());
        add(json!({"kind": "link", "toxic": "latency", "latency_ms": 300})).await;
        let asked = Instant::now();
        host.qmt_pubex(0, 1, 1, false, "k/up", b"late")
            .await
            .expect("publish");
        assert!(
            asked.elapsed() >= Duration::from_millis(550),
            "{:?}",
            asked.elapsed()
        );
        clear().await;

        // reset: RDY and the boot chain again.
        add(json!({"kind": "reset"})).await;
        urcs.wait_for_line("RDY").await;
        urcs.wait_for_line("+QIND: PB DONE").await;
        clear().await;

        // power_loss for half a second: silence, then a cold boot.
        add(json!({"kind": "power_loss", "duration_ms": 500})).await;
        urcs.wait_for_line("RDY").await;
        urcs.wait_for_line("+QIND: PB DONE").await;
        host.command_ok("AT").await.expect("AT after the boot");
        drop(urcs);
        drop(host);
        rig.shutdown().await;
    })
    .await;
}
