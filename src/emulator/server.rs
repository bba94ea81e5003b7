//! Accepting connections: plain or TLS, one hyper HTTP/1.1 connection each, served by the
//! router. A handler may ask for its connection to be closed without an answer
//! ([`Hangup`]): that is how a dropped connection is injected after a batch is stored.
//!
//! A `CONNECT` request, whatever host it names, is tunnelled to the emulator itself: it is
//! also the proxy a rehearsal (or a test) can point `HTTPS_PROXY` at, and it counts the
//! tunnels it opens.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::Method;
use axum::response::Response;
use tokio::net::TcpStream;

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

/// Closes the connection a request came on, without an answer.
#[derive(Clone, Default)]
pub(super) struct Hangup(Arc<Notify>);

impl Hangup {
    /// Closes the connection; the caller should then never answer.
    pub(super) fn now(&self) {
        self.0.notify_one();
    }
}

/// A TLS acceptor for a certificate chain and key in PEM files.
pub(super) fn tls(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read certificates from `{}`: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a private key from `{}`: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| format!("cannot serve TLS with `{}`: {e}", cert.display()))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves connections until the process ends; `tunnels` counts the CONNECT tunnels.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    tunnels: Arc<AtomicU64>,
) {
    let Ok(own) = listener.local_addr() else {
        return;
    };
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        let tunnels = tunnels.clone();
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        connection(stream, router, own, tunnels).await;
                    }
                }
                None => connection(tcp, router, own, tunnels).await,
            }
        });
    }
}

/// Serves one connection until the client closes it or a handler hangs up.
async fn connection<S>(stream: S, router: Router, own: SocketAddr, tunnels: Arc<AtomicU64>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let hangup = Hangup::default();
    let signal = hangup.0.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(hangup.clone());
        let mut router = router.clone();
        let tunnels = tunnels.clone();
        async move {
            if request.method() == Method::CONNECT {
                tunnels.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(tunnel(request, own));
                return Ok(Response::new(Body::empty()));
            }
            router.call(request).await
        }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    // Dropping the connection's future closes its socket.
    tokio::select! {
        _ = served => {}
        _ = signal.notified() => {}
    }
}

/// Carries a CONNECT request's connection to the emulator itself.
async fn tunnel(request: Request<Incoming>, own: SocketAddr) {
    let Ok(upgraded) = hyper::upgrade::on(request).await else {
        return;
    };
    if let Ok(mut target) = TcpStream::connect(own).await {
        let _ = tokio::io::copy_bidirectional(&mut TokioIo::new(upgraded), &mut target).await;
    }
}
