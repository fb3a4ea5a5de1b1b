//! SIGTERM and SIGINT start a clean shutdown, as in Redis.

use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use super::Server;

pub fn install(server: Arc<Server>) {
    tokio::spawn(async move {
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("can't install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("Received SIGTERM scheduling shutdown..."),
            _ = int.recv() => tracing::info!("Received SIGINT scheduling shutdown..."),
        }
        server.request_shutdown();
    });
}
