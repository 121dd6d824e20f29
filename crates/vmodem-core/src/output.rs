//! Bytes on their way to the host: the module's one output buffer, and the
//! responses built before they join it.
//!
//! The driver pulls from the buffer as its serial line takes bytes
//! ([`Modem::host_output`](crate::Modem::host_output) and
//! [`Modem::consume_host_output`](crate::Modem::consume_host_output)), in the
//! spirit of quinn-proto's `poll_transmit`: nothing is handed over that the
//! line has not taken, so the core always knows how far behind the host is,
//! and nothing is ever dropped.
//!
//! Text (echo, responses, URCs) is appended in place. A file body that
//! `AT+QFDWL` writes is spliced in as a shared [`Bytes`] instead of being
//! copied: the file system holds those bytes already, so a download costs no
//! memory however large the file, and the host takes it at its own pace.

use std::collections::VecDeque;

use bytes::{Buf, Bytes};

/// Capacity the text buffer may keep once everything in it was taken; more is
/// released, so thousands of idle modules hold little.
const IDLE_CAPACITY: usize = 1024;

/// Bytes waiting for the host, oldest first.
#[derive(Clone, Debug, Default)]
pub(crate) struct HostOutput {
    /// Segments older than `tail`, oldest first; none is empty.
    sealed: VecDeque<Bytes>,
    /// Bytes in `sealed`.
    sealed_len: usize,
    /// The newest text, appended in place.
    tail: Vec<u8>,
    /// How much of `tail` was taken already; always 0 while `sealed` is not empty.
    head: usize,
}

impl HostOutput {
    pub(crate) fn new() -> HostOutput {
        HostOutput::default()
    }

    /// Bytes waiting, in total.
    pub(crate) fn len(&self) -> usize {
        self.sealed_len + self.tail.len() - self.head
    }

    /// Appends one byte.
    pub(crate) fn push(&mut self, b: u8) {
        self.tail.push(b);
    }

    /// Appends bytes (copied).
    pub(crate) fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.tail.extend_from_slice(bytes);
    }

    /// The text buffer to append to, for the framing functions of `vmodem-at`.
    /// Only ever append to it.
    pub(crate) fn text(&mut self) -> &mut Vec<u8> {
        &mut self.tail
    }

    /// Appends shared bytes without copying them.
    pub(crate) fn push_shared(&mut self, bytes: Bytes) {
        if bytes.is_empty() {
            return;
        }
        self.seal_tail();
        self.sealed_len += bytes.len();
        self.sealed.push_back(bytes);
    }

    /// Appends everything `other` holds, in order.
    pub(crate) fn append(&mut self, mut other: HostOutput) {
        if other.sealed.is_empty() {
            self.tail.extend_from_slice(&other.tail[other.head..]);
            return;
        }
        while let Some(segment) = other.sealed.pop_front() {
            self.push_shared(segment);
        }
        self.tail.extend_from_slice(&other.tail);
    }

    /// Removes the last `n` bytes of text (the separator before a result code
    /// glued to its line); never reaches into shared bytes or taken ones.
    pub(crate) fn truncate_text(&mut self, n: usize) {
        let keep = self.tail.len().saturating_sub(n).max(self.head);
        self.tail.truncate(keep);
    }

    /// The oldest bytes waiting, as one contiguous slice (not necessarily all
    /// of them); empty when nothing waits.
    pub(crate) fn front(&self) -> &[u8] {
        match self.sealed.front() {
            Some(segment) => segment,
            None => &self.tail[self.head..],
        }
    }

    /// Forgets the first `n` bytes, which the host took (at most what waits).
    pub(crate) fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.sealed.front_mut() else {
                break;
            };
            let step = n.min(front.len());
            front.advance(step);
            self.sealed_len -= step;
            n -= step;
            if front.is_empty() {
                self.sealed.pop_front();
            }
        }
        self.head = (self.head + n).min(self.tail.len());
        if self.head == self.tail.len() {
            self.tail.clear();
            self.head = 0;
            if self.tail.capacity() > IDLE_CAPACITY {
                self.tail = Vec::new();
            }
        } else if self.head >= IDLE_CAPACITY && self.head * 2 >= self.tail.len() {
            // Most of the text was taken while more kept coming: drop the
            // taken part, so a slow host cannot make it grow without bound.
            self.tail.drain(..self.head);
            self.head = 0;
        }
        if self.sealed.is_empty() && self.sealed.capacity() > 4 {
            self.sealed = VecDeque::new();
        }
    }

    /// Bytes held as text of this buffer's own (copied in), as opposed to
    /// shared segments.
    #[cfg(test)]
    pub(crate) fn copied_len(&self) -> usize {
        self.tail.len()
            + self
                .sealed
                .iter()
                .filter(|s| s.len() < 4096)
                .map(Bytes::len)
                .sum::<usize>()
    }

    /// Forgets everything waiting.
    #[cfg(test)]
    pub(crate) fn clear(&mut self) {
        *self = HostOutput::default();
    }

    /// Moves the text into a sealed segment (no copy), so shared bytes can follow it.
    fn seal_tail(&mut self) {
        if self.tail.len() == self.head {
            self.tail.clear();
            self.head = 0;
            return;
        }
        let mut text = Bytes::from(std::mem::take(&mut self.tail));
        text.advance(self.head);
        self.head = 0;
        self.sealed_len += text.len();
        self.sealed.push_back(text);
    }
}

