//! How fast each service is called, shared by every stack of a run. Each
//! service's client sends through an HTTP client that
//! - lets a fixed number of calls be in flight at once, and
//! - paces the calls once the service has throttled one: the rate drops to
//!   half of what was being sent (then by 30% at each further throttling,
//!   at most twice a second) and grows again by 1 call/s every second
//!   without throttling (additive increase, multiplicative decrease, as TCP).
//!
//! So `drift --all` over a hundred stacks settles near what AWS allows
//! instead of bursting into throttling and retries.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// Calls in flight per service. IAM throttles bursts soonest (its control
/// plane is global); the others serve more at once.
pub fn in_flight(service: &str) -> usize {
    match service {
        "iam" => 4,
        "sts" => 4,
        _ => 16,
    }
}

/// The SDK's default HTTPS client (rustls with aws-lc), once per run.
pub fn base_client() -> SharedHttpClient {
    use aws_smithy_http_client::{tls, Builder};
    Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The pace of one service's calls.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<Pace>,
}

#[derive(Debug)]
struct Pace {
    /// Calls per second; `None` until the service first throttles.
    rate: Option<f64>,
    /// When the next call may go.
    next: Instant,
    last_cut: Option<Instant>,
    last_raise: Instant,
    /// Calls sent in the current and the previous one-second window.
    window: (Instant, u32, u32),
}

const MIN_RATE: f64 = 1.0;
const CUT: f64 = 0.7;
const RAISE_PER_SECOND: f64 = 1.0;

impl Pacer {
    pub fn new() -> Arc<Pacer> {
        let now = Instant::now();
        Arc::new(Pacer {
            state: Mutex::new(Pace {
                rate: None,
                next: now,
                last_cut: None,
                last_raise: now,
                window: (now, 0, 0),
            }),
        })
    }

    /// Waits for this call's turn.
    async fn turn(&self) {
        let wait = {
            let mut p = self.state.lock().expect("pacer");
            let now = Instant::now();
            let (start, current, _) = p.window;
            if now.duration_since(start) >= Duration::from_secs(1) {
                p.window = (now, 1, current);
            } else {
                p.window.1 += 1;
            }
            match p.rate {
                None => Duration::ZERO,
                Some(rate) => {
                    let at = p.next.max(now);
                    p.next = at + Duration::from_secs_f64(1.0 / rate);
                    at - now
                }
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// The service said "too many requests".
    pub fn throttled(&self) {
        let mut p = self.state.lock().expect("pacer");
        let now = Instant::now();
        if p.last_cut
            .is_some_and(|t| now.duration_since(t) < Duration::from_millis(500))
        {
            return; // one burst of throttling, one cut
        }
        let sent = f64::from(p.window.1.max(p.window.2));
        let rate = match p.rate {
            None => sent * 0.5,
            Some(r) => r * CUT,
        };
        p.rate = Some(rate.max(MIN_RATE));
        p.last_cut = Some(now);
        p.last_raise = now;
    }

    /// A call went through without throttling.
    pub fn answered(&self) {
        let mut p = self.state.lock().expect("pacer");
        let now = Instant::now();
        if let Some(rate) = p.rate {
            let since = now.duration_since(p.last_raise).as_secs_f64();
            p.rate = Some(rate + RAISE_PER_SECOND * since);
            p.last_raise = now;
        }
    }

    #[cfg(test)]
    fn rate(&self) -> Option<f64> {
        self.state.lock().expect("pacer").rate
    }
}

/// An HTTP client that lets at most `slots` requests out at once, at the
/// pace its [`Pacer`] allows.
#[derive(Debug, Clone)]
pub struct Limited {
    inner: SharedHttpClient,
    slots: Arc<Semaphore>,
    pacer: Arc<Pacer>,
}

impl Limited {
    pub fn new(inner: SharedHttpClient, slots: usize, pacer: Arc<Pacer>) -> Self {
        Limited {
            inner,
            slots: Arc::new(Semaphore::new(slots)),
            pacer,
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
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    slots: Arc<Semaphore>,
    pacer: Arc<Pacer>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, slots, pacer) = (self.inner.clone(), self.slots.clone(), self.pacer.clone());
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed.
            let _slot = slots.acquire_owned().await.expect("open semaphore");
            pacer.turn().await;
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

    #[tokio::test(start_paused = true)]
    async fn the_pace_halves_at_throttling_cuts_once_a_burst_and_grows_back() {
        let pacer = Pacer::new();
        for _ in 0..40 {
            pacer.turn().await;
        }
        assert_eq!(pacer.rate(), None, "unpaced until throttled");
        pacer.throttled();
        assert_eq!(pacer.rate(), Some(20.0), "half of the 40 sent this second");
        pacer.throttled();
        assert_eq!(pacer.rate(), Some(20.0), "the same burst cuts once");
        let start = Instant::now();
        for _ in 0..21 {
            pacer.turn().await;
        }
        let took = start.elapsed().as_secs_f64();
        assert!((0.95..=1.05).contains(&took), "21 calls at 20/s: {took}");
        pacer.throttled();
        assert!((pacer.rate().unwrap() - 14.0).abs() < 1e-9);
        tokio::time::sleep(Duration::from_secs(3)).await;
        pacer.answered();
        assert!(
            (pacer.rate().unwrap() - 17.0).abs() < 1e-9,
            "{:?}",
            pacer.rate()
        );
    }
}
