//! The `emb` command-line tool: parse, run, and decide the exit code once.

mod cli;
mod commands;
mod input;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let arguments = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EMB_LOG")
                // symphonia logs what it tried while probing a file; emb's own error says what
                // was wrong with it.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,symphonia=off")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
    match commands::run(arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if output::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", output::error_chain(&error));
            ExitCode::FAILURE
        }
    }
}
