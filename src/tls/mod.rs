//! TLS for the transport seam (rustls on aws-lc-rs): settings resolved before workers start, and
//! the per-worker layer that encrypts staged bytes at send time and decrypts what arrives.

mod client;
mod layer;
mod server;
mod sessions;
mod trust;
mod verify;

pub use client::{ClientTls, ClientTlsOptions};
pub use layer::Tls;
pub use server::{ServerTls, ServerTlsOptions};

use std::path::Path;

use pki_types::pem::PemObject;
use pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, Error};

use crate::error::SetupError;
use crate::io::TlsFault;

/// The TLS versions a run may use (`--tls-version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TlsVersion {
    #[serde(rename = "1.2")]
    V1_2,
    #[serde(rename = "1.3")]
    V1_3,
}

impl TlsVersion {
    pub fn parse(s: &str) -> Result<Self, SetupError> {
        match s.trim_start_matches(['v', 'V']) {
            "1.2" => Ok(Self::V1_2),
            "1.3" => Ok(Self::V1_3),
            _ => Err(SetupError::Usage(format!(
                "--tls-version '{s}': expected 1.2 or 1.3"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::V1_2 => "1.2",
            Self::V1_3 => "1.3",
        }
    }

    /// The rustls versions to offer: the pinned one, or both.
    fn offered(pin: Option<Self>) -> Vec<&'static rustls::SupportedProtocolVersion> {
        match pin {
            Some(Self::V1_2) => vec![&rustls::version::TLS12],
            Some(Self::V1_3) => vec![&rustls::version::TLS13],
            None => vec![&rustls::version::TLS13, &rustls::version::TLS12],
        }
    }
}

/// The crypto provider every config uses: aws-lc-rs (see docs/decisions/011-tls.md).
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Names the kind of a TLS failure for reports.
pub fn classify(e: &Error) -> TlsFault {
    match e {
        Error::InvalidCertificate(_)
        | Error::NoCertificatesPresented
        | Error::UnsupportedNameType
        | Error::InvalidCertRevocationList(_) => TlsFault::Certificate,
        Error::AlertReceived(a) => match a {
            AlertDescription::ProtocolVersion | AlertDescription::InsufficientSecurity => {
                TlsFault::Protocol
            }
            AlertDescription::NoApplicationProtocol => TlsFault::NoProtocol,
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateRequired => TlsFault::Certificate,
            _ => TlsFault::Alert,
        },
        _ => TlsFault::Protocol,
    }
}

/// A certificate chain and its private key, read from `--cert` and `--key` (given together or
/// not at all).
type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn read_identity(cert: Option<&Path>, key: Option<&Path>) -> Result<Option<Identity>, SetupError> {
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some((read_certs(c, "--cert")?, read_key(k, "--key")?))),
        (None, None) => Ok(None),
        _ => Err(SetupError::Usage(
            "--cert and --key go together (a certificate chain and its private key)".into(),
        )),
    }
}

/// Reads every certificate in a PEM file.
fn read_certs(path: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| SetupError::Tls(format!("{flag} {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(SetupError::Tls(format!(
            "{flag} {}: no PEM certificate ('BEGIN CERTIFICATE') in the file",
            path.display()
        )));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
fn read_key(path: &Path, flag: &str) -> Result<PrivateKeyDer<'static>, SetupError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        SetupError::Tls(format!(
            "{flag} {}: {e} (expected a PEM private key)",
            path.display()
        ))
    })
}
