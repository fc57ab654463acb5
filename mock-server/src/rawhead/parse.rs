//! The incremental parser behind the recorder: request heads parsed with `httparse`, bodies
//! skipped by their framing (`Content-Length` or chunked, extensions and trailers included),
//! and every reason to give up on a connection.

/// Largest request head, chunk-size line or trailer line buffered before giving up: hyper's own
/// read-buffer limit, so any head hyper serves is also recorded.
const MAX_HEAD: usize = 8192 + 4096 * 100;
/// Most header fields in one request head (hyper's default limit too).
const MAX_HEADERS: usize = 100;

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

/// Why the recorder gave up on a connection.
#[derive(Debug, thiserror::Error)]
pub(super) enum GiveUp {
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
pub(super) struct Parser {
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
    pub(super) fn feed(&mut self, mut data: &[u8], out: &mut Vec<RawHead>) -> Result<(), GiveUp> {
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

    /// Whether it gave up (see [`Parser::stop`]).
    pub(super) fn stopped(&self) -> bool {
        self.state == State::Stopped
    }

    /// Gives up: parses nothing more and frees the buffer.
    pub(super) fn stop(&mut self) {
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
    use crate::rawhead::record;
    use crate::rawhead::tests::{Chunks, MIXED, gave_up, head, mixed_heads, queued, read_chunks, read_whole};
    use std::collections::VecDeque;
    use tokio::io::AsyncReadExt;

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
}
