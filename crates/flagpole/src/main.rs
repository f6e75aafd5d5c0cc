//! `flagpole`: the command line. `eval` evaluates a flag file offline; further commands
//! administer and serve flags.

use std::process::ExitCode;

/// mimalloc: the server's many small, short-lived allocations (request parsing, JSON
/// answers) spend a quarter of their time in glibc's malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod access;
mod change_request;
mod client;
mod eval;
mod flag;
mod listen;
mod output;
mod project;
mod proposal;
mod relay;
mod schedule;
mod serve;
mod transfer;

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
    /// Serve every SDK-facing surface from an upstream Flagpole, with no database.
    Relay(relay::RelayArgs),
    /// Import flags from a file into the database or a running server.
    Import(transfer::ImportArgs),
    /// Export flags from the database or a running server.
    Export(transfer::ExportArgs),
    /// Administer flags on a running server.
    Flag(flag::FlagArgs),
    /// Create, list and delete projects; their members, protection and approvals (offline
    /// or through a server).
    Project(project::ProjectArgs),
    /// Create, list and revoke API tokens (offline or through a server).
    Token(access::TokenArgs),
    /// Create users, set passwords, list users (offline or through a server).
    User(access::UserArgs),
    /// Schedule flag changes on a running server; list, show and cancel them.
    Schedule(schedule::ScheduleArgs),
    /// Propose flag changes for another user to approve (four eyes) on a running server.
    ChangeRequest(change_request::ChangeRequestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Relay(args) => relay::run(args),
        Command::Import(args) => transfer::import(args),
        Command::Export(args) => transfer::export(args),
        Command::Flag(args) => flag::run(args),
        Command::Project(args) => project::run(args),
        Command::Token(args) => access::token(args),
        Command::User(args) => access::user(args),
        Command::Schedule(args) => schedule::run(args),
        Command::ChangeRequest(args) => change_request::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`flagpole eval … | head`): nothing more to say.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether an error comes from writing to a closed pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
