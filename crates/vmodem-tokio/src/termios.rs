//! Raw mode for the terminals a host port owns.
//!
//! A serial line carries bytes, not lines: without raw mode the kernel's line
//! discipline turns the host's CR into LF, buffers until Enter and echoes on
//! its own, and the module would see none of the bytes a real UART delivers.

use std::os::fd::AsFd;

use nix::sys::termios::{self, LocalFlags, OutputFlags, SetArg, Termios};

/// Who is at the other end of the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Raw {
    /// A program (the pty a client opens): every byte passes untouched.
    Line,
    /// A person at a keyboard (stdio on a terminal): keys reach the module as
    /// typed (Enter is CR, no local echo), while Ctrl-C still stops vmodem and
    /// log lines on the same terminal still start at the left margin.
    Keyboard,
}

/// Puts the terminal on `fd` in raw mode and returns the settings it had.
pub(crate) fn make_raw(fd: impl AsFd, raw: Raw) -> nix::Result<Termios> {
    let before = termios::tcgetattr(&fd)?;
    let mut settings = before.clone();
    termios::cfmakeraw(&mut settings);
    if raw == Raw::Keyboard {
        settings.local_flags |= LocalFlags::ISIG;
        settings.output_flags |= OutputFlags::OPOST | OutputFlags::ONLCR;
    }
    termios::tcsetattr(&fd, SetArg::TCSANOW, &settings)?;
    Ok(before)
}

/// Turns local echo off again if someone turned it on; says whether it had to.
pub(crate) fn keep_echo_off(fd: impl AsFd) -> nix::Result<bool> {
    let mut settings = termios::tcgetattr(&fd)?;
    let echo = LocalFlags::ECHO | LocalFlags::ECHONL;
    if !settings.local_flags.intersects(echo) {
        return Ok(false);
    }
    settings.local_flags.remove(echo);
    termios::tcsetattr(&fd, SetArg::TCSANOW, &settings)?;
    Ok(true)
}

/// Puts back settings saved by [`make_raw`].
pub(crate) fn restore(fd: impl AsFd, saved: &Termios) -> nix::Result<()> {
    termios::tcsetattr(&fd, SetArg::TCSANOW, saved)
}
