//! Process start for every Lambda binary: logging, the tokio runtime and, in local mode, the
//! Runtime API relay. `main` in `functions/*` is one call to [`start`].
//!
//! The relay exists only in builds with the `local` cargo feature (`make dev` and the
//! end-to-end scripts build with `--features local`); release builds for AWS do not contain it.

#[cfg(feature = "local")]
mod relay;

use std::future::Future;

use crate::config;

/// Starts a Lambda binary: installs the JSON logger, then runs `main` on a multi-threaded
/// tokio runtime. In local mode the function reaches the emulator's Runtime API through the
/// relay (see `runtime/relay.rs` for why), when built with the `local` feature.
pub fn start<F, Fut, E>(main: F) -> Result<(), E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: From<std::io::Error>,
{
    // Before any other thread exists: the relay rewrites the process environment.
    #[cfg(feature = "local")]
    let relay = if config::local_mode() {
        relay::Relay::install()?
    } else {
        None
    };
    crate::telemetry::init();
    #[cfg(not(feature = "local"))]
    if config::local_mode() {
        tracing::warn!(
            "LOCAL_MODE is true but this build has no Runtime API relay \
             (build with --features local for cargo lambda watch)"
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            #[cfg(feature = "local")]
            if let Some(relay) = relay {
                relay.spawn()?;
            }
            main().await
        })
}
