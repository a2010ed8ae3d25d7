//! KPI engine benchmarks: throughput in events per second on one core, with
//! the agents' and customers' text analysed and with text removed, plus the
//! memory per open contact and per window aggregate (resident-set growth
//! while holding many of them, printed once).

use contact_kpi::config::Config;
use contact_kpi::empathy::Analyzer;
use contact_kpi::kpi::Engine;
use contact_kpi::model::{ContactEvent, EventKind};
use contact_kpi::sim::{SimConfig, Simulator};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::sync::Arc;

fn events(n: usize) -> Vec<ContactEvent> {
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T07:00:00Z")
        .unwrap()
        .to_utc();
    Simulator::new(SimConfig {
        agents: 25,
        seed: 3,
        start,
        contacts_per_hour: 600.0,
    })
    .take(n)
    .collect()
}

fn without_text(events: &[ContactEvent]) -> Vec<ContactEvent> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            if let EventKind::Message { text, .. } = &mut e.kind {
                text.clear();
            }
            e
        })
        .collect()
}

fn resident_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Memory per open contact and per window aggregate, measured as the growth
/// of the resident set while an engine holds many of them.
fn report_memory() {
    let settings = Config::default().engine;
    let analyzer = Arc::new(Analyzer::builtin());
    // Open contacts: every event except the endings.
    let evs: Vec<ContactEvent> = events(200_000)
        .into_iter()
        .filter(|e| !matches!(e.kind, EventKind::ContactEnded { .. }))
        .collect();
    let before = resident_bytes().unwrap_or(0);
    let mut engine = Engine::new(settings.clone(), analyzer.clone());
    for e in evs {
        engine.apply(e);
    }
    let open = engine.state().assembler.open_contacts();
    let after = resident_bytes().unwrap_or(0);
    println!(
        "memory: {} open contacts, {:.0} bytes per open contact (resident-set growth), {} bytes per open contact in a checkpoint",
        open,
        after.saturating_sub(before) as f64 / open.max(1) as f64,
        engine.snapshot().len() / open.max(1)
    );
    drop(engine);
    // Window aggregates: many agents over many hours.
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T07:00:00Z")
        .unwrap()
        .to_utc();
    let evs: Vec<ContactEvent> = Simulator::new(SimConfig {
        agents: 500,
        seed: 9,
        start,
        contacts_per_hour: 3000.0,
    })
    .take(300_000)
    .collect();
    let mut engine = Engine::new(settings, analyzer);
    let metrics = contact_kpi::metrics::Metrics::new(true, 1000);
    for (i, e) in evs.iter().enumerate() {
        for fact in engine.apply(e.clone()) {
            metrics.observe_fact(&fact);
        }
        if i % 1000 == 0 {
            engine.advance();
            for u in engine.take_updates() {
                metrics.observe_aggregate(&u.aggregate);
            }
        }
    }
    let series = metrics
        .render()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    println!("metrics: {series} series on /metrics for a 500-agent center (per-agent labels on)");
    let windows = engine.state().aggregator.window_count();
    let checkpoint = engine.snapshot().len();
    drop(engine);
    println!("memory: {windows} window aggregates, checkpoint {checkpoint} bytes in all ({} bytes per aggregate at most)", checkpoint / windows.max(1));
}

fn throughput(c: &mut Criterion) {
    report_memory();
    let settings = Config::default().engine;
    let analyzer = Arc::new(Analyzer::builtin());
    let with_text = events(20_000);
    let no_text = without_text(&with_text);
    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(with_text.len() as u64));
    for (name, evs) in [
        ("events_with_text", &with_text),
        ("events_without_text", &no_text),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || (Engine::new(settings.clone(), analyzer.clone()), evs.clone()),
                |(mut engine, evs)| {
                    for e in evs {
                        engine.apply(e);
                    }
                    engine.advance();
                    engine.take_updates().len()
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
