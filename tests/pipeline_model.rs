//! The three stages' protocol without a broker: the real stage logic and
//! [`StageRunner`] over an in-memory log, driven in random interleavings —
//! any partition count, batch size, commit point, read speed, clock, with
//! crashes (also in the middle of a commit) and restores from the changelog
//! at random points, with and without transaction semantics. The final
//! aggregates must be identical however the records were fed, and equal the
//! naive recomputation of kpis.md. Milliseconds per case; the broker tests
//! (`pipeline.rs`, `faults.rs`) remain the end-to-end proof.

mod common;

use common::multi_day_traffic;
use common::naive::{naive, published_counts, Key, Naive};
use contact_kpi::config::Config;
use contact_kpi::empathy::Analyzer;
use contact_kpi::metrics::Metrics;
use contact_kpi::model::ContactEvent;
use contact_kpi::pipeline::kafka::{agent_facts_topic, changelog_topic, contact_facts_topic};
use contact_kpi::pipeline::protocol::{
    InRecord, Out, Restorer, StageLogic, StageRunner, Topology, WRITER_HEADER,
};
use contact_kpi::pipeline::stages::{AggregateLogic, AssembleLogic, RepeatsLogic};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Clone)]
struct Stored {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: Option<i64>,
}

/// Topics as per-partition logs.
#[derive(Default)]
struct Log {
    topics: HashMap<String, Vec<Vec<Stored>>>,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

impl Log {
    fn create(&mut self, topic: &str, partitions: usize) {
        self.topics
            .insert(topic.to_string(), vec![Vec::new(); partitions]);
    }

    fn append(&mut self, o: Out) {
        let parts = self
            .topics
            .get_mut(&o.topic)
            .unwrap_or_else(|| panic!("unknown topic {}", o.topic));
        let p = match o.partition {
            Some(p) => p as usize,
            None => (fnv(&o.key) % parts.len() as u64) as usize,
        };
        parts[p].push(Stored {
            key: Some(o.key),
            value: o.value,
            headers: o.headers,
            timestamp: o.timestamp,
        });
    }

    fn partitions(&self, topic: &str) -> usize {
        self.topics[topic].len()
    }

    fn read(&self, topic: &str, partition: usize, offset: usize) -> Option<InRecord> {
        let s = self.topics[topic][partition].get(offset)?;
        Some(InRecord {
            topic: Arc::from(topic),
            partition: partition as i32,
            offset: offset as i64,
            key: s.key.clone(),
            value: s.value.clone(),
            timestamp: s.timestamp,
            headers: s.headers.clone(),
        })
    }
}

/// One stage as one instance owning every partition of its input.
struct Member<L: StageLogic> {
    runner: StageRunner<L>,
    input: String,
    positions: Vec<usize>,
    /// Outputs of the open transaction (transactional mode only).
    pending: Vec<Out>,
}

struct Model {
    config: Arc<Config>,
    analyzer: Arc<Analyzer>,
    metrics: Arc<Metrics>,
    log: Log,
    transactional: bool,
    clock: Instant,
    incarnations: u64,
}

trait AnyMember {
    fn fetch(&mut self, model: &mut ModelIo, partition: usize, max: usize) -> usize;
    fn commit(&mut self, model: &mut ModelIo);
    /// Crash during a commit: outputs and the first `cut` changelog records
    /// are written, then the process dies.
    fn crash_mid_commit(&mut self, model: &mut ModelIo, rng: &mut ChaCha8Rng);
    fn input_partitions(&self) -> usize;
}

/// What a member sees of the model while it works.
struct ModelIo<'a> {
    log: &'a mut Log,
    transactional: bool,
    clock: Instant,
}

impl<L: StageLogic> Member<L> {
    fn send(&mut self, io: &mut ModelIo, outs: Vec<Out>) {
        if io.transactional {
            self.pending.extend(outs);
        } else {
            for o in outs {
                io.log.append(o);
            }
        }
    }
}

