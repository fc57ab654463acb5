//! Passive recording of HTTP/1.1 request heads exactly as they appeared on the wire.
//!
//! hyper lowercases header names and keeps the original case private, but some vendors
//! require a header name in an exact case (`companyId`, not `companyid`). [`record`] wraps an
//! accepted connection in a [`Recording`] stream that watches the bytes hyper reads, parses each
//! request head with `httparse` and queues its raw header names in a per-connection
//! [`RawHeads`] FIFO; the request handler pops the head of the request it is serving with
//! [`RawHeads::pop_matching`].
//!
//! The recorder never changes the bytes, and on any doubt it gives up for the rest of the
//! connection (every later pop returns `None`) rather than attribute a head to the wrong request:
//! a malformed head or chunked body, a head larger than hyper would serve (about 408 KiB) or with more than 100 fields, an HTTP/2
//! preface, unsupported body framing, or too many heads waiting. After a protocol switch (a `101`
//! response or a `CONNECT` tunnel) hyper serves no further requests on the connection, so
//! whatever the recorder makes of the later bytes is never popped.
//!
//! This file holds the stream wrapper and the queue of heads; `rawhead/parse.rs` the parser
//! (heads, body framing, and the reasons to give up).

mod parse;

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::rawhead::parse::{Parser, RawHead};

/// Most recorded heads waiting to be popped before giving up.
const MAX_QUEUED: usize = 64;

/// Per-connection FIFO of heads seen on the wire, shared between the stream and the service.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawHeads {
    queue: Arc<Mutex<Queue>>,
}

#[derive(Debug, Default)]
struct Queue {
    heads: VecDeque<RawHead>,
    /// Once set, the recorder is unreliable for the rest of the connection.
    gave_up: bool,
    /// Why it gave up (for the journal).
    reason: Option<String>,
}

impl Queue {
    /// Stops recording. The heads queued are still popped in order (they were whole before
    /// the recorder lost its place), unless `out_of_step`: a pop did not match, so none can be.
    fn give_up(&mut self, reason: impl FnOnce() -> String, out_of_step: bool) {
        if !self.gave_up {
            self.reason = Some(reason());
        }
        self.gave_up = true;
        if out_of_step {
            self.heads = VecDeque::new();
        }
    }
}

impl RawHeads {
    /// Pops the oldest recorded head if its method and request-target equal the given ones.
    ///
    /// Returns `None` ("fall back") if the recorder gave up, or if the queue is empty or its front
    /// does not match; the latter two mean the recorder is out of step with hyper, so it is then
    /// considered unreliable: the queue is cleared and all further calls return `None`.
    /// Call this exactly once for every request served on the connection, in order.
    pub(crate) fn pop_matching(&self, method: &str, target: &str) -> Option<RawHead> {
        let mut queue = self.lock();
        if queue.gave_up && queue.heads.is_empty() {
            return None;
        }
        match queue.heads.front() {
            Some(head) if head.method == method && head.target == target => queue.heads.pop_front(),
            Some(head) => {
                let seen = format!("{} {}", head.method, head.target);
                queue.give_up(
                    || format!("the head recorded on the wire (`{}`) is not the request served", bounded(&seen)),
                    true,
                );
                None
            }
            None => {
                queue.give_up(|| "no head was recorded for the request served".to_owned(), true);
                None
            }
        }
    }

