//! `vmodem`: a virtual Quectel LTE module on a pseudo-terminal, TCP port or
//! stdio, doing real MQTT behind its AT commands. Run `vmodem run --help`.
//! `vmodem at` and `vmodem conformance` drive any module, real or virtual.

mod args;
mod at;
mod conformance;
mod ctl;
mod escape;
mod exposure;
mod fleet;
mod run;
mod scenario_file;
mod target;
mod trace_view;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run_cli(cli) {
        Ok(code) => code,
        Err(error) => {
            report(&error);
            ExitCode::FAILURE
        }
    }
}

fn run_cli(Cli { command }: Cli) -> Result<ExitCode> {
    match command {
        // These two print their own errors and choose their exit status.
        Command::At(args) => Ok(host_runtime()?.block_on(at::run(args))),
        Command::Conformance(args) => Ok(host_runtime()?.block_on(conformance::run(args))),
        Command::Fleet(args) => {
            init_logging(&args.log_level)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the tokio runtime")?;
            let result = runtime.block_on(fleet::run(args));
            runtime.shutdown_background();
            result.map(|()| ExitCode::SUCCESS)
        }
        Command::Trace(args) => trace_view::run(args),
        Command::Ctl(args) => Ok(host_runtime()?.block_on(ctl::run(args))),
        Command::Run(args) => {
            init_logging(&args.log_level)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the tokio runtime")?;
            let result = runtime.block_on(run::run(args));
            // tokio's stdin reader may sit in a blocking read(2) forever: don't wait for it.
            runtime.shutdown_background();
            result.map(|()| ExitCode::SUCCESS)
        }
    }
}

/// The runtime of the host-side commands: one thread is plenty for one serial line.
fn host_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

/// Prints what went wrong, what to do, and why, without a backtrace: the
/// messages are for people running vmodem, not for debugging it.
pub(crate) fn report(error: &anyhow::Error) {
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

/// Logs to stderr.
fn init_logging(level: &str) -> Result<()> {
    let filter = EnvFilter::try_new(level).with_context(|| {
        format!("--log-level {level}: pass error, warn, info, debug or trace, or a tracing filter")
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}
