//! Evaluates the empathy analyzer on labelled segments: the development set
//! (`tests/data/empathy_dev*.jsonl`, the lexicons are tuned on it) and the
//! validation set (`tests/data/empathy_validation_*.jsonl`, written before
//! tuning and never tuned on). Prints precision, recall and F1 per judgement
//! for each; fails when the development set's empathy_shown F1 < 0.85 or any
//! other judgement's < 0.75, or when the validation figures fall below their
//! regression floors. `make eval-empathy` prints both tables.

use contact_kpi::empathy::{Analyzer, SegmentInput, SegmentTurn, TurnFeatures};
use contact_kpi::model::{Channel, Disposition, Party};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Turn {
    party: Party,
    text: String,
    #[serde(default)]
    raised_voice: bool,
}

#[derive(Deserialize)]
struct Item {
    id: String,
    language: String,
    channel: Channel,
    disposition: Disposition,
    turns: Vec<Turn>,
    labels: BTreeMap<String, bool>,
}

const JUDGEMENTS: &[&str] = &[
    "empathy_shown",
    "empathy_overdone",
    "pity",
    "questions_asked",
    "empathy_opportunity",
    "empathy_missed",
    "hostile_customer",
    "hostile_defused",
];

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: u32,
    fp: u32,
    fn_: u32,
    tn: u32,
}

impl Counts {
    fn precision(self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fp)
        }
    }
    fn recall(self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            f64::from(self.tp) / f64::from(self.tp + self.fn_)
        }
    }
    fn f1(self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn load(file: &str) -> Vec<Item> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1)))
        .collect()
}

fn load_all(files: &[&str]) -> Vec<Item> {
    files.iter().flat_map(|f| load(f)).collect()
}

fn get(j: &contact_kpi::empathy::Judgement, name: &str) -> bool {
    match name {
        "empathy_shown" => j.empathy_shown,
        "empathy_overdone" => j.empathy_overdone,
        "pity" => j.pity,
        "questions_asked" => j.questions_asked,
        "empathy_opportunity" => j.empathy_opportunity,
        "empathy_missed" => j.empathy_missed,
        "hostile_customer" => j.hostile_customer,
        "hostile_defused" => j.hostile_defused,
        other => panic!("unknown judgement {other}"),
    }
}