    /// Why the recorder gave up on this connection, if it did (issue 13): from then on no
    /// request on it can have its header-name case checked, so the server answers the current
    /// one and closes the connection.
    pub(crate) fn gave_up(&self) -> Option<String> {
        let queue = self.lock();
        queue.gave_up.then(|| queue.reason.clone().unwrap_or_else(|| "the recorder gave up".to_owned()))
    }

    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while holding the lock, but never propagate a poisoned lock anyway.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why the recorder of the connection a request came on gave up, if it did (see
/// [`RawHeads::gave_up`]); `None` as well for requests served without a recorder.
pub(crate) fn gave_up(parts: &http::request::Parts) -> Option<String> {
    parts.extensions.get::<RawHeads>()?.gave_up()
}

/// At most 120 characters of a text shown in a reason (a target can be as long as a head).
fn bounded(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Stream wrapper: writes pass straight through; reads are observed by the head recorder.
#[derive(Debug)]
pub(crate) struct Recording<S> {
    inner: S,
    parser: Parser,
    heads: RawHeads,
}

/// Wraps `stream` in a recorder; the returned [`RawHeads`] receives the heads it reads.
pub(crate) fn record<S>(stream: S) -> (Recording<S>, RawHeads) {
    let heads = RawHeads::default();
    let recording = Recording { inner: stream, parser: Parser::default(), heads: heads.clone() };
    (recording, heads)
}

impl<S> Recording<S> {
    /// Feeds freshly read bytes (`None`: the read buffer misbehaved) to the parser and
    /// publishes the heads it completed; gives up on any error.
    fn observe(&mut self, bytes: Option<&[u8]>) {
        if self.parser.stopped() {
            return;
        }
        let mut done = Vec::new();
        let result = match bytes {
            Some(bytes) => self.parser.feed(bytes, &mut done).map_err(|e| e.to_string()),
            None => Err("unexpected: read buffer shrank".to_owned()),
        };
        let mut queue = self.heads.lock();
        if queue.gave_up {
            // A pop found the queue out of step; nothing recorded from now on is used.
            self.parser.stop();
            return;
        }
        queue.heads.extend(done);
        let result = result.and_then(|()| {
            if queue.heads.len() > MAX_QUEUED {
                Err(format!("more than {MAX_QUEUED} recorded heads waiting"))
            } else {
                Ok(())
            }
        });
        if let Err(reason) = result {
            tracing::debug!(%reason, "raw header recorder gave up for this connection");
            queue.heads.truncate(MAX_QUEUED);
            queue.give_up(|| reason, false);
            self.parser.stop();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Recording<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.observe(buf.filled().get(before..));
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Recording<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    /// A reader that yields the given chunks, one per read (split further by small buffers).
    pub(super) struct Chunks(pub(super) VecDeque<Vec<u8>>);

    impl AsyncRead for Chunks {
        fn poll_read(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
            let chunks = &mut self.get_mut().0;
            if let Some(chunk) = chunks.front_mut() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                chunk.drain(..n);
                if chunk.is_empty() {
                    chunks.pop_front();
                }
            }
            Poll::Ready(Ok(()))
        }
    }

    /// Reads `chunks` to the end through a recorder, checking the bytes pass through unchanged.
    pub(super) async fn read_chunks(chunks: Vec<Vec<u8>>) -> (Recording<Chunks>, RawHeads) {
        let expected = chunks.concat();
        let chunks = chunks.into_iter().filter(|c| !c.is_empty()).collect();
        let (mut recording, heads) = record(Chunks(chunks));
        let mut seen = Vec::new();
        let mut buf = [0; 8192];
        loop {
            let n = recording.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        assert_eq!(seen, expected, "the recorder must not alter the bytes");
        (recording, heads)
    }

    /// Reads `wire` in one piece.
    pub(super) async fn read_whole(wire: &[u8]) -> (Recording<Chunks>, RawHeads) {
        read_chunks(vec![wire.to_vec()]).await
    }

    /// Writes `bytes` as the client and reads them back through the recorder.
    async fn deliver(client: &mut DuplexStream, recording: &mut Recording<DuplexStream>, bytes: &[u8]) {
        client.write_all(bytes).await.expect("write");
        let mut buf = vec![0; bytes.len()];
        recording.read_exact(&mut buf).await.expect("read");
        assert_eq!(buf, bytes);
    }

    /// The queued heads, without popping; fails if the recorder gave up.
    pub(super) fn queued(heads: &RawHeads) -> Vec<RawHead> {
        let queue = heads.lock();
        assert!(!queue.gave_up, "the recorder gave up unexpectedly");
        queue.heads.iter().cloned().collect()
    }

    pub(super) fn gave_up(heads: &RawHeads) -> bool {
        heads.lock().gave_up
    }

    pub(super) fn head(method: &str, target: &str, names: &[&str]) -> RawHead {
        RawHead {
            method: method.to_owned(),
            target: target.to_owned(),
            names: names.iter().map(|&n| n.to_owned()).collect(),
        }
    }

    /// Several requests exercising every framing, with a chunk that looks like a request.
    pub(super) const MIXED: &[u8] = b"\r\nPOST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
        POST /b HTTP/1.1\r\ncompanyId: 7\r\nTransfer-Encoding: chunked\r\n\r\n\
        4;ext=\"v\"\r\nab\r\n\r\n16\r\nGET /evil HTTP/1.1\r\n\r\n\r\n0\r\nX-Sum: 1\r\n\r\n\
        GET /c HTTP/1.1\r\nX-API-KEY: k\r\n\r\n";

    pub(super) fn mixed_heads() -> Vec<RawHead> {
        vec![
            head("POST", "/a?x=1", &["Host", "Content-Length"]),
            head("POST", "/b", &["companyId", "Transfer-Encoding"]),
            head("GET", "/c", &["X-API-KEY"]),
        ]
    }

    #[tokio::test]
    async fn a_simple_get_is_recorded() {
        let (_, heads) = read_whole(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
        assert_eq!(heads.pop_matching("GET", "/health"), Some(head("GET", "/health", &["Host"])));
    }

    #[tokio::test]
    async fn expect_100_continue_head_is_recorded_before_its_body_arrives() {
        let (mut client, server) = tokio::io::duplex(4096);
        let (mut recording, heads) = record(server);
        let request = b"PUT /doc HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n";
        deliver(&mut client, &mut recording, request).await;
        let popped = heads.pop_matching("PUT", "/doc").expect("head before body");
        assert_eq!(popped.names, ["Expect", "Content-Length"]);

        // Writes pass straight through to the peer.
        recording.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.expect("write interim response");
        let mut interim = [0; 25];
        client.read_exact(&mut interim).await.expect("read interim");
        assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");

        // The body (which looks like a head) and the next request arrive later.
        deliver(&mut client, &mut recording, b"GET /body HTTP/1.1\r\n").await;
        let next = b"\r\nDELETE /doc HTTP/1.1\r\nIf-Match: x\r\n\r\n";
        deliver(&mut client, &mut recording, next).await;
        assert_eq!(heads.pop_matching("DELETE", "/doc"), Some(head("DELETE", "/doc", &["If-Match"])));
    }

    #[tokio::test]
    async fn a_mismatching_front_makes_every_later_pop_fall_back() {
        let (mut client, server) = tokio::io::duplex(4096);
        let (mut recording, heads) = record(server);
        let wire = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        deliver(&mut client, &mut recording, wire).await;

        assert_eq!(heads.pop_matching("GET", "/b"), None);
        assert_eq!(heads.pop_matching("GET", "/a"), None);
        assert_eq!(heads.pop_matching("GET", "/b"), None);

        deliver(&mut client, &mut recording, b"GET /c HTTP/1.1\r\n\r\n").await;
        assert_eq!(heads.pop_matching("GET", "/c"), None);
        assert!(recording.parser.stopped());
    }

    #[tokio::test]
    async fn popping_more_heads_than_were_recorded_falls_back_for_good() {
        let (_, heads) = read_whole(b"GET /a HTTP/1.1\r\n\r\n").await;
        assert!(heads.pop_matching("GET", "/a").is_some());
        assert_eq!(heads.pop_matching("GET", "/a"), None);
        assert!(gave_up(&heads));
    }

    #[tokio::test]
    async fn too_many_unpopped_heads_make_the_recorder_give_up() {
        for (count, gives_up) in [(MAX_QUEUED, false), (MAX_QUEUED + 1, true)] {
            let wire = b"GET / HTTP/1.1\r\n\r\n".repeat(count);
            let (_, heads) = read_whole(&wire).await;
            assert_eq!(gave_up(&heads), gives_up, "{count} heads");
            // The heads recorded stay in order; the recorder records no more.
            assert!(heads.pop_matching("GET", "/").is_some());
        }
        let wire = b"GET / HTTP/1.1\r\n\r\n".repeat(MAX_QUEUED + 2);
        let (_, heads) = read_whole(&wire).await;
        let popped = (0..MAX_QUEUED + 2).filter(|_| heads.pop_matching("GET", "/").is_some()).count();
        assert_eq!(popped, MAX_QUEUED, "the heads past the queue's bound are not kept");
    }

    #[test]
    fn the_recorder_can_be_served_on_a_tokio_task() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Recording<tokio::net::TcpStream>>();
        assert_send_sync::<RawHeads>();
    }
}
