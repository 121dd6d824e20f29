//! `AT+QMTCFG="aliauth"` against a server that checks Alibaba Cloud's
//! signature the way Alibaba documents it, written independently of
//! vmodem's codec and signing code: a Python 3 script using only its
//! standard library (`socket`, `hmac`, `hashlib`).

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use vmodem_client::{ConnReturnCode, OpenResult, PacketResult};
use vmodem_testkit::{within, ScratchDir, TestModule, PATIENCE};

const LIMIT: Duration = Duration::from_secs(60);

const PRODUCT_KEY: &str = "a1B2c3D4e5F";
const DEVICE_NAME: &str = "vmodem_device_7";
const DEVICE_SECRET: &str = "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe";

/// An MQTT server for one purpose: read a CONNECT, recompute the Alibaba
/// signature from the device secret and the `timestamp=` the client id
/// carries, answer CONNACK 0 if user name and password match, 4 if not.
///
/// Alibaba's scheme: the client id is `<id>|securemode=3,signmethod=hmacsha1,
/// timestamp=<ms>|`, the user name `<deviceName>&<productKey>`, the password
/// the lowercase hex HMAC-SHA1, keyed with the device secret, of
/// `clientId<id>deviceName<dn>productKey<pk>timestamp<ms>`.
///
/// It prints its port, then one line per CONNECT (`accepted ...` or
/// `refused ...`). After an accepted CONNECT it answers PINGREQ and closes
/// on DISCONNECT; after a refused one it closes, as MQTT says a server must.
const SERVER: &str = r#"
import hashlib, hmac, socket, sys

product_key, device_name, secret = sys.argv[1], sys.argv[2], sys.argv[3].encode()

def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data

