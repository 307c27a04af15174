//! Drift checks of the documentation site: its reference tables must agree with the code they describe.

mod admin;
mod bench;
mod config;
mod limits;
mod map;
mod pages;
mod status;
