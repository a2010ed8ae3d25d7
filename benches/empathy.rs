//! Analyzer throughput: MB/s of agent text on one core (`analyze_turn`) and
//! the cost of judging one segment (`judge_segment`). Run with
//! `cargo bench --bench empathy`.

use contact_kpi::empathy::{Analyzer, Judgement, SegmentInput, SegmentTurn, TurnFeatures};
use contact_kpi::model::{Channel, Disposition, Party};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

#[path = "common/agent_texts.rs"]
mod agent_texts;
use agent_texts::AGENT_TEXTS;

fn analyze(c: &mut Criterion) {
    let analyzer = Analyzer::builtin();
    let bytes: usize = AGENT_TEXTS.iter().map(|(_, t)| t.len()).sum();
    let mut group = c.benchmark_group("empathy");
    group.throughput(Throughput::Bytes(bytes as u64));
    // What the engine runs for every message (features without the words),
    // and what `contact-kpi score` runs (the same with each signal's words).
    type Analyze = fn(&Analyzer, &str, Channel, Party, &str) -> TurnFeatures;
    let paths: [(&str, Analyze); 2] = [
        ("analyze_turn_agent_text", Analyzer::analyze_turn),
        (
            "analyze_turn_with_evidence_agent_text",
            Analyzer::analyze_turn_with_evidence,
        ),
    ];
    for (name, analyze) in paths {
        group.bench_function(name, |b| {
            b.iter(|| {
                for (lang, text) in AGENT_TEXTS {
                    black_box(analyze(
                        &analyzer,
                        lang,
                        Channel::Chat,
                        Party::Agent,
                        black_box(text),
                    ));
                }
            })
        });
    }
    group.finish();

    // A hostile text: one empathy phrase thousands of times. The work must
    // grow about linearly with the repeats (it was quadratic: 0.84 s for
    // 2,000 repeats, 3.2 s for 4,000).
    let mut hostile = c.benchmark_group("empathy_repeated_phrase");
    for repeats in [1_000usize, 4_000] {
        let text = "het spijt me te horen. ".repeat(repeats);
        hostile.throughput(Throughput::Bytes(text.len() as u64));
        hostile.bench_function(format!("{repeats}_repeats"), |b| {
            b.iter(|| {
                black_box(analyzer.analyze_turn(
                    "nl",
                    Channel::Chat,
                    Party::Agent,
                    black_box(&text),
                ))
            })
        });
    }
    hostile.finish();

    let customer = analyzer.analyze_turn(
        "nl",
        Channel::Voice,
        Party::Customer,
        "DIT IS DE DERDE KEER DAT IK BEL!!!",
    );
    let agent: Vec<TurnFeatures> = AGENT_TEXTS
        .iter()
        .filter(|(l, _)| *l == "nl")
        .map(|(l, t)| analyzer.analyze_turn(l, Channel::Voice, Party::Agent, t))
        .collect();
    let texts: Vec<&str> = AGENT_TEXTS
        .iter()
        .filter(|(l, _)| *l == "nl")
        .map(|(_, t)| *t)
        .collect();
    let mut segment = c.benchmark_group("empathy_segment");
    segment.bench_function("judge_segment", |b| {
        b.iter(|| black_box(judge(&analyzer, &customer, &agent)))
    });
    segment.bench_function("analyze_and_judge_segment", |b| {
        b.iter(|| {
            let customer = analyzer.analyze_turn(
                "nl",
                Channel::Voice,
                Party::Customer,
                "DIT IS DE DERDE KEER DAT IK BEL!!!",
            );
            let agent: Vec<TurnFeatures> = texts
                .iter()
                .map(|t| analyzer.analyze_turn("nl", Channel::Voice, Party::Agent, t))
                .collect();
            black_box(judge(&analyzer, &customer, &agent))
        })
    });
    segment.finish();
}

/// Judges one voice segment: a shouting customer, then the agent's turns.
fn judge(analyzer: &Analyzer, customer: &TurnFeatures, agent: &[TurnFeatures]) -> Judgement {
    let mut turns = vec![SegmentTurn {
        message_index: 0,
        party: Party::Customer,
        raised_voice: true,
        features: customer,
    }];
    turns.extend(agent.iter().enumerate().map(|(i, f)| SegmentTurn {
        message_index: i + 1,
        party: Party::Agent,
        raised_voice: false,
        features: f,
    }));
    analyzer.judge_segment(&SegmentInput {
        language: "nl",
        channel: Channel::Voice,
        turns,
        context_before: vec![],
        disposition: Disposition::Resolved,
        interruptions: 0,
    })
}

criterion_group!(benches, analyze);
criterion_main!(benches);
