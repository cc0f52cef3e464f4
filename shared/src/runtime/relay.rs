//! Local mode only: a relay between `lambda_runtime` and the Runtime API of
//! `cargo lambda watch` (`make dev`, the e2e and browser tests).
//!
//! The emulator answers a function's response POST as soon as it has read the headers, and
//! reads the body later. `lambda_runtime`'s client then finds its only connection still busy,
//! opens a second one for the next poll, and its one-connection pool later closes the surplus
//! connection; if that connection still carried an unread body, the emulator lost it and the
//! caller got the emulator's own `500` (about 1 response over 8 KiB in 300, measured; a larger
//! pool makes it lose the response instead, and the caller waits forever).
//!
//! The relay listens on loopback, takes each request from `lambda_runtime` whole, and passes
//! it on over one connection to the emulator, one exchange at a time, answering only once the
//! emulator's answer is complete. The function sees no early answer, so it never needs a second
//! connection; the emulator sees one orderly connection. On AWS the relay is not used.

use std::net::TcpListener as StdListener;
use std::sync::Arc;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

/// Every relay failure is an I/O failure to `lambda_runtime`, which then reports it.
type RelayResult<T> = Result<T, std::io::Error>;

fn io(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(error.to_string())
}

/// A bound relay, not yet serving.
pub(crate) struct Relay {
    listener: StdListener,
    upstream: String,
}

impl Relay {
    /// Binds a loopback port and points `AWS_LAMBDA_RUNTIME_API` at it (same path, the relay's
    /// address). Does nothing when the variable is unset or not a URL with a host. Must run
    /// before any other thread exists: it changes the process environment.
    pub(crate) fn install() -> std::io::Result<Option<Relay>> {
        let Some(api) = std::env::var("AWS_LAMBDA_RUNTIME_API")
            .ok()
            .and_then(|v| v.parse::<Uri>().ok())
        else {
            return Ok(None);
        };
        let Some(authority) = api.authority() else {
            return Ok(None);
        };
        let listener = StdListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let path = api.path_and_query().map_or("", |p| p.as_str());
        let relayed = format!("http://{}{}", listener.local_addr()?, path);
        std::env::set_var("AWS_LAMBDA_RUNTIME_API", relayed);
        Ok(Some(Relay {
            listener,
            upstream: authority.to_string(),
        }))
    }

    /// Serves the relay on the current tokio runtime.
    pub(crate) fn spawn(self) -> std::io::Result<()> {
        let listener = TcpListener::from_std(self.listener)?;
        let upstream = Arc::new(Upstream {
            addr: self.upstream,
            conn: Mutex::new(None),
        });
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let upstream = upstream.clone();
                        async move { upstream.forward(req).await }
                    });
                    if let Err(error) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                    {
                        tracing::warn!(%error, "runtime relay: connection from the function failed");
                    }
                });
            }
        });
        Ok(())
    }
}

/// The one connection to the emulator, used by one exchange at a time.
struct Upstream {
    addr: String,
    conn: Mutex<Option<SendRequest<Full<Bytes>>>>,
}

impl Upstream {
    async fn forward(&self, req: Request<Incoming>) -> RelayResult<Response<Full<Bytes>>> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(io)?.to_bytes();
        let mut conn = self.conn.lock().await;
        // A closed connection (the emulator restarted) is replaced before sending; a request is
        // never sent twice.
        let sender = match conn.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => self.connect().await?,
        };
        let sender = conn.insert(sender);
        sender.ready().await.map_err(io)?;
        let mut out = Request::builder()
            .method(parts.method)
            .uri(parts.uri)
            .version(parts.version);
        if let Some(headers) = out.headers_mut() {
            *headers = parts.headers;
            headers.insert(header::HOST, HeaderValue::from_str(&self.addr).map_err(io)?);
        }
        let request = out.body(Full::new(body)).map_err(io)?;
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(error) => {
                *conn = None;
                return Err(io(error));
            }
        };
        let (mut parts, body) = response.into_parts();
        let body = body.collect().await.map_err(io)?.to_bytes();
        parts.headers.remove(header::TRANSFER_ENCODING);
        parts.headers.remove(header::CONNECTION);
        Ok(Response::from_parts(parts, Full::new(body)))
    }

    async fn connect(&self) -> RelayResult<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "runtime relay: connection to the emulator failed");
            }
        });
        Ok(sender)
    }
}
