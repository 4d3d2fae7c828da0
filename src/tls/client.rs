//! The client's TLS settings: roots (system, `--cacert`), verification, client certificates,
//! versions, ALPN and session resumption, resolved once; each worker gets its own session cache.

use std::path::PathBuf;
use std::sync::Arc;

use pki_types::ServerName;
use rustls::client::Resumption;
use rustls::{ClientConfig, RootCertStore};

use super::sessions::Sessions;
use super::{TlsVersion, provider, read_certs, read_identity, verify::AnyServer};
use crate::error::SetupError;

/// The TLS flags of a run, as given.
#[derive(Debug, Clone, Default)]
pub struct ClientTlsOptions {
    /// Extra trusted roots (`--cacert`), beside the system's.
    pub cacert: Option<PathBuf>,
    /// Trusted roots given as values (the demo trusts the certificate its target just made).
    pub roots: Vec<pki_types::CertificateDer<'static>>,
    /// A client certificate chain and its key (`--cert`, `--key`), for mTLS.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Trust any certificate (`--insecure`).
    pub insecure: bool,
    /// Offer only this version (`--tls-version`).
    pub version: Option<TlsVersion>,
    /// Resume sessions across reconnects (on unless `--no-tls-resume`).
    pub resume: bool,
    /// The application protocols offered (ALPN), most wanted first; none: http/1.1.
    pub alpn: Vec<Vec<u8>>,
}

/// Resolved client TLS: the shared settings and the name the server must prove.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
    /// Why the last server certificate was refused, in words (see `trust`).
    refusal: super::trust::Refusal,
    pub server_name: ServerName<'static>,
    pub insecure: bool,
    pub version: Option<TlsVersion>,
    pub resume: bool,
}

impl ClientTls {
    pub fn new(host: &str, opts: &ClientTlsOptions) -> Result<Self, SetupError> {
        let server_name = ServerName::try_from(host.to_string()).map_err(|_| {
            SetupError::Tls(format!(
                "'{host}' is not a valid TLS server name (a DNS name or an IP address)"
            ))
        })?;
        let builder = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&TlsVersion::offered(opts.version))
            .map_err(|e| SetupError::Tls(format!("--tls-version: {e}")))?;
        let refusal = super::trust::Refusal::default();
        let builder = if opts.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer::new(provider())))
        } else {
            let (store, pinned) = roots(opts)?;
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(store),
                provider(),
            )
            .build()
            .map_err(|e| SetupError::Tls(format!("the trusted certificates: {e}")))?;
            let trust = super::trust::Trust::new(webpki, pinned, refusal.clone());
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(trust))
        };
        let mut config = match read_identity(opts.cert.as_deref(), opts.key.as_deref())? {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| SetupError::Tls(format!("--cert/--key do not make a pair: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = if opts.alpn.is_empty() {
            vec![b"http/1.1".to_vec()]
        } else {
            opts.alpn.clone()
        };
        // The crypto library sets itself up on first use: do it now, not in the first
        // connection's measured handshake.
        let _ = rustls::ClientConnection::new(Arc::new(config.clone()), server_name.clone());
        Ok(Self {
            config: Arc::new(config),
            refusal,
            server_name,
            insecure: opts.insecure,
            version: opts.version,
            resume: opts.resume,
        })
    }

    /// Why the last server certificate was refused, in words, if one was.
    pub fn refusal(&self) -> Option<String> {
        self.refusal.lock().ok().and_then(|r| r.clone())
    }

    /// One worker's settings: its own session cache (no lock shared between cores), sized to
    /// hold a ticket for each of its connections, or none when resumption is off.
    pub fn for_worker(&self, connections: usize) -> Arc<ClientConfig> {
        let mut config = (*self.config).clone();
        config.resumption = if self.resume {
            // Room for two tickets per connection: a server sends one or more per handshake.
            let tickets = connections.saturating_mul(2).clamp(16, 1 << 20);
            Resumption::store(Arc::new(Sessions::new(tickets)))
        } else {
            Resumption::disabled()
        };
        Arc::new(config)
    }
}

/// The system's trusted roots plus `--cacert`, and the certificates given (trusted as they are
/// too); an error naming the fix when there are none.
fn roots(
    opts: &ClientTlsOptions,
) -> Result<(RootCertStore, Vec<pki_types::CertificateDer<'static>>), SetupError> {
    let mut pinned = opts.roots.clone();
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    // Certificates the system has but webpki cannot parse are skipped, as browsers do.
    store.add_parsable_certificates(native.certs);
    for cert in &opts.roots {
        store
            .add(cert.clone())
            .map_err(|e| SetupError::Tls(format!("a trusted certificate: {e}")))?;
    }
    if let Some(path) = &opts.cacert {
        for cert in read_certs(path, "--cacert")? {
            pinned.push(cert.clone());
            store
                .add(cert)
                .map_err(|e| SetupError::Tls(format!("--cacert {}: {e}", path.display())))?;
        }
    }
    if store.is_empty() {
        let why = native
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(SetupError::Tls(format!(
            "no trusted CA certificates found on this machine{why}; install them (Debian/Ubuntu: \
             apt-get install ca-certificates), set SSL_CERT_FILE to a bundle, pass --cacert FILE, \
             or --insecure to skip verification"
        )));
    }
    Ok((store, pinned))
}
