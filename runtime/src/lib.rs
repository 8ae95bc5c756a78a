//! rampart's container core.
pub mod seccomp;
