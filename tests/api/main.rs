//! HTTP end-to-end tests: a real nano on loopback, driven over HTTP.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod apps;
mod cache;
mod data;
mod hosting;
mod lifecycle;
mod queue;
mod receiver;
mod root;
mod search;
mod storage;
