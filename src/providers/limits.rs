//! Calls in flight, per service, shared by every stack of a run: each
//! service's client sends through an HTTP client that waits for one of a
//! fixed number of slots. With the SDK's adaptive retry mode (which slows
//! a client down after throttling), `drift --all` over a hundred stacks
//! paces itself to what AWS allows instead of bursting into throttling.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Calls in flight per service. IAM throttles bursts soonest (its control
/// plane is global); the others serve more at once.
pub fn in_flight(service: &str) -> usize {
    match service {
        "iam" => 2,
        "sts" => 4,
        _ => 16,
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc), once per run.
pub fn base_client() -> SharedHttpClient {
    use aws_smithy_http_client::{tls, Builder};
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .build_https()
}

/// An HTTP client that lets at most `slots` requests out at once.
#[derive(Debug, Clone)]
pub struct Limited {
    inner: SharedHttpClient,
    slots: Arc<Semaphore>,
}

impl Limited {
    pub fn new(inner: SharedHttpClient, slots: usize) -> Self {
        Limited {
            inner,
            slots: Arc::new(Semaphore::new(slots)),
        }
    }
}

impl HttpClient for Limited {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            slots: self.slots.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    slots: Arc<Semaphore>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, slots) = (self.inner.clone(), self.slots.clone());
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed.
            let _slot = slots.acquire_owned().await.expect("open semaphore");
            inner.call(request).await
        })
    }
}

/// Whether an HTTP answer is AWS saying "too many requests": status 429, or
/// one of the throttling error codes the SDK retries as throttling.
pub fn is_throttling(status: u16, body: &[u8], error_type: Option<&str>) -> bool {
    const CODES: [&str; 9] = [
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
    ];
    if status == 429 {
        return true;
    }
    if status < 400 {
        return false;
    }
    if let Some(t) = error_type {
        let code = t.split(':').next().unwrap_or(t);
        let code = code.rsplit('#').next().unwrap_or(code);
        if CODES.contains(&code) {
            return true;
        }
    }
    let body = String::from_utf8_lossy(body);
    CODES.iter().any(|c| {
        body.contains(&format!("<Code>{c}</Code>"))
            || body.contains(&format!("\"{c}\""))
            || body.contains(&format!("#{c}\""))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_told_by_status_header_or_code() {
        assert!(is_throttling(429, b"", None));
        assert!(is_throttling(
            400,
            b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>",
            None
        ));
        assert!(is_throttling(
            400,
            br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException"}"#,
            None
        ));
        assert!(is_throttling(
            503,
            b"<Error><Code>SlowDown</Code></Error>",
            None
        ));
        assert!(is_throttling(
            400,
            b"{}",
            Some("ThrottlingException:http://x")
        ));
        assert!(!is_throttling(400, b"<Code>NoSuchEntity</Code>", None));
        assert!(!is_throttling(200, b"<Code>Throttling</Code>", None));
    }
}
