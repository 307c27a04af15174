//! HTTP end-to-end tests: a real nano on loopback, driven over HTTP.

#[path = "../support/mod.rs"]
mod support;

mod data;
mod lifecycle;
mod root;
