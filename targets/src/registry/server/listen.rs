//! The accept loop: HTTP/1 connections under [`Limits`], served by the router until shutdown.
//!
//! HTTP/1 only: Cargo reaches a plain-`http` registry with HTTP/1.1 (its curl handle asks for
//! HTTP/2 over TLS only), and hyper-util's auto-detecting builder runs no timer while it sniffs
//! the protocol, so a connection that never sent a byte would escape the header timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};

use super::Limits;

/// What a connection past the limit is told before it is closed.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 71\r\n\r\n\
{\"errors\":[{\"detail\":\"too many connections to this registry; retry\"}]}";

/// How long busy connections may finish after shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(5);

/// How long a refused connection is read from (and what it sends dropped) after its 503, so
/// the close is a FIN after the answer and not a reset that could destroy it unread.
const LINGER: Duration = Duration::from_secs(1);

/// Refused connections lingering at once; past that a refusal closes at once, so a flood
/// of connections cannot hold descriptors through the refusals.
const LINGERING_MAX: usize = 64;

/// After `accept` fails (out of descriptors, or the peer reset before it was accepted), the
/// loop waits this long before accepting again rather than spinning on the error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Serves `router` on `listener` until `stop` fires, then drains for up to [`DRAIN`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    mut stop: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let lingering = Arc::new(Semaphore::new(LINGERING_MAX));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refuse(stream, &lingering);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

/// Answers 503 without reading the request and closes: one non-blocking write into a fresh
/// socket's empty send buffer, so a refusal never waits on the client. The connection then
/// lingers (up to [`LINGER`], if fewer than [`LINGERING_MAX`] do) reading and dropping what
/// the client sends: closing with its request unread would reset the connection, and a
/// client that is still writing would see the reset instead of the 503.
fn refuse(stream: TcpStream, lingering: &Arc<Semaphore>) {
    let _ = stream.try_write(REFUSED);
    let Ok(permit) = Arc::clone(lingering).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let drain = async { while let Ok(1..) = stream.read(&mut sink).await {} };
        let _ = tokio::time::timeout(LINGER, drain).await;
        drop(permit);
    });
}
