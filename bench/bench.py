#!/usr/bin/env python3
"""The speed benchmark, driven by scripts/bench.sh (which builds the
release binary and starts moto and two proxies). Python 3.11 stdlib only.

Every process is timed by this script: wall time from spawn to exit
(time.perf_counter), and CPU time (user+sys) and peak RSS from os.wait4's
rusage of that child: the figures GNU time prints, taken from the same
syscall, without time's own fork/exec in the wall time. For Terraform the
rusage includes the provider plugin, a child it starts and reaps.
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
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

# Direct HTTP (no proxy from the environment) to moto and the proxies.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))

RTT_MS = 50

# ---------------------------------------------------------------------------
# Critical-path bounds, in round trips (RTT), derived from the code as of
# commit 54a0853: src/stack.rs (Stack::load), src/providers/*.rs,
# src/engine/apply.rs (walk, waits_for). "∥" = concurrent, "→" = one after
# the other. The 50 ms pass also measures the chain the run actually made
# (column "seen", from the proxy's log), which flags a stale table.
#
# Stack::load: STS GetCallerIdentity ∥ every resource's read (∥ Lambda
# GetAccountSettings when the function will likely be created or its
# reservation change: the account-limit check of apply and plan). With state,
# each read sends everything at once, using the key id, ARNs and inline
# policy names recorded in state (providers::Hint):
#   kms_key   DescribeKey ∥ GetKeyRotationStatus ∥ GetKeyPolicy ∥ ListResourceTags   1
#   kms_alias DescribeKey                                                          1
#   log_group DescribeLogGroups ∥ ListTagsForResource                               1
#   table     DescribeTable ∥ DescribeContinuousBackups ∥ ListTagsOfResource        1
#   role      GetRole ∥ ListRolePolicies ∥ ListAttachedRolePolicies ∥ GetRolePolicy  1
#   function  GetFunction ∥ GetFunctionConcurrency                                 1
#   => an existing stack: 1 RTT. An empty account (no state; the key looked up
#      by its alias): every first call answers "not found": 1 RTT.
#
# apply (create, empty account) follows the graph key → {alias, log group};
# {key, log group, table} → role; {key, role, log group, table} → function:
#   load (not found)                                                         1  t=1
#   key:       CreateKey → EnableKeyRotation                                  2  t=3
#   table:     CreateTable → DescribeTable (waiter) → UpdateContinuousBackups, from t=1: t=4
#   log group: CreateLogGroup → PutRetentionPolicy (after the key)            2  t=5
#   role:      CreateRole → PutRolePolicy (after key, log group, table)       2  t=7
#   function:  CreateFunction → GetFunction (waiter: Active) → PutFunctionConcurrency 3  t=10
#   => 10 RTT. (The API alone would allow less: the role's and log group's
#   ARNs are deterministic, so CreateRole could start at t=1 and only
#   PutRolePolicy wait for the key's ARN; EnableKeyRotation holds back the
#   key's dependents by one RTT although none of them needs it.)
# plan, drift, apply with nothing to do: Stack::load of an existing stack => 1 RTT.
# update of one property (apply --memory-size 2048, and back):
#   load 1 → UpdateFunctionConfiguration → GetFunction (waiter: updated) => 3 RTT.
# destroy, dependents first (waits_for: a delete waits for the deletes of
# everything that uses it):
#   load 1; function DeleteFunction (t=2); alias DeleteAlias (t=2);
#   role (after the function): role::delete reads the role again, 1 RTT
#   (t=3) → DeleteRolePolicy ∥ DetachRolePolicy (t=4) → DeleteRole (t=5);
#   log group (after role, function): DeleteLogGroup (t=6);
#   table (after role, function): DeleteTable → DescribeTable (waiter: gone) (t=7);
#   key (after alias, log group, role, function): ScheduleKeyDeletion (t=7)
#   => 7 RTT. (One of them is role::delete's second read of the role, which
#   Stack::load already made; IAM does not need the function gone before the
#   role, nor the role before the table or log group.)
# plan --all / drift --all: every stack's Stack::load at once => 1 RTT for
# any number of stacks.
# ---------------------------------------------------------------------------
BOUNDS_RTT = {
    "apply (create)": 10,
    "plan (converged)": 1,
    "drift": 1,
    "apply (no-op)": 1,
    "apply (update 1 prop)": 3,
    "destroy": 6,
}
BOUND_CHAINS = {
    "apply (create)": "reads; CreateKey→EnableKeyRotation; CreateLogGroup→PutRetentionPolicy; "
                      "CreateRole→PutRolePolicy; CreateFunction→GetFunction→PutFunctionConcurrency",
    "plan (converged)": "all reads at once (ids, ARNs, policy names from state) ∥ GetCallerIdentity",
    "drift": "as plan",
    "apply (no-op)": "as plan",
    "apply (update 1 prop)": "reads; UpdateFunctionConfiguration→GetFunction",
    "destroy": "reads; DeleteFunction; DeleteRolePolicy→DeleteRole; "
               "DeleteTable→DescribeTable (∥ DeleteLogGroup→ScheduleKeyDeletion)",
}
ALL_BOUND_RTT = 1

# The speed targets.
TARGET_PLAN_TF = 20.0
TARGET_APPLY_TF = 10.0
TARGET_DRIFT_TF = 20.0
TARGET_PLAN_BOUND = 1.5
TARGET_APPLY_BOUND = 1.3
TARGET_ALL_SCALE = 3.0
TARGET_RSS_MIB = 40.0
TARGET_VERSION_MS = 10.0


def log(msg: str):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Failed(Exception):
    pass


def run(cmd, env=None, cwd=None, timeout=None) -> dict:
    """Runs cmd; returns wall/user/sys seconds, maxrss (KiB), rc, out, err."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {
            "wall": wall,
            "user": ru.ru_utime,
            "sys": ru.ru_stime,
            "cpu": ru.ru_utime + ru.ru_stime,
            "maxrss_kib": ru.ru_maxrss,
            "rc": p.returncode,
            "out": out.read().decode("utf-8", "replace"),
            "err": err.read().decode("utf-8", "replace"),
        }


