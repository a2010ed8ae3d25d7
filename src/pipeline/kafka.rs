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

/// Pass-through properties that only a consumer understands; librdkafka
/// warns when a producer is given them.
fn is_consumer_only(key: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "group.",
        "auto.",
        "enable.auto.",
        "fetch.",
        "queued.",
        "consume.",
    ];
    const KEYS: [&str; 7] = [
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "isolation.level",
        "partition.assignment.strategy",
        "enable.partition.eof",
        "check.crcs",
    ];
    KEYS.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

pub fn producer_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("linger.ms", "5")
        .set("partitioner", "murmur2_random")
        .set("enable.idempotence", "true")
        .set("message.timeout.ms", "120000");
    for (k, v) in base_config(config).config_map() {
        if !is_consumer_only(k) {
            c.set(k, v);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pass_through_reaches_the_right_clients() {
        let env = [
            ("CONTACT_KPI__KAFKA__PROPERTIES__SESSION.TIMEOUT.MS", "6000"),
            (
                "CONTACT_KPI__KAFKA__PROPERTIES__SECURITY.PROTOCOL",
                "SASL_SSL",
            ),
            ("CONTACT_KPI__KAFKA__PROPERTIES__FETCH.WAIT.MAX.MS", "10"),
        ];
        let config = Config::load_with_env(
            None,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .unwrap();
        let consumer = consumer_config(&config);
        let producer = producer_config(&config);
        assert_eq!(consumer.get("session.timeout.ms"), Some("6000"));
        assert_eq!(
            consumer.get("fetch.wait.max.ms"),
            Some("10"),
            "pass-through overrides the default"
        );
        assert_eq!(consumer.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(producer.get("security.protocol"), Some("SASL_SSL"));
        assert_eq!(producer.get("session.timeout.ms"), None);
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
    }
}
