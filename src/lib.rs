//! contact-kpi: streaming, exact and explainable contact-center KPIs.
//!
//! The pure core (`model`, `empathy`, `kpi`) turns events into facts and
//! window aggregates without any I/O; `pipeline`, `http` and `metrics` are the
//! thin Kafka/HTTP shell around it. See `ARCHITECTURE.md` of the design docs.

pub mod adapters;
pub mod config;
pub mod empathy;
pub mod http;
pub mod kpi;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod score;
pub mod sim;
