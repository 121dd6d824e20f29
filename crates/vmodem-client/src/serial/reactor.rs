//! The one place vmodem-client needs `unsafe`: registering the serial device
//! with tokio's reactor (tokio 1.54 made `AsyncFd::register` unsafe and
//! deprecated the safe `AsyncFd::new`, because a type could return a
//! different or closed descriptor from `as_raw_fd` later on).
#![allow(unsafe_code)]

use std::fs::File;
use std::io;

use tokio::io::unix::AsyncFd;

/// Watches `file` for readiness. Must be called inside a tokio runtime.
pub(super) fn register(file: File) -> io::Result<AsyncFd<File>> {
    // SAFETY: a `File` owns its descriptor: it stays open and names the same
    // open file description until the `File` is dropped, and `as_raw_fd`
    // always returns that one descriptor. The `AsyncFd` takes ownership of the
    // `File`, so the descriptor outlives the registration.
    unsafe { AsyncFd::register(file) }.map_err(|e| e.into_parts().1)
}
