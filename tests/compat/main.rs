//! Compat tests: the real hyper-connect clients (npm 0.12.0 and PyPI 0.0.10) driven against a running nano.
//!
//! Each service has a Node script (`js/<service>.mjs`) and a Python script (`py/<service>.py`) that call every
//! method the client offers and assert on the results; they exit non-zero on the first failed assertion.
//! `scripts/test.sh` installs both clients (`npm ci` here, `pip install -r requirements.txt`).

#[path = "../support/mod.rs"]
mod support;

mod bootstrap;
mod cache;
mod data;
mod harness;
mod info;
mod queue;
mod search;
mod storage;
mod tls;
mod workers;
