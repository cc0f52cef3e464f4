//! The `admin` Lambda: builds the app once per cold start and serves the axum router.

use std::sync::Arc;

fn main() -> Result<(), lambda_http::Error> {
    switchboard::runtime::start(|| async {
        let app =
            Arc::new(switchboard::app::App::from_env(switchboard::config::Function::Admin).await?);
        lambda_http::run(switchboard::transport::admin::router(app)).await
    })
}
