//! AWS SDK configuration shared by every function, built once per process.
//!
//! The SDK's default HTTPS client loads the platform's trust store at start-up: on Linux that
//! reads the CA bundle and then every file in the certificates directory, ~4 ms of a cold start
//! that a 128 MB Lambda pays on every new instance. Keel's functions trust the Mozilla root
//! program compiled into the binary instead (the same roots the platform bundle carries), so
//! start-up does no file I/O for TLS.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// Standard AWS configuration (region, credentials and `AWS_ENDPOINT_URL_*` from the
/// environment) with Keel's HTTPS client.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await
}

fn https_client() -> SharedHttpClient {
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(mozilla_roots_pem());
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a trust store of valid roots");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The compiled-in Mozilla roots as one PEM bundle (the form the SDK's trust store takes).
fn mozilla_roots_pem() -> Vec<u8> {
    let mut pem = String::with_capacity(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() * 2100);
    for cert in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = STANDARD.encode(cert.as_ref());
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem.into_bytes()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_compiled_in_roots_form_a_valid_trust_store() {
        let pem = super::mozilla_roots_pem();
        let count = pem.windows(27).filter(|w| w == b"-----BEGIN CERTIFICATE-----").count();
        assert!(count > 100, "{count} roots");
        // Building the client parses them; an invalid bundle panics here rather than in Lambda.
        let _client = super::https_client();
    }
}