def read_packet(conn):
    kind = read_exact(conn, 1)[0]
    length, shift = 0, 0
    while True:
        byte = read_exact(conn, 1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return kind, read_exact(conn, length)

def field(body, i):
    n = int.from_bytes(body[i:i + 2], "big")
    return body[i + 2:i + 2 + n], i + 2 + n

def check(body):
    protocol, i = field(body, 0)
    level, flags = body[i], body[i + 1]
    i += 4  # level, flags, keep-alive
    client_id, i = field(body, i)
    if flags & 0x04:
        _, i = field(body, i)  # will topic
        _, i = field(body, i)  # will message
    user = password = None
    if flags & 0x80:
        user, i = field(body, i)
    if flags & 0x40:
        password, i = field(body, i)
    client_id = client_id.decode()
    parts = client_id.split("|")
    if len(parts) != 3 or parts[2] != "":
        return False, "client id %r lacks |params|" % client_id
    params = dict(p.split("=", 1) for p in parts[1].split(","))
    if params.get("signmethod") != "hmacsha1" or params.get("securemode") != "3":
        return False, "params %r" % params
    timestamp = params.get("timestamp", "")
    if not timestamp.isdigit():
        return False, "timestamp %r" % timestamp
    content = "clientId%sdeviceName%sproductKey%stimestamp%s" % (
        parts[0], device_name, product_key, timestamp)
    want = hmac.new(secret, content.encode(), hashlib.sha1).hexdigest()
    want_user = "%s&%s" % (device_name, product_key)
    if user is None or user.decode() != want_user:
        return False, "user %r, want %r" % (user, want_user)
    if password is None or password.decode() != want:
        return False, "password %r, want %r" % (password, want)
    return True, "%s %r level %d client id %r" % (protocol.decode(), want_user, level, client_id)

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(8)
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    with conn:
        try:
            kind, body = read_packet(conn)
            if kind >> 4 != 1:
                print("refused: first packet type %d" % (kind >> 4), flush=True)
                continue
            ok, why = check(body)
            print(("accepted " if ok else "refused ") + why, flush=True)
            conn.sendall(bytes([0x20, 2, 0, 0 if ok else 4]))
            while ok:
                kind, _ = read_packet(conn)
                if kind >> 4 == 12:
                    conn.sendall(bytes([0xD0, 0]))
                elif kind >> 4 == 14:
                    break
        except (EOFError, ConnectionError):
            pass
"#;

/// The Python server as a child process (killed by its own pid on drop).
struct AliyunServer {
    port: u16,
    lines: Lines<BufReader<ChildStdout>>,
    _child: Child,
    _dir: ScratchDir,
}

impl AliyunServer {
    async fn start() -> AliyunServer {
        let dir = ScratchDir::new("aliyun");
        let script = dir.write("aliyun_server.py", SERVER.as_bytes());
        let mut child = Command::new("python3")
            .arg(&script)
            .args([PRODUCT_KEY, DEVICE_NAME, DEVICE_SECRET])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run python3 ({e}): the aliauth test needs Python 3 on PATH")
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(PATIENCE, lines.next_line())
            .await
            .expect("the server says its port in time")
            .expect("read the server's output")
            .expect("the server printed its port")
            .trim()
            .parse()
            .expect("a port number");
        AliyunServer {
            port,
            lines,
            _child: child,
            _dir: dir,
        }
    }

    /// What the server concluded about the next CONNECT.
    async fn verdict(&mut self) -> String {
        tokio::time::timeout(PATIENCE, self.lines.next_line())
            .await
            .expect("the server judged a CONNECT in time")
            .expect("read the server's output")
            .expect("the server is running")
    }
}

/// Connects with `secret` configured and returns the outcome and the
/// server's verdict; checks the module wrote `urc` on its line.
async fn connect_with_secret(
    secret: &str,
    urc: &str,
) -> (PacketResult, Option<ConnReturnCode>, String) {
    let mut server = AliyunServer::start().await;
    let module = TestModule::start().await;
    let modem = module.client();
    let mut urcs = module.urcs();
    modem
        .qmt_cfg_aliauth(0, PRODUCT_KEY, DEVICE_NAME, secret)
        .await
        .expect("AT+QMTCFG=\"aliauth\"");
    assert_eq!(
        modem
            .qmt_open(0, "127.0.0.1", server.port)
            .await
            .expect("AT+QMTOPEN"),
        OpenResult::Opened
    );
    // As in the note's example: no user name or password on AT+QMTCONN.
    let conn = modem
        .qmt_conn(0, "clientExample", None, None)
        .await
        .expect("AT+QMTCONN");
    let verdict = server.verdict().await;
    urcs.wait_for_line(urc).await;
    module.assert_serial_output_contains(format!("\r\n{urc}\r\n").as_bytes());
    if conn.ret_code == Some(ConnReturnCode::Accepted) {
        assert_eq!(
            modem.qmt_disc(0).await.expect("AT+QMTDISC"),
            vmodem_client::CloseResult::Closed
        );
        urcs.wait_for_line("+QMTSTAT: 0,5").await;
    } else {
        // The server closes after refusing.
        urcs.wait_for_line("+QMTSTAT: 0,1").await;
    }
    module.shutdown().await;
    (conn.result, conn.ret_code, verdict)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_device_secret_is_accepted() {
    within(LIMIT, async {
        let (result, code, verdict) = connect_with_secret(DEVICE_SECRET, "+QMTCONN: 0,0,0").await;
        assert!(verdict.starts_with("accepted "), "{verdict}");
        assert!(
            verdict
                .contains("client id 'clientExample|securemode=3,signmethod=hmacsha1,timestamp="),
            "{verdict}"
        );
        assert_eq!(
            (result, code),
            (PacketResult::Sent, Some(ConnReturnCode::Accepted))
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_device_secret_is_refused_with_code_4() {
    within(LIMIT, async {
        let (result, code, verdict) =
            connect_with_secret("not-the-device-secret", "+QMTCONN: 0,0,4").await;
        assert!(verdict.starts_with("refused password"), "{verdict}");
        assert_eq!(
            (result, code),
            (
                PacketResult::Sent,
                Some(ConnReturnCode::BadUserNameOrPassword)
            )
        );
    })
    .await;
}
