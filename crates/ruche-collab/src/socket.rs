//! The socket under a live connection. The websocket handshake is ours, so the connection's
//! TCP stream is too: a page writes its frames straight into the stream of each connection
//! (framed once for everyone, one system call, no task woken per frame), and what the kernel
//! does not take at once waits in the connection's queue, which the connection's own task
//! writes — everything waiting with one system call — when the stream can take it.
//! Reading stays with tungstenite (strict decoding, size limits, pings answered).
use std::{
    collections::VecDeque,
    io::{self, IoSlice},
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll},
    time::Duration,
};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{
        tcp::{OwnedReadHalf, OwnedWriteHalf},
        TcpStream,
    },
    sync::Notify,
};
use tokio_tungstenite::{
    tungstenite::protocol::{Role, WebSocketConfig},
    WebSocketStream,
};

/// Frames written with one system call, at most.
const WRITE_BATCH: usize = 64;

/// A binary websocket frame from the server (unmasked, final) holding `payload`: framed once,
/// then written to every connection that receives it.
pub(crate) fn binary_frame(payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(payload.len() + 10);
    frame.put_u8(0x82);
    match payload.len() {
        len @ 0..=125 => frame.put_u8(len as u8),
        len @ 126..=0xffff => {
            frame.put_u8(126);
            frame.put_u16(len as u16);
        }
        len => {
            frame.put_u8(127);
            frame.put_u64(len as u64);
        }
    }
    frame.put_slice(payload);
    frame.freeze()
}

/// What a page asked of a connection, for its task to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Order {
    /// Close with this code and reason (after what waits before it).
    Close(u16, String),
    /// It fell too far behind: what waits for it is dropped and it is closed.
    TooSlow,
}

/// Why a frame was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// More than the allowed frames wait for the connection: it is being closed.
    TooSlow,
    /// The connection is over, or closing.
    Ended,
}

/// What the page and the connection's task share.
struct Shared {
    write: OwnedWriteHalf,
    out: Mutex<Out>,
    /// Something waits in the queue, or an order was given.
    wake: Notify,
}

#[derive(Default)]
struct Out {
    /// Framed bytes the kernel has not taken yet, in order (the first may be partly written).
    queue: VecDeque<Bytes>,
    /// The first frame is partly written: it must be finished before anything else.
    head_started: bool,
    order: Option<Order>,
    ended: bool,
}

