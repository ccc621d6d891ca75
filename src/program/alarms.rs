//! The seed's recommended CloudWatch alarms, declared only when the
//! `alarms` setting is on. Each refers to the function or the table by its
//! output, so the graph orders them after what they watch.

use super::{props, StackContext, FUNCTION, TABLE};
use crate::engine::expr::{lit, object, output, Expr};
use crate::engine::model::Declared;
use crate::providers::alarm;
use serde_json::{json, Value};

pub const ERROR_RATE: &str = "alarm_error_rate";
pub const DURATION: &str = "alarm_duration";
pub const THROTTLES: &str = "alarm_throttles";
pub const TABLE_ERRORS: &str = "alarm_table_errors";

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
fn alarm(
    ctx: &StackContext,
    key: &'static str,
    name: String,
    description: &str,
    threshold: f64,
    measure: [(&'static str, Expr); 2],
) -> Declared {
    let actions = lit(json!(ctx
        .settings
        .alarm_topic_arn
        .iter()
        .collect::<Vec<_>>()));
    let [a, b] = measure;
    Declared {
        key,
        kind: alarm::KIND,
        props: props([
            ("name", lit(name)),
            ("description", lit(description)),
            a,
            b,
            ("evaluation_periods", lit(1)),
            ("datapoints_to_alarm", lit(1)),
            ("threshold", lit(threshold)),
            ("comparison_operator", lit("GreaterThanThreshold")),
            ("treat_missing_data", lit("notBreaching")),
            ("alarm_actions", actions.clone()),
            ("ok_actions", actions),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

/// A single-metric alarm on the function.
fn on_function(metric_name: &str, period: i32, statistic: &str) -> [(&'static str, Expr); 2] {
    [
        (
            "metric",
            object([
                ("namespace", lit("AWS/Lambda")),
                ("metric_name", lit(metric_name)),
                (
                    "dimensions",
                    object([("FunctionName", output(FUNCTION, "name"))]),
                ),
                ("period", lit(period)),
                ("statistic", lit(statistic)),
            ]),
        ),
        ("metrics", lit(Value::Null)),
    ]
}

pub fn declare(ctx: &StackContext) -> Vec<Declared> {
    let names = ctx.names();
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
    vec![
        alarm(
            ctx,
            ERROR_RATE,
            names.alarm_error_rate,
            "Lambda errors above 5% of invocations",
            5.0,
            [("metric", lit(Value::Null)), ("metrics", error_rate)],
        ),
        alarm(
            ctx,
            DURATION,
            names.alarm_duration,
            "Lambda duration above 25 s, near the timeout",
            25000.0,
            on_function("Duration", 60, "Maximum"),
        ),
        alarm(
            ctx,
            THROTTLES,
            names.alarm_throttles,
            "Lambda throttles",
            0.0,
            on_function("Throttles", 60, "Sum"),
        ),
        alarm(
            ctx,
            TABLE_ERRORS,
            names.alarm_table_errors,
            "DynamoDB system errors",
            0.0,
            [
                ("metric", lit(Value::Null)),
                ("metrics", Expr::List(system_errors)),
            ],
        ),
    ]
}