def http(method: str, url: str, body: bytes | None = None) -> bytes:
    req = urllib.request.Request(url, data=body, method=method)
    with HTTP.open(req, timeout=30) as r:
        return r.read()


def proxy_reset(url: str, cache: bool = False):
    http("POST", f"{url}/__proxy/reset" + ("?cache=1" if cache else ""), b"")


def proxy_stats(url: str) -> dict:
    return json.loads(http("GET", f"{url}/__proxy/stats"))


def is_read(op: str) -> bool:
    # The rule of src/providers/aws/mod.rs: Get*, List*, Describe* are reads.
    name = op.split(".", 1)[-1].split(":", 1)[-1]
    return name.startswith(("Get", "List", "Describe"))


def longest_chain(entries) -> int:
    """The longest chain of requests each starting after the previous one
    ended, from the proxy's log lines (end time t, duration ms): the number of
    round trips the run made one after another. Greedy by end time (interval
    scheduling) gives the maximum."""
    spans = sorted(((e["t"] - e["ms"] / 1000.0, e["t"]) for e in entries), key=lambda x: x[1])
    n, last = 0, float("-inf")
    for start, end in spans:
        if start >= last:
            n, last = n + 1, end
    return n


def read_log(path: Path, pos: int, expect: int) -> list:
    """The proxy log's lines after byte `pos`, waiting (briefly) until
    `expect` lines are there: a line is written just after its answer."""
    deadline = time.monotonic() + 1.0
    while True:
        with open(path, "rb") as f:
            f.seek(pos)
            lines = [json.loads(l) for l in f.read().splitlines() if l.strip()]
        if len(lines) >= expect or time.monotonic() > deadline:
            return lines
        time.sleep(0.01)


def split_calls(per_operation: dict) -> tuple[int, int]:
    reads = sum(n for op, n in per_operation.items() if is_read(op))
    return reads, sum(per_operation.values()) - reads


def aws_calls(out: str) -> dict | None:
    try:
        doc = json.loads(out)
    except json.JSONDecodeError:
        return None
    return doc.get("aws_calls") if isinstance(doc, dict) else None


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_ms(s: float) -> str:
    if s != s:  # nan
        return "-"
    ms = s * 1000
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.1f}"


def fmt_s(s: float) -> str:
    return "-" if s != s else f"{s:.2f}"


