//! `hearth-bench`: benchmarks of one `hearth serve` on this machine, each a
//! subcommand that prints a Markdown table on stdout and its progress on
//! stderr. What each measures and how to read it: `docs/PERFORMANCE.md`.
//!
//! - `fanout`: one thread in an open group relayed to N member servers,
//!   against the signing floor;
//! - `inbox`: signed activities from remote members into a group, against
//!   Hearth and a real Lemmy;
//! - `timeline`: a group's timeline and threads with a million posts;
//! - `resume`: delivery after a SIGKILL and a restart;
//! - `far`: a busy group's stream to a member server 300 ms away;
//! - `soak`: memory under a steady mixed load for ten minutes.

#[path = "../../../tests/support/receivers.rs"]
mod receivers;

mod common;
mod fanout;
mod far;
mod inbox;
mod resume;
mod soak;
mod timeline;

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
    /// How many signed activities per second one group's inbox takes from
    /// remote members, how fast it answers, what each costs, and how far
    /// its relays to the member servers fall behind; against Hearth
    /// (SQLite, PostgreSQL) and a real Lemmy 0.19.20.
    Inbox(inbox::InboxArgs),
    /// How fast one `hearth serve` answers a group's timeline and a thread
    /// (API and web pages) with a million posts in its database, at 1, 16
    /// and 256 connections; cold start and memory beside.
    Timeline(timeline::TimelineArgs),
    /// How soon delivery resumes after the sender is killed with SIGKILL
    /// in the middle of a busy queue and started again, with what was lost
    /// or sent twice.
    Resume(resume::ResumeArgs),
    /// How many activities a second one busy group gets to a member server
    /// that takes 300 ms to answer, each post's activities in order.
    Far(far::FarArgs),
    /// Whether memory stays bounded: a steady mix of API reads and
    /// writes, signed inbox deliveries and bad requests for --secs (ten
    /// minutes), with the server's RSS sampled throughout.
    Soak(soak::SoakArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Bench::Fanout(args) => fanout::run_fanout(args).await,
        Bench::Inbox(args) => inbox::run_inbox(args).await,
        Bench::Timeline(args) => timeline::run_timeline(args).await,
        Bench::Resume(args) => resume::run_resume(args).await,
        Bench::Far(args) => far::run_far(args).await,
        Bench::Soak(args) => soak::run_soak(args).await,
    }
}
