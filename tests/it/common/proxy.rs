//! `scripts/aws_proxy.py` between the tool and moto: latency, faults, rules
//! for chosen operations, and a cap on how many requests get through.

use super::{endpoint, http_get};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Proxy {
    child: Child,
    port: u16,
    pub endpoint: String,
}

impl Proxy {
    /// Starts the proxy in front of this test binary's moto with `args`
    /// (e.g. `--fault-rate 0.2 --seed 7 --faults throttle,500`).
    pub fn start(args: &[&str]) -> Proxy {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/aws_proxy.py"))
            .args([
                "--upstream",
                endpoint(),
                "--port",
                "0",
                "--max-seconds",
                "600",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start scripts/aws_proxy.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let endpoint = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected proxy banner {line:?}"))
            .to_owned();
        let port = endpoint.rsplit(':').next().unwrap().parse().unwrap();
        Proxy {
            child,
            port,
            endpoint,
        }
    }

    /// The proxy's counters (requests, faults by kind, rules fired...).
    pub fn stats(&self) -> serde_json::Value {
        let raw = http_get(self.port, "/__proxy/stats").expect("proxy stats");
        let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap()
    }

    /// Waits until `n` requests are held by a HOLD rule.
    pub fn wait_held(&self, n: u64, timeout: Duration) {
        let start = Instant::now();
        while self.stats()["held"].as_u64() != Some(n) {
            assert!(
                start.elapsed() < timeout,
                "{n} held request(s) expected: {}",
                self.stats()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lets the held requests go on (and stops holding).
    pub fn release(&self) {
        let raw = super::http_post(self.port, "/__proxy/release").expect("proxy release");
        assert!(
            raw.starts_with("HTTP/1.1 200") || raw.starts_with("HTTP/1.0 200"),
            "{raw}"
        );
    }

    /// Decides every later request as IAM would for `principal` with
    /// this identity-based `policy` (`None`: no authorization).
    pub fn set_policy(&self, policy: Option<&serde_json::Value>, principal: &str) {
        let body = serde_json::json!({"policy": policy, "principal": principal}).to_string();
        let raw = super::http_with_body(self.port, "POST", "/__proxy/policy", &body)
            .expect("proxy policy");
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    }

    /// Zeroes the counts (refusals included).
    pub fn reset(&self) {
        let raw = super::http_post(self.port, "/__proxy/reset").expect("proxy reset");
        assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    }

    /// The refusals so far: `ACTION on RESOURCE` -> count.
    pub fn denied(&self) -> serde_json::Map<String, serde_json::Value> {
        self.stats()["denied"]
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits for the proxy to stop by itself (after `--max-requests`).
    pub fn wait_stopped(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
