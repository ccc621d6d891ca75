//! The HTTPS client the DynamoDB client uses: rustls with the ring crypto provider and the
//! system's root certificates. The SDK's default would bring aws-lc, a large C library, into
//! the arm64 executable; ring is smaller, builds faster, and is what the function needs to
//! reach DynamoDB over TLS.

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use aws_smithy_http_client::Builder;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Built once per process (it holds the connection pool).
pub fn https_client() -> SharedHttpClient {
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
