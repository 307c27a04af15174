//! The HTTP adapter: one hyper 1.x server (HTTP/1.1 and h2c) that dispatches by path and Host to the
//! services REST API (hyper's wire contract), maps port errors to hyper's `{ ok, status, msg }`, and drains on shutdown.

pub mod admin;
mod admin_app_changes;
pub mod admin_apps;
mod admin_export;
mod admin_import;
mod admin_records;
mod admin_services;
mod admin_ui;
pub mod apps;
pub mod assets;
pub mod auth;
pub mod body;
mod cache;
pub mod conn_limits;
pub mod data;
pub mod purge;
mod queue;
pub mod quota;
pub mod request;
pub mod response;
mod root;
pub mod router;
mod search;
mod server;
mod storage;
mod storage_upload;
pub mod tenancy;
pub mod tls;
pub mod websocket;
mod ws_client;

pub use ws_client::WsClient;

pub use conn_limits::ConnLimits;
pub use router::HttpState;
pub use server::serve;
