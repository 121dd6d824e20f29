//! The bounded queue between a module and a host that may not be reading.
//!
//! The module must never wait for its host: a real UART with nobody listening
//! keeps transmitting into the void. So output the host port cannot take at
//! once waits here, up to [`OUT_QUEUE_LIMIT`] bytes, and what does not fit is
//! dropped with one warning per episode (an episode ends when the host has read
//! everything queued).

use std::collections::VecDeque;

use tracing::{info, warn};

/// The most module output kept for a host that is not reading (64 KiB).
pub(crate) const OUT_QUEUE_LIMIT: usize = 64 * 1024;

/// Capacity kept after the queue drains, so thousands of idle modules stay small.
const IDLE_CAPACITY: usize = 4 * 1024;

/// Module output waiting for the host port.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    bytes: VecDeque<u8>,
    /// Bytes dropped in the current overflow episode.
    dropped: u64,
}

impl OutQueue {
    /// Queues `data`, dropping whatever does not fit under the limit.
    pub(crate) fn push(&mut self, data: &[u8]) {
        let room = OUT_QUEUE_LIMIT - self.bytes.len();
        let (kept, lost) = data.split_at(data.len().min(room));
        self.bytes.extend(kept);
        if !lost.is_empty() {
            if self.dropped == 0 {
                warn!(
                    limit = OUT_QUEUE_LIMIT,
                    "the host is not reading the serial line; dropping module output \
                     beyond {OUT_QUEUE_LIMIT} queued bytes, as a UART with nobody listening would"
                );
            }
            self.dropped += lost.len() as u64;
        }
    }

    /// The oldest queued bytes, as one contiguous slice (empty if nothing is queued).
    pub(crate) fn front(&self) -> &[u8] {
        self.bytes.as_slices().0
    }

    /// Forgets the first `n` bytes, which the host port has taken.
    pub(crate) fn consume(&mut self, n: usize) {
        self.bytes.drain(..n.min(self.bytes.len()));
        if self.bytes.is_empty() {
            self.end_episode();
        }
    }

    /// Forgets everything queued: the host it was meant for has gone.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.end_episode();
    }

    /// Whether nothing is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn end_episode(&mut self) {
        if self.dropped > 0 {
            info!(
                dropped = self.dropped,
                "the host caught up; module output was lost meanwhile"
            );
            self.dropped = 0;
        }
        self.bytes.shrink_to(IDLE_CAPACITY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_output_up_to_the_limit_and_drops_the_rest() {
        let mut q = OutQueue::default();
        q.push(&vec![b'a'; OUT_QUEUE_LIMIT - 2]);
        q.push(b"bcde");
        assert_eq!(q.bytes.len(), OUT_QUEUE_LIMIT);
        assert_eq!(q.dropped, 2);
        let mut seen = Vec::new();
        while !q.is_empty() {
            let n = q.front().len().min(1000);
            seen.extend_from_slice(&q.front()[..n]);
            q.consume(n);
        }
        assert_eq!(&seen[seen.len() - 3..], b"abc");
        assert_eq!(q.dropped, 0, "draining ends the overflow episode");
        q.push(b"next");
        assert_eq!(q.front(), b"next");
    }

    #[test]
    fn clear_forgets_everything() {
        let mut q = OutQueue::default();
        q.push(b"for the old host");
        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.front(), b"");
    }
}