impl Shared {
    fn out(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes `frame` now if nothing waits before it, and queues what the kernel did not take
    /// (true when something was queued).
    fn write_or_queue(&self, out: &mut Out, frame: Bytes) -> io::Result<bool> {
        if !out.queue.is_empty() {
            out.queue.push_back(frame);
            return Ok(true);
        }
        match self.write.try_write(&frame) {
            Ok(n) if n == frame.len() => Ok(false),
            Ok(n) => {
                out.queue.push_back(frame.slice(n..));
                out.head_started = n > 0;
                Ok(true)
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                out.queue.push_back(frame);
                Ok(true)
            }
            Err(err) => Err(err),
        }
    }

    /// Writes what waits, many frames a system call, until the kernel takes no more.
    fn drain(&self) -> Drained {
        let mut out = self.out();
        while !out.queue.is_empty() {
            let slices: Vec<IoSlice<'_>> =
                out.queue.iter().take(WRITE_BATCH).map(|b| IoSlice::new(b)).collect();
            match self.write.try_write_vectored(&slices) {
                Ok(mut n) => {
                    while n > 0 {
                        let head = out.queue.front_mut().expect("written bytes were queued");
                        if n >= head.len() {
                            n -= head.len();
                            out.queue.pop_front();
                            out.head_started = false;
                        } else {
                            head.advance(n);
                            out.head_started = true;
                            n = 0;
                        }
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Drained::Blocked,
                Err(_) => {
                    out.ended = true;
                    out.queue.clear();
                    return Drained::Ended;
                }
            }
        }
        Drained::Empty
    }
}

enum Drained {
    Empty,
    Blocked,
    Ended,
}

/// The page's handle on a connection: it writes frames into it and gives it orders.
#[derive(Clone)]
pub struct Writer(Arc<Shared>);

impl Writer {
    /// Delivers a frame made by `binary_frame`: written at once when the kernel takes it,
    /// queued otherwise; more than `max_waiting` frames waiting is too slow.
    pub fn send(&self, frame: &Bytes, max_waiting: usize) -> Result<(), Undelivered> {
        let mut out = self.0.out();
        if out.ended || out.order.is_some() {
            return Err(Undelivered::Ended);
        }
        if out.queue.len() >= max_waiting {
            out.order = Some(Order::TooSlow);
            drop(out);
            self.0.wake.notify_one();
            return Err(Undelivered::TooSlow);
        }
        match self.0.write_or_queue(&mut out, frame.clone()) {
            Ok(false) => Ok(()),
            Ok(true) => {
                drop(out);
                self.0.wake.notify_one();
                Ok(())
            }
            Err(_) => {
                out.ended = true;
                out.queue.clear();
                drop(out);
                self.0.wake.notify_one();
                Err(Undelivered::Ended)
            }
        }
    }

    /// Asks the connection to close with a code and a reason, after what waits for it.
    pub fn close(&self, code: u16, reason: String) {
        let mut out = self.0.out();
        if out.order.is_none() {
            out.order = Some(Order::Close(code, reason));
        }
        drop(out);
        self.0.wake.notify_one();
    }
}

/// A live connection, for its own task: reads through tungstenite, writes what the page queued.
pub struct Socket {
    pub ws: WebSocketStream<Io>,
    pub queue: Queue,
}

impl Socket {
    /// The websocket over `stream`, once the handshake is answered; `early` is what the client
    /// sent right after its request.
    pub async fn over(stream: TcpStream, early: Vec<u8>, config: WebSocketConfig) -> Self {
        let (read, write) = stream.into_split();
        let shared = Arc::new(Shared { write, out: Mutex::default(), wake: Notify::new() });
        let io = Io { read, shared: shared.clone() };
        let ws = WebSocketStream::from_partially_read(io, early, Role::Server, Some(config)).await;
        Self { ws, queue: Queue(shared) }
    }
}

/// The connection's side of what the page writes: its orders, and what the kernel has not
/// taken yet. Dropped, the connection is over for the page too.
pub struct Queue(Arc<Shared>);

/// What happened to the connection's queue.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Everything waiting is written.
    Done,
    /// The kernel takes no more for now: wait for `writable`.
    Waiting,
    /// The connection is over.
    Ended,
}

impl Queue {
    /// The handle the page writes with.
    pub fn writer(&self) -> Writer {
        Writer(self.0.clone())
    }

    /// Resolves when the page queued something or gave an order.
    pub(crate) async fn woken(&self) {
        self.0.wake.notified().await;
    }

    /// What the page ordered, if anything.
    pub fn order(&self) -> Option<Order> {
        self.0.out().order.clone()
    }

    /// Writes what waits, as far as the kernel takes it.
    pub(crate) fn write_waiting(&self) -> Progress {
        match self.0.drain() {
            Drained::Empty => Progress::Done,
            Drained::Blocked => Progress::Waiting,
            Drained::Ended => Progress::Ended,
        }
    }

    /// Resolves when the stream can take more.
    pub async fn writable(&self) -> io::Result<()> {
        self.0.write.writable().await
    }

    /// Drops what waits that has not started (a slow connection's backlog), so a close frame
    /// goes out next.
    pub(crate) fn drop_waiting(&self) {
        let mut out = self.0.out();
        let keep = usize::from(out.head_started);
        out.queue.truncate(keep);
    }

    /// Writes what waits, for at most `within` (a close frame, say), before the socket goes.
    pub async fn finish(&self, within: Duration) {
        let _ = tokio::time::timeout(within, async {
            while self.write_waiting() == Progress::Waiting {
                if self.writable().await.is_err() {
                    break;
                }
            }
        })
        .await;
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        let mut out = self.0.out();
        out.ended = true;
        out.queue.clear();
    }
}

/// The stream as tungstenite sees it: reads from the socket; writes (pongs, pings, close
/// frames) go in order with the page's frames.
pub struct Io {
    read: OwnedReadHalf,
    shared: Arc<Shared>,
}

impl AsyncRead for Io {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut out = self.shared.out();
        if out.ended {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        // Taken whole (queued if need be): tungstenite's frames never interleave with the page's.
        let queued = self.shared.write_or_queue(&mut out, Bytes::copy_from_slice(buf));
        drop(out);
        match queued {
            Ok(true) => {
                self.shared.wake.notify_one();
                Poll::Ready(Ok(buf.len()))
            }
            Ok(false) => Poll::Ready(Ok(buf.len())),
            Err(err) => Poll::Ready(Err(err)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // What waits is written by the connection's task when the stream can take it.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{io::AsyncReadExt, net::TcpListener};

    /// A connected pair: the server side as a page's writer and its connection's queue, and the
    /// client's stream.
    async fn pair() -> (Writer, Queue, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (_read, write) = server.into_split();
        let queue = Queue(Arc::new(Shared { write, out: Mutex::default(), wake: Notify::new() }));
        (queue.writer(), queue, client)
    }

    /// Reads one server frame: (opcode, payload).
    async fn read_frame(client: &mut TcpStream) -> (u8, Vec<u8>) {
        let mut head = [0u8; 2];
        client.read_exact(&mut head).await.unwrap();
        let len = match head[1] {
            126 => usize::from(client.read_u16().await.unwrap()),
            127 => usize::try_from(client.read_u64().await.unwrap()).unwrap(),
            n => usize::from(n),
        };
        let mut payload = vec![0; len];
        client.read_exact(&mut payload).await.unwrap();
        (head[0], payload)
    }

    #[test]
    fn a_frame_is_framed_for_its_length() {
        assert_eq!(&binary_frame(b"abc")[..], b"\x82\x03abc");
        let mid = binary_frame(&[7; 300]);
        assert_eq!(&mid[..4], &[0x82, 126, 1, 44]);
        assert_eq!(mid.len(), 304);
        let large = binary_frame(&[7; 70_000]);
        assert_eq!(&large[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        assert_eq!(large.len(), 70_010);
    }

    #[tokio::test]
    async fn what_the_kernel_cannot_take_waits_and_arrives_whole_and_in_order() {
        let (writer, queue, mut client) = pair().await;
        // The client reads nothing: frames go into the kernel until it takes no more, then wait.
        let frame = |n: u32| binary_frame(&n.to_be_bytes().repeat(2500));
        let mut sent = 0u32;
        while queue.0.out().queue.is_empty() {
            writer.send(&frame(sent), 100).unwrap();
            sent += 1;
            assert!(sent < 100_000, "the kernel took everything");
        }
        for _ in 0..10 {
            writer.send(&frame(sent), 100).unwrap();
            sent += 1;
        }
        assert_eq!(queue.write_waiting(), Progress::Waiting, "the client still reads nothing");
        // The client reads; the connection's task writes what waits as the stream takes it.
        let reader = tokio::spawn(async move {
            for n in 0..sent {
                let (opcode, payload) = read_frame(&mut client).await;
                assert_eq!(opcode, 0x82);
                assert_eq!(payload, n.to_be_bytes().repeat(2500), "frame {n}");
            }
            client
        });
        while queue.write_waiting() == Progress::Waiting {
            queue.writable().await.unwrap();
        }
        reader.await.unwrap();
    }

    #[tokio::test]
    async fn a_connection_too_far_behind_is_too_slow_and_keeps_only_a_started_frame() {
        let (writer, queue, _client) = pair().await;
        let frame = binary_frame(&[1; 10_000]);
        while queue.0.out().queue.is_empty() {
            writer.send(&frame, 4).unwrap();
        }
        while queue.0.out().queue.len() < 4 {
            writer.send(&frame, 4).unwrap();
        }
        assert_eq!(writer.send(&frame, 4), Err(Undelivered::TooSlow));
        assert_eq!(queue.order(), Some(Order::TooSlow));
        assert_eq!(writer.send(&frame, 4), Err(Undelivered::Ended), "nothing more once told");
        queue.drop_waiting();
        let out = queue.0.out();
        assert_eq!(out.queue.len(), usize::from(out.head_started));
    }

    #[tokio::test]
    async fn a_close_order_waits_behind_the_frames_and_an_ended_connection_takes_nothing() {
        let (writer, queue, mut client) = pair().await;
        writer.send(&binary_frame(b"one"), 8).unwrap();
        writer.close(4000, "bye".to_owned());
        assert_eq!(writer.send(&binary_frame(b"two"), 8), Err(Undelivered::Ended));
        assert_eq!(queue.order(), Some(Order::Close(4000, "bye".to_owned())));
        assert_eq!(read_frame(&mut client).await, (0x82, b"one".to_vec()));
        drop(queue);
        assert_eq!(writer.send(&binary_frame(b"three"), 8), Err(Undelivered::Ended));
    }
}
