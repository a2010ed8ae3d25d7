//! Helpers for `scripts/measure-pipeline.sh`, which measures the pipeline
//! end to end on a local broker. Configuration comes from the environment,
//! exactly as for `contact-kpi serve`.
//!
//!   pipeline_load create              create the service's topics
//!   pipeline_load consume <records>   read the input topic from the start, as
//!                                     a bare consumer (no decoding, no group),
//!                                     and print records/s: the ceiling the
//!                                     service's throughput is compared with

use contact_kpi::config::Config;
use contact_kpi::pipeline::kafka::{consumer_config, create_topics};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};
use std::time::{Duration, Instant};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let config = Config::load(None)?;
    match args.get(1).map(String::as_str) {
        Some("create") => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(create_topics(&config))?;
            println!("topics created");
        }
        Some("consume") => {
            let want: u64 = args
                .get(2)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("usage: pipeline_load consume <records>"))?;
            consume(&config, want)?;
        }
        _ => anyhow::bail!("usage: pipeline_load create | consume <records>"),
    }
    Ok(())
}

/// Reads every partition of the input topic from the beginning with the
/// service's own consumer settings until `want` records arrived.
fn consume(config: &Config, want: u64) -> anyhow::Result<()> {
    let topic = &config.raw.topics.input;
    let mut cc = consumer_config(config);
    cc.set("group.id", format!("bare-consumer-{}", std::process::id()));
    let consumer: BaseConsumer = cc.create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .unwrap_or(0);
    anyhow::ensure!(partitions > 0, "topic {topic} has no partitions");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut first: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while records < want {
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {records} of {want} records in 10 minutes"
        );
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                first.get_or_insert_with(Instant::now);
                records += 1;
                bytes += m.payload().map_or(0, <[u8]>::len) as u64;
            }
            Some(Err(e)) => report(&e),
            None => {}
        }
    }
    let secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
    println!(
        "bare consumer: {records} records, {:.1} MB in {secs:.2} s = {:.0} records/s",
        bytes as f64 / 1e6,
        records as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// Reaching a partition's end is expected; anything else is worth seeing.
fn report(e: &rdkafka::error::KafkaError) {
    if !matches!(e, rdkafka::error::KafkaError::PartitionEOF(_)) {
        eprintln!("consumer error: {e}");
    }
}
