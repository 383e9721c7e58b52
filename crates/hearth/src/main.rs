//! The `hearth` binary: parses the command line, loads configuration, sets
//! up logging, and hands over to the command. Errors end here, as `anyhow`
//! messages on standard error and a non-zero exit code.

mod admin;
mod cli;
mod logging;
mod serve;

use std::process::ExitCode;

use clap::Parser;
use hearth_app::Config;
use hearth_app::config::Loaded;

use crate::cli::{Cli, Command, ConfigCommand};

/// mimalloc instead of the C library's allocator: allocation was about a
/// tenth of the server's CPU under inbox load, and glibc kept the memory of
/// a burst (its per-thread arenas: sqlx runs a thread per SQLite
/// connection) long after it was freed. See docs/PERFORMANCE.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // mimalloc asks for transparent huge pages: each heap touched then
    // holds 2 MiB, which more than doubled the idle footprint. Small pages
    // cost nothing measurable here.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = Cli::parse();
    let loaded = match Config::load(cli.config.as_deref(), std::env::vars()) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("hearth: {err}");
            return ExitCode::from(2);
        }
    };
    if let Command::Config {
        command: ConfigCommand::Check,
    } = cli.command
    {
        return config_check(&loaded);
    }
    if let Err(err) = logging::init(&loaded.config.log) {
        eprintln!("hearth: {err}");
        return ExitCode::from(2);
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("hearth: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve::run(loaded.config).await,
            Command::Worker => serve::worker(loaded.config).await,
            Command::Migrate => serve::migrate(loaded.config).await,
            Command::Admin { command } => admin::run(loaded.config, command).await,
            Command::Config { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hearth: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `hearth config check`: the configuration loaded (so it is valid), what
/// it came to, and any warnings.
fn config_check(loaded: &Loaded) -> ExitCode {
    for warning in &loaded.warnings {
        eprintln!("warning: {warning}");
    }
    println!("# configuration is valid; effective settings:");
    print!("{}", loaded.config.to_redacted_toml());
    ExitCode::SUCCESS
}
