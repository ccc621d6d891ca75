//! A Lambda Runtime API for one invocation, served by the CLI itself: it
//! starts the handler's executable with `AWS_LAMBDA_RUNTIME_API` pointing
//! here, hands it one event, takes its answer, and stops it. No Docker.
//!
//! Served (the Runtime API's own paths): `GET /2018-06-01/runtime/invocation/next`
//! (the event, with the request id, deadline, function ARN and trace id; a
//! second call is left waiting, as Lambda does between invocations), `POST
//! .../invocation/{id}/response`, `POST .../invocation/{id}/error` and `POST
//! .../init/error`. HTTP/1.1 with keep-alive, as the runtime client speaks it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const PREFIX: &str = "/2018-06-01/runtime";

/// How long the handler's output is drained after it answered.
const DRAIN: Duration = Duration::from_millis(500);

/// What to run and with what.
pub struct Launch {
    /// The executable, and what runs it (qemu for an arm64 build).
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The function's environment (its variables and the Lambda ones).
    pub env: BTreeMap<String, String>,
    pub function_arn: String,
    /// The function's timeout: the invocation's deadline.
    pub timeout: Duration,
}

/// How the function answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// What the handler returned (a JSON document).
    Response(String),
    /// An invocation error (`error_type`, the error document).
    Error { error_type: String, body: String },
    /// The handler failed to start.
    InitError { error_type: String, body: String },
    /// No answer within the timeout, or the process ended first.
    Silent(String),
}

/// One local invocation.
#[derive(Debug)]
pub struct LocalInvocation {
    pub answer: Answer,
    /// Everything the handler wrote (its log lines), stdout and stderr.
    pub logs: Vec<String>,
    /// From the start of the process to its answer.
    pub total: Duration,
    /// From handing over the event to the answer.
    pub duration: Duration,
}

enum Event {
    Next,
    Answered(Answer),
}

/// Runs `launch` for the one `event` and returns its answer and logs.
pub async fn invoke(launch: &Launch, event: &str) -> std::io::Result<LocalInvocation> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let request_id = crate::ambient::uuid().to_string();
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let served = Arc::new(Mutex::new(false));
    let deadline_ms = (crate::ambient::now() + launch.timeout).timestamp_millis();
    let shared = Arc::new(Shared {
        event: event.to_owned(),
        request_id: request_id.clone(),
        function_arn: launch.function_arn.clone(),
        deadline_ms,
        served,
        tx,
    });
    let accept = {
        let shared = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        })
    };

    let started = Instant::now();
    let mut child = tokio::process::Command::new(&launch.program)
        .args(&launch.args)
        .env_clear()
        .envs(&launch.env)
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let logs = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(collect(BufReader::new(out), logs.clone())));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(collect(BufReader::new(err), logs.clone())));
    }

    let limit = launch.timeout + Duration::from_secs(10);
    let mut handed_over = None;
    let answer = loop {
        tokio::select! {
            event = rx.recv() => match event {
                Some(Event::Next) => handed_over = Some(Instant::now()),
                Some(Event::Answered(answer)) => break answer,
                None => break Answer::Silent("the Runtime API stopped".into()),
            },
            status = child.wait() => {
                // It may have answered just before it ended.
                if let Ok(Event::Answered(answer)) = rx.try_recv() {
                    break answer;
                }
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                break Answer::Silent(format!("the handler exited ({status}) without answering"));
            }
            () = tokio::time::sleep(limit.saturating_sub(started.elapsed())) => {
                break Answer::Silent(format!(
                    "no answer within {} s (the function's timeout)",
                    launch.timeout.as_secs()
                ));
            }
        }
    };
    let total = started.elapsed();
    let duration = handed_over.map_or(total, |t| t.elapsed());
    let _ = child.kill().await;
    accept.abort();
    // What the handler wrote is drained; a process it started and left
    // running may hold its output open, so the wait is bounded.
    for mut r in readers {
        if tokio::time::timeout(DRAIN, &mut r).await.is_err() {
            r.abort();
        }
    }
    let logs = std::mem::take(&mut *logs.lock().expect("logs"));
    Ok(LocalInvocation {
        answer,
        logs,
        total,
        duration,
    })
}

struct Shared {
    event: String,
    request_id: String,
    function_arn: String,
    deadline_ms: i64,
    /// The event was handed over: a second `next` waits.
    served: Arc<Mutex<bool>>,
    tx: mpsc::UnboundedSender<Event>,
}

async fn collect<R: tokio::io::AsyncRead + Unpin>(
    reader: BufReader<R>,
    into: Arc<Mutex<Vec<String>>>,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        into.lock().expect("logs").push(line);
    }
}

