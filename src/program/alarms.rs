//! The seed's recommended CloudWatch alarms, declared only when the
//! `alarms` setting is on. Each refers to the function or the table by its
//! output, so the graph orders them after what they watch.

use super::{props, Body, Resource, StackContext, FUNCTION, TABLE};
use crate::engine::expr::{lit, object, output, Expr};
use crate::providers::alarm::KIND;
use crate::settings::Settings;
use serde_json::{json, Value};

/// The longest alarm name CloudWatch accepts.
pub(super) const LIMIT: Option<(&str, usize)> = Some(("CloudWatch (alarm name)", 255));

pub(super) fn when_alarms(s: &Settings) -> bool {
    s.alarms
}

pub const ERROR_RATE: Resource = Resource {
    key: "alarm_error_rate",
    kind: KIND,
    name: |s| format!("webhook-processor-{s}-error-rate"),
    limit: LIMIT,
    declared_when: when_alarms,
    declare: error_rate,
    amend: None,
    outputs: &[],
};

pub const DURATION: Resource = Resource {
    key: "alarm_duration",
    kind: KIND,
    name: |s| format!("webhook-processor-{s}-duration"),
    limit: LIMIT,
    declared_when: when_alarms,
    declare: |ctx| {
        alarm(
            ctx,
            DURATION.key,
            "Lambda duration above 25 s, near the timeout",
            25000.0,
            on_function("Duration", 60, "Maximum"),
        )
    },
    amend: None,
    outputs: &[],
};

pub const THROTTLES: Resource = Resource {
    key: "alarm_throttles",
    kind: KIND,
    name: |s| format!("webhook-processor-{s}-throttles"),
    limit: LIMIT,
    declared_when: when_alarms,
    declare: |ctx| {
        alarm(
            ctx,
            THROTTLES.key,
            "Lambda throttles",
            0.0,
            on_function("Throttles", 60, "Sum"),
        )
    },
    amend: None,
    outputs: &[],
};

pub const TABLE_ERRORS: Resource = Resource {
    key: "alarm_table_errors",
    kind: KIND,
    name: |s| format!("transactions-{s}-system-errors"),
    limit: LIMIT,
    declared_when: when_alarms,
    declare: table_errors,
    amend: None,
    outputs: &[],
};

/// Drift found by a scheduled `drift --publish-metric` (the stack's own
/// `WebhookStack` / `DriftedResources` above 0), and no report for two
/// hours: missing data is breaching, so a drift job that stopped alerts too.
pub const DRIFT: Resource = Resource {
    key: "alarm_drift",
    kind: KIND,
    name: |s| format!("webhook-processor-{s}-drift"),
    limit: LIMIT,
    declared_when: when_alarms,
    declare: |ctx| {
        let dimensions = object([("Stack", lit(ctx.suffix.as_str()))]);
        alarm_over(
            ctx,
            DRIFT.key,
            "Drift found by the scheduled drift check, or no check reported for 2 hours",
            0.0,
            single(
                "WebhookStack",
                "DriftedResources",
                dimensions,
                3600,
                "Maximum",
            ),
            2,
            "breaching",
        )
    },
    amend: None,
    outputs: &[],
};

/// A metric the alarm reads, with its dimensions.
fn metric(namespace: &str, name: &str, dimensions: Expr, period: i32, stat: &str) -> Expr {
    object([
        ("namespace", lit(namespace)),
        ("metric_name", lit(name)),
        ("dimensions", dimensions),
        ("period", lit(period)),
        ("stat", lit(stat)),
    ])
}

/// One query of a metric-math alarm that only feeds the expression.
fn input(id: &str, metric_stat: Expr) -> Expr {
    object([
        ("id", lit(id)),
        ("return_data", lit(false)),
        ("metric_stat", metric_stat),
    ])
}

