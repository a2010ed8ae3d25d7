//! librdkafka client settings and topic creation.

use super::PipelineError;
use crate::config::{Config, StageName};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::{ClientConfig, FromClientConfig};
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseProducer, Producer};
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

/// Stage 1 feeds stage 2 through this topic (keyed by customer hash).
pub fn contact_facts_topic(config: &Config) -> String {
    format!("{}.contact-facts", config.raw.topics.internal_prefix)
}

/// Stage 2 feeds stage 3 through this topic (keyed by agent, or `queue`).
pub fn agent_facts_topic(config: &Config) -> String {
    format!("{}.agent-facts", config.raw.topics.internal_prefix)
}

/// The compacted changelog of a stage's state; partition p holds the state
/// of the stage's input partition p.
pub fn changelog_topic(config: &Config, stage: StageName) -> String {
    format!(
        "{}.{}-changelog",
        config.raw.topics.internal_prefix,
        stage.as_str()
    )
}

/// The topic a stage consumes.
pub fn stage_input_topic(config: &Config, stage: StageName) -> String {
    match stage {
        StageName::Assemble => config.raw.topics.input.clone(),
        StageName::Repeats => contact_facts_topic(config),
        StageName::Aggregate => agent_facts_topic(config),
    }
}

/// Stage 1 uses `kafka.group_id` itself (its lag on the input topic is the
/// service's lag); the internal stages use `<group_id>.<stage>`.
pub fn stage_group_id(config: &Config, stage: StageName) -> String {
    match stage {
        StageName::Assemble => config.raw.kafka.group_id.clone(),
        other => format!("{}.{}", config.raw.kafka.group_id, other.as_str()),
    }
}

/// KIP-447: one transactional producer per instance and stage, named after
/// the instance, so a restarted instance fences and aborts what its
/// predecessor left open.
pub fn transactional_id(config: &Config, stage: StageName, instance_id: &str) -> String {
    format!(
        "{}.{}.{}",
        config.raw.kafka.group_id,
        stage.as_str(),
        instance_id
    )
}

pub fn transactional_producer_config(config: &Config, transactional_id: &str) -> ClientConfig {
    let mut c = producer_config(config);
    let timeout = config.transaction_timeout.as_millis().to_string();
    // librdkafka requires message.timeout.ms <= transaction.timeout.ms.
    c.set("transactional.id", transactional_id)
        .set("transaction.timeout.ms", &timeout)
        .set("message.timeout.ms", &timeout);
    c
}

/// A group-less consumer that reads a changelog partition to its end
/// (read_committed: the end is the last stable offset).
pub fn restore_consumer_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "50");
    for (k, v) in base_config(config).config_map() {
        if !k.starts_with("group.") && k != "enable.partition.eof" {
            c.set(k, v);
        }
    }
    // librdkafka needs a group id even for assign(); this one never joins
    // (no subscribe) and never commits.
    c.set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .set(
            "group.id",
            format!("{}.changelog-restore", config.raw.kafka.group_id),
        );
    c
}

