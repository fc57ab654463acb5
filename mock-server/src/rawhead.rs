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

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Largest request head, chunk-size line or trailer line buffered before giving up: hyper's own
/// read-buffer limit, so any head hyper serves is also recorded.
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// Most header fields in one request head (hyper's default limit too).
const MAX_HEADERS: usize = 100;
/// Most recorded heads waiting to be popped before giving up.
const MAX_QUEUED: usize = 64;

/// One request head as it appeared on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawHead {
    /// Request method, e.g. `POST`.
    pub(crate) method: String,
    /// Request-target as sent, e.g. `/v1/clients?dryRun=true`.
    pub(crate) target: String,
    /// Header field names in the order and case they were sent (repeats included).
    pub(crate) names: Vec<String>,
}

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
        if self.parser.state == State::Stopped {
            return;
        }
        let mut done = Vec::new();
        let result = match bytes {
            Some(bytes) => self.parser.feed(bytes, &mut done),
            None => Err(GiveUp::Unexpected("read buffer shrank")),
        };
        let mut queue = self.heads.lock();
        if queue.gave_up {
            // A pop found the queue out of step; nothing recorded from now on is used.
            self.parser.stop();
            return;
        }
        queue.heads.extend(done);
        let result = result.and_then(|()| if queue.heads.len() > MAX_QUEUED { Err(GiveUp::QueueFull) } else { Ok(()) });
        if let Err(reason) = result {
            tracing::debug!(%reason, "raw header recorder gave up for this connection");
            queue.heads.truncate(MAX_QUEUED);
            queue.give_up(|| reason.to_string(), false);
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

/// Why the recorder gave up on a connection.
#[derive(Debug, thiserror::Error)]
enum GiveUp {
    #[error("request head not parsable: {0}")]
    Head(#[from] httparse::Error),
    #[error("request head longer than {MAX_HEAD} bytes")]
    HeadTooLarge,
    #[error("unsupported body framing: {0}")]
    Framing(&'static str),
    #[error("line in chunked body longer than {MAX_HEAD} bytes")]
    LineTooLong,
    #[error("invalid chunk-size line")]
    ChunkSize,
    #[error("chunk data not followed by CRLF")]
    ChunkEnd,
    #[error("trailer line not ended by CRLF")]
    Trailer,
    #[error("more than {MAX_QUEUED} recorded heads waiting")]
    QueueFull,
    #[error("unexpected: {0}")]
    Unexpected(&'static str),
}

/// Where the parser is in the stream of bytes read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Accumulating a request head in `buf` (leading empty lines are skipped).
    Head,
    /// Skipping a `Content-Length` body; the number is the bytes left.
    FixedBody(u64),
    /// Inside a chunked body.
    Chunked(Chunk),
    /// Gave up: ignore everything.
    Stopped,
}

/// Where the parser is in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Accumulating a chunk-size line (with optional extensions) in `buf`.
    Size,
    /// Skipping chunk data; the number is the bytes left.
    Data(u64),
    /// Accumulating the CRLF that ends chunk data in `buf`.
    DataEnd,
    /// After the last chunk: skipping trailer lines up to the empty line.
    Trailer,
}

/// Incremental request-head parser; buffers only unparsed head or line bytes (at most `MAX_HEAD`).
#[derive(Debug)]
struct Parser {
    state: State,
    buf: Vec<u8>,
}

impl Default for Parser {
    fn default() -> Self {
        Self { state: State::Head, buf: Vec::new() }
    }
}

impl Parser {
    /// Consumes `data`, pushing every request head it completes onto `out`.
    fn feed(&mut self, mut data: &[u8], out: &mut Vec<RawHead>) -> Result<(), GiveUp> {
        while !data.is_empty() && self.state != State::Stopped {
            let (used, next) = match self.state {
                State::Head => self.head(data, out)?,
                State::FixedBody(left) => match skip(data, left) {
                    (used, 0) => (used, State::Head),
                    (used, left) => (used, State::FixedBody(left)),
                },
                State::Chunked(Chunk::Size) => match self.line(data)? {
                    (used, None) => (used, State::Chunked(Chunk::Size)),
                    (used, Some(line)) => match chunk_size(&line)? {
                        0 => (used, State::Chunked(Chunk::Trailer)),
                        size => (used, State::Chunked(Chunk::Data(size))),
                    },
                },
                State::Chunked(Chunk::Data(left)) => match skip(data, left) {
                    (used, 0) => (used, State::Chunked(Chunk::DataEnd)),
                    (used, left) => (used, State::Chunked(Chunk::Data(left))),
                },
                State::Chunked(Chunk::DataEnd) => match self.line(data)? {
                    (used, None) => (used, State::Chunked(Chunk::DataEnd)),
                    (used, Some(line)) if line == b"\r\n" => (used, State::Chunked(Chunk::Size)),
                    (_, Some(_)) => return Err(GiveUp::ChunkEnd),
                },
                State::Chunked(Chunk::Trailer) => match self.line(data)? {
                    (used, Some(line)) if line == b"\r\n" => (used, State::Head),
                    (_, Some(line)) if !line.ends_with(b"\r\n") => return Err(GiveUp::Trailer),
                    (used, _) => (used, State::Chunked(Chunk::Trailer)),
                },
                State::Stopped => return Ok(()),
            };
            self.state = next;
            data = data.get(used..).unwrap_or_default();
        }
        Ok(())
    }

    /// Head state: buffers `data` until a whole head has arrived, then records it.
    /// Returns the bytes of `data` used and the state for the bytes after the head.
    fn head(&mut self, data: &[u8], out: &mut Vec<RawHead>) -> Result<(usize, State), GiveUp> {
        let before = self.buf.len();
        let new = data.get(..MAX_HEAD.saturating_sub(before)).unwrap_or(data);
        self.buf.extend_from_slice(new);
        // A head ends with an empty line, so only a new LF can complete it (this also keeps
        // byte-at-a-time delivery from re-parsing the buffer on every byte).
        if new.contains(&b'\n') {
            if let Some((len, head, body)) = parse_head(&self.buf)? {
                self.buf.clear();
                out.push(head);
                // The bytes buffered before were not a whole head, so it ends within `new`.
                let used = len.checked_sub(before).filter(|&used| used > 0);
                let used = used.ok_or(GiveUp::Unexpected("head ended in earlier bytes"))?;
                return Ok((used, body));
            }
            // Drop empty lines before the request line (RFC 9112 §2.2) so they cannot pile up.
            let blank = leading_empty_lines(&self.buf);
            self.buf.drain(..blank);
        }
        if self.buf.len() >= MAX_HEAD {
            return Err(GiveUp::HeadTooLarge);
        }
        Ok((new.len(), State::Head))
    }

    /// Appends `data` up to and including its first LF to `buf`.
    /// Returns the bytes used and, once complete, the whole line (taken out of `buf`).
    fn line(&mut self, data: &[u8]) -> Result<(usize, Option<Vec<u8>>), GiveUp> {
        let (used, whole) = match data.iter().position(|&b| b == b'\n') {
            Some(lf) => (lf + 1, true),
            None => (data.len(), false),
        };
        if self.buf.len() + used > MAX_HEAD {
            return Err(GiveUp::LineTooLong);
        }
        self.buf.extend_from_slice(data.get(..used).unwrap_or(data));
        Ok((used, whole.then(|| std::mem::take(&mut self.buf))))
    }

    /// Gives up: parses nothing more and frees the buffer.
    fn stop(&mut self) {
        self.state = State::Stopped;
        self.buf = Vec::new();
    }
}

/// Parses a request head at the start of `buf`.
/// Returns `None` if it is incomplete, else its length, the head and how its body is framed.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, RawHead, State)>, GiveUp> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(len) = request.parse(buf)? else {
        return Ok(None);
    };
    let (Some(method), Some(target), Some(version)) = (request.method, request.path, request.version) else {
        return Err(GiveUp::Unexpected("incomplete request line"));
    };
    let head = RawHead {
        method: method.to_owned(),
        target: target.to_owned(),
        names: request.headers.iter().map(|h| h.name.to_owned()).collect(),
    };
    Ok(Some((len, head, body_framing(version, request.headers)?)))
}

