//! The websocket adapter: frames in, frames out, around a live document. Access has been decided
//! before this runs (at the upgrade).
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::{
    live::{CLOSE_ERROR, CLOSE_INVALID, CLOSE_POLICY},
    protocol, Command, DocId, Hub, Outgoing,
};

/// Frames written with one flush, at most.
const WRITE_BATCH: usize = 64;

/// The close code of a connection dropped for falling behind ("try again later").
pub const CLOSE_SLOW: u16 = 1013;

/// Pings keep proxies from closing quiet connections and reveal dead peers.
const PING_EVERY: Duration = Duration::from_secs(30);
/// A peer silent for this long (not even a pong) is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// Who is connecting and what they may do.
#[derive(Debug, Clone)]
pub struct Peer {
    pub can_write: bool,
    pub author: Option<i64>,
    /// The name others see in this connection's presence (`None`: an anonymous reader, shown
    /// with `anonymous_name`).
    pub name: Option<String>,
    pub anonymous_name: String,
}

pub async fn serve(socket: WebSocket, hub: Hub, doc: DocId, peer: Peer) {
    let conn = hub.new_conn_id();
    let (outbox, mut outgoing) = mpsc::channel::<Outgoing>(hub.settings().outbox_capacity);
    let (mut sink, mut stream) = socket.split();
    // Cancelled by the document when this connection cannot keep up.
    let dropped = tokio_util::sync::CancellationToken::new();
    let kicked = dropped.clone();

    // The writer: everything the document sends, plus pings; ends with a close frame.
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                // Dropped for being too slow: closed at once, with the reason.
                biased;
                _ = kicked.cancelled() => {
                    let reason = Utf8Bytes::from_static("too slow to keep up; reconnect");
                    let _ = sink.send(WsMessage::Close(Some(CloseFrame { code: CLOSE_SLOW, reason }))).await;
                    break;
                }
                next = outgoing.recv() => match next {
                    Some(Outgoing::Frame(bytes)) => {
                        // Everything waiting goes out with one flush (many frames, one write).
                        let mut ok = sink.feed(WsMessage::Binary(bytes)).await.is_ok();
                        let mut closing = None;
                        let mut fed = 1;
                        while ok && fed < WRITE_BATCH {
                            match outgoing.try_recv() {
                                Ok(Outgoing::Frame(more)) => {
                                    ok = sink.feed(WsMessage::Binary(more)).await.is_ok();
                                    fed += 1;
                                }
                                Ok(Outgoing::Close(code, reason)) => {
                                    closing = Some(CloseFrame { code, reason: Utf8Bytes::from(reason) });
                                    break;
                                }
                                Err(_) => break,
                            }
                        }
                        if let Some(frame) = closing {
                            let _ = sink.feed(WsMessage::Close(Some(frame))).await;
                            let _ = sink.flush().await;
                            break;
                        }
                        if !ok || sink.flush().await.is_err() {
                            break;
                        }
                    }
                    Some(Outgoing::Close(code, reason)) => {
                        let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
                        let _ = sink.send(WsMessage::Close(Some(frame))).await;
                        break;
                    }
                    None => {
                        let _ = sink.send(WsMessage::Close(None)).await;
                        break;
                    }
                },
                _ = ping.tick() => {
                    if sink.send(WsMessage::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    });

    let joined = hub
        .send(
            doc,
            Command::Join {
                conn,
                outbox: outbox.clone(),
                dropped: dropped.clone(),
                can_write: peer.can_write,
                author: peer.author,
                who: match (peer.author, &peer.name) {
                    (Some(id), Some(name)) => super::presence::Identity::person(id, name),
                    _ => super::presence::Identity::anonymous(conn, &peer.anonymous_name),
                },
            },
        )
        .await;
    if joined.is_err() {
        let _ = outbox
            .send(Outgoing::Close(CLOSE_ERROR, "the page could not be opened; reconnect".into()))
            .await;
        drop(outbox);
        let _ = writer.await;
        return;
    }

    // The reader: decode strictly; a bad frame closes this connection only. A client sending
    // faster than allowed is slowed (its frames wait, so TCP pushes back), then closed.
    let mut budget = Budget::new(hub.settings().max_messages_per_second);
    let grace = hub.settings().flood_grace;
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout(SILENCE_LIMIT, stream.next()) => next,
            // Dropped by the document: what this client sends would be ignored; stop reading.
            _ = dropped.cancelled() => break,
        };
        let next = match next {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(err))) => {
                let _ = outbox.send(Outgoing::Close(1009, close_reason(err).into())).await;
                break;
            }
            Ok(None) => break,
            Err(_) => break, // silent too long
        };
        match next {
            WsMessage::Binary(bytes) => {
                match budget.take(grace) {
                    Pace::Go => {}
                    Pace::Wait(delay) => tokio::time::sleep(delay).await,
                    Pace::Stop => {
                        tracing::info!(doc = doc.0, conn, "a client kept flooding; closing");
                        let _ = outbox
                            .send(Outgoing::Close(CLOSE_POLICY, "too many messages".into()))
                            .await;
                        break;
                    }
                }
                match protocol::decode_frame(&bytes) {
                    Ok(messages) => {
                        if hub.send(doc, Command::Frame { conn, messages }).await.is_err() {
                            let reason = "the page could not be reached; reconnect";
                            let _ = outbox.send(Outgoing::Close(CLOSE_ERROR, reason.into())).await;
                            break;
                        }
                    }
                    Err(err) => {
                        tracing::info!(doc = doc.0, conn, error = %err, "malformed frame; closing");
                        let _ = outbox.send(Outgoing::Close(CLOSE_INVALID, err.to_string())).await;
                        break;
                    }
                }
            }
            WsMessage::Text(_) => {
                let _ = outbox.send(Outgoing::Close(1003, "binary frames only".into())).await;
                break;
            }
            WsMessage::Close(_) => break,
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
        }
    }
    // A page that cannot be reached has no one to tell.
    let _ = hub.send(doc, Command::Leave { conn }).await;
    drop(outbox);
    let _ = writer.await;
}

