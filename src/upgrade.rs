//! The websocket handshake, ours: the connection's TCP stream goes to the live page
//! (`collab::socket`), which writes its frames straight into it. Reading stays with tungstenite
//! (strict decoding, size limits, pings answered).
use std::future::Future;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode, Version},
    response::{IntoResponse, Response},
};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{handshake::derive_accept_key, protocol::WebSocketConfig};

use crate::{collab::socket::Socket, write_deadline::WriteDeadline};

/// A websocket handshake (HTTP/1.1 `Upgrade: websocket`), checked; answered by `accept`.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Why a request is not a websocket handshake Ruche can take.
#[derive(Debug)]
pub struct NotWebsocket(&'static str);

impl IntoResponse for NotWebsocket {
    fn into_response(self) -> Response {
        let status = if self.0 == VERSION_13 {
            StatusCode::UPGRADE_REQUIRED
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut response = (status, self.0).into_response();
        if status == StatusCode::UPGRADE_REQUIRED {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        }
        response
    }
}

const VERSION_13: &str = "this address takes websocket version 13 only";

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotWebsocket;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let refuse = |why| Err(NotWebsocket(why));
        if parts.version != Version::HTTP_11 || parts.method != Method::GET {
            return refuse("this address takes a websocket (HTTP/1.1 GET with Upgrade)");
        }
        if !has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return refuse(
                "this address takes a websocket (Connection: Upgrade, Upgrade: websocket)",
            );
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
            return refuse(VERSION_13);
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
            return refuse("the websocket key is missing");
        };
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return refuse("this connection cannot be upgraded");
        };
        Ok(Self { key, on_upgrade })
    }
}

/// Whether a comma-separated header holds `token` (any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

impl Upgrade {
    /// Answers the handshake (101) and, once the connection is switched, runs `serve` on it.
    pub fn accept<F, Fut>(self, config: WebSocketConfig, serve: F) -> Response
    where
        F: FnOnce(Socket) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let Self { key, on_upgrade } = self;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(err) => {
                    tracing::debug!(error = %err, "a websocket upgrade failed");
                    return;
                }
            };
            // The listener serves HTTP/1.1 on plain TCP streams (see `listener`), whose writes
            // give up on a client that reads nothing; a websocket keeps its own watch on slow
            // readers, and takes the stream itself.
            let Ok(parts) = upgraded.downcast::<TokioIo<WriteDeadline<TcpStream>>>() else {
                tracing::error!("a websocket upgraded on something else than a TCP stream");
                return;
            };
            let hyper::upgrade::Parts { io, read_buf, .. } = parts;
            // What the client sent right after its request, copied: the buffer of the request
            // (kilobytes) is not kept for the connection's life.
            let early = read_buf.to_vec();
            drop(read_buf);
            let socket = Socket::over(io.into_inner().into_inner(), early, config).await;
            // A task of its own: what the upgrade needed is not kept for the connection's life.
            tokio::spawn(serve(socket));
        });
        let accept = derive_accept_key(key.as_bytes());
        (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (
                    header::SEC_WEBSOCKET_ACCEPT,
                    HeaderValue::from_str(&accept).expect("base64 is a header value"),
                ),
            ],
        )
            .into_response()
    }
}
