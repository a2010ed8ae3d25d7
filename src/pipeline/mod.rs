//! The Kafka side of the service: consume, decode, feed the pure engine,
//! publish aggregates, dead-letter bad records, checkpoint, shut down cleanly.

pub mod checkpoint;
pub mod kafka;
mod service;
pub mod simulate;

pub use service::{run, RunningService};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("cannot create topic {topic}: {message}")]
    Topic { topic: String, message: String },
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error("http: {0}")]
    Http(#[from] std::io::Error),
    #[error("lexicons: {0}")]
    Lexicon(#[from] crate::empathy::LexiconError),
}
