//! HTTP-level integration tests. Every test runs on SQLite, and on PostgreSQL too when
//! FOLIO_TEST_POSTGRES_URL is set.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test should fail loudly at the first surprise, helpers included"
)]

mod api_tokens;
mod archive;
mod article_lists;
mod concurrency;
mod corpus;
mod cors;
mod errors;
mod feeds;
mod fields;
mod helpers;
mod http;
mod http_caching;
mod idp;
mod instances;
mod media;
mod migrations;
mod openapi;
mod previews;
mod reads;
mod resilience;
mod revisions;
mod roles;
mod search;
mod sessions;
mod site;
mod sso;
mod totals;
mod webhooks;
mod writes;