/// What a connection may send: a token bucket refilled at the allowed rate, holding three
/// seconds' worth.
struct Budget {
    rate: f64,
    tokens: f64,
    last: tokio::time::Instant,
    /// Since when the client has been sending faster than allowed.
    flooding_since: Option<tokio::time::Instant>,
}

enum Pace {
    Go,
    /// Handle the frame after this pause.
    Wait(Duration),
    /// Too fast for too long.
    Stop,
}

impl Budget {
    fn new(per_second: u32) -> Self {
        let rate = f64::from(per_second.max(1));
        Self { rate, tokens: rate * 3.0, last: tokio::time::Instant::now(), flooding_since: None }
    }

    fn take(&mut self, grace: Duration) -> Pace {
        let now = tokio::time::Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate)
            .min(self.rate * 3.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            if self.tokens >= self.rate {
                self.flooding_since = None; // back under the rate for a while
            }
            return Pace::Go;
        }
        let since = *self.flooding_since.get_or_insert(now);
        if now.duration_since(since) > grace {
            return Pace::Stop;
        }
        let wait = Duration::from_secs_f64((1.0 - self.tokens) / self.rate);
        self.tokens -= 1.0;
        Pace::Wait(wait)
    }
}

/// Why reading from the socket failed, in the words the close frame carries: a frame over
/// `max_frame_bytes` is "frame too large", anything else a connection error.
fn close_reason(err: axum::Error) -> &'static str {
    use tokio_tungstenite::tungstenite::Error;
    match err.into_inner().downcast::<Error>().map(|e| *e) {
        Ok(Error::Capacity(_)) => "frame too large",
        _ => "connection error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_flood_is_slowed_then_stopped_and_a_typist_never_is() {
        let grace = Duration::from_secs(5);
        // Someone typing ten keys a second, for a minute: never slowed.
        let mut typist = Budget::new(100);
        for _ in 0..600 {
            assert!(matches!(typist.take(grace), Pace::Go));
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        // A flood: the burst passes, then every frame waits, then the connection is closed.
        let mut flood = Budget::new(100);
        let mut waited = Duration::ZERO;
        let mut sent = 0;
        loop {
            match flood.take(grace) {
                Pace::Go => {}
                Pace::Wait(d) => {
                    waited += d;
                    tokio::time::advance(d / 2).await; // it does not wait as told
                }
                Pace::Stop => break,
            }
            sent += 1;
            assert!(sent < 100_000, "never stopped");
        }
        assert!(sent >= 300, "the burst passed ({sent})");
        assert!(waited > Duration::ZERO);
    }
}
