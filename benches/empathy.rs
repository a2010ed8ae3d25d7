//! Analyzer throughput: MB/s of agent text on one core (`analyze_turn`) and
//! the cost of judging one segment (`judge_segment`). Run with
//! `cargo bench --bench empathy`.

use contact_kpi::empathy::{Analyzer, Judgement, SegmentInput, SegmentTurn, TurnFeatures};
use contact_kpi::model::{Channel, Disposition, Party};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const AGENT_TEXTS: &[(&str, &str)] = &[
    ("nl", "Wat vervelend dat uw pakket na vijf weken nog niet binnen is. Ik ga het nu voor u navragen bij de vervoerder."),
    ("nl", "Ik begrijp niet wat u bedoelt. Kunt u uw ordernummer geven?"),
    ("nl", "snap t helemaal, is ook irritant als t niet werkt. ff checken: welke versie van de app heb je?"),
    ("nl", "Beste meneer De Boer,\n\nHet spijt me dat het bedrag twee keer van uw rekening is afgeschreven. Ik heb de dubbele betaling vandaag voor u teruggestort.\n\nMet vriendelijke groet,\nLisa\n\nOp 3 mei 2024 om 10:12 schreef K. de Boer <k@example.nl>:\n> Ik ben twee keer afgeschreven."),
    ("en", "I completely understand how frustrating this must be, and I'm going to fix it today."),
    ("en", "ah sorry!! that's so annoying. let me chase it with the courier rn, can u send me ur order number?"),
    ("en", "Dear Mr Evans,\n\nI'm truly sorry that you've had to write three times without a reply. I have booked an engineer for Thursday morning and I will personally call you on Wednesday.\n\nKind regards,\nPriya\n\nOn Mon, 3 Jun 2024 at 10:12, Mark Evans <mark@example.com> wrote:\n> Nobody has replied."),
    ("en", "Order number?"),
];

fn analyze(c: &mut Criterion) {
    let analyzer = Analyzer::builtin();
    let bytes: usize = AGENT_TEXTS.iter().map(|(_, t)| t.len()).sum();
    let mut group = c.benchmark_group("empathy");
    group.throughput(Throughput::Bytes(bytes as u64));
    // What the engine runs for every message (features without the words).
    group.bench_function("analyze_turn_agent_text", |b| {
        b.iter(|| {
            for (lang, text) in AGENT_TEXTS {
                black_box(analyzer.analyze_turn(
                    lang,
                    Channel::Chat,
                    Party::Agent,
                    black_box(text),
                ));
            }
        })
    });
    // What `contact-kpi score` runs: the same with each signal's words.
    group.bench_function("analyze_turn_with_evidence_agent_text", |b| {
        b.iter(|| {
            for (lang, text) in AGENT_TEXTS {
                black_box(analyzer.analyze_turn_with_evidence(
                    lang,
                    Channel::Chat,
                    Party::Agent,
                    black_box(text),
                ));
            }
        })
    });
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
