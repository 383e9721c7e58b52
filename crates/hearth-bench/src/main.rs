//! `hearth-bench`: benchmarks of one `hearth serve` on this machine, each a
//! subcommand that prints a Markdown table on stdout and its progress on
//! stderr. What each measures and how to read it: `docs/PERFORMANCE.md`.
//!
//! - `fanout`: one thread in an open group relayed to N member servers,
//!   against the signing floor.

#[path = "../../../tests/support/receivers.rs"]
mod receivers;

mod common;
mod fanout;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Bench,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// How fast one `hearth serve` delivers a group post to N member
    /// servers (fake ones on loopback that verify every signature), and the
    /// RSA signing floor under it.
    Fanout(fanout::FanoutArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Bench::Fanout(args) => fanout::run_fanout(args).await,
    }
}
