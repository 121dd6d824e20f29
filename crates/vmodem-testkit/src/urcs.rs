//! Waiting for URCs with bounded patience and useful failure messages.

use std::time::Duration;

use vmodem_client::{Urc, UrcSubscription};

use crate::PATIENCE;

/// A URC as the module wrote it on its line, e.g. `+QMTSTAT: 0,1`: the
/// client's own rendering ([`Urc`]'s `Display`), so tests compare against the
/// note's exact text. A `+QMTRECV` payload is escaped (`\r`, `\x00`):
/// compare payloads as bytes instead.
pub fn line(urc: &Urc) -> String {
    urc.to_string()
}

/// A view of a client's URC stream that remembers what it has seen, so a
/// failed expectation shows the whole story.
#[derive(Debug)]
pub struct Urcs {
    sub: UrcSubscription,
    seen: Vec<String>,
}

impl Urcs {
    /// Wraps a subscription (from [`vmodem_client::Client::subscribe_urcs`]).
    pub fn new(sub: UrcSubscription) -> Urcs {
        Urcs {
            sub,
            seen: Vec::new(),
        }
    }

    /// The next URC within `patience`, or `None` if none came.
    pub async fn next_within(&mut self, patience: Duration) -> Option<Urc> {
        match tokio::time::timeout(patience, self.sub.recv()).await {
            Ok(Ok(urc)) => {
                self.seen.push(line(&urc));
                Some(urc)
            }
            Ok(Err(e)) => panic!("the URC stream failed: {e}; seen so far: {:?}", self.seen),
            Err(_) => None,
        }
    }

    /// The next URC, which must come within [`PATIENCE`].
    pub async fn next(&mut self) -> Urc {
        match self.next_within(PATIENCE).await {
            Some(urc) => urc,
            None => panic!("no URC within {PATIENCE:?}; seen so far: {:?}", self.seen),
        }
    }

    /// The next URC must be exactly `expected` (as [`line`] renders it).
    pub async fn expect_next(&mut self, expected: &str) -> Urc {
        let urc = self.next().await;
        assert_eq!(
            line(&urc),
            expected,
            "unexpected URC; seen so far: {:?}",
            self.seen
        );
        urc
    }

    /// The next URCs must be exactly `expected`, in order.
    pub async fn expect_sequence(&mut self, expected: &[&str]) {
        for e in expected {
            self.expect_next(e).await;
        }
    }

    /// Skips URCs until one matches `pred` (within [`PATIENCE`]).
    pub async fn wait_for(&mut self, what: &str, mut pred: impl FnMut(&Urc) -> bool) -> Urc {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(urc) if pred(&urc) => return urc,
                Some(_) => {}
                None => panic!(
                    "waited {PATIENCE:?} for {what}; seen so far: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Skips URCs until one is exactly `expected`.
    pub async fn wait_for_line(&mut self, expected: &str) -> Urc {
        self.wait_for(expected, |u| line(u) == expected).await
    }

    /// Checks no URC arrives within `quiet`.
    pub async fn expect_none_within(&mut self, quiet: Duration) {
        if let Some(urc) = self.next_within(quiet).await {
            panic!(
                "expected no URC, got {:?}; seen so far: {:?}",
                line(&urc),
                self.seen
            );
        }
    }

    /// What this view has seen, rendered.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }
}
