//! The connection wrapper: closes a connection that stays idle past `--idle-timeout`, and
//! obeys the connection-level faults (reset, empty reply) set through [`ConnControl`].

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const NORMAL: u8 = 0;
const EMPTY: u8 = 1;
const RESET: u8 = 2;

/// Per-connection switch that a handler flips to break its own connection.
#[derive(Debug, Default)]
pub(crate) struct ConnControl {
    mode: AtomicU8,
}

impl ConnControl {
    /// Close without answering (`reset`: with an RST).
    pub(crate) fn sabotage(&self, reset: bool) {
        self.mode.store(if reset { RESET } else { EMPTY }, Ordering::SeqCst);
    }
}

/// A TCP stream whose writes fail once its [`ConnControl`] is flipped, so that hyper drops the
/// connection without writing the answer; and whose reads fail once nothing has been read or
/// written for `idle` (hyper's header time-out only starts with a request's first byte, so an
/// idle keep-alive connection would otherwise stay open for ever).
#[derive(Debug)]
pub(crate) struct Breakable {
    inner: TcpStream,
    control: Arc<ConnControl>,
    idle: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Breakable {
    pub(crate) fn new(inner: TcpStream, idle: Duration) -> (Self, Arc<ConnControl>) {
        let control = Arc::new(ConnControl::default());
        let deadline = Box::pin(tokio::time::sleep(idle));
        (Self { inner, control: Arc::clone(&control), idle, deadline }, control)
    }

    fn active(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }

    fn broken(&self) -> Option<io::Error> {
        match self.control.mode.load(Ordering::SeqCst) {
            NORMAL => None,
            mode => {
                if mode == RESET {
                    // Zero linger: closing the socket sends RST instead of FIN.
                    let _ = self.inner.set_zero_linger();
                }
                Some(io::Error::new(io::ErrorKind::ConnectionAborted, "connection broken by a fault"))
            }
        }
    }
}

impl AsyncRead for Breakable {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => {
                self.active();
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "connection idle for too long")))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Breakable {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.broken() {
            return Poll::Ready(Err(e));
        }
        self.active();
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if let Some(e) = self.broken() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.broken() {
            return Poll::Ready(Err(e));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
