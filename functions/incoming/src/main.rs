//! The `incoming` Lambda: builds the app once per cold start (loading the
//! deployment key of incoming-key digests) and serves the axum router.

use std::sync::Arc;

fn main() -> Result<(), lambda_http::Error> {
    switchboard::runtime::start(|| async {
        let app = Arc::new(
            switchboard::app::App::from_env(switchboard::config::Function::Incoming).await?,
        );
        app.incoming().warm().await;
        lambda_http::run(switchboard::transport::incoming::router(app)).await
    })
}