def table(headers, rows, align=None) -> str:
    cols = list(zip(*([headers] + rows))) if rows else [[h] for h in headers]
    widths = [max(len(str(c)) for c in col) for col in cols]
    align = align or ["<"] + [">"] * (len(headers) - 1)
    def line(cells):
        return "  ".join(f"{str(c):{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


class Samples:
    """Runs of one command."""

    def __init__(self, name):
        self.name = name
        self.runs = []
        self.proxy_requests = []
        self.chains = []

    def add(self, r, proxy_requests=None, chain=None):
        self.runs.append(r)
        if proxy_requests is not None:
            self.proxy_requests.append(proxy_requests)
        if chain is not None:
            self.chains.append(chain)

    def wall(self):
        return [r["wall"] for r in self.runs]

    def stat(self, key):
        return med([r[key] for r in self.runs])

    def rss_mib(self):
        return max((r["maxrss_kib"] for r in self.runs), default=0) / 1024

    def calls(self):
        """Median reads, writes, attempts reported by --json."""
        cs = [aws_calls(r["out"]) for r in self.runs]
        cs = [c for c in cs if c]
        if not cs:
            return None
        return tuple(int(med([c[k] for c in cs])) for k in ("reads", "writes", "attempts"))

    def row(self):
        w = self.wall()
        c = self.calls()
        return [
            self.name, len(w), fmt_ms(med(w)), fmt_ms(min(w)), fmt_ms(max(w)),
            fmt_ms(self.stat("cpu")), f"{self.rss_mib():.1f}",
            c[0] if c else "-", c[1] if c else "-", c[2] if c else "-",
        ]


HEADERS = ["command", "runs", "median ms", "min ms", "max ms", "cpu ms", "peak RSS MiB",
           "AWS reads", "writes", "attempts"]


class Bench:
    def __init__(self, a):
        self.a = a
        self.bin = a.bin
        self.work = Path(a.work)
        self.zip = self.work / "handler-standin.zip"
        self.make_zip()
        self.results = {}
        self.tf = {}
        self.tf_calls = {}
        self.scale = {}
        self.version = None

    def make_zip(self):
        # The stand-in handler: one executable entry `bootstrap`, as a real
        # package has (moto does not run the code).
        zi = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
        zi.create_system = 3
        zi.external_attr = 0o100755 << 16
        with zipfile.ZipFile(self.zip, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr(zi, "#!/bin/sh\n# stand-in for the arm64 handler (benchmark)\n")

    def env(self, endpoint):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        e.update({
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        })
        e.pop("ENVIRONMENT_SUFFIX", None)
        e.pop("WEBHOOK_STACK_HANDLER_ZIP", None)
        return e

    def ws(self, args, endpoint, state_dir, suffix="bench", expect=(0,)):
        cmd = [self.bin, *args, "--suffix", suffix, "--state-dir", str(state_dir), "--json"]
        r = run(cmd, env=self.env(endpoint), timeout=600)
        if r["rc"] not in expect:
            raise Failed(f"`webhook-stack {' '.join(args)}` exited {r['rc']}:\n{r['err'][-3000:]}")
        return r

    def moto_reset(self):
        http("POST", f"{self.a.moto}/moto-api/reset", b"")

    # -- our commands, one pass per endpoint --------------------------------
    def pass_commands(self, label, endpoint, proxy=None, proxy_log=None):
        n = self.a.runs
        zipa = ["--handler-zip", str(self.zip)]
        st = self.work / f"state-{label}"
        res = {k: Samples(k) for k in BOUNDS_RTT}

        def measured(key, args, expect=(0,)):
            if proxy:
                proxy_reset(proxy)
            pos = proxy_log.stat().st_size if proxy_log and proxy_log.exists() else 0
            r = self.ws(args, endpoint, st, expect=expect)
            pr = proxy_stats(proxy)["requests"] if proxy else None
            chain = longest_chain(read_log(proxy_log, pos, pr)) if proxy_log else None
            res[key].add(r, pr, chain)
            return r

        def fresh():
            self.moto_reset()
            shutil.rmtree(st, ignore_errors=True)
            st.mkdir(parents=True)

        log(f"{label}: apply (create) x{n}")
        for _ in range(n):
            fresh()
            r = measured("apply (create)", ["apply", "--yes", *zipa])
            if not json.loads(r["out"]).get("succeeded", True):
                raise Failed("apply did not succeed")
        log(f"{label}: plan x{n}, drift x{n}, no-op apply x{n}")
        for _ in range(n):
            measured("plan (converged)", ["plan", "--detailed-exitcode", *zipa])
        for _ in range(n):
            measured("drift", ["drift"])
        for _ in range(n):
            r = measured("apply (no-op)", ["apply", "--yes", *zipa])
            steps = [s for s in json.loads(r["out"]).get("steps", []) if s.get("action") != "noop"]
            if steps:
                raise Failed(f"no-op apply had steps: {steps}")
        log(f"{label}: update one property x{n} (memory 1024→2048, then back: {2 * n} samples)")
        for _ in range(n):
            measured("apply (update 1 prop)", ["apply", "--yes", "--memory-size", "2048", *zipa])
            # Back by a flag: a plain apply would keep the saved 2048.
            measured("apply (update 1 prop)", ["apply", "--yes", "--memory-size", "1024", *zipa])
        log(f"{label}: destroy x{n}")
        for i in range(n):
            if i:
                fresh()
                self.ws(["apply", "--yes", *zipa], endpoint, st)
            measured("destroy", ["destroy", "--yes"])
        self.results[label] = res
        return res

    # -- scale: plan --all / drift --all over 1, 10, 50 stacks ----------------
    def pass_scale(self, endpoint0, endpoint50, cached):
        sizes = [int(s) for s in self.a.scale.split(",") if s]
        if not sizes:
            return
        top = max(sizes)
        help_text = run([self.bin, "drift", "--help"])["out"]
        if "--all" not in help_text:
            log("scale: `drift --all` is not in this build; skipped")
            self.scale = None
            return
        self.moto_reset()
        src = self.work / "state-scale-src"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir(parents=True)
        log(f"scale: applying bench-1..bench-{top} (direct, 4 at a time)")
        zipa = ["--handler-zip", str(self.zip)]

        def apply_one(i):
            self.ws(["apply", "--yes", *zipa], endpoint0, src, suffix=f"bench-{i}")
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            list(ex.map(apply_one, range(1, top + 1)))
        n = self.a.runs
        for size in sizes:
            d = self.work / f"state-scale-{size}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir()
            for i in range(1, size + 1):
                shutil.copy2(src / f"bench-{i}.json", d / f"bench-{i}.json")
            row = {}
            for cmd, args in (("plan --all", ["plan", "--all", "--detailed-exitcode", *zipa]),
                              ("drift --all", ["drift", "--all"])):
                passes = [("0ms", endpoint0, None), ("50ms", endpoint50, endpoint50)]
                if cached:
                    passes.append(("50ms cached", cached, cached))
                for label, ep, px in passes:
                    s = Samples(f"{cmd} {size}")
                    log(f"scale: {cmd} over {size} stack(s), {label} x{n}")
                    if label == "50ms cached":  # fill the cache (not timed)
                        proxy_reset(cached, cache=True)
                        run([self.bin, *args, "--state-dir", str(d), "--json"], env=self.env(ep))
                    for _ in range(n):
                        if px:
                            proxy_reset(px)
                        r = run([self.bin, *args, "--state-dir", str(d), "--json"], env=self.env(ep))
                        if r["rc"] != 0:
                            raise Failed(f"{cmd} over {size} stacks exited {r['rc']}:\n{r['err'][-2000:]}")
                        s.add(r, proxy_stats(px)["requests"] if px else None)
                    row[(cmd, label)] = s
            self.scale[size] = row

    # -- Terraform ------------------------------------------------------------
    def find_provider(self):
        roots = [p for p in self.a.tf_search.split(":") if p]
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                # Skip pseudo and huge trees.
                dirnames[:] = [d for d in dirnames if not (dirpath == "/" and d in
                               ("proc", "sys", "dev", "run", "tmp", "work", "var", "boot"))]
                for f in filenames:
                    if f.startswith("terraform-provider-aws_"):
                        p = Path(dirpath) / f
                        # DIR/registry.terraform.io/hashicorp/aws/VERSION/OS_ARCH/file
                        parts = p.parts
                        if len(parts) >= 6 and parts[-4] == "aws" and parts[-5] == "hashicorp":
                            return p, Path(*parts[:-6])
                        return p, p.parent
        return None, None

    def tf_env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        cfg = self.work / "terraformrc"
        cfg.write_text("")  # hermetic: no user CLI config, no network mirror
        e.update({
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_CLI_CONFIG_FILE": str(cfg),
            "NO_COLOR": "1",
        })
        return e

    def pass_terraform(self, proxy0):
        if self.a.skip_terraform:
            self.tf = None
            self.tf_skip = "skipped (--skip-terraform)"
            return
        tfbin = shutil.which("terraform")
        if not tfbin:
            self.tf = None
            self.tf_skip = "terraform is not on PATH"
            log(f"Terraform part skipped: {self.tf_skip}")
            return
        log("terraform: searching the filesystem for terraform-provider-aws_*")
        provider, plugin_dir = self.find_provider()
        if not provider:
            self.tf = None
            self.tf_skip = "no terraform-provider-aws_* found on the filesystem"
            log(f"Terraform part skipped: {self.tf_skip}")
            return
        self.tf_provider = f"{provider} (plugin dir {plugin_dir})"
        log(f"terraform: {tfbin}, provider {provider}")
        wd = self.work / "terraform"
        shutil.rmtree(wd, ignore_errors=True)
        wd.mkdir()
        shutil.copy2(self.a.tf_config, wd / "main.tf")
        env = self.tf_env()
        r = run([tfbin, "version"], env=env, cwd=wd)
        self.tf_version = r["out"].splitlines()[0] if r["out"] else "?"
        r = run([tfbin, "init", "-no-color", "-input=false", f"-plugin-dir={plugin_dir}"], env=env, cwd=wd)
        if r["rc"] != 0:
            self.tf = None
            self.tf_skip = f"terraform init failed: {r['err'][-1500:]}"
            log(self.tf_skip)
            return
        log(f"terraform: init took {r['wall']:.1f}s (not counted)")
        var = ["-var", f"endpoint={proxy0}", "-var", f"handler_zip={self.zip}"]
        cmds = {
            "apply (create)": ["apply", "-auto-approve", "-no-color", "-input=false", *var],
            "plan (converged)": ["plan", "-detailed-exitcode", "-no-color", "-input=false", *var],
            "drift": ["plan", "-refresh-only", "-detailed-exitcode", "-no-color", "-input=false", *var],
            "destroy": ["destroy", "-auto-approve", "-no-color", "-input=false", *var],
        }
        tf = {k: Samples(k) for k in cmds}
        calls = {k: [] for k in cmds}
        self.tf_failures = []
        self.tf_notes = []

        def go(key, expect=(0,)):
            proxy_reset(proxy0)
            r = run([tfbin, *cmds[key]], env=env, cwd=wd)
            st = proxy_stats(proxy0)
            if r["rc"] not in expect:
                msg = (r["err"] or r["out"])[-2500:]
                self.tf_failures.append(f"terraform {cmds[key][0]} ({key}) exited {r['rc']}: {msg}")
                log(f"terraform {key} FAILED (rc {r['rc']})")
                return None
            tf[key].add(r, st["requests"])
            calls[key].append(st["per_operation"])
            return r

        self.moto_reset()
        n_apply = self.a.tf_apply_runs
        n_plan = self.a.tf_plan_runs
        for i in range(n_apply):
            log(f"terraform: cycle {i + 1}/{n_apply}: apply"
                + (f", plan x{n_plan}, plan -refresh-only x{n_plan}" if i == 0 else "") + ", destroy")
            if go("apply (create)") is None:
                go("destroy")
                break
            if i == 0:
                for _ in range(n_plan):
                    go("plan (converged)", expect=(0, 2))
                for _ in range(n_plan):
                    # Exit 2 is expected: aws_iam_role's computed inline_policy
                    # is filled in by the first refresh after aws_iam_role_policy
                    # was created (Terraform's own behaviour, not drift).
                    r = go("drift", expect=(0, 2))
                if tf["plan (converged)"].runs and any(
                        x["rc"] == 2 for x in tf["plan (converged)"].runs):
                    self.tf_notes.append("terraform plan reported changes on a converged stack")
            go("destroy")
        self.tf = tf
        self.tf_calls = calls

    # -- --version ----------------------------------------------------------
    def pass_version(self):
        n = self.a.version_runs
        ws = [run([self.bin, "--version"])["wall"] for _ in range(n)]
        self.version = (med(ws), min(ws), max(ws), n)

    # -- report ---------------------------------------------------------------
    def report(self):
        a = self.a
        P = lambda s="": print(s, flush=True)
        P()
        P("=" * 100)
        P(f"webhook-stack benchmark — {time.strftime('%Y-%m-%d %H:%M:%S')}, {os.cpu_count()} CPUs, "
          f"load average at end {os.getloadavg()[0]:.2f}")
        P(f"binary: {self.bin} ({a.version_string}); emulator: moto at {a.moto}")
        P(f"function code: a prebuilt stand-in zip ({self.zip.name}, one `bootstrap` entry) via --handler-zip;"
          " the arm64 handler is not built")
        P(f"{a.runs} runs per command; wall = spawn to exit; cpu = user+sys (median); "
          "peak RSS = max over runs; AWS calls = median of --json aws_calls")
        direct = self.results.get("direct")
        lat = self.results.get("50ms")
        P()
        P("1. Direct to moto (no added latency)")
        P(table(HEADERS, [s.row() for s in direct.values()]))
        P()
        P(f"2. Through the proxy, +{RTT_MS} ms per request; bound = longest chain of dependent AWS calls x {RTT_MS} ms")
        rows = []
        for k, s in lat.items():
            b = BOUNDS_RTT[k] * RTT_MS / 1000
            c = s.calls()
            pr = int(med(s.proxy_requests)) if s.proxy_requests else "-"
            added = med(s.wall()) - med(direct[k].wall())
            seen = "/".join(str(x) for x in sorted(set(s.chains))) if s.chains else "-"
            rows.append([k, len(s.runs), fmt_ms(med(s.wall())), fmt_ms(min(s.wall())), fmt_ms(max(s.wall())),
                         f"{BOUNDS_RTT[k]}", seen, fmt_ms(b), f"{med(s.wall()) / b:.2f}", fmt_ms(added),
                         f"{added / b:.2f}", c[2] if c else "-", pr])
        P(table(["command", "runs", "median ms", "min ms", "max ms", "chain RTT", "seen", "bound ms",
                 "ratio", "added ms", "added/bound", "attempts", "proxy saw"], rows))
        P("   chain RTT = longest chain of dependent calls in the code (BOUNDS_RTT); seen = the longest chain")
        P("   of requests each sent after the previous one's answer, in the proxy's log of each run;")
        P("   ratio = median / bound; added = median here - median direct (what the latency cost);")
        P("   added/bound near 1.0 means the latency is overlapped as well as the chain allows, and the rest")
        P("   of the ratio is start-up, our CPU and the emulator's own time per call (one Python process, one GIL)")
        P()
        P("   chains (from src/, see BOUNDS_RTT in bench/bench.py):")
        for k, chain in BOUND_CHAINS.items():
            P(f"   {k:<22} {BOUNDS_RTT[k]:>2} RTT  {chain}")
        if self.scale:
            P()
            P(f"3. Many stacks at once (--all; stacks bench-1..bench-N), median of {a.runs} runs; "
              f"bound {ALL_BOUND_RTT} RTT = {ALL_BOUND_RTT * RTT_MS} ms at any N")
            rows = []
            base, basec = {}, {}
            for size, row in sorted(self.scale.items()):
                for cmd in ("plan --all", "drift --all"):
                    s0, s50 = row[(cmd, "0ms")], row[(cmd, "50ms")]
                    sc = row.get((cmd, "50ms cached"))
                    m50 = med(s50.wall())
                    base.setdefault(cmd, m50)
                    mc = med(sc.wall()) if sc else float("nan")
                    basec.setdefault(cmd, mc)
                    c = s50.calls()
                    rows.append([cmd, size, fmt_ms(med(s0.wall())), fmt_ms(m50), fmt_ms(min(s50.wall())),
                                 fmt_ms(max(s50.wall())), f"{m50 / base[cmd]:.2f}",
                                 f"{m50 / (ALL_BOUND_RTT * RTT_MS / 1000):.2f}",
                                 fmt_ms(mc), f"{mc / basec[cmd]:.2f}" if sc else "-",
                                 fmt_ms(s50.stat("cpu")), fmt_ms(sc.stat("cpu")) if sc else "-",
                                 f"{s50.rss_mib():.1f}", c[0] if c else "-"])
            P(table(["command", "stacks", "0ms", "50ms", "min", "max", "x 1 stack",
                     "x bound", "50ms cached", "x 1 stack", "cpu ms", "cpu cached",
                     "RSS MiB", "AWS reads"], rows))
            P("   0ms = direct to moto; 50ms = through the +50 ms proxy; 50ms cached = the same with repeated")
            P("   reads answered by the proxy's cache (aws_proxy.py --cache-reads), i.e. without moto's own time")
        P()
        if self.version:
            m, lo, hi, n = self.version
            P(f"4. `webhook-stack --version`: median {m * 1000:.2f} ms (min {lo * 1000:.2f}, max {hi * 1000:.2f}) over {n} runs")
            P(f"   peak RSS of `plan` (direct): {direct['plan (converged)'].rss_mib():.1f} MiB; "
              f"under 50 ms: {lat['plan (converged)'].rss_mib():.1f} MiB")
        P()
        if self.tf is None:
            P(f"5. Terraform: {self.tf_skip}")
        else:
            P(f"5. Terraform ({self.tf_version}; provider {self.tf_provider}) against the same moto, "
              f"through the proxy at 0 ms to count its calls")
            rows = []
            for k, s in self.tf.items():
                ours = direct[k]
                if not s.runs:
                    rows.append([k, 0, "failed", "", "", "", "", "", "", ""])
                    continue
                cs = self.tf_calls[k]
                tr, tw = (int(med([split_calls(c)[i] for c in cs])) for i in (0, 1))
                oc = ours.calls()
                tm, om = med(s.wall()), med(ours.wall())
                rows.append([k, len(s.runs), fmt_s(tm), fmt_s(min(s.wall())), fmt_s(max(s.wall())),
                             fmt_s(s.stat("cpu")), f"{s.rss_mib():.0f}", f"{tr}/{tw}",
                             f"{oc[0]}/{oc[1]}" if oc else "-", f"{fmt_ms(om)} ms", f"{tm / om:.0f}x"])
            P(table(["command", "runs", "TF median s", "min s", "max s", "TF cpu s", "TF RSS MiB",
                     "TF reads/writes", "ours r/w", "ours median", "TF / ours"], rows))
            P("   (terraform plan -refresh-only is compared with `drift`; TF's CPU and RSS include the provider plugin;")
            P("    ours measured direct to moto: the 0 ms proxy adds ~1 ms per call to Terraform's figures, <1%)")
            for n in self.tf_notes:
                P(f"   note: {n}")
            for f in self.tf_failures:
                P(f"   FAILED: {f}")
            if self.tf.get("plan (converged)") and self.tf["plan (converged)"].runs:
                ops = self.tf_calls["plan (converged)"][0]
                P("   terraform plan's calls: " + ", ".join(f"{k} {v}" for k, v in sorted(ops.items())))
        self.summary()

    def summary(self):
        P = lambda s="": print(s, flush=True)
        direct, lat = self.results["direct"], self.results["50ms"]
        P()
        P("=" * 100)
        P("SUMMARY")
        rows = []
        for k in BOUNDS_RTT:
            d, l = direct[k], lat[k]
            b = BOUNDS_RTT[k] * RTT_MS / 1000
            c = d.calls()
            tfc = tfr = "-"
            if self.tf and k in self.tf and self.tf[k].runs:
                tm = med(self.tf[k].wall())
                tfc = fmt_s(tm)
                tfr = f"{tm / med(d.wall()):.0f}x"
            rows.append([k, fmt_ms(med(d.wall())), fmt_ms(d.stat("cpu")), f"{d.rss_mib():.1f}",
                         f"{c[0]}/{c[1]}" if c else "-", fmt_ms(med(l.wall())), fmt_ms(b),
                         f"{med(l.wall()) / b:.2f}", tfc, tfr])
        P(table(["command", "ms", "cpu ms", "RSS MiB", "reads/writes", "ms @50ms", "bound ms",
                 "x bound", "terraform s", "TF/ours"], rows))
        P()
        P("TARGETS")

        def line(ok, text):
            P(f"  [{'met' if ok else 'NOT MET'}] {text}")

        def tf_ratio(k):
            if not self.tf or k not in self.tf or not self.tf[k].runs:
                return None
            return med(self.tf[k].wall()) / med(direct[k].wall())

        r = tf_ratio("plan (converged)")
        if r is None:
            P("  [n/a] converged plan vs terraform plan: Terraform part not run")
        else:
            line(r >= TARGET_PLAN_TF, f"converged plan >= {TARGET_PLAN_TF:.0f}x faster than terraform plan: {r:.0f}x "
                 f"({fmt_ms(med(direct['plan (converged)'].wall()))} ms vs {fmt_s(med(self.tf['plan (converged)'].wall()))} s)")
            oc = direct["plan (converged)"].calls()
            tc = self.tf_calls["plan (converged)"]
            tn = int(med([sum(c.values()) for c in tc]))
            on = oc[0] + oc[1]
            line(on <= tn, f"converged plan makes no more AWS calls than terraform plan: {on} vs {tn}")
        k = "plan (converged)"
        bound = BOUNDS_RTT[k] * RTT_MS / 1000
        x = med(lat[k].wall()) / bound
        line(x <= TARGET_PLAN_BOUND, f"converged plan under 50 ms latency within {TARGET_PLAN_BOUND}x of its bound: "
             f"{x:.2f}x ({fmt_ms(med(lat[k].wall()))} ms vs {BOUNDS_RTT[k] * RTT_MS} ms)")
        if self.scale and ("plan --all", "50ms cached") in self.scale.get(1, {}):
            c = med(self.scale[1][("plan --all", "50ms cached")].wall())
            line(c / bound <= TARGET_PLAN_BOUND,
                 f"  the same with reads cached in the proxy (moto's time removed; plan --all, 1 stack): "
                 f"{c / bound:.2f}x ({fmt_ms(c)} ms)")
        for k in ("apply (create)", "destroy"):
            r = tf_ratio(k)
            if r is None:
                P(f"  [n/a] {k} vs Terraform: Terraform part not run or failed")
            else:
                line(r >= TARGET_APPLY_TF, f"{k} >= {TARGET_APPLY_TF:.0f}x faster than Terraform: {r:.0f}x "
                     f"({fmt_ms(med(direct[k].wall()))} ms vs {fmt_s(med(self.tf[k].wall()))} s)")
            x = med(lat[k].wall()) / (BOUNDS_RTT[k] * RTT_MS / 1000)
            line(x <= TARGET_APPLY_BOUND, f"{k} under 50 ms latency within {TARGET_APPLY_BOUND}x of its bound: "
                 f"{x:.2f}x ({fmt_ms(med(lat[k].wall()))} ms vs {BOUNDS_RTT[k] * RTT_MS} ms)")
        r = tf_ratio("drift")
        if r is None:
            P("  [n/a] drift vs terraform plan -refresh-only: Terraform part not run")
        else:
            line(r >= TARGET_DRIFT_TF, f"drift >= {TARGET_DRIFT_TF:.0f}x faster than terraform plan -refresh-only: "
                 f"{r:.0f}x ({fmt_ms(med(direct['drift'].wall()))} ms vs {fmt_s(med(self.tf['drift'].wall()))} s)")
        if self.scale:
            sizes = sorted(self.scale)
            lo, hi = sizes[0], sizes[-1]
            one = med(self.scale[lo][("drift --all", "50ms")].wall())
            many = med(self.scale[hi][("drift --all", "50ms")].wall())
            line(many <= TARGET_ALL_SCALE * one,
                 f"{hi} stacks drift --all under 50 ms latency <= {TARGET_ALL_SCALE:.0f}x one stack: "
                 f"{many / one:.2f}x ({fmt_ms(many)} ms vs {fmt_ms(one)} ms; direct to moto, no latency: "
                 f"{fmt_ms(med(self.scale[hi][('drift --all', '0ms')].wall()))} ms)")
            if ("drift --all", "50ms cached") in self.scale[hi]:
                onec = med(self.scale[lo][("drift --all", "50ms cached")].wall())
                manyc = med(self.scale[hi][("drift --all", "50ms cached")].wall())
                line(manyc <= TARGET_ALL_SCALE * onec,
                     f"  the same with reads cached in the proxy (moto's time removed): {manyc / onec:.2f}x "
                     f"({fmt_ms(manyc)} ms vs {fmt_ms(onec)} ms)")
        else:
            P("  [n/a] drift --all scale: not run (no --all in this build)")
        rss = direct["plan (converged)"].rss_mib()
        line(rss <= TARGET_RSS_MIB, f"peak RSS of plan <= {TARGET_RSS_MIB:.0f} MiB: {rss:.1f} MiB")
        m = self.version[0] * 1000
        line(m <= TARGET_VERSION_MS, f"webhook-stack --version <= {TARGET_VERSION_MS:.0f} ms: {m:.2f} ms (median of {self.version[3]})")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--moto", required=True, help="moto URL (direct)")
    p.add_argument("--proxy0", required=True, help="proxy with 0 ms (Terraform's call counts)")
    p.add_argument("--proxy50", required=True, help="proxy with 50 ms")
    p.add_argument("--proxy50-log", help="the 50 ms proxy's --log file (for the chains seen)")
    p.add_argument("--proxy-cached", help="proxy with 50 ms and --cache-reads (scale only)")
    p.add_argument("--work", required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--scale", default="1,10,50")
    p.add_argument("--version-runs", type=int, default=20)
    p.add_argument("--tf-config", required=True)
    p.add_argument("--tf-apply-runs", type=int, default=3)
    p.add_argument("--tf-plan-runs", type=int, default=5)
    p.add_argument("--tf-search", default="/opt:/usr/local:/usr/share:/root:/home:/")
    p.add_argument("--skip-terraform", action="store_true")
    a = p.parse_args()
    a.version_string = run([a.bin, "--version"])["out"].strip()
    b = Bench(a)
    t0 = time.time()
    try:
        log(f"pass 1: direct to moto ({a.moto})")
        b.pass_commands("direct", a.moto)
        log(f"pass 2: through the proxy at +{RTT_MS} ms ({a.proxy50})")
        b.pass_commands("50ms", a.proxy50, proxy=a.proxy50,
                        proxy_log=Path(a.proxy50_log) if a.proxy50_log else None)
        b.pass_scale(a.moto, a.proxy50, a.proxy_cached)
        log("--version")
        b.pass_version()
        b.pass_terraform(a.proxy0)
    except Failed as e:
        log(f"FAILED: {e}")
        sys.exit(1)
    b.report()
    print(f"\n(benchmark took {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
