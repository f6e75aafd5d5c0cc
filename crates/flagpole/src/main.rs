//! `flagpole`: the command line. `eval` evaluates a flag file offline; further commands
//! administer and serve flags.

mod eval;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Flagpole: feature flags and rollout control.
#[derive(Debug, Parser)]
#[command(name = "flagpole", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate the flags of a file for one context or many, offline.
    Eval(eval::EvalArgs),
    /// Run the server.
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Serve(args) => serve::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