/// How a request body is framed (RFC 9112 §6.3): chunked if the last transfer coding is
/// `chunked` (even alongside `Content-Length`), else `Content-Length` bytes, else no body.
fn body_framing(version: u8, headers: &[httparse::Header<'_>]) -> Result<State, GiveUp> {
    let mut chunked = None;
    let mut length = None;
    for header in headers {
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            if version == 0 {
                return Err(GiveUp::Framing("Transfer-Encoding in HTTP/1.0"));
            }
            let last = header.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if header.name.eq_ignore_ascii_case("content-length") {
            let value = content_length(header.value)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(GiveUp::Framing("conflicting Content-Length"));
            }
            length = Some(value);
        }
    }
    match (chunked, length) {
        (Some(true), _) => Ok(State::Chunked(Chunk::Size)),
        (Some(false), _) => Err(GiveUp::Framing("last transfer coding is not chunked")),
        (None, None | Some(0)) => Ok(State::Head),
        (None, Some(length)) => Ok(State::FixedBody(length)),
    }
}

/// A `Content-Length` value: decimal digits only.
fn content_length(value: &[u8]) -> Result<u64, GiveUp> {
    let invalid = GiveUp::Framing("invalid Content-Length");
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    std::str::from_utf8(value).ok().and_then(|digits| digits.parse().ok()).ok_or(invalid)
}

