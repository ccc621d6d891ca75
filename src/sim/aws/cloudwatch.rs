//! CloudWatch: metric alarms (replaced whole by PutMetricAlarm, tags set
//! only at creation) and the metric data PutMetricData sends.

use super::{Answer, Fail, Item, World};
use aws_sdk_cloudwatch::operation::{
    delete_alarms::*, describe_alarms::*, list_tags_for_resource::*, put_metric_alarm::*,
    put_metric_data::*, tag_resource::*, untag_resource::*,
};
use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, Dimension, MetricAlarm, MetricDataQuery, MetricDatum,
    StandardUnit, StateValue, Statistic, Tag,
};
use aws_smithy_types::DateTime;
use std::collections::BTreeMap;

operations!(aws_sdk_cloudwatch, "cloudwatch":
    DeleteAlarms: delete_alarms::{DeleteAlarmsInput, DeleteAlarmsError} => delete_alarms,
    DescribeAlarms: describe_alarms::{DescribeAlarmsInput, DescribeAlarmsError} => describe_alarms,
    ListTagsForResource: list_tags_for_resource::{ListTagsForResourceInput, ListTagsForResourceError} => list_tags_for_resource,
    PutMetricAlarm: put_metric_alarm::{PutMetricAlarmInput, PutMetricAlarmError} => put_metric_alarm,
    PutMetricData: put_metric_data::{PutMetricDataInput, PutMetricDataError} => put_metric_data,
    TagResource: tag_resource::{TagResourceInput, TagResourceError} => tag_resource,
    UntagResource: untag_resource::{UntagResourceInput, UntagResourceError} => untag_resource,
);

#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub actions_enabled: bool,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    /// One metric (namespace, name, statistic, dimensions, period)...
    pub namespace: Option<String>,
    pub metric_name: Option<String>,
    pub statistic: Option<Statistic>,
    pub extended_statistic: Option<String>,
    pub dimensions: Vec<Dimension>,
    pub period: Option<i32>,
    pub unit: Option<StandardUnit>,
    /// ... or a metric-math query list.
    pub metrics: Vec<MetricDataQuery>,
    pub evaluation_periods: i32,
    pub datapoints_to_alarm: Option<i32>,
    pub threshold: Option<f64>,
    pub threshold_metric_id: Option<String>,
    pub comparison_operator: ComparisonOperator,
    pub treat_missing_data: Option<String>,
    pub evaluate_low_sample_count_percentile: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub state: StateValue,
    /// Seconds since the epoch, on the real clock, of the last
    /// PutMetricAlarm.
    pub updated: i64,
}

/// One data point PutMetricData sent, with its namespace.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub namespace: String,
    pub datum: MetricDatum,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloudWatch {
    pub alarms: BTreeMap<String, Alarm>,
    pub data: Vec<Datum>,
}

impl CloudWatch {
    pub fn inventory(&self, out: &mut Vec<Item>) {
        for a in self.alarms.values() {
            out.push(Item {
                kind: "aws:cloudwatch/metricAlarm",
                id: a.name.clone(),
                tags: a.tags.clone(),
                snapshot: format!("{a:?}"),
            });
        }
    }
}

fn validation(message: impl Into<String>) -> Fail {
    Fail::new("ValidationError", message)
}

fn null(member: &str) -> Fail {
    validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

fn by_arn<'a>(w: &'a mut World, arn: Option<&str>) -> Answer<&'a mut Alarm> {
    let arn = arn.unwrap_or_default();
    let prefix = w.arn("cloudwatch", "alarm:");
    arn.strip_prefix(&prefix)
        .and_then(|name| w.cloudwatch.alarms.get_mut(name))
        .ok_or_else(|| {
            Fail::new(
                "ResourceNotFoundException",
                "The named resource does not exist.",
            )
            .status(404)
        })
}

fn tags_of(list: &[Tag]) -> Answer<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for t in list {
        let key = t.key().unwrap_or_default();
        if key.starts_with("aws:") {
            return Err(Fail::new(
                "InvalidParameterValue",
                format!("Invalid tag key {key}: the prefix aws: is reserved"),
            ));
        }
        out.insert(key.to_owned(), t.value().unwrap_or_default().to_owned());
    }
    Ok(out)
}

