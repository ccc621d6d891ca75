#!/usr/bin/env python3
"""A small Lambda Runtime API emulator (Python standard library only).

It plays the Lambda service for one execution environment: it starts the
function's executable (`bootstrap`, possibly under qemu) with
AWS_LAMBDA_RUNTIME_API pointing at itself, hands it the given events one at a
time, collects what the function answers, then stops it and exits. Used by
scripts/check-handler-artifact.sh for the end-to-end check of the arm64 build.

    runtime_api.py --events EVENTS.jsonl --out RESULTS.json [--log LOG] \
        [--timeout 120] [--invoke-timeout 30] -- COMMAND [ARG...]

EVENTS.jsonl holds one invocation payload per line, sent byte for byte (never
re-serialised: Python would turn 12345678901234567.89 into a float and lose
digits). Empty lines are skipped. RESULTS.json receives a JSON object:

    {"invocations": [{"index", "request_id", "event", "kind": "response" | "error"
                      | "timeout" | "not_delivered", "body", "error_type",
                      "elapsed_ms"}],   (event: the payload text)
     "init_error": null | {...}, "exit": {"returncode", "reason"}}

`body` is the posted JSON (or text when it is not JSON). The function's
stdout and stderr (its logs) go to LOG, or to this process's stderr.

Endpoints served (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html):
  GET  /2018-06-01/runtime/invocation/next       next event, with the headers
       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn,
       -Trace-Id; blocks (like the real API) when no event is left
  POST /2018-06-01/runtime/invocation/{id}/response
  POST /2018-06-01/runtime/invocation/{id}/error
  POST /2018-06-01/runtime/init/error

Bounded: the whole run ends after --timeout seconds, an invocation without an
answer after --invoke-timeout seconds, and the run stops at the first init
error or when the function exits early. Exit status: 0 when every event got
an answer (a response or a function error: the caller judges them), 1
otherwise, 2 for bad usage.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
INVOCATION_RE = re.compile(
    r"^" + re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)$"
)


class Emulator:
    """The state shared by the HTTP handler threads and the main thread."""

    def __init__(self, events, invoke_timeout, function_arn):
        self.events = events
        self.invoke_timeout = invoke_timeout
        self.function_arn = function_arn
        self.cond = threading.Condition()
        self.next_index = 0  # next event to hand out
        self.current = None  # the invocation in flight: dict
        self.results = []
        self.init_error = None
        self.protocol_errors = []
        self.closing = False

    # --- called from HTTP threads -------------------------------------------------

    def take_next(self):
        """Blocks until an event can be handed out; None when shutting down."""
        with self.cond:
            while not self.closing and (
                self.current is not None or self.next_index >= len(self.events)
            ):
                self.cond.wait(0.5)
            if self.closing:
                return None
            index = self.next_index
            self.next_index += 1
            now = time.time()
            self.current = {
                "index": index,
                "request_id": str(uuid.uuid4()),
                "event": self.events[index],
                "kind": None,
                "body": None,
                "error_type": None,
                "started": now,
                "deadline": now + self.invoke_timeout,
            }
            self.cond.notify_all()
            return dict(self.current)

    def answer(self, request_id, kind, body, error_type):
        with self.cond:
            cur = self.current
            if cur is None or cur["request_id"] != request_id:
                self.protocol_errors.append(
                    "%s for unknown or finished request id %s" % (kind, request_id)
                )
                return False
            cur["kind"] = kind
            cur["body"] = body
            cur["error_type"] = error_type
            cur["elapsed_ms"] = round((time.time() - cur["started"]) * 1000, 1)
            del cur["started"]
            del cur["deadline"]
            self.results.append(cur)
            self.current = None
            self.cond.notify_all()
            return True

    def fail_init(self, body, error_type):
        with self.cond:
            self.init_error = {"body": body, "error_type": error_type}
            self.cond.notify_all()

    # --- called from the main thread ------------------------------------------------

    def all_answered(self):
        return self.next_index >= len(self.events) and self.current is None

    def expire(self):
        """Records the invocation in flight as timed out if past its deadline."""
        with self.cond:
            cur = self.current
            if cur is not None and time.time() > cur["deadline"]:
                cur["kind"] = "timeout"
                cur["elapsed_ms"] = round((time.time() - cur["started"]) * 1000, 1)
                del cur["started"]
                del cur["deadline"]
                self.results.append(cur)
                self.current = None
                return True
            return False

    def close(self):
        with self.cond:
            self.closing = True
            cur = self.current
            if cur is not None:
                cur["kind"] = "timeout"
                cur.pop("started", None)
                cur.pop("deadline", None)
                self.results.append(cur)
                self.current = None
            for index in range(self.next_index, len(self.events)):
                self.results.append(
                    {
                        "index": index,
                        "request_id": None,
                        "event": self.events[index],
                        "kind": "not_delivered",
                        "body": None,
                        "error_type": None,
                    }
                )
            self.next_index = len(self.events)
            self.cond.notify_all()


def parse_body(raw):
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def make_handler(emulator):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "runtime-api-emulator/1"

        def log_message(self, fmt, *args):  # keep the function's log readable
            pass

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size_line = self.rfile.readline()
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        # trailers, up to the empty line
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()  # CRLF after the chunk
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def reply(self, status, payload, headers=None):
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path != PREFIX + "/invocation/next":
                self.reply(404, {"errorMessage": "unknown path " + self.path})
                return
            invocation = emulator.take_next()
            if invocation is None:
                # Shutting down: the function will see a failed poll and exit.
                self.reply(500, {"errorMessage": "emulator shutting down"})
                self.close_connection = True
                return
            deadline_ms = int(invocation["deadline"] * 1000)
            trace = "Root=1-%08x-%s;Parent=%s;Sampled=0" % (
                int(time.time()),
                uuid.uuid4().hex[:24],
                uuid.uuid4().hex[:16],
            )
            self.reply(
                200,
                invocation["event"].encode("utf-8"),
                {
                    "Lambda-Runtime-Aws-Request-Id": invocation["request_id"],
                    "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                    "Lambda-Runtime-Invoked-Function-Arn": emulator.function_arn,
                    "Lambda-Runtime-Trace-Id": trace,
                },
            )

        def do_POST(self):
            body = parse_body(self.read_body())
            error_type = self.headers.get("Lambda-Runtime-Function-Error-Type")
            if self.path == PREFIX + "/init/error":
                emulator.fail_init(body, error_type)
                self.reply(202, {"status": "OK"})
                return
            match = INVOCATION_RE.match(self.path)
            if not match:
                self.reply(404, {"errorMessage": "unknown path " + self.path})
                return
            request_id, kind = match.groups()
            if emulator.answer(request_id, kind, body, error_type):
                self.reply(202, {"status": "OK"})
            else:
                self.reply(
                    400,
                    {"errorType": "InvalidRequestID", "errorMessage": "unknown request id"},
                )

    return Handler


def stop(process):
    if process.poll() is not None:
        return process.returncode
    process.terminate()
    try:
        return process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(5)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", required=True, help="payloads, one JSON document a line")
    parser.add_argument("--out", required=True, help="where to write the results (JSON)")
    parser.add_argument("--log", help="file for the function's stdout and stderr")
    parser.add_argument("--timeout", type=float, default=120.0, help="whole run, seconds")
    parser.add_argument("--invoke-timeout", type=float, default=30.0, help="per invocation, seconds")
    parser.add_argument(
        "--function-arn",
        default="arn:aws:lambda:us-east-1:123456789012:function:"
        + os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function"),
    )
    parser.add_argument("command", nargs="+", help="the function's executable and arguments")
    args = parser.parse_args(argv)

    with open(args.events, encoding="utf-8") as f:
        events = [line.rstrip("\r\n") for line in f if line.strip()]

    emulator = Emulator(events, args.invoke_timeout, args.function_arn)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(emulator))
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    # SIGTERM/SIGINT from the calling script: stop the function too.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)

    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % port)
    log = open(args.log, "ab") if args.log else None
    started = time.time()
    process = subprocess.Popen(
        args.command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log or sys.stderr,
        stderr=subprocess.STDOUT if log else sys.stderr,
    )
    print(
        "runtime-api: 127.0.0.1:%d, %d event(s), pid %d" % (port, len(events), process.pid),
        file=sys.stderr,
    )

    reason = None
    try:
        while reason is None:
            if emulator.all_answered():
                reason = "all events answered"
            elif emulator.init_error is not None:
                reason = "init error"
            elif process.poll() is not None:
                reason = "function exited with status %d" % process.returncode
            elif time.time() - started > args.timeout:
                reason = "run timeout (%.0f s)" % args.timeout
            elif emulator.expire():
                reason = "invocation timeout (%.0f s)" % args.invoke_timeout
            else:
                time.sleep(0.02)
    except KeyboardInterrupt as e:
        reason = "interrupted (%s)" % e
    finally:
        emulator.close()
        returncode = stop(process)
        server.shutdown()
        server.server_close()
        if log:
            log.close()

    emulator.results.sort(key=lambda r: r["index"])
    result = {
        "invocations": emulator.results,
        "init_error": emulator.init_error,
        "protocol_errors": emulator.protocol_errors,
        "exit": {"returncode": returncode, "reason": reason},
        "elapsed_s": round(time.time() - started, 2),
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("runtime-api: %s after %.1f s" % (reason, time.time() - started), file=sys.stderr)
    answered = all(r["kind"] in ("response", "error") for r in emulator.results)
    ok = reason == "all events answered" and answered and not emulator.protocol_errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
