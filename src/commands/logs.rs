//! `logs`: the function's log group, read with FilterLogEvents.

use super::session::Session;
use super::ExitStatus;
use crate::config::Config;
use crate::function::logs::{readable, since};
use crate::program::{name, LOG_GROUP};
use crate::providers::aws::errors::aws_error;
use anyhow::{bail, Result};
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

/// How often `--follow` asks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(2);

pub async fn run(
    config: &Config,
    from: &str,
    follow: bool,
    filter: Option<&str>,
) -> Result<ExitStatus> {
    let now = crate::ambient::now().timestamp_millis();
    let Some(mut start) = since(from, now) else {
        bail!("--since {from:?} is not a duration such as 30s, 10m, 2h or 1d");
    };
    let session = Session::open(config).await;
    let group = name(&config.suffix, LOG_GROUP);
    let mut seen = HashSet::new();
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let mut pages = session
            .aws
            .logs
            .filter_log_events()
            .log_group_name(&group)
            .start_time(start)
            .set_filter_pattern(filter.map(str::to_owned))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(aws_error("FilterLogEvents"))?;
            let mut lines = Vec::new();
            for e in page.events() {
                if !seen.insert(e.event_id().unwrap_or_default().to_owned()) {
                    continue;
                }
                let ts = e.timestamp().unwrap_or(start);
                start = start.max(ts);
                let message = e.message().unwrap_or_default();
                let line = if config.json {
                    serde_json::json!({
                        "timestamp": ts,
                        "log_stream": e.log_stream_name(),
                        "message": message.trim_end(),
                    })
                    .to_string()
                } else if message.trim_start().starts_with('{') {
                    readable(message)
                } else {
                    let time = chrono::DateTime::from_timestamp_millis(ts)
                        .map(|t| t.format("%H:%M:%S%.3f").to_string())
                        .unwrap_or_default();
                    format!("{time} {}", message.trim_end())
                };
                lines.push(line);
            }
            let mut out = std::io::stdout().lock();
            for line in lines {
                writeln!(out, "{line}")?;
            }
            out.flush()?;
        }
        if !follow {
            return Ok(ExitStatus::Success);
        }
        tokio::select! {
            _ = &mut stop => return Ok(ExitStatus::Success),
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
    }
}