fn put_metric_alarm(w: &mut World, i: &PutMetricAlarmInput) -> Answer<PutMetricAlarmOutput> {
    let name = i
        .alarm_name()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| null("alarmName"))?;
    let evaluation_periods = i
        .evaluation_periods()
        .ok_or_else(|| null("evaluationPeriods"))?;
    if evaluation_periods < 1 {
        return Err(validation(format!(
            "1 validation error detected: Value '{evaluation_periods}' at 'evaluationPeriods' failed to satisfy constraint: Member must have value greater than or equal to 1"
        )));
    }
    let comparison_operator = i
        .comparison_operator()
        .cloned()
        .ok_or_else(|| null("comparisonOperator"))?;
    if i.datapoints_to_alarm()
        .is_some_and(|d| d < 1 || d > evaluation_periods)
    {
        return Err(validation(
            "DatapointsToAlarm must be between 1 and EvaluationPeriods",
        ));
    }
    match (i.metric_name().is_some(), !i.metrics().is_empty()) {
        (true, true) => {
            return Err(Fail::new(
                "InvalidParameterCombination",
                "The parameters MetricName and Metrics are mutually exclusive.",
            ))
        }
        (false, false) => {
            return Err(Fail::new(
                "MissingParameter",
                "One of the parameters MetricName or Metrics must be specified.",
            ))
        }
        (true, false) => {
            if i.namespace().is_none() {
                return Err(Fail::new(
                    "MissingParameter",
                    "The parameter Namespace is required.",
                ));
            }
            if i.statistic().is_some() == i.extended_statistic().is_some() {
                return Err(Fail::new(
                    "InvalidParameterCombination",
                    "Exactly one of Statistic and ExtendedStatistic must be specified.",
                ));
            }
            let period_ok = |p: i32| [10, 20, 30].contains(&p) || (p >= 60 && p % 60 == 0);
            if !i.period().is_some_and(period_ok) {
                return Err(validation("Period must be 10, 20, 30 or a multiple of 60."));
            }
        }
        (false, true) => {
            let returning = i
                .metrics()
                .iter()
                .filter(|q| q.return_data() != Some(false))
                .count();
            if returning != 1 {
                return Err(validation(
                    "Exactly one element of the metrics list should return data.",
                ));
            }
        }
    }
    if i.threshold().is_none() && i.threshold_metric_id().is_none() {
        return Err(null("threshold"));
    }
    let tags = tags_of(i.tags())?;
    let existing = w.cloudwatch.alarms.get(name);
    let alarm = Alarm {
        name: name.to_owned(),
        arn: w.arn("cloudwatch", &format!("alarm:{name}")),
        description: i.alarm_description().map(str::to_owned),
        actions_enabled: i.actions_enabled().unwrap_or(true),
        alarm_actions: i.alarm_actions().to_vec(),
        ok_actions: i.ok_actions().to_vec(),
        insufficient_data_actions: i.insufficient_data_actions().to_vec(),
        namespace: i.namespace().map(str::to_owned),
        metric_name: i.metric_name().map(str::to_owned),
        statistic: i.statistic().cloned(),
        extended_statistic: i.extended_statistic().map(str::to_owned),
        dimensions: i.dimensions().to_vec(),
        period: i.period(),
        unit: i.unit().cloned(),
        metrics: i.metrics().to_vec(),
        evaluation_periods,
        datapoints_to_alarm: i.datapoints_to_alarm(),
        threshold: i.threshold(),
        threshold_metric_id: i.threshold_metric_id().map(str::to_owned),
        comparison_operator,
        treat_missing_data: i.treat_missing_data().map(str::to_owned),
        evaluate_low_sample_count_percentile: i
            .evaluate_low_sample_count_percentile()
            .map(str::to_owned),
        // Tags given with an update are ignored, as AWS documents.
        tags: existing.map_or(tags, |a| a.tags.clone()),
        state: existing.map_or(StateValue::InsufficientData, |a| a.state.clone()),
        updated: crate::ambient::now().timestamp(),
    };
    w.cloudwatch.alarms.insert(name.to_owned(), alarm);
    Ok(PutMetricAlarmOutput::builder().build())
}

fn metric_alarm(a: &Alarm) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(&a.name)
        .alarm_arn(&a.arn)
        .set_alarm_description(a.description.clone())
        .alarm_configuration_updated_timestamp(DateTime::from_secs(a.updated))
        .actions_enabled(a.actions_enabled)
        .set_ok_actions(Some(a.ok_actions.clone()))
        .set_alarm_actions(Some(a.alarm_actions.clone()))
        .set_insufficient_data_actions(Some(a.insufficient_data_actions.clone()))
        .state_value(a.state.clone())
        .state_reason("Unchecked: Initial alarm creation")
        .state_updated_timestamp(DateTime::from_secs(a.updated))
        .set_metric_name(a.metric_name.clone())
        .set_namespace(a.namespace.clone())
        .set_statistic(a.statistic.clone())
        .set_extended_statistic(a.extended_statistic.clone())
        .set_dimensions(Some(a.dimensions.clone()))
        .set_period(a.period)
        .set_unit(a.unit.clone())
        .evaluation_periods(a.evaluation_periods)
        .set_datapoints_to_alarm(a.datapoints_to_alarm)
        .set_threshold(a.threshold)
        .comparison_operator(a.comparison_operator.clone())
        .set_treat_missing_data(a.treat_missing_data.clone())
        .set_evaluate_low_sample_count_percentile(a.evaluate_low_sample_count_percentile.clone())
        .set_metrics((!a.metrics.is_empty()).then(|| a.metrics.clone()))
        .set_threshold_metric_id(a.threshold_metric_id.clone())
        .build()
}

