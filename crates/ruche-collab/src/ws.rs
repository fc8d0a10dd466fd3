//! The websocket adapter: frames in, frames out, around a live document. Access has been decided
//! before this runs (at the upgrade).
use std::{pin::Pin, time::Duration};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{protocol::CloseFrame, Message as WsMessage};

use super::{
    live::{Join, CLOSE_ERROR, CLOSE_INVALID, CLOSE_POLICY},
    presence::Identity,
    protocol,
    socket::{Order, Progress, Socket},
    Admitted, Command, DocId, Hub,
};

/// How long a closing connection may take to write what waits for it (its close frame).
const CLOSE_WAIT: Duration = Duration::from_secs(30);

/// The close code of a connection dropped for falling behind ("try again later").
pub(crate) const CLOSE_SLOW: u16 = 1013;

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

/// One task per connection: it reads what the client sends (strictly decoded, paced), writes
/// what the document could not write into the socket at once, pings, and closes with a reason
/// when the document asks. The document writes its frames into the socket itself
/// (`socket::Writer`); when it lets the connection go, it says so with an order.
///
/// The task lives as long as the connection, mostly waiting: what it holds then is kept small
/// (its arguments are not copied into the future twice, as an `async fn`'s are, and the rare
/// or short waits — joining, handing a frame to the page, closing — are boxed futures of
/// their own): 2.8 → 1.4 KiB a connection.
#[allow(clippy::manual_async_fn)] // on purpose: see above
pub fn serve(
    mut socket: Socket,
    hub: Hub,
    doc: DocId,
    peer: Peer,
    admitted: Admitted,
) -> impl std::future::Future<Output = ()> + Send {
    async move {
        // The connection counts against its address until it ends.
        let _admitted = admitted;
        let conn = hub.new_conn_id();
        let who = match (peer.author, &peer.name) {
            (Some(id), Some(name)) => Identity::person(id, name),
            _ => Identity::anonymous(conn, &peer.anonymous_name),
        };
        let join = Command::Join(Box::new(Join {
            conn,
            writer: socket.queue.writer(),
            can_write: peer.can_write,
            author: peer.author,
            who,
        }));
        if Box::pin(hub.send(doc, join)).await.is_err() {
            close(&mut socket, CLOSE_ERROR, "the page could not be opened; reconnect").await;
            return;
        }

        // A client sending faster than allowed is slowed (its frames wait, so TCP pushes back),
        // then closed.
        let mut budget = Budget::new(hub.settings().max_messages_per_second);
        let grace = hub.settings().flood_grace;
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        let silence = tokio::time::sleep(SILENCE_LIMIT);
        tokio::pin!(silence);
        // Frames wait for the stream to take them.
        let mut blocked = false;
        loop {
            // Not biased: reading what the client sends and writing what waits for it take turns
            // (one must not starve the other under a burst).
            tokio::select! {
                () = socket.queue.woken() => {
                    match socket.queue.order() {
                        // Dropped for being too slow: what waits is dropped, closed at once.
                        Some(Order::TooSlow) => {
                            socket.queue.drop_waiting();
                            close(&mut socket, CLOSE_SLOW, "too slow to keep up; reconnect").await;
                            break;
                        }
                        Some(Order::Close(code, reason)) => {
                            close(&mut socket, code, &reason).await;
                            break;
                        }
                        None => match socket.queue.write_waiting() {
                            Progress::Done => blocked = false,
                            Progress::Waiting => blocked = true,
                            Progress::Ended => break,
                        },
                    }
                }
                writable = socket.queue.writable(), if blocked => {
                    if writable.is_err() {
                        break;
                    }
                    match socket.queue.write_waiting() {
                        Progress::Done => blocked = false,
                        Progress::Waiting => {}
                        Progress::Ended => break,
                    }
                }
                next = socket.ws.next() => {
                    silence.as_mut().reset(tokio::time::Instant::now() + SILENCE_LIMIT);
                    let message = match next {
                        Some(Ok(message)) => message,
                        Some(Err(err)) => {
                            close(&mut socket, 1009, close_reason(err)).await;
                            break;
                        }
                        None => break,
                    };
                    match message {
                        WsMessage::Binary(bytes) => {
                            match budget.take(grace) {
                                Pace::Go => {}
                                Pace::Wait(delay) => tokio::time::sleep(delay).await,
                                Pace::Stop => {
                                    tracing::info!(doc = doc.0, conn, "a client kept flooding; closing");
                                    close(&mut socket, CLOSE_POLICY, "too many messages").await;
                                    break;
                                }
                            }
                            match protocol::decode_frame(&bytes) {
                                Ok(messages) => {
                                    let frame = Command::Frame { conn, messages };
                                    if Box::pin(hub.send(doc, frame)).await.is_err() {
                                        let reason = "the page could not be reached; reconnect";
                                        close(&mut socket, CLOSE_ERROR, reason).await;
                                        break;
                                    }
                                }
                                Err(err) => {
                                    tracing::info!(doc = doc.0, conn, error = %err, "malformed frame; closing");
                                    close(&mut socket, CLOSE_INVALID, &err.to_string()).await;
                                    break;
                                }
                            }
                        }
                        WsMessage::Text(_) => {
                            close(&mut socket, 1003, "binary frames only").await;
                            break;
                        }
                        WsMessage::Close(_) => {
                            // Answered by tungstenite; written before the socket goes.
                            socket.queue.finish(CLOSE_WAIT).await;
                            break;
                        }
                        _ => {}
                    }
                }
                // Silent too long, not even a pong: gone.
                _ = &mut silence => break,
                _ = ping.tick() => {
                    if socket.ws.send(WsMessage::Ping(Default::default())).await.is_err() {
                        break;
                    }
                }
            }
        }
        drop(socket);
        // A page that cannot be reached has no one to tell.
        let _ = Box::pin(hub.send(doc, Command::Leave { conn })).await;
    }
}

/// Closes the connection with a code and a reason the client can read, written after what
/// waits before it (for a while: a client that reads nothing does not hold the task).
fn close<'a>(
    socket: &'a mut Socket,
    code: u16,
    reason: &str,
) -> Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
    let frame = CloseFrame { code: code.into(), reason: reason.to_owned().into() };
    Box::pin(async move {
        let _ = socket.ws.send(WsMessage::Close(Some(frame))).await;
        socket.queue.finish(CLOSE_WAIT).await;
    })
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
fn close_reason(err: tokio_tungstenite::tungstenite::Error) -> &'static str {
    match err {
        tokio_tungstenite::tungstenite::Error::Capacity(_) => "frame too large",
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
