//! Process start for every Lambda binary: logging, the tokio runtime and, in local mode, the
//! Runtime API relay. `main` in `functions/*` is one call to [`start`].

mod relay;

use std::future::Future;

use crate::config;

/// Starts a Lambda binary: installs the JSON logger, then runs `main` on a multi-threaded
/// tokio runtime. In local mode the function reaches the emulator's Runtime API through
/// [`relay`] (see there why).
pub fn start<F, Fut, E>(main: F) -> Result<(), E>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: From<std::io::Error>,
{
    // Before any other thread exists: the relay rewrites the process environment.
    let relay = if config::local_mode() {
        relay::Relay::install()?
    } else {
        None
    };
    crate::telemetry::init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            if let Some(relay) = relay {
                relay.spawn()?;
            }
            main().await
        })
}
