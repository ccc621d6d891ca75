//! The engine checked by its invariants: the real commands run in-process
//! against a simulated AWS, over random histories that a seed reproduces.

pub mod aws;
mod history;
mod invariants;
mod oob;
mod run;
mod search;
#[cfg(test)]
mod tests;
