//! An in-process mock on a real loopback socket (port 0).

use std::net::SocketAddr;
use std::sync::Arc;

use vendor_mock::{Config, Entry, Mock, Specs};

use crate::*;

/// A mock served in-process on 127.0.0.1 with a port the OS picked.
#[derive(Debug)]
pub struct Server {
    pub addr: SocketAddr,
    pub mock: Arc<Mock>,
}

/// Serves `specs` with `config` until the test's runtime ends.
pub async fn serve(specs: Specs, config: Config) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free loopback port");
    let addr = listener.local_addr().expect("the listener has an address");
    let mock = Mock::new(specs, config);
    let served = Arc::clone(&mock);
    tokio::spawn(async move { vendor_mock::run(listener, served, std::future::pending()).await });
    Server { addr, mock }
}

/// The four embedded vendors, seeded.
pub async fn serve_embedded() -> Server {
    serve(embedded(), seeded(1)).await
}

pub fn embedded() -> Specs {
    Specs::embedded().expect("the embedded specs load")
}

pub fn seeded(seed: u64) -> Config {
    Config::default().seed(seed)
}

impl Server {
    pub async fn send(&self, request: &Request) -> Response {
        send(self.addr, request).await
    }

    /// The newest journal entry (the answer to the last request, once its response was read).
    pub fn last_entry(&self) -> Entry {
        self.mock.journal().pop().expect("the journal has an entry for the last request")
    }
}
