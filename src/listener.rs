//! Accepting connections: a connection must send its request headers within a deadline (also
//! between requests on a kept-alive connection), one address may hold only so many connections,
//! websocket handshakes take turns, and on shutdown the requests under way finish.
//! (`axum::serve` sets none of these: 1 100 connections that sent nothing stayed open and made
//! every request fail with "too many open files".) HTTP/1.1 on plain TCP, what browsers and
//! reverse proxies speak to an application: a websocket then owns its TCP stream
//! (`collab::socket`).
use std::{
    collections::HashMap,
    future::Future,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, service::service_fn, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use crate::write_deadline::WriteDeadline;

/// How long requests under way may take to finish once the server is asked to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Websocket handshakes handled at once; the others wait their turn, holding only their
/// connection and request headers. A handshake mostly waits for the database (who is asking,
/// the page, its access): when thousands arrived together, each one in the router held
/// ≈ 50 KiB (middleware, handler and query futures), and what they left behind fragmented the
/// memory of the connections that stayed (benches/compare.sh, workload c). 32 keep the
/// database busy.
const HANDSHAKES_AT_ONCE: usize = 32;

/// What a connection buffers, each way: a request's headers must fit (browsers send a few
/// KiB), and an answer waiting on a slow reader holds no more than this besides the piece of
/// file being sent (hyper's default, ≈ 400 KiB, made 100 stalled downloads hold 42 MiB).
const CONNECTION_BUFFER: usize = 64 * 1024;

/// Open connections per client address.
#[derive(Clone, Default)]
pub(crate) struct ConnectionCounts {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection, counted for its address until dropped.
pub(crate) struct Counted {
    counts: ConnectionCounts,
    addr: IpAddr,
}

impl ConnectionCounts {
    /// Counts a connection from `addr`, unless it already holds `max` (0: no limit).
    pub fn admit(&self, addr: IpAddr, max: usize) -> Option<Counted> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(addr).or_default();
        if max > 0 && *n >= max {
            return None;
        }
        *n += 1;
        Some(Counted { counts: self.clone(), addr })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut counts = self.counts.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.addr);
            }
        }
    }
}

/// What the accept loop needs to know.
pub struct Limits {
    /// Connections one address may hold (0: no limit); addresses of trusted proxies have none.
    pub per_address: usize,
    /// How long a client has to send a request's headers, and how long a kept-alive connection
    /// may wait for its next request (browsers open a new one when theirs was closed).
    pub header_timeout: Duration,
    /// How long a write may wait for a client that reads nothing before the connection ends.
    pub write_timeout: Duration,
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Lets the process hold as many open files (connections) as the system allows it.
pub(crate) fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(err) => tracing::warn!(error = %err, "could not raise the open files limit"),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests under way
/// finish (for a while).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(CONNECTION_BUFFER);
    // Told to stop: each connection finishes the request under way, then closes.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let connections = TaskTracker::new();
    let counts = ConnectionCounts::default();
    let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_AT_ONCE));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let trusted = limits.trusted_proxies.iter().any(|net| net.contains(&peer.ip()));
        let max = if trusted { 0 } else { limits.per_address };
        let Some(counted) = counts.admit(peer.ip(), max) else {
            tracing::debug!(peer = %peer.ip(), "connection refused: too many from this address");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Each request is told its peer's address on its way in. (Layering the router per
        // connection instead rebuilt every route: ~190 KiB and ~1.5 ms of CPU per connection,
        // held as long as it was open — 2.2 GiB for 10 000 websockets, benches/compare.sh (c).)
        let (router, handshakes) = (router.clone(), handshakes.clone());
        let service = service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let (router, handshakes) = (router.clone(), handshakes.clone());
            async move {
                let _turn = if is_websocket_handshake(&request) {
                    Some(handshakes.acquire_owned().await)
                } else {
                    None
                };
                tower::ServiceExt::oneshot(router, request).await
            }
        });
        let stream = WriteDeadline::new(stream, limits.write_timeout);
        let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let mut stopping = stopping.clone();
        connections.spawn(async move {
            let _counted = counted;
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(err) = ended {
                tracing::debug!(error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    connections.close();
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.wait()).await.is_err() {
        tracing::warn!("some requests were still under way after {SHUTDOWN_GRACE:?}");
    }
    Ok(())
}

/// A GET asking for a websocket: nothing of its body is ever read, so its turn cannot be held
/// by a client that stops sending (a POST that claims an upgrade waits for no turn).
fn is_websocket_handshake<B>(request: &Request<B>) -> bool {
    request.method() == hyper::Method::GET
        && request
            .headers()
            .get(hyper::header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_of_connections() {
        let counts = ConnectionCounts::default();
        let addr: IpAddr = [203, 0, 113, 1].into();
        let first = counts.admit(addr, 2).expect("first");
        let _second = counts.admit(addr, 2).expect("second");
        assert!(counts.admit(addr, 2).is_none());
        assert!(counts.admit([203, 0, 113, 2].into(), 2).is_some(), "others unaffected");
        drop(first);
        assert!(counts.admit(addr, 2).is_some(), "a closed connection frees its place");
        assert!(counts.admit(addr, 0).is_some(), "0: no limit");
    }

    #[test]
    fn only_a_get_asking_for_a_websocket_waits_for_a_turn() {
        let request = |method: &str, upgrade: Option<&str>| {
            let mut r = Request::builder().method(method).uri("/ws/chantier-3/cartographie");
            if let Some(upgrade) = upgrade {
                r = r.header(hyper::header::UPGRADE, upgrade);
            }
            r.body(()).expect("request")
        };
        assert!(is_websocket_handshake(&request("GET", Some("websocket"))));
        assert!(is_websocket_handshake(&request("GET", Some("h2c, WebSocket"))));
        assert!(!is_websocket_handshake(&request("POST", Some("websocket"))));
        assert!(!is_websocket_handshake(&request("GET", Some("h2c"))));
        assert!(!is_websocket_handshake(&request("GET", None)));
    }
}
