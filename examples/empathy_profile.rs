//! The bench's agent texts through `analyze_turn` N times (default 20,000),
//! for instruction counts without the bench harness's noise:
//!
//! ```text
//! cargo build --release --example empathy_profile
//! valgrind --tool=callgrind target/release/examples/empathy_profile 2000
//! valgrind --tool=callgrind target/release/examples/empathy_profile 6000
//! ```
//!
//! (the difference of the two counts over 4,000 is the cost of one bench
//! iteration, start-up and lexicon building taken out). Keep the texts equal
//! to `benches/empathy.rs`.
use contact_kpi::empathy::Analyzer;
use contact_kpi::model::{Channel, Party};
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
fn main() {
    let analyzer = Analyzer::builtin();
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20000);
    let t = std::time::Instant::now();
    for _ in 0..n {
        for (lang, text) in AGENT_TEXTS {
            std::hint::black_box(analyzer.analyze_turn(
                lang,
                Channel::Chat,
                Party::Agent,
                std::hint::black_box(text),
            ));
        }
    }
    eprintln!("{:?} per iter", t.elapsed() / n as u32);
}