impl<L: StageLogic> AnyMember for Member<L> {
    fn fetch(&mut self, io: &mut ModelIo, partition: usize, max: usize) -> usize {
        let mut n = 0;
        let mut out = Vec::new();
        while n < max {
            let Some(r) = io
                .log
                .read(&self.input, partition, self.positions[partition])
            else {
                self.runner.reached_end(partition as i32);
                break;
            };
            self.positions[partition] += 1;
            self.runner
                .handle(&r, io.clock, &mut out)
                .expect("the stage logic does not panic on valid traffic");
            n += 1;
        }
        self.send(io, out);
        n
    }

    fn commit(&mut self, io: &mut ModelIo) {
        let mut out = Vec::new();
        let plan = self.runner.prepare_commit(io.clock, &mut out);
        self.send(io, out);
        self.send(io, plan.changelog);
        for o in std::mem::take(&mut self.pending) {
            io.log.append(o);
        }
        self.runner.committed();
    }

    fn crash_mid_commit(&mut self, io: &mut ModelIo, rng: &mut ChaCha8Rng) {
        let mut out = Vec::new();
        let plan = self.runner.prepare_commit(io.clock, &mut out);
        if io.transactional {
            // The open transaction is aborted: nothing of it is visible.
            self.pending.clear();
            return;
        }
        for o in out {
            io.log.append(o);
        }
        let cut = rng.random_range(0..=plan.changelog.len());
        for o in plan.changelog.into_iter().take(cut) {
            io.log.append(o);
        }
    }

    fn input_partitions(&self) -> usize {
        self.positions.len()
    }
}

impl Model {
    fn writer(&mut self) -> String {
        self.incarnations += 1;
        format!("test/{}", self.incarnations)
    }

    /// A stage instance restored from its changelog, as after a restart.
    fn start<L: StageLogic>(&mut self, logic: L, topology: Topology) -> Member<L> {
        let name = logic.name();
        let input = contact_kpi::pipeline::kafka::stage_input_topic(&self.config, name);
        let changelog = changelog_topic(&self.config, name);
        let partitions: Vec<i32> = (0..self.log.partitions(&input) as i32).collect();
        let mut restorer: Restorer<L> = Restorer::new(&partitions, self.clock);
        for &p in &partitions {
            let mut offset = 0;
            while let Some(r) = self.log.read(&changelog, p as usize, offset) {
                let writer = r.header(WRITER_HEADER).unwrap_or_default().to_vec();
                restorer
                    .push(
                        p,
                        r.key.as_deref().unwrap_or_default(),
                        r.value.as_deref(),
                        &writer,
                    )
                    .expect("changelog restores");
                offset += 1;
            }
        }
        let writer = self.writer();
        let mut runner = StageRunner::new(logic, self.metrics.clone(), changelog, writer, topology);
        runner.install(restorer.finish(self.clock));
        let positions = partitions
            .iter()
            .map(|&p| runner.start_offset(p).unwrap_or(0) as usize)
            .collect();
        Member {
            runner,
            input,
            positions,
            pending: Vec::new(),
        }
    }

    fn make(&mut self, stage: usize) -> Box<dyn AnyMember> {
        let c = self.config.clone();
        let facts = |t: &str, log: &Log| Some((t.to_string(), log.partitions(t) as i32));
        let contact_facts = contact_facts_topic(&c);
        let agent_facts = agent_facts_topic(&c);
        match stage {
            0 => {
                let topology = Topology {
                    watermark_out: facts(&contact_facts, &self.log),
                    upstream_partitions: None,
                };
                let logic =
                    AssembleLogic::new(c.clone(), self.analyzer.clone(), self.metrics.clone());
                Box::new(self.start(logic, topology))
            }
            1 => {
                let topology = Topology {
                    watermark_out: facts(&agent_facts, &self.log),
                    upstream_partitions: Some(self.log.partitions(&c.raw.topics.input) as i32),
                };
                Box::new(self.start(RepeatsLogic::new(c.clone(), self.metrics.clone()), topology))
            }
            _ => {
                let topology = Topology {
                    watermark_out: None,
                    upstream_partitions: Some(self.log.partitions(&contact_facts) as i32),
                };
                Box::new(self.start(
                    AggregateLogic::new(c.clone(), self.metrics.clone()),
                    topology,
                ))
            }
        }
    }
}

