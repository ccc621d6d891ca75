//! the seed's four CloudWatch alarms, opt-in. Against moto, which
//! stores metric-math alarms: created with `--alarms`, converged, drift of a
//! changed threshold and of a deleted alarm, repaired, removed by turning
//! them off and by `destroy`; the default stack has none.

use crate::common::{drifted, names, row, sdk, TestStack};
use aws_sdk_cloudwatch::types::{ComparisonOperator, MetricAlarm, Statistic};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:payments-alerts";

async fn alarms(cw: &aws_sdk_cloudwatch::Client, suffix: &str) -> Vec<MetricAlarm> {
    let n = names(suffix);
    let mut found = vec![];
    for prefix in [format!("{}-", n.function), format!("{}-", n.table)] {
        let out = cw
            .describe_alarms()
            .alarm_name_prefix(prefix)
            .send()
            .await
            .unwrap();
        found.extend(out.metric_alarms().iter().cloned());
    }
    found.sort_by(|a, b| a.alarm_name().cmp(&b.alarm_name()));
    found
}

fn named<'a>(all: &'a [MetricAlarm], name: &str) -> &'a MetricAlarm {
    all.iter()
        .find(|a| a.alarm_name() == Some(name))
        .unwrap_or_else(|| panic!("no alarm {name}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn alarms_are_opt_in_drift_checked_repaired_and_removed() {
    let st = TestStack::new("alarms");
    let s = st.suffix.clone();
    let n = st.names();
    let cw = aws_sdk_cloudwatch::Client::new(&sdk().await);
    let on = ["--alarms", "--alarm-topic-arn", TOPIC];

    // The default stack is the CloudFormation stack's six resources.
    st.run(&["apply", "--yes"]).ok();
    assert!(alarms(&cw, &s).await.is_empty());

    let out = st.run(&[&["plan"][..], &on].concat()).ok();
    assert!(
        out.stdout.contains("Plan: 5 to add, 0 to change"),
        "{}",
        out.stdout
    );
    st.run(&[&["apply", "--yes"][..], &on].concat()).ok();
    let all = alarms(&cw, &s).await;
    let names: Vec<&str> = all.iter().filter_map(|a| a.alarm_name()).collect();
    assert_eq!(
        names,
        [
            n.alarm_table_errors.as_str(),
            n.alarm_drift.as_str(),
            n.alarm_duration.as_str(),
            n.alarm_error_rate.as_str(),
            n.alarm_throttles.as_str(),
        ]
    );
    for a in &all {
        assert_eq!(a.alarm_actions(), [TOPIC]);
        assert_eq!(a.ok_actions(), [TOPIC]);
        if a.alarm_name() == Some(n.alarm_drift.as_str()) {
            continue; // below
        }
        assert_eq!(a.evaluation_periods(), Some(1));
        assert_eq!(a.datapoints_to_alarm(), Some(1));
        assert_eq!(
            a.comparison_operator(),
            Some(&ComparisonOperator::GreaterThanThreshold)
        );
        assert_eq!(a.treat_missing_data(), Some("notBreaching"));
        let tags = cw
            .list_tags_for_resource()
            .resource_arn(a.alarm_arn().unwrap())
            .send()
            .await
            .unwrap();
        assert!(tags
            .tags()
            .iter()
            .any(|t| t.key() == Some("ManagedBy") && t.value() == Some("webhook-stack")));
    }
    let rate = named(&all, &n.alarm_error_rate);
    assert_eq!(rate.threshold(), Some(5.0));
    let exprs: Vec<&str> = rate
        .metrics()
        .iter()
        .filter_map(|q| q.expression())
        .collect();
    assert_eq!(exprs, ["100 * errors / MAX([errors, invocations])"]);
    let inputs: Vec<(&str, i32)> = rate
        .metrics()
        .iter()
        .filter_map(|q| q.metric_stat())
        .map(|m| {
            let metric = m.metric().unwrap();
            assert_eq!(metric.dimensions()[0].value(), Some(n.function.as_str()));
            (metric.metric_name().unwrap(), m.period().unwrap())
        })
        .collect();
    assert_eq!(inputs, [("Errors", 300), ("Invocations", 300)]);
    let duration = named(&all, &n.alarm_duration);
    assert_eq!(duration.threshold(), Some(25000.0));
    assert_eq!(duration.statistic(), Some(&Statistic::Maximum));
    assert_eq!(duration.period(), Some(60));
    let system = named(&all, &n.alarm_table_errors);
    let operations: Vec<&str> = system
        .metrics()
        .iter()
        .filter_map(|q| q.metric_stat()?.metric())
        .flat_map(|m| m.dimensions())
        .filter(|d| d.name() == Some("Operation"))
        .filter_map(|d| d.value())
        .collect();
    assert_eq!(operations, ["GetItem", "PutItem", "UpdateItem"]);

    // Converged: the apply saved the settings, so a plan without flags
    // changes nothing and says where its settings came from.
    let out = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "alarm_topic_arn = \"{TOPIC}\" (saved), alarms = true (saved)"
        )),
        "{}",
        out.stdout
    );
    assert_eq!(drifted(&st), (0, vec![]));

    // Out of band: the duration alarm's threshold raised, the throttles
    // alarm deleted.
    cw.put_metric_alarm()
        .alarm_name(&n.alarm_duration)
        .alarm_description("Lambda duration above 25 s, near the timeout")
        .namespace("AWS/Lambda")
        .metric_name("Duration")
        .dimensions(duration.dimensions()[0].clone())
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .datapoints_to_alarm(1)
        .threshold(29000.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .alarm_actions(TOPIC)
        .ok_actions(TOPIC)
        .send()
        .await
        .unwrap();
    cw.delete_alarms()
        .alarm_names(&n.alarm_throttles)
        .send()
        .await
        .unwrap();
    assert_eq!(
        drifted(&st),
        (
            2,
            vec![
                row("alarm_duration", "MODIFIED", &["threshold"]),
                row("alarm_throttles", "DELETED", &[]),
            ]
        )
    );

    // Repaired by apply, with the saved settings.
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));
    let all = alarms(&cw, &s).await;
    assert_eq!(all.len(), 5);
    assert_eq!(named(&all, &n.alarm_duration).threshold(), Some(25000.0));

    // Turning them off removes them; turning them on again and destroying
    // removes them too.
    let out = st.run(&["plan", "--alarms=false"]).ok();
    assert!(
        out.stdout
            .contains("Plan: 0 to add, 0 to change, 0 to replace, 5 to destroy."),
        "{}",
        out.stdout
    );
    st.run(&["apply", "--yes", "--alarms=false"]).ok();
    assert!(alarms(&cw, &s).await.is_empty());
    assert_eq!(st.state()["resources"].as_object().unwrap().len(), 6);
    st.run(&["apply", "--yes", "--alarms"]).ok();
    assert_eq!(alarms(&cw, &s).await.len(), 5);
    st.run(&["destroy", "--yes"]).ok();
    assert!(alarms(&cw, &s).await.is_empty());
}

#[test]
fn a_bad_topic_arn_is_refused_before_any_call() {
    let st = TestStack::new("alarmarn");
    for (args, expect) in [
        (
            &["plan", "--alarms", "--alarm-topic-arn", "alerts"][..],
            "is not an SNS topic ARN",
        ),
        (
            &["plan", "--alarms=maybe"][..],
            "alarms must be true or false, not \"maybe\"",
        ),
    ] {
        let out = st.run(args);
        assert_eq!(out.code, 1, "{}", out.stdout);
        assert!(out.stderr.contains(expect), "{}", out.stderr);
        assert!(!st.state_path().exists());
    }
}