pub fn consumer_config(config: &Config) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("group.id", &config.raw.kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .set("fetch.wait.max.ms", "50")
        .set("partition.assignment.strategy", "roundrobin")
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

/// Creates, and drops again, a client of every configuration the service
/// uses, so `kafka.properties` librdkafka refuses stop the service at start
/// with a message naming the property, rather than failing every retry of
/// topic creation and of the stages while `/healthz` says all is well.
///
/// Creating is the reliable check: librdkafka tests some constraints only
/// then (`max.poll.interval.ms` >= `session.timeout.ms` when a consumer with
/// a `group.id` is created). It does not wait for a broker.
pub fn validate_client_configs(config: &Config) -> Result<(), PipelineError> {
    fn check<T: FromClientConfig>(
        config: &Config,
        client: &'static str,
        c: &ClientConfig,
    ) -> Result<(), PipelineError> {
        match T::from_config(c) {
            Ok(created) => {
                drop(created);
                Ok(())
            }
            Err(e) => Err(PipelineError::ClientConfig {
                client,
                message: refusal(config, client, &e),
            }),
        }
    }
    check::<BaseConsumer>(config, "consumer", &consumer_config(config))?;
    check::<BaseConsumer>(
        config,
        "changelog restore consumer",
        &restore_consumer_config(config),
    )?;
    check::<BaseProducer>(config, "producer", &producer_config(config))?;
    if config.raw.pipeline.transactions {
        // The id only names the producer; creating it joins nothing.
        let id = transactional_id(config, StageName::Assemble, "config-check");
        check::<BaseProducer>(
            config,
            TRANSACTIONAL,
            &transactional_producer_config(config, &id),
        )?;
    }
    check::<AdminClient<DefaultClientContext>>(config, "admin", &base_config(config))
}

const TRANSACTIONAL: &str = "transactional producer";

/// librdkafka's reason, with the configuration keys it names. The
/// property's value is left out: it may be a secret (`sasl.password`).
fn refusal(config: &Config, client: &str, e: &KafkaError) -> String {
    let passed = |key: &str| config.kafka_properties.contains_key(key);
    match e {
        // The transactional producer sets these two itself, over any
        // pass-through value.
        KafkaError::ClientConfig(_, reason, key, _)
            if client == TRANSACTIONAL
                && (key == "transaction.timeout.ms" || key == "message.timeout.ms") =>
        {
            format!(
                "`pipeline.transaction_timeout` (as `{key}`): {}",
                reason.trim()
            )
        }
        KafkaError::ClientConfig(_, reason, key, _) if passed(key) => {
            format!("`kafka.properties.\"{key}\"`: {}", reason.trim())
        }
        KafkaError::ClientConfig(_, reason, key, _) => format!("`{key}`: {}", reason.trim()),
        KafkaError::ClientCreation(reason) => {
            let reason = reason.trim();
            let named: Vec<String> = config
                .kafka_properties
                .keys()
                .filter(|k| reason.contains(k.as_str()))
                .map(|k| format!("`kafka.properties.\"{k}\"`"))
                .collect();
            if named.is_empty() {
                reason.to_string()
            } else {
                format!("{reason} (check {})", named.join(", "))
            }
        }
        other => other.to_string(),
    }
}

/// Remembers the first error that retrying cannot fix: TLS verification or
/// authentication with the brokers.
#[derive(Default)]
struct ConnectionCheck {
    fatal: std::sync::Mutex<Option<String>>,
}

impl rdkafka::ClientContext for ConnectionCheck {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        let advice = match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::SSL) => {
                "TLS with the brokers failed; check `kafka.properties.\"security.protocol\"` and \
                 `kafka.properties.\"ssl.ca.location\"` (the CA that signed the brokers' certificates)"
            }
            Some(RDKafkaErrorCode::Authentication) => {
                "the brokers refused the credentials; check `kafka.properties.\"sasl.mechanism\"`, \
                 `kafka.properties.\"sasl.username\"` and `kafka.properties.\"sasl.password\"`"
            }
            _ => {
                tracing::debug!(error = %error, reason, "broker connection check");
                return;
            }
        };
        // librdkafka's reason names the broker and the TLS or SASL cause,
        // never the credentials.
        let mut fatal = self.fatal.lock().expect("not poisoned");
        fatal.get_or_insert_with(|| format!("{advice}: {reason}"));
    }
}

/// Connects to the brokers once. A TLS verification or authentication
/// failure is a [`PipelineError::Connection`] naming the settings to check
/// (retrying cannot fix it); other failures (brokers not up yet) are
/// ordinary, retryable errors.
pub fn check_brokers(config: &Config) -> Result<(), PipelineError> {
    let client: BaseProducer<ConnectionCheck> = base_config(config)
        .create_with_context(ConnectionCheck::default())
        .map_err(PipelineError::Kafka)?;
    let result = client
        .client()
        .fetch_metadata(None, Duration::from_secs(10));
    // Errors arrive as events: serve them, so the context sees them.
    client.poll(Duration::from_millis(100));
    if let Some(message) = client.context().fatal.lock().expect("not poisoned").take() {
        return Err(PipelineError::Connection(message));
    }
    result.map(|_| ()).map_err(PipelineError::Kafka)
}

impl rdkafka::producer::ProducerContext for ConnectionCheck {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::producer::DeliveryResult<'_>, _: ()) {}
}

