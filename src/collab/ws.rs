//! The websocket adapter: frames in, frames out, around a live document. Access has been decided
//! before this runs (at the upgrade).
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as WsMessage, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::{live::CLOSE_INVALID, protocol, Command, DocId, Hub, Outgoing};

/// Pings keep proxies from closing quiet connections and reveal dead peers.
const PING_EVERY: Duration = Duration::from_secs(30);
/// A peer silent for this long (not even a pong) is gone.
const SILENCE_LIMIT: Duration = Duration::from_secs(75);

/// Who is connecting and what they may do.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub can_write: bool,
    pub author: Option<i64>,
}

pub async fn serve(socket: WebSocket, hub: Hub, doc: DocId, peer: Peer) {
    let conn = hub.new_conn_id();
    let (outbox, mut outgoing) = mpsc::channel::<Outgoing>(hub.settings().outbox_capacity);
    let (mut sink, mut stream) = socket.split();

    // The writer: everything the document sends, plus pings; ends with a close frame.
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                next = outgoing.recv() => match next {
                    Some(Outgoing::Frame(bytes)) => {
                        if sink.send(WsMessage::Binary(bytes.into())).await.is_err() {
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

    hub.send(
        doc,
        Command::Join {
            conn,
            outbox: outbox.clone(),
            can_write: peer.can_write,
            author: peer.author,
        },
    )
    .await;

    // The reader: decode strictly; a bad frame closes this connection only.
    loop {
        let next = match tokio::time::timeout(SILENCE_LIMIT, stream.next()).await {
            Ok(Some(Ok(message))) => message,
            Ok(Some(Err(err))) => {
                let reason = if err.to_string().contains("too long")
                    || err.to_string().contains("Space limit")
                {
                    "frame too large"
                } else {
                    "connection error"
                };
                let _ = outbox.send(Outgoing::Close(1009, reason.into())).await;
                break;
            }
            Ok(None) => break,
            Err(_) => break, // silent too long
        };
        match next {
            WsMessage::Binary(bytes) => match protocol::decode_frame(&bytes) {
                Ok(messages) => hub.send(doc, Command::Frame { conn, messages }).await,
                Err(err) => {
                    tracing::info!(doc = doc.0, conn, error = %err, "malformed frame; closing");
                    let _ = outbox.send(Outgoing::Close(CLOSE_INVALID, err.to_string())).await;
                    break;
                }
            },
            WsMessage::Text(_) => {
                let _ = outbox.send(Outgoing::Close(1003, "binary frames only".into())).await;
                break;
            }
            WsMessage::Close(_) => break,
            WsMessage::Ping(_) | WsMessage::Pong(_) => {}
        }
    }
    hub.send(doc, Command::Leave { conn }).await;
    drop(outbox);
    let _ = writer.await;
}
