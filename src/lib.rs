//! nano: many tenants' Workers-style JavaScript apps and hyper-compatible backend services in one process.

pub mod adapters;
pub mod app;
pub mod core;
pub mod ports;
pub mod services;
