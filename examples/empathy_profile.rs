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
//! iteration, start-up and lexicon building taken out). The texts are the
//! bench's (`benches/common/agent_texts.rs`).
use contact_kpi::empathy::Analyzer;
use contact_kpi::model::{Channel, Party};
#[path = "../benches/common/agent_texts.rs"]
mod agent_texts;
use agent_texts::AGENT_TEXTS;
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
