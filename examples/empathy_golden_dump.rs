//! The analyzer's features of every turn text of `tests/data/*.jsonl` (as
//! customer and as agent, with and without evidence words) and of a few odd
//! texts, one line each: work that must not change a result (speed work)
//! diffs this dump before and after.
//!
//! `cargo run --release --example empathy_golden_dump > before.txt`
use contact_kpi::empathy::Analyzer;
use contact_kpi::model::{Channel, Party};
fn main() {
    let analyzer = Analyzer::builtin();
    let mut files: Vec<_> = std::fs::read_dir("tests/data")
        .expect("run from the repository root")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        for (ln, line) in src.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let lang = v["language"].as_str().unwrap_or("en").to_string();
            let channel: Channel = serde_json::from_value(v["channel"].clone()).unwrap();
            for (ti, t) in v["turns"].as_array().unwrap().iter().enumerate() {
                let text = t["text"].as_str().unwrap();
                for party in [Party::Customer, Party::Agent] {
                    let a = analyzer.analyze_turn_with_evidence(&lang, channel, party, text);
                    let b = analyzer.analyze_turn(&lang, channel, party, text);
                    println!("{}:{}:{}:{:?} E {:?}", f.display(), ln, ti, party, a);
                    println!(
                        "{}:{}:{}:{:?} A {}",
                        f.display(),
                        ln,
                        ti,
                        party,
                        serde_json::to_string(&b).unwrap()
                    );
                }
            }
        }
    }
    // Hostile repetition and a few odd texts.
    let extra = [
        "het spijt me te horen. ".repeat(300),
        "I'm sooo sorry!!! \"that's awful\" 'k snap 't. a.u.b. Dhr. Jansen :( :-( 😢 www.x.nl/a?b ORD-20240512 x@y.nl".to_string(),
        "Beste Jan,\r\n\r\nSorry voor het ongemak.\r\n> quoted\r\nMet vriendelijke groet,\r\nPiet".to_string(),
        "DIT IS DE DERDE KEER DAT IK BEL!!! Ik-wil na-vragen... Waarom?? 10:12 uur".to_string(),
    ];
    for lang in ["nl", "en", "de"] {
        for (i, t) in extra.iter().enumerate() {
            for party in [Party::Customer, Party::Agent] {
                let a = analyzer.analyze_turn_with_evidence(lang, Channel::Email, party, t);
                let b = analyzer.analyze_turn(lang, Channel::Email, party, t);
                println!("extra:{lang}:{i}:{party:?} E {a:?}");
                println!(
                    "extra:{lang}:{i}:{party:?} A {}",
                    serde_json::to_string(&b).unwrap()
                );
            }
        }
    }
}
