//! CloudWatch metric alarm, identified by its name. Both forms are
//! kept as AWS keeps them: one metric (`metric`) or a metric-math query list
//! (`metrics`); the other is null.

use super::aws::errors::{aws_error, AwsError};
use super::props::{map_prop, str_prop, tags_value, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::{Kind, Observed, Props};
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, Statistic, Tag,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The provider of `aws:cloudwatch/metricAlarm`.
pub struct Alarm;

pub const KIND: Kind = Kind::new("aws:cloudwatch/metricAlarm");

fn dimensions_value(dims: &[Dimension]) -> Value {
    let m: Map<String, Value> = dims
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_string(),
                Value::from(d.value().unwrap_or_default()),
            )
        })
        .collect();
    Value::Object(m)
}

fn dimensions(v: Option<&Value>) -> Vec<Dimension> {
    v.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            Dimension::builder()
                .name(k)
                .value(v.as_str().unwrap_or_default())
                .build()
        })
        .collect()
}

fn query_value(q: &MetricDataQuery) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), q.id().unwrap_or_default().into());
    if let Some(e) = q.expression() {
        m.insert("expression".into(), e.into());
    }
    if let Some(l) = q.label() {
        m.insert("label".into(), l.into());
    }
    m.insert("return_data".into(), q.return_data().unwrap_or(true).into());
    if let Some(s) = q.metric_stat() {
        let metric = s.metric();
        m.insert(
            "metric_stat".into(),
            json!({
                "namespace": metric.and_then(Metric::namespace),
                "metric_name": metric.and_then(Metric::metric_name),
                "dimensions": dimensions_value(metric.map(Metric::dimensions).unwrap_or_default()),
                "period": s.period(),
                "stat": s.stat(),
            }),
        );
    }
    Value::Object(m)
}

fn query(v: &Value) -> MetricDataQuery {
    let s = |k: &str| v.get(k).and_then(Value::as_str);
    let stat = v.get("metric_stat").map(|ms| {
        let ms_str = |k: &str| ms.get(k).and_then(Value::as_str);
        MetricStat::builder()
            .metric(
                Metric::builder()
                    .set_namespace(ms_str("namespace").map(str::to_owned))
                    .set_metric_name(ms_str("metric_name").map(str::to_owned))
                    .set_dimensions(Some(dimensions(ms.get("dimensions"))))
                    .build(),
            )
            .set_period(ms.get("period").and_then(Value::as_i64).map(|p| p as i32))
            .set_stat(ms_str("stat").map(str::to_owned))
            .build()
    });
    MetricDataQuery::builder()
        .set_id(s("id").map(str::to_owned))
        .set_expression(s("expression").map(str::to_owned))
        .set_label(s("label").map(str::to_owned))
        .set_return_data(v.get("return_data").and_then(Value::as_bool))
        .set_metric_stat(stat)
        .build()
}

fn props_of(a: &MetricAlarm, tags: Value) -> Props {
    let metric = a.metric_name().map(|name| {
        json!({
            "namespace": a.namespace(),
            "metric_name": name,
            "dimensions": dimensions_value(a.dimensions()),
            "period": a.period(),
            "statistic": a.statistic().map(Statistic::as_str),
        })
    });
    let metrics = (!a.metrics().is_empty())
        .then(|| Value::Array(a.metrics().iter().map(query_value).collect()));
    [
        ("name", Value::from(a.alarm_name().unwrap_or_default())),
        (
            "description",
            a.alarm_description().map_or(Value::Null, Value::from),
        ),
        ("metric", metric.unwrap_or(Value::Null)),
        ("metrics", metrics.unwrap_or(Value::Null)),
        ("evaluation_periods", a.evaluation_periods().into()),
        ("datapoints_to_alarm", a.datapoints_to_alarm().into()),
        ("threshold", a.threshold().into()),
        (
            "comparison_operator",
            a.comparison_operator()
                .map(ComparisonOperator::as_str)
                .into(),
        ),
        ("treat_missing_data", a.treat_missing_data().into()),
        ("alarm_actions", a.alarm_actions().into()),
        ("ok_actions", a.ok_actions().into()),
        ("tags", tags),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn outputs(name: &str, arn: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
    ])
}

async fn read(aws: &Aws, name: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
    let describe = aws.cloudwatch.describe_alarms().alarm_names(name).send();
    // With the ARN known from state, both reads go out at once.
    let (out, early_tags) = match hint.output("arn") {
        Some(arn) => {
            let tags = aws
                .cloudwatch
                .list_tags_for_resource()
                .resource_arn(arn)
                .send();
            let (out, tags) = tokio::join!(describe, tags);
            (out, Some((arn, tags)))
        }
        None => (describe.await, None),
    };
    let out = out.map_err(aws_error("DescribeAlarms"))?;
    let Some(alarm) = out
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(name))
    else {
        return Ok(None);
    };
    let arn = alarm.alarm_arn().unwrap_or_default();
    let tags = match early_tags {
        Some((hinted, tags)) if hinted == arn => tags,
        _ => {
            aws.cloudwatch
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
        }
    }
    .map_err(aws_error("ListTagsForResource"))?;
    let tags = tags_value(
        tags.tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    );
    Ok(Some(Observed {
        id: name.into(),
        props: props_of(alarm, tags),
        outputs: outputs(name, arn),
    }))
}

