//! Verifying a server as `curl --cacert` would: a certificate given with `--cacert` is trusted as
//! it is (a self-signed one made with `openssl req -x509`, which sets CA:TRUE, included), for
//! its names; any other goes through webpki. The last refusal is kept in words for the report.

use std::sync::{Arc, Mutex};

use pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, SignatureScheme};

/// Why the last server certificate was refused, in words; shared with the run's report.
pub type Refusal = Arc<Mutex<Option<String>>>;

#[derive(Debug)]
pub struct Trust {
    webpki: Arc<WebPkiServerVerifier>,
    /// The `--cacert` certificates, trusted byte for byte as a server's own.
    pinned: Vec<CertificateDer<'static>>,
    refusal: Refusal,
}

impl Trust {
    pub fn new(
        webpki: Arc<WebPkiServerVerifier>,
        pinned: Vec<CertificateDer<'static>>,
        refusal: Refusal,
    ) -> Self {
        Self {
            webpki,
            pinned,
            refusal,
        }
    }

    fn refuse(&self, e: Error) -> Error {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(describe(&e));
        }
        e
    }
}

impl ServerCertVerifier for Trust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self
            .pinned
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref())
        {
            // As OpenSSL does: the very certificate is trusted, for the names it holds.
            let parsed = ParsedCertificate::try_from(end_entity).map_err(|e| self.refuse(e))?;
            verify_server_name(&parsed, server_name).map_err(|e| self.refuse(e))?;
            return Ok(ServerCertVerified::assertion());
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            .map_err(|e| self.refuse(e))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A refusal in words, with what to do about it.
pub fn describe(e: &Error) -> String {
    let Error::InvalidCertificate(c) = e else {
        return e.to_string();
    };
    match c {
        CertificateError::UnknownIssuer => "its issuer is unknown: trust the CA that signed it \
            with --cacert FILE (or the certificate itself, if it is self-signed)"
            .into(),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "it does not name {}; it names {}: use one of those in the URL",
            expected.to_str(),
            if presented.is_empty() {
                "nothing".to_string()
            } else {
                presented
                    .iter()
                    .map(|p| bare(p))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        CertificateError::NotValidForName => {
            "it does not name the host in the URL: use a name it was issued for".into()
        }
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("it expired at {} (Unix time)", not_after.as_secs())
        }
        CertificateError::Expired => "it has expired".into(),
        CertificateError::NotValidYetContext { not_before, .. } => format!(
            "it is not valid before {} (Unix time)",
            not_before.as_secs()
        ),
        CertificateError::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
            "it is a CA certificate (CA:TRUE) used as the server's own, as `openssl req -x509` \
             makes them: pass that very certificate with --cacert to trust it as it is"
                .into()
        }
        other => format!("{other:?}"),
    }
}

/// A name as webpki presents it (`DnsName("a.example")`, `IpAddress(1.2.3.4)`), bare.
fn bare(presented: &str) -> &str {
    let inner = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(presented);
    inner.trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_in_words() {
        let expired = Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(2_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_000)),
        });
        assert_eq!(describe(&expired), "it expired at 1000 (Unix time)");
        assert!(
            describe(&Error::InvalidCertificate(CertificateError::UnknownIssuer))
                .contains("--cacert")
        );
        assert_eq!(bare("DnsName(\"a.example\")"), "a.example");
        assert_eq!(bare("IpAddress(10.0.0.1)"), "10.0.0.1");
    }
}
