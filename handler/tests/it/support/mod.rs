//! Shared by the handler's tests: payload cases, generated invocations and a moto server.

pub mod cases;
pub mod fuzz;
pub mod moto;
