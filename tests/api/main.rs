//! HTTP end-to-end tests: a real nano on loopback, driven over HTTP.

#[path = "../support/mod.rs"]
mod support;

mod cache;
mod lifecycle;
mod queue;
mod receiver;
mod root;