/// The size in a whole chunk-size line such as `1a;name=value\r\n`.
fn chunk_size(line: &[u8]) -> Result<u64, GiveUp> {
    // httparse reads a line without digits as size 0; RFC 9112 (and hyper) require a digit.
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return Err(GiveUp::ChunkSize);
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((len, size))) if len == line.len() => Ok(size),
        _ => Err(GiveUp::ChunkSize),
    }
}

/// Skips up to `left` body bytes of `data`; returns the bytes used and the bytes still left.
fn skip(data: &[u8], left: u64) -> (usize, u64) {
    let used = usize::try_from(left).map_or(data.len(), |left| left.min(data.len()));
    (used, left - used as u64)
}

/// Length of the empty lines (CRLF or LF) at the start of `buf`.
fn leading_empty_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match buf.get(at..) {
            Some([b'\n', ..]) => at += 1,
            Some([b'\r', b'\n', ..]) => at += 2,
            _ => return at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    /// A reader that yields the given chunks, one per read (split further by small buffers).
    struct Chunks(VecDeque<Vec<u8>>);

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
    async fn read_chunks(chunks: Vec<Vec<u8>>) -> (Recording<Chunks>, RawHeads) {
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
    async fn read_whole(wire: &[u8]) -> (Recording<Chunks>, RawHeads) {
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
    fn queued(heads: &RawHeads) -> Vec<RawHead> {
        let queue = heads.lock();
        assert!(!queue.gave_up, "the recorder gave up unexpectedly");
        queue.heads.iter().cloned().collect()
    }

    fn gave_up(heads: &RawHeads) -> bool {
        heads.lock().gave_up
    }

    fn head(method: &str, target: &str, names: &[&str]) -> RawHead {
        RawHead {
            method: method.to_owned(),
            target: target.to_owned(),
            names: names.iter().map(|&n| n.to_owned()).collect(),
        }
    }

    /// Several requests exercising every framing, with a chunk that looks like a request.
    const MIXED: &[u8] = b"\r\nPOST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello\
        POST /b HTTP/1.1\r\ncompanyId: 7\r\nTransfer-Encoding: chunked\r\n\r\n\
        4;ext=\"v\"\r\nab\r\n\r\n16\r\nGET /evil HTTP/1.1\r\n\r\n\r\n0\r\nX-Sum: 1\r\n\r\n\
        GET /c HTTP/1.1\r\nX-API-KEY: k\r\n\r\n";

    fn mixed_heads() -> Vec<RawHead> {
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
    async fn header_names_keep_the_case_they_were_sent_in() {
        let wire = b"POST /clients HTTP/1.1\r\ncompanyId: 1\r\nX-API-KEY: k\r\n\
            content-type: a/b\r\ncompanyid: 2\r\n\r\n";
        let (_, heads) = read_whole(wire).await;
        let popped = heads.pop_matching("POST", "/clients").expect("recorded head");
        assert_eq!(popped.names, ["companyId", "X-API-KEY", "content-type", "companyid"]);
    }

    #[tokio::test]
    async fn bytes_delivered_one_at_a_time_are_recorded() {
        let (recording, heads) = read_chunks(MIXED.iter().map(|&b| vec![b]).collect()).await;
        assert_eq!(queued(&heads), mixed_heads());
        assert!(recording.parser.buf.is_empty());
    }

    #[tokio::test]
    async fn every_split_into_two_reads_records_the_same_heads() {
        for at in 0..=MIXED.len() {
            let (first, second) = MIXED.split_at(at);
            let (_, heads) = read_chunks(vec![first.to_vec(), second.to_vec()]).await;
            assert_eq!(queued(&heads), mixed_heads(), "split at byte {at}");
        }
    }

    #[tokio::test]
    async fn pipelined_posts_with_content_length_bodies_are_recorded_in_order() {
        let wire = b"POST /one HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
            POST /two HTTP/1.1\r\nContent-Length: 3\r\nX-Two: 2\r\n\r\nabc";
        let (recording, heads) = read_whole(wire).await;
        assert_eq!(recording.parser.state, State::Head);
        let one = heads.pop_matching("POST", "/one").expect("first head");
        let two = heads.pop_matching("POST", "/two").expect("second head");
        assert_eq!(one.names, ["Content-Length"]);
        assert_eq!(two.names, ["Content-Length", "X-Two"]);
    }

    #[tokio::test]
    async fn a_chunked_body_with_extensions_and_trailers_is_skipped() {
        let wire = b"POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
            5;name=value\r\nhello\r\nA ; a=\"b;c\"\r\n0123456789\r\n\
            0;last\r\nChecksum: abc\r\nX-Trailer: GET /x HTTP/1.1\r\n\r\n\
            GET /next HTTP/1.1\r\nNext: 1\r\n\r\n";
        let (recording, heads) = read_whole(wire).await;
        assert_eq!(queued(&heads), [head("POST", "/up", &["Transfer-Encoding"]), head("GET", "/next", &["Next"]),]);
        assert_eq!(recording.parser.state, State::Head);
    }

    #[tokio::test]
    async fn chunked_wins_over_content_length() {
        let wire = b"POST /a HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n\
            3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let (_, heads) = read_whole(wire).await;
        let targets: Vec<_> = queued(&heads).into_iter().map(|h| h.target).collect();
        assert_eq!(targets, ["/a", "/b"]);
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
    async fn a_body_that_looks_like_a_request_head_is_not_recorded_as_one() {
        let body: &[u8] = b"GET /evil HTTP/1.1\r\nX-Evil: 1\r\n\r\n";
        let mut wire = format!("POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        wire.extend_from_slice(body);
        wire.extend_from_slice(b"GET /b HTTP/1.1\r\n\r\n");
        let (_, heads) = read_whole(&wire).await;
        let targets: Vec<_> = queued(&heads).into_iter().map(|h| h.target).collect();
        assert_eq!(targets, ["/a", "/b"]);
    }

    #[tokio::test]
    async fn leading_empty_lines_before_a_request_are_skipped() {
        let wire = b"\r\n\n\r\nGET /a HTTP/1.1\r\n\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let (recording, heads) = read_whole(wire).await;
        let targets: Vec<_> = queued(&heads).into_iter().map(|h| h.target).collect();
        assert_eq!(targets, ["/a", "/b"]);
        assert!(recording.parser.buf.is_empty());
    }

    #[tokio::test]
    async fn many_empty_lines_between_requests_are_not_buffered() {
        let mut wire = b"GET /a HTTP/1.1\r\n\r\n".to_vec();
        wire.extend_from_slice(&b"\r\n".repeat(MAX_HEAD));
        wire.extend_from_slice(b"GET /b HTTP/1.1\r\n\r\n");
        let (_, heads) = read_chunks(wire.chunks(999).map(<[u8]>::to_vec).collect()).await;
        let targets: Vec<_> = queued(&heads).into_iter().map(|h| h.target).collect();
        assert_eq!(targets, ["/a", "/b"]);
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
        assert_eq!(recording.parser.state, State::Stopped);
    }

    #[tokio::test]
    async fn popping_more_heads_than_were_recorded_falls_back_for_good() {
        let (_, heads) = read_whole(b"GET /a HTTP/1.1\r\n\r\n").await;
        assert!(heads.pop_matching("GET", "/a").is_some());
        assert_eq!(heads.pop_matching("GET", "/a"), None);
        assert!(gave_up(&heads));
    }

    #[tokio::test]
    async fn garbage_input_makes_the_recorder_give_up() {
        let (recording, heads) =
            read_whole(b"GET /a HTTP/1.1\r\n\r\n\x00\x01 not http\r\n\r\nGET /b HTTP/1.1\r\n\r\n").await;
        assert!(gave_up(&heads));
        // The head that was whole before the garbage is still served with its names; nothing after.
        assert_eq!(heads.pop_matching("GET", "/a"), Some(head("GET", "/a", &[])));
        assert_eq!(heads.pop_matching("GET", "/b"), None);
        assert!(heads.gave_up().is_some_and(|reason| reason.contains("not parsable")));
        assert_eq!(recording.parser.state, State::Stopped);
        assert_eq!(recording.parser.buf.capacity(), 0);
    }

    #[tokio::test]
    async fn an_invalid_chunk_size_makes_the_recorder_give_up() {
        for body in [&b"zz\r\n"[..], b"\r\n", b"5\r\nhelloXX\r\n", b"0\r\nTrailer\n\r\n"] {
            let mut wire = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            wire.extend_from_slice(body);
            let (_, heads) = read_whole(&wire).await;
            assert!(gave_up(&heads), "{}", body.escape_ascii());
        }
    }

    #[tokio::test]
    async fn ambiguous_body_framing_makes_the_recorder_give_up() {
        for framing in
            ["Content-Length: 5\r\nContent-Length: 6", "Content-Length: +5", "Transfer-Encoding: chunked, gzip"]
        {
            let wire = format!("POST /a HTTP/1.1\r\n{framing}\r\n\r\n");
            let (_, heads) = read_whole(wire.as_bytes()).await;
            assert!(gave_up(&heads), "{framing}");
        }
    }

    #[tokio::test]
    async fn an_http2_preface_makes_the_recorder_give_up() {
        let mut wire = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        wire.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]); // empty SETTINGS frame
        let (recording, heads) = read_whole(&wire).await;
        assert!(gave_up(&heads));
        assert_eq!(heads.pop_matching("PRI", "*"), None);
        assert_eq!(recording.parser.state, State::Stopped);
    }

    #[tokio::test]
    async fn an_oversized_head_gives_up_without_buffering_it_all() {
        let mut wire = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
        wire.resize(MAX_HEAD + 100_000, b'a');
        let chunks: VecDeque<_> = wire.chunks(1000).map(<[u8]>::to_vec).collect();
        let (mut recording, heads) = record(Chunks(chunks));
        let mut buf = [0; 1000];
        while recording.read(&mut buf).await.expect("read") > 0 {
            assert!(recording.parser.buf.len() <= MAX_HEAD);
        }
        assert!(gave_up(&heads));
        assert_eq!(recording.parser.buf.capacity(), 0);
    }

    #[tokio::test]
    async fn one_hundred_headers_are_recorded_but_one_more_gives_up() {
        for (count, recorded) in [(MAX_HEADERS, true), (MAX_HEADERS + 1, false)] {
            let fields: String = (0..count).map(|i| format!("H{i}: v\r\n")).collect();
            let wire = format!("GET /many HTTP/1.1\r\n{fields}\r\n");
            let (_, heads) = read_whole(wire.as_bytes()).await;
            let popped = heads.pop_matching("GET", "/many");
            assert_eq!(popped.map(|h| h.names.len()), recorded.then_some(count));
        }
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
