//! Log set-up: tracing to standard error, as text or JSON.

use std::io::IsTerminal;

use hearth_app::config::{LogConfig, LogFormat};
use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `RUST_LOG`, when set, wins over the
/// configured filter.
pub fn init(config: &LogConfig) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.is_empty() => EnvFilter::try_new(&value)
            .map_err(|e| format!("RUST_LOG: invalid filter '{value}': {e}"))?,
        _ => EnvFilter::try_new(&config.filter).map_err(|e| {
            format!(
                "config key `log.filter`: invalid filter '{}': {e}",
                config.filter
            )
        })?,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let result = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| format!("cannot set up logging: {e}"))
}
