//! Test support: one moto server per test binary, the real `webhook-stack`
//! binary run as a user would, and SDK clients to check AWS independently.
#![allow(dead_code)]

pub mod proxy;
pub mod spec;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const ACCOUNT: &str = "123456789012";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn http(port: u16, method: &str, path: &str) -> Option<String> {
    http_with_body(port, method, path, "")
}

pub fn http_with_body(port: u16, method: &str, path: &str, body: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

pub fn http_get(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path)
}

pub fn http_post(port: u16, path: &str) -> Option<String> {
    http(port, "POST", path)
}

/// The moto endpoint: `MOTO_ENDPOINT` if set (scripts/test.sh starts one),
/// else a server started here on a free port, stopped by a watchdog when
/// this test process exits.
pub fn endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
        Ok(e) => e,
        Err(_) => start_moto(&[]),
    })
}

/// Starts a moto server of this test process's own, with `env` in its
/// environment (e.g. `MOTO_LAMBDA_CONCURRENCY_QUOTA`), and returns its
/// endpoint once it answers.
pub fn start_moto(env: &[(&str, &str)]) -> String {
    // moto, with the DeadLetterConfig it lacks (scripts/moto_server.py).
    let python = root().join(".venv/bin/python");
    let moto = root().join("scripts/moto_server.py");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = format!(
        "{} {} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
         while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m",
        python.display(),
        moto.display(),
        parent = std::process::id()
    );
    // Not waited for: the watchdog outlives this function by design and
    // exits with the test process.
    #[allow(clippy::zombie_processes)]
    let _watchdog = Command::new("sh")
        .args(["-c", &script])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .spawn()
        .expect("start moto");
    let start = Instant::now();
    while http_get(port, "/moto-api/").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "moto did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    format!("http://127.0.0.1:{port}")
}

/// SDK configuration for checking what is really in the emulator.
pub async fn sdk() -> SdkConfig {
    use aws_smithy_http_client::{tls, Builder};
    // The build carries no default HTTPS client: the same one as the tool's.
    let http = Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint())
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await
}

