//! One HTTP/1.1 request written by hand over a `TcpStream`, for the control
//! API tests: no client crate between the test and the server, so the test
//! sees the status line, headers and body exactly as any client gets them.

use std::borrow::Borrow;
use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::PATIENCE;

/// One HTTP answer, read to the end of the connection (`Connection: close`).
#[derive(Debug)]
pub struct HttpAnswer {
    /// The status code, e.g. 200.
    pub status: u16,
    /// The status line and the headers, without the blank line after them.
    pub head: String,
    /// The body as sent (the control API never chunks; see [`http`]).
    pub body: String,
}

impl HttpAnswer {
    /// The body as JSON; panics, showing the body, if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `"error"` string of a JSON error body; panics if there is none.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no \"error\" in {:?}", self.body))
            .to_owned()
    }

    /// The value of header `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends one request with `Connection: close`, the extra `headers` (whole
/// lines, e.g. `"Authorization: Bearer x"`) and `body`, and reads the whole
/// answer within [`PATIENCE`]. Panics on a chunked answer: the API sends
/// `Content-Length` bodies, and a test reading raw bytes must not see chunks.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> HttpAnswer {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect to the control API at {addr}: {e}"));
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    if !body.is_empty() || method == "POST" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the request");
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .unwrap_or_else(|_| panic!("{method} {path}: no whole answer within {PATIENCE:?}"))
        .expect("read the answer");
    let text = String::from_utf8(raw).expect("a UTF-8 answer");
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {head:?}"));
    let answer = HttpAnswer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    };
    assert_ne!(
        answer.header("transfer-encoding"),
        Some("chunked"),
        "a chunked answer: {head}"
    );
    answer
}

/// `GET path`.
pub async fn http_get(addr: SocketAddr, path: &str) -> HttpAnswer {
    http(addr, "GET", path, &[], "").await
}

/// `POST path` with a JSON body.
pub async fn http_post(addr: SocketAddr, path: &str, body: impl Borrow<Value>) -> HttpAnswer {
    let body = body.borrow().to_string();
    http(
        addr,
        "POST",
        path,
        &["Content-Type: application/json"],
        &body,
    )
    .await
}

/// `DELETE path`.
pub async fn http_delete(addr: SocketAddr, path: &str) -> HttpAnswer {
    http(addr, "DELETE", path, &[], "").await
}