/// How one run feeds the records.
#[derive(Debug, Clone)]
struct Schedule {
    seed: u64,
    input_partitions: usize,
    internal_partitions: usize,
    max_batch: usize,
    commit_every: u32,
    crashes: u32,
    transactional: bool,
}

fn config(internal_partitions: usize) -> Config {
    let env = vec![
        (
            "CONTACT_KPI__OUTPUT__FORMAT".to_string(),
            "json".to_string(),
        ),
        ("CONTACT_KPI__TIMEZONE".into(), "Europe/Amsterdam".into()),
        (
            "CONTACT_KPI__KAFKA__TOPIC_PARTITIONS".into(),
            internal_partitions.to_string(),
        ),
    ];
    Config::load_with_env(None, env).expect("valid")
}

/// Last aggregate per key after feeding `events` as `schedule` says.
fn run(events: &[ContactEvent], schedule: &Schedule) -> BTreeMap<String, serde_json::Value> {
    let config = Arc::new(config(schedule.internal_partitions));
    let mut log = Log::default();
    log.create(&config.raw.topics.input, schedule.input_partitions);
    let contact_facts = contact_facts_topic(&config);
    let agent_facts = agent_facts_topic(&config);
    log.create(&contact_facts, schedule.internal_partitions);
    log.create(&agent_facts, schedule.internal_partitions);
    for (stage, parts) in [
        ("assemble", schedule.input_partitions),
        ("repeats", schedule.internal_partitions),
        ("aggregate", schedule.internal_partitions),
    ] {
        log.create(
            &format!("{}.{stage}-changelog", config.raw.topics.internal_prefix),
            parts,
        );
    }
    for t in [
        &config.raw.topics.aggregates,
        &config.raw.topics.alerts,
        &config.raw.topics.dlq,
    ] {
        log.create(t, 1);
    }
    let mut model = Model {
        config: config.clone(),
        analyzer: Arc::new(Analyzer::builtin()),
        metrics: Arc::new(Metrics::new(false, 10)),
        log,
        transactional: schedule.transactional,
        clock: Instant::now(),
        incarnations: 0,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(schedule.seed);
    let mut members: Vec<Box<dyn AnyMember>> = (0..3).map(|s| model.make(s)).collect();
    // The platform publishes while the service runs: input arrives in
    // chunks between the stages' steps.
    let mut published = 0;
    let mut crashes_left = schedule.crashes;
    let mut steps = 0u64;
    loop {
        steps += 1;
        assert!(steps < 2_000_000, "the model does not converge");
        if published < events.len() && rng.random_bool(0.3) {
            let n = rng.random_range(1..=200).min(events.len() - published);
            for e in &events[published..published + n] {
                model.log.append(Out {
                    topic: config.raw.topics.input.clone(),
                    key: e.contact_id.as_bytes().to_vec(),
                    value: Some(serde_json::to_vec(&e.to_json()).unwrap()),
                    headers: Vec::new(),
                    timestamp: None,
                    partition: None,
                });
            }
            published += n;
        }
        let s = rng.random_range(0..3);
        let p = rng.random_range(0..members[s].input_partitions());
        let batch = rng.random_range(1..=schedule.max_batch);
        let mut io = ModelIo {
            log: &mut model.log,
            transactional: model.transactional,
            clock: model.clock,
        };
        let fetched = members[s].fetch(&mut io, p, batch);
        if rng.random_range(0..schedule.commit_every) == 0 {
            members[s].commit(&mut io);
        }
        model.clock += Duration::from_millis(rng.random_range(0..400));
        if crashes_left > 0 && rng.random_range(0..400) == 0 {
            crashes_left -= 1;
            let mut io = ModelIo {
                log: &mut model.log,
                transactional: model.transactional,
                clock: model.clock,
            };
            if rng.random_bool(0.5) {
                members[s].crash_mid_commit(&mut io, &mut rng);
            }
            members[s] = model.make(s);
        }
        if published == events.len() && fetched == 0 && rng.random_range(0..50) == 0 {
            break;
        }
    }
    // Drain: everything read, then quiet long enough for idle partitions to
    // report (the idle rule) and every watermark to travel down.
    for _ in 0..12 {
        for _ in 0..3 {
            for (s, member) in members.iter_mut().enumerate() {
                let _ = s;
                let mut io = ModelIo {
                    log: &mut model.log,
                    transactional: model.transactional,
                    clock: model.clock,
                };
                for p in 0..member.input_partitions() {
                    while member.fetch(&mut io, p, 1000) > 0 {}
                }
                member.commit(&mut io);
            }
        }
        model.clock += Duration::from_secs(6);
    }
    let mut out = BTreeMap::new();
    for r in &model.log.topics[&config.raw.topics.aggregates][0] {
        let key = String::from_utf8(r.key.clone().unwrap()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(r.value.as_ref().unwrap()).unwrap();
        out.insert(key, v);
    }
    out
}

/// Everything but the revision (how often a window was published depends
/// on batching by design).
fn comparable(m: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, serde_json::Value> {
    m.iter()
        .map(|(k, v)| {
            let mut o = v.as_object().unwrap().clone();
            o.remove("revision");
            (k.clone(), serde_json::Value::Object(o))
        })
        .collect()
}

fn assert_equals_naive(events: &[ContactEvent], got: &BTreeMap<String, serde_json::Value>) {
    let config = config(1);
    let want = naive(&config.engine, events);
    let have: BTreeMap<Key, Naive> = got.values().map(|v| published_counts(&config, v)).collect();
    let mut diffs = Vec::new();
    for k in want.keys().chain(have.keys()) {
        let (w, h) = (
            want.get(k).cloned().unwrap_or_default(),
            have.get(k).cloned().unwrap_or_default(),
        );
        if w != h {
            diffs.push(format!("{k:?}: naive {w:?}\n   got {h:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} keys differ from the naive recomputation, first: {}",
        diffs.len(),
        want.len(),
        diffs[0]
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// The same records fed in two unrelated schedules (partition counts,
    /// batches, commits, crashes, transaction semantics) publish identical
    /// aggregates, equal to the naive recomputation.
    #[test]
    fn any_interleaving_batching_and_crash_point_gives_the_same_aggregates(
        traffic_seed in 0u64..1_000,
        seeds in (any::<u64>(), any::<u64>()),
        partitions in ((1usize..=4, 1usize..=3), (1usize..=4, 1usize..=3)),
        batches in (1usize..=64, 1usize..=64),
        commits in (1u32..=20, 1u32..=20),
        crashes in (0u32..=3, 0u32..=3),
        transactional in (any::<bool>(), any::<bool>()),
    ) {
        let events = multi_day_traffic(traffic_seed, 900);
        let a = Schedule { seed: seeds.0, input_partitions: partitions.0.0, internal_partitions: partitions.0.1, max_batch: batches.0, commit_every: commits.0, crashes: crashes.0, transactional: transactional.0 };
        let b = Schedule { seed: seeds.1, input_partitions: partitions.1.0, internal_partitions: partitions.1.1, max_batch: batches.1, commit_every: commits.1, crashes: crashes.1, transactional: transactional.1 };
        let (ra, rb) = (run(&events, &a), run(&events, &b));
        assert_equals_naive(&events, &ra);
        let (ca, cb) = (comparable(&ra), comparable(&rb));
        let differing: Vec<&String> = ca.keys().chain(cb.keys()).filter(|k| ca.get(*k) != cb.get(*k)).collect();
        prop_assert!(differing.is_empty(), "{a:?} and {b:?} differ on {} keys, first {:?}: {:?} vs {:?}", differing.len(), differing[0], ca.get(differing[0]), cb.get(differing[0]));
    }
}
