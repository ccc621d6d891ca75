//! The integration tests: the real `webhook-stack` binary against a moto
//! server (one per test process, shared by every test; each test works on
//! a stack suffix of its own). One binary, so the harness links once.

mod common;

mod adopt;
mod alarms;
mod all_stacks;
mod bad_input;
mod code_cache;
mod crash;
mod dead_letter_queue;
mod deletion_protection;
mod drift;
mod drift_reports;
mod faults;
mod graph;
mod kill;
mod least_privilege;
mod lifecycle;
mod operate;
mod ownership;
mod permissions;
mod quota;
mod refresh;
mod regressions;
mod s3_backend;
mod security_drift;
mod settings_edge;
mod snapshots;