/// One connection: requests in turn until the client closes it.
async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stream);
    loop {
        let Some((method, path, body)) = read_request(&mut reader).await else {
            return;
        };
        let reply = route(&method, &path, body, &shared).await;
        let Some((status, headers, body)) = reply else {
            // Left waiting, as Lambda leaves a runtime between invocations.
            std::future::pending::<()>().await;
            return;
        };
        let mut head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let stream = reader.get_mut();
        if stream.write_all(head.as_bytes()).await.is_err()
            || stream.write_all(body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

type Reply = (&'static str, Vec<(&'static str, String)>, String);

async fn route(method: &str, path: &str, body: Vec<u8>, shared: &Shared) -> Option<Reply> {
    let text = String::from_utf8_lossy(&body).into_owned();
    let accepted = || Some(("202 Accepted", vec![], "{\"status\":\"OK\"}".to_owned()));
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    match (method, rest) {
        ("GET", "/invocation/next") => {
            {
                let mut served = shared.served.lock().expect("served");
                if *served {
                    return None;
                }
                *served = true;
            }
            let _ = shared.tx.send(Event::Next);
            Some((
                "200 OK",
                vec![
                    ("Lambda-Runtime-Aws-Request-Id", shared.request_id.clone()),
                    ("Lambda-Runtime-Deadline-Ms", shared.deadline_ms.to_string()),
                    (
                        "Lambda-Runtime-Invoked-Function-Arn",
                        shared.function_arn.clone(),
                    ),
                    (
                        "Lambda-Runtime-Trace-Id",
                        format!("Root=1-{}", &shared.request_id[..8]),
                    ),
                ],
                shared.event.clone(),
            ))
        }
        ("POST", "/init/error") => {
            let error_type = error_type(&text);
            let _ = shared.tx.send(Event::Answered(Answer::InitError {
                error_type,
                body: text,
            }));
            accepted()
        }
        ("POST", rest) => {
            let tail = rest.strip_prefix("/invocation/")?;
            let (id, kind) = tail.split_once('/')?;
            if id != shared.request_id {
                return Some((
                    "400 Bad Request",
                    vec![],
                    "{\"errorMessage\":\"unknown request id\"}".into(),
                ));
            }
            let answer = match kind {
                "response" => Answer::Response(text),
                "error" => Answer::Error {
                    error_type: error_type(&text),
                    body: text,
                },
                _ => return Some(("404 Not Found", vec![], "{}".into())),
            };
            let _ = shared.tx.send(Event::Answered(answer));
            accepted()
        }
        _ => Some(("404 Not Found", vec![], "{}".into())),
    }
}

/// The `errorType` of an error document, else "Unhandled".
fn error_type(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["errorType"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "Unhandled".into())
}

/// Reads one HTTP/1.1 request: method, path and body (by Content-Length).
async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((method, path, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in function: a shell script that speaks the Runtime API
    /// with curl-less bash (/dev/tcp), answering the event it gets.
    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        let path = dir.join("bootstrap.sh");
        std::fs::write(&path, body).unwrap();
        path
    }

    fn launch(program: PathBuf) -> Launch {
        Launch {
            program: "/bin/bash".into(),
            args: vec![program.display().to_string()],
            env: BTreeMap::from([("PATH".into(), "/usr/bin:/bin".into())]),
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            timeout: Duration::from_secs(20),
        }
    }

    const ECHO: &str = r#"
set -e
host=${AWS_LAMBDA_RUNTIME_API%:*}; port=${AWS_LAMBDA_RUNTIME_API#*:}
exec 3<>/dev/tcp/$host/$port
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n' >&3
id=; len=0
while IFS= read -r line <&3; do
  line=${line%$'\r'}
  [ -z "$line" ] && break
  case "$line" in
    Lambda-Runtime-Aws-Request-Id:*) id=${line#*: } ;;
    Content-Length:*) len=${line#*: } ;;
  esac
done
read -r -N "$len" event <&3
echo "got $event"
answer="{\"echo\":$event}"
printf 'POST /2018-06-01/runtime/invocation/%s/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s' "$id" "${KIND:-response}" "${#answer}" "$answer" >&3
read -r status <&3
echo "posted: $status"
# Waits for the next event, as a runtime does, without a child process that
# would hold the output open once this one is stopped.
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n' >&3
read -r _ <&3
"#;

    #[tokio::test]
    async fn one_event_is_handed_over_and_its_answer_taken() {
        let dir = tempdir();
        let mut l = launch(script(&dir, ECHO));
        let run = invoke(&l, r#"{"a":1}"#).await.unwrap();
        assert_eq!(run.answer, Answer::Response(r#"{"echo":{"a":1}}"#.into()));
        assert!(
            run.logs.iter().any(|l| l == r#"got {"a":1}"#),
            "{:?}",
            run.logs
        );
        l.env.insert("KIND".into(), "error".into());
        let run = invoke(&l, r#"{"a":2}"#).await.unwrap();
        assert!(
            matches!(run.answer, Answer::Error { ref error_type, .. } if error_type == "Unhandled"),
            "{:?}",
            run.answer
        );
    }

    #[tokio::test]
    async fn a_handler_that_exits_without_answering_is_reported() {
        let dir = tempdir();
        let l = launch(script(&dir, "echo starting; exit 3\n"));
        let run = invoke(&l, "{}").await.unwrap();
        assert!(
            matches!(run.answer, Answer::Silent(ref m) if m.contains("exited")),
            "{:?}",
            run.answer
        );
        assert_eq!(run.logs, ["starting"]);
    }

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "webhook-stack-runtime-api-{}",
            crate::ambient::uuid()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
