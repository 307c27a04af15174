//! HTTP end-to-end tests: a real nano on loopback, driven over HTTP.

#[path = "../support/mod.rs"]
mod support;

mod admin;
mod apps;
mod attacks;
mod bindings;
mod cache;
mod cluster;
mod data;
mod events;
mod hosting;
mod isolation;
mod lifecycle;
mod multinode;
mod new_app;
mod parity;
mod prod_node;
mod purge;
mod queue;
mod quotas;
mod receiver;
mod repl;
mod root;
mod s3;
mod search;
mod storage;
mod tenancy;
mod tenant_export;
