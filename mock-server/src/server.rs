//! The HTTP server: a router for in-process use, and an accept loop that records raw header
//! names per connection and shuts down gracefully.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::admin;
use crate::admin::guard::Bound;
use crate::conn::Breakable;
use crate::handle;
use crate::mock::Mock;
use crate::rawhead;
use crate::spec::ADMIN_PREFIX;

/// How long in-flight requests get to finish once shutdown starts.
const DRAIN: Duration = Duration::from_secs(10);

/// The mock as an axum router (every vendor route; a wrong method gets the vendor's `405`, an
/// unknown path under a vendor's path prefix its `404`, any other path the mock's own `404`;
/// `GET /` lists the routes), with the admin API and dashboard under `/__admin`. Serve it with [`run`] to get exact
/// header-name case; in-process (`oneshot`) requests are treated as if their header case were
/// unknown.
pub fn app(mock: Arc<Mock>) -> Router {
    Router::new()
        .route(ADMIN_PREFIX, any(admin::handle))
        .route(&format!("{ADMIN_PREFIX}/"), any(admin::handle))
        .route(&format!("{ADMIN_PREFIX}/{{*rest}}"), any(admin::handle))
        .fallback(handle::handle)
        .with_state(mock)
}

/// Serves `mock` on `listener` (HTTP/1.1 and h2c) until `shutdown` completes, then lets
/// in-flight requests finish (up to 10 s).
pub async fn run(listener: TcpListener, mock: Arc<Mock>, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let router = app(Arc::clone(&mock));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(mock.config.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let bound = Bound(listener.local_addr()?);
    let mut accept_errors = AcceptErrors::default();
    loop {
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning, and
                    // log at most once a second (issue 13: it was every 20 ms).
                    accept_errors.failed(&e);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let (breakable, control) = Breakable::new(tcp, mock.config.idle_timeout);
        let (stream, heads) = rawhead::record(breakable);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(heads.clone());
            request.extensions_mut().insert(Arc::clone(&control));
            request.extensions_mut().insert(bound);
            router.clone().oneshot(request.map(Body::new))
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("in-flight requests did not finish within {DRAIN:?}");
    }
    Ok(())
}

/// Accept errors, logged at most once a second with how many were not.
#[derive(Debug, Default)]
struct AcceptErrors {
    last_logged: Option<std::time::Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    const EVERY: Duration = Duration::from_secs(1);

    fn failed(&mut self, error: &std::io::Error) {
        let now = std::time::Instant::now();
        if self.last_logged.is_some_and(|at| now.duration_since(at) < Self::EVERY) {
            self.unlogged += 1;
            return;
        }
        tracing::warn!(error = %error, also_failed_since_last_warning = self.unlogged, "accept failed");
        self.last_logged = Some(now);
        self.unlogged = 0;
    }
}
