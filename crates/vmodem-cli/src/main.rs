//! `vmodem`: a virtual Quectel LTE module on a pseudo-terminal, TCP port or
//! stdio, doing real MQTT behind its AT commands. Run `vmodem run --help`.

mod args;
mod run;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run_cli(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

fn run_cli(Cli { command }: Cli) -> Result<()> {
    match command {
        Command::Run(args) => {
            init_logging(&args.log_level)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the tokio runtime")?;
            let result = runtime.block_on(run::run(args));
            // tokio's stdin reader may sit in a blocking read(2) forever: don't wait for it.
            runtime.shutdown_background();
            result
        }
    }
}

/// Prints what went wrong, what to do, and why, without a backtrace: the
/// messages are for people running vmodem, not for debugging it.
fn report(error: &anyhow::Error) {
    eprintln!("error: {error}");
    let mut last = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        // Some sources repeat their own source's text; say it once.
        if cause != last {
            eprintln!("  because: {cause}");
        }
        last = cause;
    }
}

/// Logs to stderr. A bare level silences the built-in broker's own log:
/// rumqttd 0.20 reports every client's clean DISCONNECT as an error.
fn init_logging(level: &str) -> Result<()> {
    let bare = ["off", "error", "warn", "info", "debug", "trace"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(level));
    let directives = match bare {
        true => format!("{level},rumqttd=off"),
        false => level.to_owned(),
    };
    let filter = EnvFilter::try_new(&directives).with_context(|| {
        format!("--log-level {level}: pass error, warn, info, debug or trace, or a tracing filter")
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}