impl From<Vec<u8>> for HostOutput {
    fn from(tail: Vec<u8>) -> Self {
        HostOutput {
            tail,
            ..HostOutput::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes everything, `step` bytes at a time at most.
    fn drain(out: &mut HostOutput, step: usize) -> Vec<u8> {
        let mut got = Vec::new();
        while out.len() > 0 {
            let front = out.front();
            assert!(!front.is_empty(), "a non-empty buffer shows bytes");
            let n = front.len().min(step);
            got.extend_from_slice(&front[..n]);
            out.consume(n);
        }
        got
    }

    #[test]
    fn text_and_shared_bytes_come_out_in_order_in_any_step() {
        for step in [1, 3, 7, 1000] {
            let mut out = HostOutput::new();
            out.extend_from_slice(b"\r\nCONNECT\r\n");
            out.push_shared(Bytes::from_static(b"file body"));
            out.text().extend_from_slice(b"\r\n+QFDWL: 9,0\r\n");
            let mut later = HostOutput::from(b"\r\nOK".to_vec());
            later.push(b'\r');
            later.push_shared(Bytes::from_static(b"\n"));
            out.append(later);
            assert_eq!(out.len(), 41);
            assert_eq!(
                drain(&mut out, step),
                b"\r\nCONNECT\r\nfile body\r\n+QFDWL: 9,0\r\n\r\nOK\r\n"
            );
            assert_eq!(out.len(), 0);
            assert_eq!(out.front(), b"");
        }
    }

    #[test]
    fn shared_bytes_after_partly_taken_text_keep_the_order() {
        let mut out = HostOutput::from(b"abcdef".to_vec());
        out.consume(2);
        out.push_shared(Bytes::from_static(b"XY"));
        out.push(b'g');
        assert_eq!(drain(&mut out, 100), b"cdefXYg");
    }

    #[test]
    fn a_slow_host_does_not_let_taken_text_pile_up() {
        let mut out = HostOutput::new();
        for _ in 0..10_000 {
            out.extend_from_slice(&[b'x'; 100]);
            // The host takes a little less than comes: the backlog grows, but
            // what it took is not kept much longer than what still waits.
            out.consume(99);
            assert!(
                out.head <= IDLE_CAPACITY.max(out.len()) + 100,
                "{}",
                out.head
            );
        }
        assert_eq!(out.len(), 10_000);
        assert_eq!(drain(&mut out, 4096), vec![b'x'; 10_000]);
        assert!(out.tail.capacity() <= IDLE_CAPACITY);
    }

    #[test]
    fn truncate_text_never_reaches_taken_bytes() {
        let mut out = HostOutput::from(b"abc".to_vec());
        out.consume(2);
        out.truncate_text(2);
        assert_eq!(drain(&mut out, 10), b"");
        let mut out = HostOutput::from(b"line\r\n".to_vec());
        out.truncate_text(2);
        assert_eq!(drain(&mut out, 10), b"line");
    }

    #[test]
    fn consuming_more_than_waits_empties_the_buffer() {
        let mut out = HostOutput::from(b"ab".to_vec());
        out.push_shared(Bytes::from_static(b"cd"));
        out.consume(10);
        assert_eq!(out.len(), 0);
        out.clear();
        assert_eq!(out.len(), 0);
    }
}