fn expression(id: &str, expression: &str, label: &str) -> Expr {
    object([
        ("id", lit(id)),
        ("expression", lit(expression)),
        ("label", lit(label)),
        ("return_data", lit(true)),
    ])
}

/// What every alarm shares: 1 of 1 periods, above the threshold, missing
/// data not breaching, actions to the topic when one is set.
pub(super) fn alarm(
    ctx: &StackContext,
    key: &str,
    description: &str,
    threshold: f64,
    measure: [(&'static str, Expr); 2],
) -> Body {
    alarm_over(ctx, key, description, threshold, measure, 1, "notBreaching")
}

/// An alarm over `periods` of `periods` periods, missing data treated as
/// `missing`.
fn alarm_over(
    ctx: &StackContext,
    key: &str,
    description: &str,
    threshold: f64,
    measure: [(&'static str, Expr); 2],
    periods: i32,
    missing: &str,
) -> Body {
    let actions = lit(json!(ctx
        .settings
        .alarm_topic_arn
        .iter()
        .collect::<Vec<_>>()));
    let [a, b] = measure;
    Body {
        props: props([
            ("name", lit(ctx.name(key))),
            ("description", lit(description)),
            a,
            b,
            ("evaluation_periods", lit(periods)),
            ("datapoints_to_alarm", lit(periods)),
            ("threshold", lit(threshold)),
            ("comparison_operator", lit("GreaterThanThreshold")),
            ("treat_missing_data", lit(missing)),
            ("alarm_actions", actions.clone()),
            ("ok_actions", actions),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

/// The measure of a single-metric alarm.
pub(super) fn single(
    namespace: &str,
    metric_name: &str,
    dimensions: Expr,
    period: i32,
    statistic: &str,
) -> [(&'static str, Expr); 2] {
    [
        (
            "metric",
            object([
                ("namespace", lit(namespace)),
                ("metric_name", lit(metric_name)),
                ("dimensions", dimensions),
                ("period", lit(period)),
                ("statistic", lit(statistic)),
            ]),
        ),
        ("metrics", lit(Value::Null)),
    ]
}

/// A single-metric alarm on the function.
fn on_function(metric_name: &str, period: i32, statistic: &str) -> [(&'static str, Expr); 2] {
    let dimensions = object([("FunctionName", output(FUNCTION, "name"))]);
    single("AWS/Lambda", metric_name, dimensions, period, statistic)
}

fn error_rate(ctx: &StackContext) -> Body {
    let function = || object([("FunctionName", output(FUNCTION, "name"))]);
    let error_rate = Expr::List(vec![
        input(
            "errors",
            metric("AWS/Lambda", "Errors", function(), 300, "Sum"),
        ),
        input(
            "invocations",
            metric("AWS/Lambda", "Invocations", function(), 300, "Sum"),
        ),
        expression(
            "error_rate",
            "100 * errors / MAX([errors, invocations])",
            "Error rate (%)",
        ),
    ]);
    alarm(
        ctx,
        ERROR_RATE.key,
        "Lambda errors above 5% of invocations",
        5.0,
        [("metric", lit(Value::Null)), ("metrics", error_rate)],
    )
}

fn table_errors(ctx: &StackContext) -> Body {
    let mut system_errors: Vec<Expr> = ["GetItem", "PutItem", "UpdateItem"]
        .iter()
        .map(|op| {
            let dims = object([
                ("TableName", output(TABLE, "name")),
                ("Operation", lit(*op)),
            ]);
            input(
                &op.to_lowercase(),
                metric("AWS/DynamoDB", "SystemErrors", dims, 60, "Sum"),
            )
        })
        .collect();
    system_errors.push(expression(
        "system_errors",
        "SUM(METRICS())",
        "System errors",
    ));
    alarm(
        ctx,
        TABLE_ERRORS.key,
        "DynamoDB system errors",
        0.0,
        [
            ("metric", lit(Value::Null)),
            ("metrics", Expr::List(system_errors)),
        ],
    )
}
