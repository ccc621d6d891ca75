//! A moto server for this test binary: `MOTO_ENDPOINT` if set, else one started on a free
//! port from the project venv (`MOTO_PYTHON` overrides the interpreter).
//!
//! The server we start is moto_server's own `main()` with one change: DynamoDB writes hold
//! a lock. Real DynamoDB evaluates a condition expression and applies the write atomically;
//! moto 5.2.5 reads the item, checks the condition and writes it back without a lock, on a
//! threaded HTTP server, so two concurrent conditional writes can both succeed (measured: 7
//! of 15 runs of the 20-delivery test saw two `recorded`). The lock restores the guarantee
//! the handler relies on. A plain `moto_server` given through `MOTO_ENDPOINT` lacks it, and
//! `twenty_concurrent_deliveries_record_once` can fail against one for that reason alone.
//!
//! Statics are never dropped, so the server cannot be stopped from a destructor. A
//! watchdog shell started next to it kills it once this test process is gone, however the
//! process ends.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;

static ENDPOINT: OnceLock<String> = OnceLock::new();

/// The server and its watchdog, kept (never waited on) because they must outlive any test;
/// the watchdog ends the server and the init process reaps both.
static CHILDREN: Mutex<Vec<Child>> = Mutex::new(Vec::new());

/// `moto_server` with atomic DynamoDB writes (see the module comment); argv as moto_server's.
const ATOMIC_MOTO_SERVER: &str = r#"
import sys, threading
from moto.dynamodb.models import DynamoDBBackend
lock = threading.Lock()
def atomic(write):
    def locked(*args, **kwargs):
        with lock:
            return write(*args, **kwargs)
    return locked
for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
    setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
from moto.server import main
main(sys.argv[1:])
"#;

pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| match std::env::var("MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => endpoint,
        _ => start(),
    })
}

fn start() -> String {
    let python = std::env::var("MOTO_PYTHON").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python3").to_owned()
    });
    // Ask the kernel for a free port, then hand it to moto (a small race, fine for tests).
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(&python)
        .args([
            "-c",
            ATOMIC_MOTO_SERVER,
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start moto with {python} ({e}); set MOTO_ENDPOINT or MOTO_PYTHON")
        });
    let watchdog = Command::new("sh")
        .args([
            "-c",
            r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill "$2" 2>/dev/null"#,
            "moto-watchdog",
            &std::process::id().to_string(),
            &server.id().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the moto watchdog");
    CHILDREN.lock().unwrap().push(watchdog);

    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !answers_http(address) {
        if let Ok(Some(status)) = server.try_wait() {
            panic!(
                "moto exited before answering ({status}); is moto[server] installed for {python}?"
            );
        }
        assert!(
            Instant::now() < deadline,
            "moto_server did not answer on port {port} within 30 s"
        );
        // Polling a local port that is coming up; there is no event to wait on.
        std::thread::sleep(Duration::from_millis(100));
    }
    CHILDREN.lock().unwrap().push(server);
    format!("http://127.0.0.1:{port}")
}

/// Whether `GET /` gets an HTTP response.
fn answers_http(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

/// A DynamoDB client for the moto server, with the dummy credentials set here rather than
/// taken from the environment.
pub fn dynamodb() -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "moto-tests",
        ))
        .endpoint_url(endpoint())
        // The function's own HTTP client, so these tests do not depend on the CLI's
        // features being unified into the handler's build.
        .http_client(webhook_handler::http::https_client())
        .build();
    Client::from_conf(config)
}

/// Creates `transactions-<unique>` shaped like the product's table, and returns its name.
pub async fn create_table(client: &Client) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "transactions-t{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    client
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("transactionId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("transactionId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the test table");
    client
        .wait_until_table_exists()
        .table_name(&name)
        .wait(Duration::from_secs(30))
        .await
        .expect("test table becomes active");
    name
}
