//! The built-in target's TLS settings: a self-signed certificate made at start (rcgen) or
//! `--cert/--key`, with session tickets and a session cache so clients can resume.

use std::path::PathBuf;
use std::sync::Arc;

use pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use rustls::server::ServerSessionMemoryCache;

use super::{TlsVersion, provider, read_identity};
use crate::error::SetupError;

/// Sessions the target remembers for resumption by session ID (TLS 1.2) or stateful ticket.
const SESSION_CACHE: usize = 1 << 16;

#[derive(Debug, Clone, Default)]
pub struct ServerTlsOptions {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Accept only this version.
    pub version: Option<TlsVersion>,
    /// Agree to h2 over ALPN as well as http/1.1.
    pub http2: bool,
}

#[derive(Debug, Clone)]
pub struct ServerTls {
    pub config: Arc<ServerConfig>,
    /// The generated certificate (PEM) when none was given, so clients can be told to trust it.
    pub self_signed: Option<String>,
}

impl ServerTls {
    pub fn new(opts: &ServerTlsOptions) -> Result<Self, SetupError> {
        let (chain, key, self_signed) =
            match read_identity(opts.cert.as_deref(), opts.key.as_deref())? {
                Some((chain, key)) => (chain, key, None),
                None => {
                    let names = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
                    let made = rcgen::generate_simple_self_signed(names)
                        .map_err(|e| SetupError::Tls(format!("cannot make a certificate: {e}")))?;
                    let der = CertificateDer::from(made.cert.der().to_vec());
                    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                        made.signing_key.serialize_der(),
                    ));
                    (vec![der], key, Some(made.cert.pem()))
                }
            };
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&TlsVersion::offered(opts.version))
            .map_err(|e| SetupError::Tls(format!("--tls-version: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| SetupError::Tls(format!("--cert/--key: {e}")))?;
        config.alpn_protocols = if opts.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE);
        config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()
            .map_err(|e| SetupError::Tls(format!("cannot make a ticket key: {e}")))?;
        Ok(Self {
            config: Arc::new(config),
            self_signed,
        })
    }
}