/// Judges every item of a set and prints precision, recall and F1 per
/// judgement (and per language for empathy_shown); the counts come back.
/// `show_errors` lists every error (with EMPATHY_EVAL_VERBOSE set); never
/// for the validation set, whose errors are not to be read while tuning.
fn evaluate(title: &str, items: &[Item], show_errors: bool) -> BTreeMap<&'static str, Counts> {
    let analyzer = Analyzer::builtin();
    let mut counts: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Counts> = BTreeMap::new();
    let mut errors: Vec<String> = Vec::new();
    let verbose = show_errors && std::env::var_os("EMPATHY_EVAL_VERBOSE").is_some();
    for item in items {
        let features: Vec<TurnFeatures> = item
            .turns
            .iter()
            .map(|t| {
                analyzer.analyze_turn_with_evidence(&item.language, item.channel, t.party, &t.text)
            })
            .collect();
        let turns = item
            .turns
            .iter()
            .zip(&features)
            .enumerate()
            .map(|(i, (t, f))| SegmentTurn {
                message_index: i,
                party: t.party,
                raised_voice: t.raised_voice,
                features: f,
            })
            .collect();
        let seg = SegmentInput {
            language: &item.language,
            channel: item.channel,
            turns,
            context_before: vec![],
            disposition: item.disposition,
            interruptions: 0,
        };
        let j = analyzer.judge_segment(&seg);
        // A segment whose agent only closes ("Cheers! Glad we could
        // help.") has nothing to score: every judgement is false then.
        for name in JUDGEMENTS {
            let expected = *item
                .labels
                .get(*name)
                .unwrap_or_else(|| panic!("{}: label {name} missing", item.id));
            let got = get(&j, name);
            let c = counts.entry(*name).or_default();
            match (expected, got) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.fn_ += 1,
                (false, false) => c.tn += 1,
            }
            if *name == "empathy_shown" {
                let l = by_lang.entry(item.language.clone()).or_default();
                match (expected, got) {
                    (true, true) => l.tp += 1,
                    (false, true) => l.fp += 1,
                    (true, false) => l.fn_ += 1,
                    (false, false) => l.tn += 1,
                }
            }
            if expected != got {
                errors.push(format!(
                    "{} {name}: expected {expected}, got {got}",
                    item.id
                ));
                if verbose {
                    errors.push(format!(
                        "    evidence: {:?}",
                        j.evidence
                            .iter()
                            .map(|e| format!("{}:{}:{}", e.category, e.words, e.message_index))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    println!();
    println!("{title}: {} segments", items.len());
    println!(
        "{:<22} {:>5} {:>5} {:>5} {:>5}  {:>9} {:>9} {:>9}",
        "judgement", "tp", "fp", "fn", "tn", "precision", "recall", "f1"
    );
    for name in JUDGEMENTS {
        let c = counts[name];
        println!(
            "{:<22} {:>5} {:>5} {:>5} {:>5}  {:>9.3} {:>9.3} {:>9.3}",
            name,
            c.tp,
            c.fp,
            c.fn_,
            c.tn,
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    for (lang, c) in &by_lang {
        println!(
            "empathy_shown [{lang}]  P {:.3}  R {:.3}  F1 {:.3}",
            c.precision(),
            c.recall(),
            c.f1()
        );
    }
    if verbose {
        for e in &errors {
            println!("{e}");
        }
    }
    counts
}

/// The lexicons are tuned on these: the original development set and the
/// hard cases written for the generalisation work (other wordings, text that
/// is not language, unpunctuated transcripts, e-mail boilerplate, sarcasm).
#[test]
fn development_set_meets_the_f1_bar() {
    let items = load_all(&["empathy_dev.jsonl", "empathy_dev_hard.jsonl"]);
    let counts = evaluate("empathy development set (tuned on)", &items, true);
    assert!(
        items.len() >= 500,
        "the development set needs at least 500 segments, has {}",
        items.len()
    );
    let shown = counts["empathy_shown"].f1();
    assert!(shown >= 0.85, "empathy_shown F1 {shown:.3} < 0.85");
    for name in JUDGEMENTS.iter().filter(|n| **n != "empathy_shown") {
        let f1 = counts[name].f1();
        assert!(f1 >= 0.75, "{name} F1 {f1:.3} < 0.75");
    }
}

/// The fresh development set, written for the second round of
/// generalisation work by other hands from `empathy.md`, `kpis.md` and the
/// seeds alone, without sight of the lexicons (Flemish, Twitter customer
/// care, everyday idiom, formal letters, hostile customers and their near
/// misses, longer contacts, Dutch voice transcripts, Dutch chat and
/// e-mail). Each file's first figures, measured before any
/// tuning on it, are in the README; since then the lexicons are tuned on
/// them too.
#[test]
fn fresh_development_set_meets_the_f1_bar() {
    let items = load_all(&[
        "empathy_dev_fresh_nl.jsonl",
        "empathy_dev_fresh_en.jsonl",
        "empathy_dev_fresh2_nl.jsonl",
        "empathy_dev_fresh2_en.jsonl",
        "empathy_dev_hostile.jsonl",
        "empathy_dev_fresh3.jsonl",
        "empathy_dev_fresh4_nl.jsonl",
        "empathy_dev_support_en.jsonl",
        "empathy_dev_fresh5_nl.jsonl",
        "empathy_dev_fresh6_nl.jsonl",
        "empathy_dev_fresh7_nl.jsonl",
    ]);
    let counts = evaluate("empathy fresh development set (tuned on)", &items, true);
    assert!(
        items.len() >= 1200,
        "the fresh development set needs at least 1200 segments, has {}",
        items.len()
    );
    assert_floors("fresh development", &counts, FRESH_FLOORS);
}

/// Written by other hands before any tuning on it and never tuned on:
/// its figures are the honest measure of text the lexicons have not seen.
/// Its errors are not to be read while tuning. The bars are floors against
/// regressions, set below the figures measured when the set was written
/// (see the README); the targets are 0.85 and 0.75.
#[test]
fn validation_set_is_measured_and_does_not_regress() {
    let items = load_all(&["empathy_validation_nl.jsonl", "empathy_validation_en.jsonl"]);
    let counts = evaluate("empathy validation set (never tuned on)", &items, false);
    assert!(
        items.len() >= 600,
        "the validation set needs at least 600 segments, has {}",
        items.len()
    );
    assert_floors("validation", &counts, VALIDATION_FLOORS);
}

/// Fails when any judgement's F1 on `set` is below its floor.
fn assert_floors(set: &str, counts: &BTreeMap<&'static str, Counts>, floors: &[(&str, f64)]) {
    for (name, floor) in floors {
        let f1 = counts[name].f1();
        assert!(f1 >= *floor, "{set} {name} F1 {f1:.3} fell below {floor}");
    }
}

/// Floors for the validation set (F1): issue #12's bars for empathy_shown
/// (0.85) and empathy_missed (0.75), regression floors for the others (all
/// above the 0.75 bar).
const VALIDATION_FLOORS: &[(&str, f64)] = &[
    ("empathy_shown", 0.85),
    ("empathy_overdone", 0.82),
    ("pity", 0.95),
    ("questions_asked", 0.84),
    ("empathy_opportunity", 0.88),
    ("empathy_missed", 0.75),
    ("hostile_customer", 0.84),
    ("hostile_defused", 0.77),
];

/// Floors for the fresh development set (F1).
const FRESH_FLOORS: &[(&str, f64)] = &[
    ("empathy_shown", 0.95),
    ("empathy_overdone", 0.86),
    ("pity", 0.97),
    ("questions_asked", 0.88),
    ("empathy_opportunity", 0.95),
    ("empathy_missed", 0.90),
    ("hostile_customer", 0.94),
    ("hostile_defused", 0.92),
];
