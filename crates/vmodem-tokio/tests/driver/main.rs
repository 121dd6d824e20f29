//! The driver with real parts: pseudo-terminals, loopback TCP, the built-in broker and
//! the real core. These tests prove wiring; the core's own tests prove logic.

#[path = "../support/mod.rs"]
mod support;

mod broker;
mod pty;
mod tcp;
