//! Waiting for the signals that end dev mode: Ctrl-C (SIGINT) and SIGTERM.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Handlers installed up front, so that a signal arriving before anyone waits is kept.
pub struct Shutdown {
    interrupt: Signal,
    terminate: Signal,
}

impl Shutdown {
    pub fn listen() -> std::io::Result<Shutdown> {
        Ok(Shutdown { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    /// Resolves when either signal arrives; names the signal.
    pub async fn received(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "Ctrl-C",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}
