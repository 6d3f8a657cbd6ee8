//! Pathway's shared core: the domain model as Automerge documents and the durable document store.
//!
//! The gateway, the hub and the provisioning CLI build on this crate and never on each other.

pub mod clock;
pub mod config;
pub mod courier;
pub mod crypt;
pub mod identity;
pub mod import;
pub mod indicators;
pub mod model;
pub mod policy;
pub mod sensitive;
pub mod signal;
pub mod status;
pub mod store;
pub mod sync;
pub mod systemd;
pub mod telemetry;
pub mod throttle;
pub mod transport;
pub mod web;
pub mod wire;