/// PutMetricAlarm replaces the whole alarm, so create and update are the
/// same call; tags given here count only when the alarm is new.
async fn put(aws: &Aws, desired: &Props, with_tags: bool) -> Result<(), AwsError> {
    let strings = |k: &str| -> Option<Vec<String>> {
        desired.get(k).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
    };
    let int = |k: &str| desired.get(k).and_then(Value::as_i64).map(|n| n as i32);
    let metric = desired.get("metric").filter(|m| !m.is_null());
    let metric_str = |k: &str| metric.and_then(|m| m.get(k)).and_then(Value::as_str);
    let queries = desired
        .get("metrics")
        .and_then(Value::as_array)
        .map(|qs| qs.iter().map(query).collect());
    let tags = with_tags.then(|| {
        map_prop(desired, "tags")
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    });
    aws.cloudwatch
        .put_metric_alarm()
        .alarm_name(str_prop(desired, "name").unwrap_or_default())
        .set_alarm_description(str_prop(desired, "description").map(str::to_owned))
        .set_namespace(metric_str("namespace").map(str::to_owned))
        .set_metric_name(metric_str("metric_name").map(str::to_owned))
        .set_statistic(metric_str("statistic").map(Statistic::from))
        .set_period(
            metric
                .and_then(|m| m.get("period"))
                .and_then(Value::as_i64)
                .map(|p| p as i32),
        )
        .set_dimensions(metric.map(|m| dimensions(m.get("dimensions"))))
        .set_metrics(queries)
        .set_evaluation_periods(int("evaluation_periods"))
        .set_datapoints_to_alarm(int("datapoints_to_alarm"))
        .set_threshold(desired.get("threshold").and_then(Value::as_f64))
        .set_comparison_operator(
            str_prop(desired, "comparison_operator").map(ComparisonOperator::from),
        )
        .set_treat_missing_data(str_prop(desired, "treat_missing_data").map(str::to_owned))
        .set_alarm_actions(strings("alarm_actions"))
        .set_ok_actions(strings("ok_actions"))
        .set_tags(tags)
        .send()
        .await
        .map(drop)
        .map_err(aws_error("PutMetricAlarm"))
}

async fn create(aws: &Aws, desired: &Props) -> Result<Observed, Failure> {
    put(aws, desired, true).await?;
    let name = str_prop(desired, "name").unwrap_or_default();
    // The ARN is AWS's to tell: read it back.
    let arn = aws
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(aws_error("DescribeAlarms"))?
        .metric_alarms()
        .iter()
        .find_map(|a| a.alarm_arn().map(str::to_owned))
        .ok_or_else(|| {
            AwsError::invalid(
                "DescribeAlarms",
                format!("alarm {name} not found after PutMetricAlarm"),
            )
        })?;
    Ok(Observed {
        id: name.into(),
        props: desired.clone(),
        outputs: outputs(name, &arn),
    })
}

async fn update(aws: &Aws, current: &Observed, desired: &Props) -> Result<Observed, Failure> {
    let mut settings_changed = desired.clone();
    settings_changed.remove("tags");
    let mut had = current.props.clone();
    had.remove("tags");
    if settings_changed != had {
        put(aws, desired, false).await?;
    }
    let arn = &current.outputs["arn"];
    TagChanges::between(desired, &current.props)
        .apply(
            |keys| async move {
                aws.cloudwatch
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("UntagResource"))
            },
            |tags| async move {
                aws.cloudwatch
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(
                        tags.into_iter()
                            .map(|(k, v)| Tag::builder().key(k).value(v).build())
                            .collect(),
                    ))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("TagResource"))
            },
        )
        .await
        .map_err(|e| {
            Failure::partial(
                e,
                Observed {
                    props: {
                        // The settings went through; the tags are as they were.
                        let mut p = desired.clone();
                        p.insert(
                            "tags".into(),
                            current.props.get("tags").cloned().unwrap_or(Value::Null),
                        );
                        p
                    },
                    ..current.clone()
                },
            )
        })?;
    Ok(Observed {
        id: current.id.clone(),
        props: desired.clone(),
        outputs: current.outputs.clone(),
    })
}

/// DeleteAlarms succeeds for a name that does not exist.
async fn delete(aws: &Aws, name: &str) -> Result<(), AwsError> {
    aws.cloudwatch
        .delete_alarms()
        .alarm_names(name)
        .send()
        .await
        .map(drop)
        .map_err(aws_error("DeleteAlarms"))
}

impl Provider for Alarm {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["name"]
    }

    /// A query's `return_data` defaults to true; AWS may leave it out.
    fn normalize(&self, props: &mut Props) {
        if let Some(Value::Array(qs)) = props.get_mut("metrics") {
            for q in qs.iter_mut().filter_map(Value::as_object_mut) {
                q.entry("return_data").or_insert(Value::Bool(true));
            }
        }
        if let Some(Value::Number(n)) = props.get_mut("threshold") {
            if let Some(f) = n.as_f64() {
                props.insert("threshold".into(), json!(f));
            }
        }
    }

    async fn read(&self, aws: &Aws, id: &str, hint: &Hint) -> Result<Option<Observed>, AwsError> {
        read(aws, id, hint).await
    }

    async fn create(&self, cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
        create(cx.aws, desired).await
    }

    async fn update(
        &self,
        cx: &Context<'_>,
        current: &Observed,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        update(cx.aws, current, desired).await
    }

    async fn delete(&self, cx: &Context<'_>, current: &Observed) -> Result<(), AwsError> {
        delete(cx.aws, &current.id).await
    }
}