fn describe_alarms(w: &mut World, i: &DescribeAlarmsInput) -> Answer<DescribeAlarmsOutput> {
    if !i.alarm_names().is_empty() && i.alarm_name_prefix().is_some() {
        return Err(Fail::new(
            "InvalidParameterCombination",
            "AlarmNames and AlarmNamePrefix cannot be specified together.",
        ));
    }
    let max = i.max_records().unwrap_or(50);
    if !(1..=100).contains(&max) {
        return Err(validation(format!(
            "1 validation error detected: Value '{max}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100"
        )));
    }
    // The token is the last name of the previous page.
    let after = i.next_token().unwrap_or_default();
    if !after.is_empty() && !w.cloudwatch.alarms.contains_key(after) {
        return Err(Fail::new(
            "InvalidNextToken",
            "The service returned an invalid token.",
        ));
    }
    // Without AlarmTypes, only metric alarms (the only kind modelled).
    let metric = i.alarm_types().is_empty() || i.alarm_types().contains(&AlarmType::MetricAlarm);
    let matching: Vec<&Alarm> = w
        .cloudwatch
        .alarms
        .values()
        .filter(|_| metric)
        .filter(|a| i.alarm_names().is_empty() || i.alarm_names().contains(&a.name))
        .filter(|a| {
            a.name
                .starts_with(i.alarm_name_prefix().unwrap_or_default())
        })
        .filter(|a| i.state_value().is_none_or(|s| *s == a.state))
        .filter(|a| {
            i.action_prefix().is_none_or(|p| {
                a.alarm_actions
                    .iter()
                    .chain(&a.ok_actions)
                    .chain(&a.insufficient_data_actions)
                    .any(|x| x.starts_with(p))
            })
        })
        .filter(|a| after.is_empty() || a.name.as_str() > after)
        .collect();
    let max = max as usize;
    let next = (matching.len() > max).then(|| matching[max - 1].name.clone());
    Ok(DescribeAlarmsOutput::builder()
        .set_metric_alarms(Some(
            matching.iter().take(max).map(|a| metric_alarm(a)).collect(),
        ))
        .set_composite_alarms(Some(Vec::new()))
        .set_next_token(next)
        .build())
}

/// Names that do not exist are skipped without an error, as AWS does.
fn delete_alarms(w: &mut World, i: &DeleteAlarmsInput) -> Answer<DeleteAlarmsOutput> {
    if i.alarm_names().len() > 100 {
        return Err(validation(
            "1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
        ));
    }
    for name in i.alarm_names() {
        w.cloudwatch.alarms.remove(name);
    }
    Ok(DeleteAlarmsOutput::builder().build())
}

fn list_tags_for_resource(
    w: &mut World,
    i: &ListTagsForResourceInput,
) -> Answer<ListTagsForResourceOutput> {
    let a = by_arn(w, i.resource_arn())?;
    let tags = a
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    Ok(ListTagsForResourceOutput::builder()
        .set_tags(Some(tags))
        .build())
}

fn tag_resource(w: &mut World, i: &TagResourceInput) -> Answer<TagResourceOutput> {
    let tags = tags_of(i.tags())?;
    by_arn(w, i.resource_arn())?.tags.extend(tags);
    Ok(TagResourceOutput::builder().build())
}

fn untag_resource(w: &mut World, i: &UntagResourceInput) -> Answer<UntagResourceOutput> {
    let a = by_arn(w, i.resource_arn())?;
    for k in i.tag_keys() {
        a.tags.remove(k);
    }
    Ok(UntagResourceOutput::builder().build())
}

fn put_metric_data(w: &mut World, i: &PutMetricDataInput) -> Answer<PutMetricDataOutput> {
    let namespace = i
        .namespace()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Fail::new("MissingParameter", "The parameter Namespace is required."))?;
    if namespace.starts_with("AWS/") {
        return Err(Fail::new(
            "InvalidParameterValue",
            format!("The value {namespace} for parameter Namespace is invalid."),
        ));
    }
    if i.metric_data().len() > 1000 {
        return Err(Fail::new(
            "InvalidParameterValue",
            "The collection MetricData must not have a size greater than 1000.",
        ));
    }
    for (n, d) in i.metric_data().iter().enumerate() {
        if d.metric_name().is_none_or(str::is_empty) {
            return Err(Fail::new(
                "MissingParameter",
                format!(
                    "The parameter MetricData.member.{}.MetricName is required.",
                    n + 1
                ),
            ));
        }
        let forms = [
            d.value().is_some(),
            !d.values().is_empty(),
            d.statistic_values().is_some(),
        ];
        if forms.iter().filter(|f| **f).count() > 1 {
            return Err(Fail::new(
                "InvalidParameterCombination",
                format!(
                    "The parameters MetricData.member.{}.Value, Values and StatisticValues are mutually exclusive.",
                    n + 1
                ),
            ));
        }
    }
    w.cloudwatch
        .data
        .extend(i.metric_data().iter().map(|d| Datum {
            namespace: namespace.to_owned(),
            datum: d.clone(),
        }));
    Ok(PutMetricDataOutput::builder().build())
}