/// Creates the input, output, dead-letter and internal topics when missing,
/// then each stage's changelog with as many partitions as the stage's input
/// (partition p of a changelog is the state of input partition p). The
/// aggregates and changelog topics are compacted.
pub async fn create_topics(config: &Config) -> Result<(), PipelineError> {
    let admin: AdminClient<DefaultClientContext> =
        base_config(config).create().map_err(PipelineError::Kafka)?;
    let t = &config.raw.topics;
    let partitions = config.raw.kafka.topic_partitions;
    let rf = config.raw.kafka.replication_factor;
    let replication = || TopicReplication::Fixed(rf);
    let (contact_facts, agent_facts) = (contact_facts_topic(config), agent_facts_topic(config));
    let topics = [
        NewTopic::new(&t.input, partitions, replication()),
        NewTopic::new(&t.aggregates, partitions, replication()).set("cleanup.policy", "compact"),
        NewTopic::new(&t.alerts, 1, replication()),
        NewTopic::new(&t.dlq, 1, replication()),
        NewTopic::new(&contact_facts, partitions, replication()),
        NewTopic::new(&agent_facts, partitions, replication()),
    ];
    create(&admin, &topics).await?;
    // Platform topics are the platform's, but a missing one is created like
    // the input (with the same partitions) rather than waited for.
    let platform: Vec<NewTopic<'_>> = config
        .inputs
        .iter()
        .map(|s| NewTopic::new(&s.topic, partitions, replication()))
        .collect();
    if !platform.is_empty() {
        // An empty CreateTopics request is refused (invalid argument).
        create(&admin, &platform).await?;
    }
    let mut changelogs = Vec::new();
    for stage in StageName::ALL {
        let input = stage_input_topic(config, stage);
        let n = partition_count(&admin, &input)?;
        changelogs.push((changelog_topic(config, stage), n));
    }
    let new: Vec<NewTopic<'_>> = changelogs
        .iter()
        .map(|(name, n)| NewTopic::new(name, *n, replication()).set("cleanup.policy", "compact"))
        .collect();
    create(&admin, &new).await?;
    for (stage, (name, n)) in StageName::ALL.iter().zip(&changelogs) {
        let have = partition_count(&admin, name)?;
        if have != *n {
            return Err(PipelineError::Topic {
                topic: name.clone(),
                message: format!(
                    "has {have} partitions but the {} stage's input has {n}; the state would be \
                     mis-partitioned (use a new topics.internal_prefix after repartitioning the input)",
                    stage.as_str()
                ),
            });
        }
    }
    Ok(())
}

async fn create(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[NewTopic<'_>],
) -> Result<(), PipelineError> {
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

/// Partitions of an existing topic, from the cluster metadata.
pub fn partition_count(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
) -> Result<i32, PipelineError> {
    // A topic created a moment ago may take a few metadata refreshes to show.
    for _ in 0..50 {
        let md = admin
            .inner()
            .fetch_metadata(Some(topic), Duration::from_secs(5))
            .map_err(PipelineError::Kafka)?;
        if let Some(t) = md.topics().iter().find(|t| t.name() == topic) {
            if t.error().is_none() && !t.partitions().is_empty() {
                return Ok(t.partitions().len() as i32);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(PipelineError::Topic {
        topic: topic.to_string(),
        message: "not found in the cluster metadata".into(),
    })
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

    fn with_properties(pairs: &[(&str, &str)]) -> Config {
        Config::load_with_env(
            None,
            pairs.iter().map(|(k, v)| {
                (
                    format!("CONTACT_KPI__KAFKA__PROPERTIES__{}", k.to_uppercase()),
                    v.to_string(),
                )
            }),
        )
        .unwrap()
    }

    #[test]
    fn the_default_client_configs_are_accepted() {
        let config = Config::default();
        assert!(
            config.raw.pipeline.transactions,
            "checks the transactional producer too"
        );
        validate_client_configs(&config).unwrap();
    }

    #[test]
    fn refused_kafka_properties_are_named() {
        // Only creating a consumer with a group.id checks this pair.
        let config = with_properties(&[
            ("max.poll.interval.ms", "1000"),
            ("session.timeout.ms", "6000"),
        ]);
        let err = validate_client_configs(&config).unwrap_err().to_string();
        assert!(err.contains("consumer"), "{err}");
        assert!(
            err.contains("`kafka.properties.\"max.poll.interval.ms\"`"),
            "{err}"
        );

        let config = with_properties(&[("no.such.property", "1")]);
        let err = validate_client_configs(&config).unwrap_err().to_string();
        assert!(
            err.contains("`kafka.properties.\"no.such.property\"`"),
            "{err}"
        );

        let secret = "hunter2-secret";
        let config = with_properties(&[("sasl.password", secret), ("linger.ms", "-5")]);
        let err = validate_client_configs(&config).unwrap_err().to_string();
        assert!(err.contains("linger.ms"), "{err}");
        assert!(!err.contains(secret), "{err}");

        // Beyond librdkafka's 32-bit milliseconds.
        let config = Config::load_with_env(
            None,
            [("CONTACT_KPI__PIPELINE__TRANSACTION_TIMEOUT", "1000h")]
                .map(|(k, v)| (k.to_string(), v.to_string())),
        )
        .unwrap();
        let err = validate_client_configs(&config).unwrap_err().to_string();
        assert!(err.contains("`pipeline.transaction_timeout`"), "{err}");
    }
}
