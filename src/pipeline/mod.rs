//! The Kafka side of the service: three stages joined by internal topics,
//! each a consumer-group member with a transactional producer and a
//! changelog-backed state per partition; DLQ, back-pressure, shutdown.

pub mod kafka;
pub mod protocol;
pub mod router;
mod service;
pub mod simulate;
mod stage;
pub mod stages;

pub use protocol::PARTITION_IDLE_AFTER;
pub use service::{run, RunningService};
pub use stage::StageError;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("librdkafka refuses the {client} configuration: {message}")]
    ClientConfig {
        client: &'static str,
        message: String,
    },
    #[error("cannot create topic {topic}: {message}")]
    Topic { topic: String, message: String },
    #[error("instance id file {path}: {source}")]
    InstanceId {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("http: {0}")]
    Http(#[from] std::io::Error),
    #[error("lexicons: {0}")]
    Lexicon(#[from] crate::empathy::LexiconError),
    /// The brokers refused this instance for good (TLS verification,
    /// authentication): a configuration error, so the service stops.
    #[error("{0}")]
    Connection(String),
}