/// A reproducible handler zip with a stand-in `bootstrap` (the emulator
/// does not run code); `variant` changes its content and so its CodeSha256.
pub fn handler_zip(dir: &Path, variant: &str) -> PathBuf {
    use zip::write::SimpleFileOptions;
    let path = dir.join(format!("handler-{variant}.zip"));
    let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts = SimpleFileOptions::default()
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    w.start_file("bootstrap", opts).unwrap();
    w.write_all(format!("#!/bin/sh\n# {variant}\n").as_bytes())
        .unwrap();
    w.finish().unwrap();
    path
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Output {
    fn from(out: std::process::Output) -> Output {
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Output {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Physical names of a stack's resources, as the design derives them
/// from the suffix. Copied from the tool's formats on purpose (not imported)
/// so that a change to the tool's naming shows up as a failing test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub function: String,
    pub table: String,
    pub log_group: String,
    pub role: String,
    pub role_policy: String,
    pub alias: String,
    /// The opt-in CloudWatch alarms.
    pub alarm_error_rate: String,
    pub alarm_duration: String,
    pub alarm_throttles: String,
    pub alarm_table_errors: String,
    /// The alarm on the stack's own drift metric.
    pub alarm_drift: String,
    /// The dead-letter queue and its alarm (settings `dead_letter_queue`
    /// and `alarms`).
    pub dlq: String,
    pub alarm_dlq_messages: String,
}

/// The physical names of stack `suffix`.
pub fn names(suffix: &str) -> Names {
    let s = suffix;
    Names {
        function: format!("webhook-processor-{s}"),
        table: format!("transactions-{s}"),
        log_group: format!("/aws/lambda/webhook-processor-{s}"),
        role: format!("webhook-processor-role-{s}"),
        role_policy: format!("webhook-processor-policy-{s}"),
        alias: format!("alias/webhook-processor-{s}"),
        alarm_error_rate: format!("webhook-processor-{s}-error-rate"),
        alarm_duration: format!("webhook-processor-{s}-duration"),
        alarm_throttles: format!("webhook-processor-{s}-throttles"),
        alarm_table_errors: format!("transactions-{s}-system-errors"),
        alarm_drift: format!("webhook-processor-{s}-drift"),
        dlq: format!("webhook-processor-{s}-dlq"),
        alarm_dlq_messages: format!("webhook-processor-{s}-dlq-messages"),
    }
}

/// One stack under test: its own suffix and state directory.
pub struct TestStack {
    pub suffix: String,
    pub dir: PathBuf,
    pub zip: PathBuf,
    /// `--backend URL`; `None` for the default, `--state-dir DIR/state`.
    pub backend: Option<String>,
}

impl TestStack {
    pub fn new(suffix: &str) -> TestStack {
        TestStack::in_dir(suffix, "local")
    }

    fn in_dir(suffix: &str, kind: &str) -> TestStack {
        let dir = std::env::temp_dir().join(format!(
            "webhook-stack-test-{suffix}-{kind}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let zip = handler_zip(&dir, "v1");
        TestStack {
            suffix: suffix.into(),
            dir,
            zip,
            backend: None,
        }
    }

    /// A stack whose state lives at `backend` (e.g. `s3://bucket/prefix`).
    pub fn with_backend(suffix: &str, backend: &str) -> TestStack {
        TestStack {
            backend: Some(backend.into()),
            ..TestStack::in_dir(suffix, "remote")
        }
    }

    /// The physical names of this stack's resources.
    pub fn names(&self) -> Names {
        names(&self.suffix)
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.join("state")
    }

    pub fn state_path(&self) -> PathBuf {
        self.state_dir().join(format!("{}.json", self.suffix))
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.state_path()).unwrap()).unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_webhook-stack"));
        c.args(args).arg("--suffix").arg(&self.suffix);
        match &self.backend {
            Some(url) => c.arg("--backend").arg(url),
            None => c.arg("--state-dir").arg(self.state_dir()),
        };
        c.env("AWS_ENDPOINT_URL", endpoint())
            .env_remove("WEBHOOK_STACK_BACKEND")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("WEBHOOK_STACK_HANDLER_ZIP", &self.zip)
            .env_remove("AWS_PROFILE")
            .env_remove("ENVIRONMENT_SUFFIX")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("run webhook-stack")
            .into()
    }

    /// Runs `args` with AWS reached through `proxy`.
    pub fn run_via(&self, proxy: &proxy::Proxy, args: &[&str]) -> Output {
        self.command(args)
            .env("AWS_ENDPOINT_URL", &proxy.endpoint)
            .output()
            .expect("run webhook-stack")
            .into()
    }

    /// Another stack in this one's state directory, with its handler zip.
    pub fn beside(&self, suffix: &str) -> TestStack {
        TestStack {
            suffix: suffix.into(),
            dir: self.dir.clone(),
            zip: self.zip.clone(),
            backend: self.backend.clone(),
        }
    }
}

/// The writes an `--json` run made, by operation.
pub fn writes(report: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = report["aws_calls"]["by_operation"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(op, _)| {
            let name = op.split(':').nth(1).unwrap();
            !["Get", "List", "Describe"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .map(|(op, n)| format!("{op}={n}"))
        .collect();
    v.sort();
    v
}

/// (resource, status, drifted paths) from `drift --json`, drifted ones only,
/// with drift's exit code.
pub fn drifted(st: &TestStack) -> (i32, Vec<(String, String, Vec<String>)>) {
    let out = st.run(&["drift", "--json"]);
    assert_ne!(out.code, 1, "{}", out.stderr);
    let report = out.json();
    let rows = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] != "IN_SYNC")
        .map(|r| {
            let paths = r["drifted_properties"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["path"].as_str().unwrap().to_owned())
                .collect();
            (
                r["resource"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                paths,
            )
        })
        .collect();
    (out.code, rows)
}

pub fn row(resource: &str, status: &str, paths: &[&str]) -> (String, String, Vec<String>) {
    (
        resource.into(),
        status.into(),
        paths.iter().map(|p| p.to_string()).collect(),
    )
}

/// The seed README's test event, as its README gives it.
pub const SEED_EVENT: &str = r#"{"transactionId":"txn_test_001","amount":99.99,"currency":"USD","status":"completed","provider":"stripe","timestamp":"2025-01-15T10:30:00Z"}"#;
