//! The handler's tests in one binary, so the harness links once.

mod support;

mod dynamodb;
mod http_events;
mod ordering;
mod payloads;
mod properties;
