//! The HTTP side: `/metrics`, `/healthz`, `/readyz` on one port.

use crate::metrics::Metrics;
use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Router};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the HTTP handlers read.
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(s): State<Arc<HttpState>>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        s.metrics.render(),
    )
}

async fn readyz(State(s): State<Arc<HttpState>>) -> impl IntoResponse {
    if s.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

/// How long a client may take to send a request's headers. Without it a
/// client that opens connections and never finishes a request keeps them
/// (and their tasks) forever.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Binds `addr` and serves until `shutdown` resolves; returns the bound
/// address (useful with port 0) and the server's join handle.
///
/// Each connection is served by hyper directly (not `axum::serve`) so that
/// it gets [`HEADER_READ_TIMEOUT`].
pub async fn serve(
    addr: SocketAddr,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = router(state);
    let handle = tokio::spawn(async move {
        tokio::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: wait, do not spin.
                        tracing::warn!(error = %e, "http accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let served = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                if let Err(e) = served {
                    tracing::debug!(error = %e, "http connection ended");
                }
            });
        }
    });
    Ok((local, handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    async fn server() -> SocketAddr {
        let state = Arc::new(HttpState {
            metrics: Arc::new(Metrics::new(false, 10)),
            ready: Arc::new(AtomicBool::new(true)),
        });
        let (addr, _handle) = serve(
            "127.0.0.1:0".parse().unwrap(),
            state,
            std::future::pending(),
        )
        .await
        .unwrap();
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_client_that_never_finishes_its_headers_is_disconnected() {
        let addr = server().await;
        let slow = tokio::task::spawn_blocking(move || {
            let mut slow = std::net::TcpStream::connect(addr).unwrap();
            slow.set_read_timeout(Some(HEADER_READ_TIMEOUT * 4))
                .unwrap();
            slow.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            let mut buf = Vec::new();
            // Closed by the server: the read ends; still open: it times out.
            slow.read_to_end(&mut buf).map(|_| buf)
        });
        // Meanwhile normal requests are served.
        let ok = tokio::task::spawn_blocking(move || {
            let mut ok = std::net::TcpStream::connect(addr).unwrap();
            ok.write_all(b"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n")
                .unwrap();
            let mut body = String::new();
            ok.read_to_string(&mut body).unwrap();
            body
        })
        .await
        .unwrap();
        assert!(ok.starts_with("HTTP/1.0 200"), "{ok}");
        let slow = slow.await.unwrap();
        assert!(
            slow.is_ok(),
            "the half-sent request's connection was still open after {:?}: {slow:?}",
            HEADER_READ_TIMEOUT * 4
        );
    }
}
