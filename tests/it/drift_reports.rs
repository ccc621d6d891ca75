//! `drift --format junit|markdown`, for one stack and for `--all`. The JUnit
//! report is read back by a real JUnit reader (junitparser, from the venv),
//! and every field checked: a suite per stack, a case per resource, a
//! failure per drifted property with expected and actual, an error for a
//! stack that could not be checked.

use crate::common::{sdk, TestStack};
use std::process::Command;

/// The report as junitparser reads it: suites, with their cases and each
/// case's results (type, message, text).
fn parse_junit(xml: &str, dir: &std::path::Path) -> serde_json::Value {
    let file = dir.join("report.xml");
    std::fs::write(&file, xml).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error
xml = JUnitXml.fromfile(sys.argv[1])
out = {"tests": xml.tests, "failures": xml.failures, "errors": xml.errors, "suites": []}
for suite in xml:
    cases = []
    for case in suite:
        results = [{"kind": type(r).__name__, "type": r.type, "message": r.message, "text": r.text}
                   for r in case.result]
        cases.append({"classname": case.classname, "name": case.name, "results": results})
    props = {p.name: p.value for p in suite.properties()}
    out["suites"].append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                          "errors": suite.errors, "properties": props, "cases": cases})
print(json.dumps(out))
"#;
    let out = Command::new(root.join(".venv/bin/python"))
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("run junitparser");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn junit_and_markdown_reports_carry_every_drifted_property() {
    let st = TestStack::new("reports");
    let n = st.names();
    st.run(&["apply", "--yes"]).ok();
    let cfg = sdk().await;
    aws_sdk_lambda::Client::new(&cfg)
        .update_function_configuration()
        .function_name(&n.function)
        .memory_size(2048)
        .timeout(60)
        .send()
        .await
        .unwrap();
    aws_sdk_cloudwatchlogs::Client::new(&cfg)
        .delete_log_group()
        .log_group_name(&n.log_group)
        .send()
        .await
        .unwrap();

    let out = st.run(&["drift", "--format", "junit"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let report = parse_junit(&out.stdout, &st.dir);
    assert_eq!(report["tests"], 6);
    assert_eq!(report["failures"], 2);
    assert_eq!(report["errors"], 0);
    let suite = &report["suites"][0];
    assert_eq!(suite["name"], "stack reports");
    assert_eq!(suite["properties"]["region"], "us-east-1");
    assert_eq!(suite["properties"]["account"], "123456789012");
    let case = |prefix: &str| {
        suite["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no case {prefix}: {suite}"))
            .clone()
    };
    let function = case("function (aws:lambda/function webhook-processor-reports)");
    assert_eq!(function["classname"], "reports");
    let results = function["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{function}");
    assert_eq!(results[0]["kind"], "Failure");
    assert_eq!(results[0]["type"], "MODIFIED");
    assert_eq!(
        results[0]["message"],
        "memory_size: expected 1024, actual 2048"
    );
    assert_eq!(
        results[0]["text"],
        "memory_size\nexpected: 1024\nactual: 2048"
    );
    assert_eq!(results[1]["message"], "timeout: expected 30, actual 60");
    let log_group = case("log_group");
    assert_eq!(log_group["results"][0]["type"], "DELETED");
    assert!(case("table")["results"].as_array().unwrap().is_empty());

    let md = st.run(&["drift", "--format", "markdown"]);
    assert_eq!(md.code, 2);
    assert!(
        md.stdout
            .contains("| `reports` | ⚠️ drifted: 1 modified, 1 deleted, 4 in sync |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains(&format!(
            "| function | aws:lambda/function | `{}` | MODIFIED | `memory_size` | `1024` | `2048` |",
            n.function
        )),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| log_group | aws:logs/logGroup |"),
        "{}",
        md.stdout
    );

    // --all, with a second stack in sync and a third that cannot be checked.
    let other = st.beside("reports2");
    other.run(&["apply", "--yes"]).ok();
    std::fs::write(other.state_dir().join("reports3.json"), "{not json").unwrap();
    let all = st.run(&["drift", "--all", "--format", "junit"]);
    assert_eq!(all.code, 1, "{}", all.stderr);
    let report = parse_junit(&all.stdout, &st.dir);
    let names: Vec<&str> = report["suites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["stack reports", "stack reports2", "stack reports3"]);
    assert_eq!(report["suites"][1]["failures"], 0);
    let broken = &report["suites"][2];
    assert_eq!(broken["errors"], 1);
    assert_eq!(broken["cases"][0]["results"][0]["kind"], "Error");
    assert!(
        broken["cases"][0]["results"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not valid state JSON"),
        "{broken}"
    );
    let md = st.run(&["drift", "--all", "--format", "markdown"]);
    assert!(
        md.stdout
            .contains("| `reports2` | ✅ in sync (6 resources) |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout
            .contains("| `reports3` | ❌ could not be checked:"),
        "{}",
        md.stdout
    );
    std::fs::remove_file(other.state_dir().join("reports3.json")).unwrap();
    other.run(&["destroy", "--yes"]).ok();
    st.run(&["destroy", "--yes"]).ok();
}

/// `drift --publish-metric` puts each stack's result as CloudWatch metrics,
/// and with `alarms` the stack has an alarm on its own DriftedResources:
/// above 0 over an hour, 2 of 2, missing data breaching (a drift job that
/// stopped reporting alerts too).
#[tokio::test(flavor = "multi_thread")]
async fn drift_metrics_are_published_and_the_drift_alarm_watches_them() {
    use aws_sdk_cloudwatch::types::{Dimension, Statistic};
    let st = TestStack::new("driftmetric");
    let n = st.names();
    st.run(&["apply", "--yes", "--alarms"]).ok();
    let cfg = sdk().await;
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let alarm = cw
        .describe_alarms()
        .alarm_names(&n.alarm_drift)
        .send()
        .await
        .unwrap();
    let alarm = &alarm.metric_alarms()[0];
    assert_eq!(alarm.namespace(), Some("WebhookStack"));
    assert_eq!(alarm.metric_name(), Some("DriftedResources"));
    assert_eq!(alarm.dimensions()[0].name(), Some("Stack"));
    assert_eq!(alarm.dimensions()[0].value(), Some("driftmetric"));
    assert_eq!(alarm.period(), Some(3600));
    assert_eq!(alarm.evaluation_periods(), Some(2));
    assert_eq!(alarm.datapoints_to_alarm(), Some(2));
    assert_eq!(alarm.treat_missing_data(), Some("breaching"));
    assert_eq!(alarm.statistic(), Some(&Statistic::Maximum));

    let max = |metric: &'static str| {
        let cw = cw.clone();
        async move {
            let now = aws_smithy_types::DateTime::from_secs(chrono::Utc::now().timestamp() + 60);
            let start =
                aws_smithy_types::DateTime::from_secs(chrono::Utc::now().timestamp() - 3600);
            let out = cw
                .get_metric_statistics()
                .namespace("WebhookStack")
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("Stack")
                        .value("driftmetric")
                        .build(),
                )
                .start_time(start)
                .end_time(now)
                .period(3600)
                .statistics(Statistic::Maximum)
                .send()
                .await
                .unwrap();
            out.datapoints()
                .iter()
                .filter_map(|d| d.maximum())
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        }
    };
    st.run(&["drift", "--publish-metric"]).ok();
    assert_eq!(max("DriftedResources").await, Some(0.0));
    assert_eq!(max("DriftCheckFailed").await, Some(0.0));

    aws_sdk_lambda::Client::new(&cfg)
        .update_function_configuration()
        .function_name(&n.function)
        .memory_size(2048)
        .send()
        .await
        .unwrap();
    let out = st.run(&["drift", "--publish-metric", "--json"]);
    assert_eq!(out.code, 2);
    let calls = &out.json()["aws_calls"]["by_operation"];
    assert_eq!(calls["CloudWatch:PutMetricData"], 1, "{calls}");
    assert_eq!(max("DriftedResources").await, Some(1.0));
    st.run(&["destroy", "--yes"]).ok();
}

/// `scripts/drift-fleet.sh`, the steps of `.github/workflows/drift.yml`:
/// four shards of `drift --all --shard I/4` over three stacks check each
/// stack exactly once, and the merge joins their reports into one JUnit
/// file, one Markdown summary and one JSON report, exiting 2 as one stack
/// drifted. `drift merge` refuses a stack given twice.
#[tokio::test(flavor = "multi_thread")]
async fn shards_check_each_stack_once_and_the_fleet_script_joins_their_reports() {
    let a = TestStack::new("fleeta");
    let stacks = [a.beside("fleeta"), a.beside("fleetb"), a.beside("fleetc")];
    for s in &stacks {
        s.run(&["apply", "--yes"]).ok();
    }
    aws_sdk_cloudwatchlogs::Client::new(&sdk().await)
        .put_retention_policy()
        .log_group_name(stacks[1].names().log_group)
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let reports = a.dir.join("reports");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = |args: &[&str]| {
        let out = Command::new(root.join("scripts/drift-fleet.sh"))
            .args(args)
            .env("WEBHOOK_STACK", env!("CARGO_BIN_EXE_webhook-stack"))
            .env(
                "WEBHOOK_STACK_BACKEND",
                format!("file://{}", a.state_dir().display()),
            )
            .env("AWS_ENDPOINT_URL", crate::common::endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env("DRIFT_RECORD", "1")
            .output()
            .unwrap();
        crate::common::Output::from(out)
    };
    let dir = reports.display().to_string();
    let mut seen = Vec::new();
    for i in 1..=4 {
        let out = script(&["check", &i.to_string(), "4", &dir]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(reports.join(format!("drift-{i}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(report["shard"], format!("{i}/4"));
        for s in report["stacks"].as_array().unwrap() {
            seen.push(s["suffix"].as_str().unwrap().to_owned());
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        ["fleeta", "fleetb", "fleetc"],
        "each stack in one shard"
    );

    let out = script(&["merge", &dir]);
    assert_eq!(out.code, 2, "drifted: {}", out.stderr);
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("drift.json")).unwrap()).unwrap();
    let suffixes: Vec<&str> = merged["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["suffix"].as_str().unwrap())
        .collect();
    assert_eq!(suffixes, ["fleeta", "fleetb", "fleetc"]);
    assert_eq!(merged["drifted"], true);
    assert!(
        merged["aws_calls"]["reads"].as_u64().unwrap() > 0,
        "the shards' calls are summed: {merged}"
    );
    let junit = parse_junit(
        &std::fs::read_to_string(reports.join("drift.xml")).unwrap(),
        &a.dir,
    );
    assert_eq!(junit["suites"].as_array().unwrap().len(), 3);
    assert_eq!(junit["suites"][1]["name"], "stack fleetb");
    assert_eq!(junit["suites"][1]["failures"], 1, "{junit}");
    assert_eq!(junit["suites"][0]["failures"], 0);
    let md = std::fs::read_to_string(reports.join("drift.md")).unwrap();
    assert!(md.contains("| `fleetb` | ⚠️ drifted: 1 modified"), "{md}");
    assert!(md.contains("| `fleeta` | ✅ in sync"), "{md}");
    let page = std::fs::read_to_string(reports.join("drift.html")).unwrap();
    assert!(
        page.contains("data-stack=\"fleetb\" data-status=\"drifted\""),
        "{page}"
    );

    let twice = a.run(&[
        "drift",
        "merge",
        &reports.join("drift.json").display().to_string(),
        &reports.join("drift.json").display().to_string(),
    ]);
    assert_eq!(twice.code, 1);
    assert!(
        twice.stderr.contains("stack fleeta is in both"),
        "{}",
        twice.stderr
    );
    // A one-stack report (`drift --json`) merges too.
    let one = stacks[0].run(&["drift", "--json"]).ok();
    let file = reports.join("one.json");
    std::fs::write(&file, &one.stdout).unwrap();
    let md = a.run(&[
        "drift",
        "merge",
        "--format",
        "markdown",
        &file.display().to_string(),
    ]);
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout.contains("| `fleeta` | ✅ in sync"),
        "{}",
        md.stdout
    );
    for s in &stacks {
        s.run(&["destroy", "--yes"]).ok();
    }
}

/// Runs headless chromium on `url` with `args`; its stdout and stderr.
fn chromium(args: &[&str], url: &str, profile: &std::path::Path) -> (String, String) {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `drift merge --html` of a fleet of 100 stacks (89 in sync, 8 drifted,
/// 3 that could not be checked), loaded in a real headless browser: every
/// cell is there with its state, a drifted cell holds its properties, the
/// "drifted only" filter hides the 89, the console stays clean, the page is
/// built in under a second, and a screenshot is saved under target/.
#[test]
fn the_drift_page_shows_a_fleet_of_100_stacks_in_a_headless_browser() {
    use serde_json::json;
    let st = TestStack::new("page");
    let resources = [
        "kms_key",
        "kms_alias",
        "log_group",
        "table",
        "role",
        "function",
    ];
    let stacks: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            let suffix = format!("fleet{i:03}");
            if i % 33 == 32 {
                return json!({"suffix": suffix, "error": "AccessDenied: not authorized"});
            }
            let drifted = i % 13 == 5;
            let rows: Vec<serde_json::Value> = resources
                .iter()
                .map(|r| {
                    let (status, props) = match (drifted, *r) {
                        (true, "log_group") => (
                            "MODIFIED",
                            json!([{"path": "retention_in_days", "expected": 30, "actual": 1}]),
                        ),
                        (true, "table") => ("DELETED", json!([])),
                        _ => ("IN_SYNC", json!([])),
                    };
                    json!({"resource": r, "type": "aws:x/y", "id": format!("{r}-{suffix}"),
                           "status": status, "drifted_properties": props})
                })
                .collect();
            json!({"suffix": suffix, "region": "us-east-1", "account": "123456789012",
                   "state_serial": 3, "drifted": drifted,
                   "summary": {"in_sync": if drifted {4} else {6}, "modified": usize::from(drifted),
                               "deleted": usize::from(drifted)},
                   "resources": rows})
        })
        .collect();
    let drifted = stacks.iter().filter(|s| s["drifted"] == true).count();
    let failed = stacks.iter().filter(|s| s.get("error").is_some()).count();
    assert_eq!((drifted, failed), (8, 3));
    let report = st.dir.join("fleet.json");
    let fleet = json!({"format_version": 1, "checked_at": "2026-12-07T17:00:00Z",
                       "drifted": true, "stacks": stacks});
    std::fs::write(&report, fleet.to_string()).unwrap();
    let page = st.dir.join("drift.html");
    let out = st.run(&[
        "drift",
        "merge",
        "--html",
        &page.display().to_string(),
        &report.display().to_string(),
    ]);
    assert_eq!(out.code, 1, "3 stacks could not be checked: {}", out.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "self-contained"
    );

    let url = format!("file://{}", page.display());
    let profile = st.dir.join("chromium");
    let (dom, log) = chromium(&["--dump-dom"], &url, &profile);
    let count = |needle: &str| dom.matches(needle).count();
    assert_eq!(count("<tr class=\"stack\""), 100);
    assert_eq!(count("class=\"cell in_sync\""), 89 * 6 + 8 * 4);
    assert_eq!(count("class=\"cell modified\""), 8);
    assert_eq!(count("class=\"cell deleted\""), 8);
    assert_eq!(count("class=\"cell error\""), 3);
    assert!(
        dom.contains(
            "<code>retention_in_days</code>: expected <code>30</code>, actual <code>1</code>"
        ),
        "a modified cell opens its properties"
    );
    assert!(
        dom.contains("data-errors=\"\""),
        "no script error: {dom:.300}"
    );
    assert!(!log.contains(":CONSOLE("), "the console stays clean: {log}");
    let rendered: f64 = dom
        .split("data-rendered=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .expect("the page says when it was built");
    assert!(rendered < 1000.0, "built in {rendered} ms");

    // The filter: only what drifted or failed is left.
    let (filtered, _) = chromium(&["--dump-dom"], &format!("{url}#drifted"), &profile);
    assert_eq!(
        filtered
            .matches("data-status=\"in_sync\" hidden=\"\"")
            .count(),
        89
    );
    assert_eq!(filtered.matches("<tr class=\"stack\"").count(), 100);

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("drift-page.png");
    let _ = std::fs::remove_file(&shot);
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
        &url,
        &profile,
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "{}",
        shot.display()
    );
}
