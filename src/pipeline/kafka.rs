//! librdkafka client settings and topic creation.

use super::PipelineError;
use crate::config::Config;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

/// Settings every client shares: brokers plus the `kafka.properties` pass-through.
pub fn base_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &config.raw.kafka.brokers);
    for (k, v) in &config.kafka_properties {
        c.set(k, v);
    }
    c
}

pub fn consumer_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("group.id", &config.raw.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "50")
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("statistics.interval.ms", "5000");
    // Pass-through last, so an operator can override any of the above.
    for (k, v) in base_config(config).config_map() {
        c.set(k, v);
    }
    c
}

pub fn producer_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "120000");
    for (k, v) in base_config(config).config_map() {
        c.set(k, v);
    }
    c
}

/// Creates the input, output and dead-letter topics when missing. The
/// aggregates topic is compacted: the last record per key is the current value.
pub async fn create_topics(config: &Config) -> Result<(), PipelineError> {
    let admin: AdminClient<DefaultClientContext> =
        base_config(config).create().map_err(PipelineError::Kafka)?;
    let t = &config.raw.topics;
    let partitions = config.raw.kafka.topic_partitions;
    let rf = config.raw.kafka.replication_factor;
    let replication = || TopicReplication::Fixed(rf);
    let topics = [
        NewTopic::new(&t.input, partitions, replication()),
        NewTopic::new(&t.aggregates, partitions, replication()).set("cleanup.policy", "compact"),
        NewTopic::new(&t.alerts, 1, replication()),
        NewTopic::new(&t.dlq, 1, replication()),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(topics.iter(), &opts)
        .await
        .map_err(PipelineError::Kafka)?;
    for r in results {
        match r {
            Ok(name) => tracing::info!(topic = %name, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(PipelineError::Topic {
                    topic: name,
                    message: code.to_string(),
                });
            }
        }
    }
    Ok(())
}
