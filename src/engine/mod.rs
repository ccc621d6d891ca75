//! Plan and apply, independent of AWS: resources are data, providers are
//! reached through the [`apply::Executor`] trait and a normaliser function.

pub mod apply;
pub mod diff;
pub mod drift;
pub mod expr;
pub mod graph;
pub mod model;
pub mod ownership;
pub mod plan;
pub mod state;
