//! `AT` → `OK` round trip through a real pseudo-terminal: vmodem against a
//! bare pty peer that answers `OK` to every line with no module behind it.
//!
//! ```sh
//! cargo run --release -p vmodem-tokio --example at_latency -- [ROUND_TRIPS]
//! ```
//!
//! Both run in this process, interleaved in rounds, so a busy machine slows
//! both alike; the ratio is the figure to compare across machines. The host
//! side is a blocking reader on its own thread, timing with the OS clock.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::termios::{self, SetArg};
use vmodem_tokio::{spawn_module, ModuleOptions, PowerOn, PtyPort};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let (vmodem_path, _module) = rt.block_on(async {
        let port = PtyPort::open(None)?;
        let path = port.path().to_path_buf();
        let options = ModuleOptions {
            power_on: PowerOn::AtStart,
            ..ModuleOptions::default()
        };
        Ok::<_, Box<dyn std::error::Error>>((path, spawn_module(port, options)?))
    })?;
    let peer_path = rt.block_on(async { bare_peer() })?;

    let mut vmodem = open_raw(&vmodem_path)?;
    // Echo off, so both answer exactly "\r\nOK\r\n" to "AT\r".
    drain(&mut vmodem, Duration::from_millis(300))?;
    vmodem.write_all(b"ATE0\r")?;
    read_until_ok(&mut vmodem)?;
    let mut peer = open_raw(&peer_path)?;

    eprintln!("measuring {n} round trips each, in 10 interleaved rounds…");
    let (mut ours, mut theirs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for round in 0..10 {
        for _ in 0..n / 10 {
            ours.push(round_trip(&mut vmodem)?);
            theirs.push(round_trip(&mut peer)?);
        }
        eprint!("\r  round {}/10", round + 1);
    }
    eprintln!();
    let (o50, o99) = percentiles(&mut ours);
    let (t50, t99) = percentiles(&mut theirs);
    println!("AT -> OK round trip over a pseudo-terminal, {n} samples each");
    println!(
        "  vmodem (EC25, fast timing)        p50 {:>7.1} µs   p99 {:>7.1} µs",
        o50, o99
    );
    println!(
        "  bare pty, thread answering OK    p50 {:>7.1} µs   p99 {:>7.1} µs",
        t50, t99
    );
    println!(
        "  ratio vmodem / peer               p50 {:>7.2}x     p99 {:>7.2}x",
        o50 / t50,
        o99 / t99
    );
    Ok(())
}

/// A pty whose far side answers `\r\nOK\r\n` to every CR, and nothing else.
fn bare_peer() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let pty = nix::pty::openpty(None, None)?;
    let mut raw = termios::tcgetattr(&pty.slave)?;
    termios::cfmakeraw(&mut raw);
    termios::tcsetattr(&pty.slave, SetArg::TCSANOW, &raw)?;
    let path = nix::unistd::ttyname(&pty.slave)?;
    let mut master = File::from(pty.master);
    let slave = pty.slave;
    std::thread::spawn(move || {
        let _keep = slave;
        let mut buf = [0u8; 256];
        while let Ok(n) = master.read(&mut buf) {
            for _ in buf[..n].iter().filter(|&&b| b == b'\r') {
                if master.write_all(b"\r\nOK\r\n").is_err() {
                    return;
                }
            }
        }
    });
    Ok(path)
}

fn open_raw(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::libc::O_NOCTTY)
        .open(path)?;
    let mut raw = termios::tcgetattr(file.as_fd())?;
    termios::cfmakeraw(&mut raw);
    termios::tcsetattr(file.as_fd(), SetArg::TCSANOW, &raw)?;
    Ok(file)
}

fn round_trip(tty: &mut File) -> std::io::Result<f64> {
    let start = Instant::now();
    tty.write_all(b"AT\r")?;
    read_until_ok(tty)?;
    Ok(start.elapsed().as_secs_f64() * 1e6)
}

fn read_until_ok(tty: &mut File) -> std::io::Result<()> {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while !got.ends_with(b"OK\r\n") {
        let n = tty.read(&mut buf)?;
        got.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// Reads whatever arrives within `quiet` (the boot chain), without blocking forever.
fn drain(tty: &mut File, quiet: Duration) -> std::io::Result<()> {
    let mut raw = termios::tcgetattr(tty.as_fd())?;
    raw.control_chars[termios::SpecialCharacterIndices::VMIN as usize] = 0;
    raw.control_chars[termios::SpecialCharacterIndices::VTIME as usize] =
        (quiet.as_millis() / 100) as u8;
    termios::tcsetattr(tty.as_fd(), SetArg::TCSANOW, &raw)?;
    let mut buf = [0u8; 1024];
    while tty.read(&mut buf)? > 0 {}
    raw.control_chars[termios::SpecialCharacterIndices::VTIME as usize] = 0;
    raw.control_chars[termios::SpecialCharacterIndices::VMIN as usize] = 1;
    termios::tcsetattr(tty.as_fd(), SetArg::TCSANOW, &raw)?;
    Ok(())
}

fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}
