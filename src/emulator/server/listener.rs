//! The emulator's listener: accepts connections within a bound and serves
//! each over HTTP/1.1 under timeouts, so a slow or greedy client costs one
//! connection slot for a bounded time, never the emulator's memory or its
//! other clients.
//!
//! - At most [`Limits::max_connections`] connections are served at once.
//!   Past that the listener stops accepting: further clients wait in the
//!   kernel's accept backlog (not in our memory) until a slot frees.
//! - A request's headers must arrive within [`Limits::header_timeout`],
//!   counted from when the connection is ready for a request. This is
//!   hyper's header-read timer, so it also closes a keep-alive connection
//!   left idle that long (the SDKs reconnect transparently).
//! - A request's body must arrive within [`Limits::body_timeout`] and hold
//!   at most [`Limits::max_body_bytes`]; both are checked where the body is
//!   read ([`super::read_body`]), so the refusal comes in the called
//!   service's error dialect.
//!
//! AWS clients speak HTTP/1.1 to plain-HTTP endpoints, so HTTP/2 is not
//! offered.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What one client may cost. Every bound is a flag of `ecs-bridge emulator`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest request body served. ECS's largest input, a task
    /// definition, is bounded at 64 KiB of JSON; 1 MiB leaves room for
    /// CloudWatch Logs batches (PutLogEvents: 1,048,576 bytes).
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers (and how long
    /// a keep-alive connection may sit idle).
    pub header_timeout: Duration,
    /// How long a client may take to send a request's body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// resolves, then waits for the requests in flight (idle connections close
/// at once).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    backoff_after(&err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON answers: send them now rather than wait for Nagle.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A client that goes away or times out ends its own connection;
            // there is nobody to tell.
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// After a failed accept: errors about one connection (reset before it was
/// accepted) need no pause; running out of descriptors does, or the loop
/// would spin until one frees.
async fn backoff_after(err: &io::Error) {
    use io::ErrorKind::*;
    if matches!(err.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted) {
        return;
    }
    tracing::warn!(error = %err, "accepting a connection failed; pausing");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
