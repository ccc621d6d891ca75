//! Plan and apply, independent of AWS: resources are data (type tokens and
//! property maps); what a type means comes through the [`model::Schema`]
//! trait, and operations go out through the [`apply::Executor`] trait.

pub mod apply;
pub mod diff;
pub mod drift;
pub mod expr;
pub mod graph;
pub mod model;
pub mod ownership;
pub mod plan;
pub mod state;
