#!/usr/bin/env python3
"""The scale benchmark (not a test): many stacks under a rate limit,
the cost of each extra stack, and the everyday `plan` without a zip.

Run by scripts/bench-scale.sh, which builds the release binary and starts
moto. Prints, with the command behind each figure:
  1. `drift --all` and `plan --all` over N stacks (default 100) while the
     proxy throttles IAM above 20 calls/s (`--rate-limit IAM=20`), for the
     local and the S3 backend: failed stacks, IAM calls, throttled attempts,
     wall time, and its ratio to the bound the limit sets (IAM calls / 20 s).
     Twice: with the listing of the account's roles (one IAM call for all
     stacks, so the limit sets no bound worth the name), and with that
     listing refused by the proxy, so that every stack makes its own four
     IAM reads, as a single-stack run or a role without
     `iam:GetAccountAuthorizationDetails` does; the ratio is judged there;
  2. `drift --all` at 1, 10 and N stacks: CPU time (user + sys) and peak
     RSS of our process, and the CPU each extra stack adds; through a proxy
     with no added latency, which keeps connections open as AWS does (moto
     closes each one, which costs every call a TCP connect);
  3. a converged `plan` without `--handler-zip` (the zip from the cache)
     against the same plan given the zip, median of 5 (needs the arm64
     toolchain that scripts/setup.sh installs).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench import http, log, run  # noqa: E402

RATE = 20.0
TARGET_RATIO = 1.5
TARGET_CPU_MS_PER_STACK = 3.0
TARGET_RSS_MIB = 60.0
TARGET_DEFAULT_PATH = 1.5


def create_bucket(endpoint: str, name: str):
    """CreateBucket on moto: unsigned, with the credential scope that tells
    moto it is S3 (moto does not check signatures)."""
    import urllib.request
    req = urllib.request.Request(f"{endpoint}/{name}", data=b"", method="PUT", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261130/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host, Signature=0",
    })
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req, timeout=30).read()


class Scale:
    def __init__(self, a):
        self.a = a
        self.work = Path(a.work)
        self.zip = self.work / "stand-in.zip"
        self.lines: list[str] = []

    def say(self, line: str):
        print(line, flush=True)
        self.lines.append(line)

    def env(self, endpoint: str) -> dict:
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update({
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        })
        for k in ("ENVIRONMENT_SUFFIX", "WEBHOOK_STACK_HANDLER_ZIP", "WEBHOOK_STACK_BACKEND"):
            e.pop(k, None)
        return e

    def ws(self, args, endpoint, where, suffix="bench", expect=(0,), cwd=None):
        cmd = [self.a.bin, *args, "--suffix", suffix, *where]
        r = run(cmd, env=self.env(endpoint), cwd=cwd, timeout=900)
        if r["rc"] not in expect:
            raise SystemExit(f"`{' '.join(cmd)}` exited {r['rc']}:\n{r['err'][-3000:]}")
        return r

    def make_zip(self):
        import zipfile
        zi = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        zi.create_system = 3
        zi.external_attr = 0o100755 << 16
        with zipfile.ZipFile(self.zip, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zi, "#!/bin/sh\n# stand-in for the arm64 handler (benchmark)\n")

    # -- setup: N stacks, local state and a copy in S3 -----------------------
    def setup(self):
        n = self.a.stacks
        self.make_zip()
        self.src = self.work / "state-src"
        self.src.mkdir(parents=True, exist_ok=True)
        log(f"applying bench-1..bench-{n} (4 at a time)")
        zipa = ["--handler-zip", str(self.zip)]

        def apply_one(i):
            self.ws(["apply", "--yes", *zipa], self.a.moto, ["--state-dir", str(self.src)],
                    suffix=f"bench-{i}")
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(apply_one, range(1, n + 1)))
        create_bucket(self.a.moto, "bench-state")
        log(f"migrating the {n} states to s3://bench-state/stacks")

        def migrate(i):
            self.ws(["state", "migrate", "--to", "s3://bench-state/stacks"], self.a.moto,
                    ["--state-dir", str(self.src)], suffix=f"bench-{i}")
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(migrate, range(1, n + 1)))

    def dir_of(self, size: int) -> Path:
        d = self.work / f"state-{size}"
        if not d.exists():
            d.mkdir()
            for i in range(1, size + 1):
                shutil.copy2(self.src / f"bench-{i}.json", d / f"bench-{i}.json")
        return d

    # -- 1: under a rate limit -------------------------------------------------
    def rate_limited(self):
        n = self.a.stacks
        zipa = ["--handler-zip", str(self.zip)]
        self.say(f"\n## 1. {n} stacks while the proxy throttles IAM above {RATE:g} calls/s")
        self.say("| command | IAM reads | backend | failed stacks | IAM calls | throttled | wall | bound (IAM calls / 20/s) | ratio |")
        self.say("|---|---|---|---|---|---|---|---|---|")
        self.ratios = []
        self.failed = 0
        for reads, proxy in (("per stack (listing refused)", self.a.limited_per_stack),
                             ("one listing", self.a.limited)):
            for backend, where in (("local", ["--state-dir", str(self.dir_of(n))]),
                                   ("s3", ["--backend", "s3://bench-state/stacks"])):
                for name, args in (("drift --all", ["drift", "--all", "--json"]),
                                   ("plan --all", ["plan", "--all", "--detailed-exitcode", "--json", *zipa])):
                    http("POST", f"{proxy}/__proxy/reset", b"")
                    # Let the proxy's token bucket refill between runs.
                    time.sleep(1.5)
                    r = self.ws(args, proxy, where, expect=(0, 1, 2))
                    report = json.loads(r["out"])
                    stacks = report["stacks"]
                    failed = sum(1 for s in stacks if "error" in s)
                    self.failed += failed
                    calls = report["aws_calls"]
                    iam = sum(v for k, v in calls["by_operation"].items() if k.startswith("IAM:"))
                    throttled = calls.get("throttled", 0)
                    bound = iam / RATE
                    ratio = r["wall"] / bound if bound else float("nan")
                    if proxy == self.a.limited_per_stack:
                        self.ratios.append(ratio)
                        shown = f"{ratio:.2f}x"
                    else:
                        shown = "(no IAM bound)"
                    self.say(f"| `{name}` | {reads} | {backend} | {failed} of {len(stacks)} | {iam} | {throttled} | "
                             f"{r['wall']:.1f} s | {bound:.2f} s | {shown} |")

    # -- 2: cost per stack -------------------------------------------------------
    def cost(self):
        sizes = sorted({1, 10, self.a.stacks})
        self.say("\n## 2. `drift --all` (keep-alive proxy, +0 ms): our CPU time and peak RSS (median of 3)")
        self.say("| stacks | wall | CPU (user+sys) | peak RSS |")
        self.say("|---|---|---|---|")
        self.cpu = {}
        self.rss = {}
        for size in sizes:
            d = self.dir_of(size)
            runs = [self.ws(["drift", "--all", "--json"], self.a.keepalive, ["--state-dir", str(d)])
                    for _ in range(3)]
            wall = statistics.median(r["wall"] for r in runs)
            cpu = statistics.median(r["cpu"] for r in runs)
            rss = statistics.median(r["maxrss_kib"] for r in runs) / 1024
            self.cpu[size], self.rss[size] = cpu, rss
            self.say(f"| {size} | {wall:.2f} s | {cpu * 1000:.0f} ms | {rss:.1f} MiB |")
        lo, hi = sizes[0], sizes[-1]
        self.per_stack_ms = (self.cpu[hi] - self.cpu[lo]) / (hi - lo) * 1000
        self.say(f"CPU added by each extra stack: ({self.cpu[hi] * 1000:.0f} - {self.cpu[lo] * 1000:.0f}) ms "
                 f"/ {hi - lo} = {self.per_stack_ms:.2f} ms")

    # -- 3: the default path -----------------------------------------------------
    def default_path(self):
        self.say("\n## 3. converged `plan` without `--handler-zip` against the same plan given the zip (median of 5)")
        root = Path(self.a.root)
        d = self.work / "state-default"
        d.mkdir(exist_ok=True)
        where = ["--state-dir", str(d)]
        # Deploy without a zip: the handler is built, or reused from the
        # cache; then the same zip is what `--handler-zip` is given.
        log("default path: apply without --handler-zip (builds the handler unless cached)")
        self.ws(["apply", "--yes"], self.a.moto, where, suffix="default", cwd=root)
        cache = Path(os.environ.get("CARGO_TARGET_DIR", root / "target")) / "lambda" / "cache"
        newest = max(cache.glob("*.zip"), key=lambda p: p.stat().st_mtime)
        zipa = ["--handler-zip", str(newest)]
        without, given = [], []
        for _ in range(5):
            without.append(self.ws(["plan", "--detailed-exitcode"], self.a.moto, where,
                                   suffix="default", cwd=root)["wall"])
            given.append(self.ws(["plan", "--detailed-exitcode", *zipa], self.a.moto, where,
                                 suffix="default", cwd=root)["wall"])
        w, g = statistics.median(without), statistics.median(given)
        self.default_ratio = w / g
        self.say("| plan | median | min | max |")
        self.say("|---|---|---|---|")
        self.say(f"| without --handler-zip | {w * 1000:.0f} ms | {min(without) * 1000:.0f} ms | {max(without) * 1000:.0f} ms |")
        self.say(f"| with --handler-zip | {g * 1000:.0f} ms | {min(given) * 1000:.0f} ms | {max(given) * 1000:.0f} ms |")
        self.say(f"ratio {self.default_ratio:.2f}x")

    def summary(self):
        self.say("\n## Targets")
        worst = max(self.ratios)
        failed = self.failed
        mark = lambda ok: "PASS" if ok else "MISS"  # noqa: E731
        self.say(f"- {mark(failed == 0)} zero failed stacks under the IAM limit: {failed} failed")
        self.say(f"- {mark(worst <= TARGET_RATIO)} wall <= {TARGET_RATIO}x the rate-limit bound "
                 f"(IAM reads per stack): worst {worst:.2f}x")
        self.say(f"- {mark(self.per_stack_ms <= TARGET_CPU_MS_PER_STACK)} CPU per extra stack <= "
                 f"{TARGET_CPU_MS_PER_STACK:g} ms: {self.per_stack_ms:.2f} ms")
        top = max(self.rss)
        self.say(f"- {mark(self.rss[top] <= TARGET_RSS_MIB)} peak RSS at {top} stacks <= {TARGET_RSS_MIB:g} MiB: "
                 f"{self.rss[top]:.1f} MiB")
        if hasattr(self, "default_ratio"):
            self.say(f"- {mark(self.default_ratio <= TARGET_DEFAULT_PATH)} plan without a zip <= "
                     f"{TARGET_DEFAULT_PATH}x with one: {self.default_ratio:.2f}x")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--moto", required=True)
    p.add_argument("--limited", required=True, help="proxy with --rate-limit IAM=20")
    p.add_argument("--limited-per-stack", required=True,
                   help="the same, refusing IAM GetAccountAuthorizationDetails")
    p.add_argument("--keepalive", required=True, help="proxy with no latency and no limit")
    p.add_argument("--work", required=True)
    p.add_argument("--stacks", type=int, default=100)
    p.add_argument("--skip-default-path", action="store_true")
    a = p.parse_args()
    t0 = time.time()
    s = Scale(a)
    s.setup()
    s.rate_limited()
    s.cost()
    if not a.skip_default_path:
        s.default_path()
    s.summary()
    print(f"\n(benchmark took {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
