//! Folio: a headless content API. `api` (HTTP) calls `service` (rules), which calls `db`
//! (data). `server` wires them together; `cli` is the binary's entry point.

pub mod api;
pub mod archive;
pub mod auth;
pub mod bootstrap;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod seed;
pub mod server;
pub mod service;
pub mod state;
pub mod storage;
pub mod telemetry;

pub use config::Config;
pub use server::Application;
