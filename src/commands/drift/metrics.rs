//! `drift --publish-metric`: each stack's result as CloudWatch metrics, so
//! that an alarm (the stack's `webhook-processor-S-drift`, with `alarms`
//! on) can alert without a mail cron: `WebhookStack` / `DriftedResources`
//! (drifted or deleted resources) and `DriftCheckFailed` (1 when the stack
//! could not be checked), dimension `Stack`.

use crate::providers::aws::errors::aws_error;
use crate::providers::Aws;
use anyhow::Result;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

pub const NAMESPACE: &str = "WebhookStack";

/// PutMetricData takes at most 1,000 metrics a call.
const PER_CALL: usize = 500;

/// One stack's result: how many resources drifted, or `None` when it could
/// not be checked.
pub async fn publish(aws: &Aws, results: &[(String, Option<usize>)]) -> Result<()> {
    let datum = |stack: &str, name: &str, value: f64| {
        MetricDatum::builder()
            .metric_name(name)
            .dimensions(Dimension::builder().name("Stack").value(stack).build())
            .value(value)
            .unit(StandardUnit::Count)
            .build()
    };
    let data: Vec<MetricDatum> = results
        .iter()
        .flat_map(|(stack, drifted)| {
            let failed = datum(
                stack,
                "DriftCheckFailed",
                f64::from(u8::from(drifted.is_none())),
            );
            let count = drifted.map(|n| datum(stack, "DriftedResources", n as f64));
            std::iter::once(failed).chain(count)
        })
        .collect();
    for chunk in data.chunks(PER_CALL) {
        aws.cloudwatch
            .put_metric_data()
            .namespace(NAMESPACE)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(aws_error("PutMetricData"))?;
    }
    Ok(())
}
