//! The empathy analyzer: explainable judgements of an agent's own words.
//!
//! Two levels keep the engine's state small and free of message text:
//! [`Analyzer::analyze_turn`] turns one message into [`TurnFeatures`] when it
//! arrives (the text is then dropped), and [`Analyzer::judge_segment`] judges a
//! finished agent segment from those features.
//!
//! # Pipeline
//!
//! 1. [`normalize`]: e-mail structure (quoted earlier mails, `>` lines,
//!    greetings, signatures) is removed; text is NFKD-folded, lowercased and
//!    stripped of diacritics; chat spelling ("snap t", "ff", "sooorry") is
//!    rewritten through the lexicon's spelling map; every token knows its
//!    sentence, clause, and whether it sits in quotes. Capitals and `!` runs
//!    are counted before folding.
//! 2. [`matcher`]: one Aho-Corasick pass over the normalized tokens finds all
//!    lexicon phrases (word boundaries, gapped phrases such as
//!    `ik begrijp ... dat`); matches inside quotes, negated matches ("ik
//!    begrijp **niet** waarom") and understanding/acknowledgement inside a
//!    question clause ("begrijp ik goed dat ...?") are dropped.
//! 3. [`Analyzer::judge_segment`]: the rule below.
//!
//! # Score rule (weights and parameters from the lexicon file)
//!
//! Over the agent's turns of the segment, each distinct phrase counts once
//! (repeating a stock phrase adds nothing) with its group's weight `w`,
//! times `1 + intensifier_boost` when intensified ("echt", "so", `!!`) and
//! times `first_message_factor` when in the agent's first message:
//!
//! ```text
//! P = Σ positive weights      N = Σ negative weights (+ overdone_penalty if overdone)
//! empathy_score = clamp(round(points_per_weight × (P − N)), 0, 100)
//! empathy_shown = P ≥ shown_threshold ∧ no pity ∧ P > N_hard
//! ```
//!
//! where `N_hard` counts only dismissive, calm_down and sarcasm phrases (the
//! ones that dominate a segment); over-familiar, gushing and overdone lower
//! the score but do not undo empathy that was shown. A message that blames
//! or dismisses the customer takes back its own acknowledgement and
//! understanding phrases ("ik begrijp dat het vervelend is, maar dat ligt
//! bij u"): they weigh 0 there (its ownership and reassurance still count).
//!
//! Positive categories: acknowledgement, understanding, ownership,
//! reassurance, personalisation, interest, appreciation, callback_offer.
//! Negative: pity, dismissive, calm_down, sarcasm, over_familiar, gushing.
//! Overdone: the same stock phrase in `overdone_repeat_turns` agent turns, or
//! empathy phrases in at least `overdone_turn_share` of at least
//! `overdone_min_turns` agent turns, or any over-familiar or gushing phrase.
//! Overdone empathy still counts as shown (it was shown, too thick).
//!
//! Empathy is judged from words only: nothing here infers anyone's emotions
//! from voice or biometrics; `raised_voice` is the platform's volume
//! measurement of the customer and is used only as a hostility signal.

mod lexicon;
mod matcher;
use matcher::EvidenceWords;
mod normalize;

use crate::model::{Channel, Disposition, Party};
use lexicon::Lexicon;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LexiconError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
}

/// What a lexicon phrase signals. The set is fixed (the judgement rules know
/// each one); the phrases and weights are data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Agent acknowledges the trouble or feeling ("wat vervelend", "I'm sorry to hear").
    Acknowledgement,
    /// Agent shows understanding ("ik begrijp dat", "I understand why").
    Understanding,
    /// Agent takes ownership with an action ("ik ga dit voor u uitzoeken").
    Ownership,
    /// Agent reassures ("u hoeft zich geen zorgen te maken").
    Reassurance,
    /// Agent addresses the customer or their situation personally.
    Personalisation,
    /// Agent shows interest in the customer ("hoe gaat het nu met u?").
    Interest,
    /// Agent thanks for patience or for reporting.
    Appreciation,
    /// Agent offers to call back (also a way to end a hostile call well).
    CallbackOffer,
    /// Pity or condescension instead of understanding ("ach gossie").
    Pity,
    /// Dismissive or blaming ("daar kan ik niks aan doen").
    Dismissive,
    /// Telling an upset customer to calm down.
    CalmDown,
    /// Sarcasm or counter-attack.
    Sarcasm,
    /// Over-familiar address in a business setting ("meid", "sweetie").
    OverFamiliar,
    /// Gushing ("ik hoop dat het allemaal goed komt").
    Gushing,
    /// Agent names the customer's behaviour or feeling ("u schreeuwt").
    NameBehaviour,
    /// Customer voices trouble ("werkt niet", "still hasn't arrived").
    Trouble,
    /// Customer voices a negative feeling ("teleurgesteld", "frustrated").
    NegativeFeeling,
    /// Customer is abusive ("oplichters", "idiots").
    Abuse,
    /// Opens a question in unpunctuated text ("kunt u", "could you").
    QuestionOpener,
    /// Stock closing question, not a genuine one ("anything else?").
    StockQuestion,
    /// Customer pleads for help ("help alstublieft", "please help"): an
    /// opportunity, and its "!!!" is distress, not shouting. Last, so
    /// features kept before it existed decode unchanged.
    Plea,
}

const CATEGORIES: &[(Category, &str)] = &[
    (Category::Acknowledgement, "acknowledgement"),
    (Category::Understanding, "understanding"),
    (Category::Ownership, "ownership"),
    (Category::Reassurance, "reassurance"),
    (Category::Personalisation, "personalisation"),
    (Category::Interest, "interest"),
    (Category::Appreciation, "appreciation"),
    (Category::CallbackOffer, "callback_offer"),
    (Category::Pity, "pity"),
    (Category::Dismissive, "dismissive"),
    (Category::CalmDown, "calm_down"),
    (Category::Sarcasm, "sarcasm"),
    (Category::OverFamiliar, "over_familiar"),
    (Category::Gushing, "gushing"),
    (Category::NameBehaviour, "name_behaviour"),
    (Category::Trouble, "trouble"),
    (Category::NegativeFeeling, "negative_feeling"),
    (Category::Abuse, "abuse"),
    (Category::QuestionOpener, "question_opener"),
    (Category::StockQuestion, "stock_question"),
    (Category::Plea, "plea"),
];

impl Category {
    pub fn name(self) -> &'static str {
        CATEGORIES
            .iter()
            .find(|(c, _)| *c == self)
            .map_or("unknown", |(_, n)| n)
    }

    pub fn from_name(name: &str) -> Option<Category> {
        CATEGORIES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    fn names() -> Vec<&'static str> {
        CATEGORIES.iter().map(|(_, n)| *n).collect()
    }

    pub fn is_positive(self) -> bool {
        matches!(
            self,
            Category::Acknowledgement
                | Category::Understanding
                | Category::Ownership
                | Category::Reassurance
                | Category::Personalisation
                | Category::Interest
                | Category::Appreciation
                | Category::CallbackOffer
        )
    }

    pub fn is_negative(self) -> bool {
        matches!(
            self,
            Category::Pity
                | Category::Dismissive
                | Category::CalmDown
                | Category::Sarcasm
                | Category::OverFamiliar
                | Category::Gushing
        )
    }

    pub fn is_customer(self) -> bool {
        matches!(
            self,
            Category::Trouble | Category::NegativeFeeling | Category::Abuse | Category::Plea
        )
    }

    /// Breaks the neutrality an agent must keep with a hostile customer.
    fn is_counter_attack(self) -> bool {
        matches!(
            self,
            Category::Dismissive | Category::CalmDown | Category::Sarcasm
        )
    }

    /// The stock empathy phrases whose repetition makes empathy overdone.
    fn is_stock_empathy(self) -> bool {
        matches!(
            self,
            Category::Acknowledgement
                | Category::Understanding
                | Category::Reassurance
                | Category::Gushing
        )
    }

    /// Only statements count: "begrijpt u ...?" or "sorry?" is no empathy.
    fn statement_only(self) -> bool {
        matches!(
            self,
            Category::Acknowledgement | Category::Understanding | Category::Reassurance
        )
    }

    fn default_negation(self) -> lexicon::NegationScope {
        match self {
            Category::QuestionOpener
            | Category::StockQuestion
            | Category::NameBehaviour
            | Category::Abuse => lexicon::NegationScope::None,
            c if c.is_customer() => lexicon::NegationScope::Before,
            _ => lexicon::NegationScope::Both,
        }
    }
}

/// One lexicon phrase found in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub category: Category,
    /// The lexicon phrase (normalized), to recognise repetitions. Shared
    /// with the lexicon (serialized as a plain string).
    pub phrase: Arc<str>,
    /// The matched words as written (folded), for evidence; empty from
    /// [`Analyzer::analyze_turn`], which the engine uses (it keeps no text).
    pub words: String,
    /// The phrase group's weight.
    pub weight: f32,
    /// An intensifier or an exclamation run sits next to it.
    pub intensified: bool,
}

/// What one message contributes to a judgement. Stored in the engine's state
/// (and its changelog) between the message and the end of the contact, so it
/// holds no free text: only lexicon categories, matched lexicon phrases and
/// counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TurnFeatures {
    /// The turn had words to judge (not empty, not only boilerplate).
    pub has_text: bool,
    pub is_question: bool,
    /// Genuine questions (stock closing questions and quoted ones excluded).
    pub questions: u16,
    /// Words after boilerplate removal.
    pub words: u32,
    /// Mostly capitals: shouting when the customer writes it.
    pub all_caps: bool,
    pub exclamations: u16,
    /// Longest run of `!`.
    pub max_exclamation_run: u8,
    pub signals: Vec<Signal>,
}

/// One turn of a segment as the analyzer sees it.
#[derive(Debug, Clone, Copy)]
pub struct SegmentTurn<'a> {
    /// Index of the message within its contact (time order), for evidence.
    pub message_index: usize,
    pub party: Party,
    pub raised_voice: bool,
    pub features: &'a TurnFeatures,
}

/// A finished agent segment.
#[derive(Debug, Clone)]
pub struct SegmentInput<'a> {
    pub language: &'a str,
    pub channel: Channel,
    /// Customer and agent turns of the segment in time order.
    pub turns: Vec<SegmentTurn<'a>>,
    /// Customer turns just before the segment (before the first agent joined,
    /// or between a transfer and this agent joining): context for opportunity.
    pub context_before: Vec<SegmentTurn<'a>>,
    /// The contact's disposition.
    pub disposition: Disposition,
    /// Voice interruptions by this agent in this segment (computed by the engine).
    pub interruptions: u32,
}

/// One piece of evidence behind a judgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub category: String,
    pub words: String,
    pub message_index: usize,
    pub party: Party,
    pub weight: f64,
}

/// The judgements of `empathy.md` for one agent segment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    pub empathy_scored: bool,
    pub empathy_shown: bool,
    pub empathy_score: u8,
    pub empathy_opportunity: bool,
    pub empathy_missed: bool,
    pub empathy_overdone: bool,
    pub pity: bool,
    pub questions_asked: bool,
    pub hostile_customer: bool,
    pub hostile_defused: bool,
    pub evidence: Vec<Evidence>,
}

const BUILTIN: &[(&str, &str)] = &[
    ("nl", include_str!("../../lexicons/nl.toml")),
    ("en", include_str!("../../lexicons/en.toml")),
];

/// Buffers [`Analyzer::analyze_turn`] reuses between messages on one thread:
/// allocating them afresh for every message (tokens, matches, e-mail lines)
/// was about a seventh of its time.
#[derive(Default)]
struct Scratch {
    email: normalize::EmailScratch,
    norm: normalize::Normalized,
    matcher: matcher::Scratch,
}

impl Scratch {
    /// Buffers a huge message grew beyond this are given back.
    const MAX_KEPT_BYTES: usize = 1 << 20;

    fn shrink(&mut self) {
        self.email.shrink(Self::MAX_KEPT_BYTES);
        self.norm.shrink(Self::MAX_KEPT_BYTES);
        self.matcher.shrink(Self::MAX_KEPT_BYTES);
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Lexicons loaded for every supported language.
#[derive(Debug, Clone)]
pub struct Analyzer {
    lexicons: Arc<BTreeMap<String, Lexicon>>,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer::builtin()
    }
}

impl Analyzer {
    /// The lexicons shipped with the binary.
    pub fn builtin() -> Self {
        static BUILT: OnceLock<Analyzer> = OnceLock::new();
        BUILT
            .get_or_init(|| {
                let mut map = BTreeMap::new();
                for (lang, source) in BUILTIN {
                    // The shipped lexicons are validated by the unit tests.
                    let lex = Lexicon::parse(source, Some(lang))
                        .unwrap_or_else(|e| panic!("lexicons/{lang}.toml: {e}"));
                    map.insert(lang.to_string(), lex);
                }
                Analyzer {
                    lexicons: Arc::new(map),
                }
            })
            .clone()
    }

    /// Lexicons from a directory (`nl.toml`, `en.toml`, ...). Each file
    /// replaces the shipped lexicon of its language (the file stem must be the
    /// file's `language`); languages without a file keep the shipped one.
    pub fn load_dir(dir: &Path) -> Result<Self, LexiconError> {
        let io = |file: &Path, source| LexiconError::Io {
            file: file.display().to_string(),
            source,
        };
        let mut map = (*Analyzer::builtin().lexicons).clone();
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let source = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let lex = Lexicon::parse(&source, Some(&stem)).map_err(|e| LexiconError::Invalid {
                file: path.display().to_string(),
                message: e.to_string(),
            })?;
            map.insert(stem, lex);
        }
        Ok(Analyzer {
            lexicons: Arc::new(map),
        })
    }

    /// Parse one lexicon from text (for tools and tests); `file` names it in errors.
    pub fn validate_lexicon(file: &str, source: &str) -> Result<(), LexiconError> {
        let stem = Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string);
        Lexicon::parse(source, stem.as_deref())
            .map(|_| ())
            .map_err(|e| LexiconError::Invalid {
                file: file.to_string(),
                message: e.to_string(),
            })
    }

    /// Languages with a lexicon, as declared in the lexicon files.
    pub fn languages(&self) -> Vec<&str> {
        self.lexicons
            .values()
            .map(|l| l.language.as_str())
            .collect()
    }

    /// Whether a language has its own lexicon (else English is used).
    pub fn supports(&self, language: &str) -> bool {
        self.lexicons.contains_key(language)
    }

    /// ISO 639-1 code of the text's language when detection is confident.
    pub fn detect_language(&self, text: &str) -> Option<String> {
        // Afrikaans is left out: whatlang confuses short Dutch with it, and
        // it is not a language these contact centers serve.
        static DETECTOR: OnceLock<whatlang::Detector> = OnceLock::new();
        let detector =
            DETECTOR.get_or_init(|| whatlang::Detector::with_denylist(vec![whatlang::Lang::Afr]));
        let info = detector.detect(text)?;
        // whatlang's own "reliable" flag rejects most short messages; a
        // clear margin over the runner-up is enough for a chat line.
        if !info.is_reliable() && info.confidence() < 0.5 {
            return None;
        }
        iso639_1(info.lang().code()).map(str::to_string)
    }

    fn lexicon(&self, language: &str) -> &Lexicon {
        self.lexicons
            .get(language)
            .or_else(|| self.lexicons.get("en"))
            .or_else(|| self.lexicons.values().next())
            .expect("at least the shipped lexicons are loaded")
    }

    /// One message's features as the engine keeps them: the signals name
    /// their lexicon phrases, not the words that matched (see
    /// [`Analyzer::analyze_turn_with_evidence`]).
    pub fn analyze_turn(
        &self,
        language: &str,
        channel: Channel,
        party: Party,
        text: &str,
    ) -> TurnFeatures {
        self.analyze(language, channel, party, text, EvidenceWords::Omitted)
    }

    /// [`Analyzer::analyze_turn`], with each signal's matched words (as
    /// written, folded) for a judgement's evidence (`contact-kpi score`).
    pub fn analyze_turn_with_evidence(
        &self,
        language: &str,
        channel: Channel,
        party: Party,
        text: &str,
    ) -> TurnFeatures {
        self.analyze(language, channel, party, text, EvidenceWords::Kept)
    }

    fn analyze(
        &self,
        language: &str,
        _channel: Channel,
        party: Party,
        text: &str,
        evidence: EvidenceWords,
    ) -> TurnFeatures {
        // Each thread reuses its buffers from message to message (a fresh
        // set only if this ever ran re-entrantly or during thread teardown).
        let fresh = || self.analyze_with(language, party, text, evidence, &mut Scratch::default());
        SCRATCH
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut scratch) => {
                    let features = self.analyze_with(language, party, text, evidence, &mut scratch);
                    scratch.shrink();
                    features
                }
                Err(_) => fresh(),
            })
            .unwrap_or_else(|_| fresh())
    }

    fn analyze_with(
        &self,
        language: &str,
        party: Party,
        text: &str,
        evidence: EvidenceWords,
        scratch: &mut Scratch,
    ) -> TurnFeatures {
        let lex = self.lexicon(language);
        let body = normalize::strip_email(text, lex, &mut scratch.email);
        let body = normalize::strip_non_language(&body);
        let n = &mut scratch.norm;
        normalize::normalize_into(&body, lex, true, n);
        normalize::drop_greeting_and_closing(n, lex);
        if n.tokens.is_empty() {
            return TurnFeatures::default();
        }
        let m = matcher::match_turn(n, lex, party, evidence, &mut scratch.matcher);
        let s = &lex.score;
        TurnFeatures {
            has_text: true,
            is_question: m.questions > 0,
            questions: m.questions.min(u32::from(u16::MAX)) as u16,
            words: n.surfaces.len() as u32,
            all_caps: n.shouted_sentence
                || (n.letters >= s.caps_min_letters
                    && f64::from(n.upper) >= s.caps_share * f64::from(n.letters)),
            exclamations: n.exclamations.min(u32::from(u16::MAX)) as u16,
            max_exclamation_run: n.max_exclaim_run.min(255) as u8,
            signals: m.signals,
        }
    }

    pub fn judge_segment(&self, seg: &SegmentInput<'_>) -> Judgement {
        let lex = self.lexicon(seg.language);
        let p = &lex.score;
        let mut j = Judgement::default();
        let agent: Vec<&SegmentTurn<'_>> = seg
            .turns
            .iter()
            .filter(|t| t.party == Party::Agent && t.features.has_text)
            .collect();
        let customer = seg
            .context_before
            .iter()
            .chain(seg.turns.iter())
            .filter(|t| t.party == Party::Customer);
        j.empathy_scored = !agent.is_empty();

        // Customer side: opportunity and hostility.
        for t in customer {
            let f = t.features;
            let mut shouting = Vec::new();
            if t.raised_voice {
                shouting.push("raised_voice");
            }
            if f.all_caps {
                shouting.push("ALL CAPS");
            }
            // A run of "!" is shouting only with a complaint in the same
            // message ("it STILL doesn't work!!!!"); "Please help!!!!" is a
            // plea, also when it says what is wrong.
            if u32::from(f.max_exclamation_run) >= p.shouting_exclamations
                && f.signals.iter().any(|s| s.category.is_customer())
                && !f.signals.iter().any(|s| s.category == Category::Plea)
            {
                shouting.push("!!!");
            }
            for what in shouting {
                j.hostile_customer = true;
                j.empathy_opportunity = true;
                j.evidence.push(Evidence {
                    category: "shouting".into(),
                    words: what.into(),
                    message_index: t.message_index,
                    party: Party::Customer,
                    weight: 0.0,
                });
            }
            for sig in f.signals.iter().filter(|s| s.category.is_customer()) {
                j.empathy_opportunity = true;
                j.hostile_customer |= sig.category == Category::Abuse;
                j.evidence.push(evidence(sig, t, f64::from(sig.weight)));
            }
        }

        // Agent side: distinct phrases, first-message weighting.
        let first_agent = agent.first().map(|t| t.message_index);
        let mut distinct: BTreeMap<(Category, &str), (f64, &Signal, &SegmentTurn<'_>)> =
            BTreeMap::new();
        let mut phrase_turns: BTreeMap<&str, usize> = BTreeMap::new();
        let mut turns_with_empathy = 0usize;
        let (mut counter_attack, mut named_or_callback) = (false, false);
        for t in &agent {
            let f = t.features;
            if f.questions > 0 {
                j.questions_asked = true;
                j.evidence.push(Evidence {
                    category: "question".into(),
                    words: format!("{} question(s)", f.questions),
                    message_index: t.message_index,
                    party: Party::Agent,
                    weight: 0.0,
                });
            }
            let mut seen_here: Vec<&str> = Vec::new();
            let mut empathic_turn = false;
            // "Ik begrijp dat het vervelend is, maar het is uw eigen
            // verantwoordelijkheid": blame in the same message makes its
            // stock acknowledgement and understanding words no genuine
            // empathy (empathy.md: a genuine positive signal); they stay in
            // the evidence with weight 0.
            let blamed = f
                .signals
                .iter()
                .any(|s| s.category == Category::Dismissive && s.weight > 0.0);
            for sig in &f.signals {
                let cat = sig.category;
                counter_attack |= cat.is_counter_attack();
                named_or_callback |=
                    matches!(cat, Category::NameBehaviour | Category::CallbackOffer);
                if cat == Category::Pity {
                    j.pity = true;
                }
                if cat == Category::OverFamiliar || cat == Category::Gushing {
                    j.empathy_overdone = true;
                }
                if cat.is_stock_empathy() {
                    empathic_turn = true;
                    if !seen_here.contains(&&*sig.phrase) {
                        seen_here.push(&sig.phrase);
                        *phrase_turns.entry(&sig.phrase).or_default() += 1;
                    }
                }
                if cat == Category::NameBehaviour {
                    j.evidence.push(evidence(sig, t, 0.0));
                }
                if !(cat.is_positive() || cat.is_negative()) {
                    continue;
                }
                let mut w = f64::from(sig.weight);
                if blamed && matches!(cat, Category::Acknowledgement | Category::Understanding) {
                    w = 0.0;
                }
                if cat.is_positive() {
                    if sig.intensified {
                        w *= 1.0 + p.intensifier_boost;
                    }
                    if Some(t.message_index) == first_agent {
                        w *= p.first_message_factor;
                    }
                }
                let entry = distinct.entry((cat, &*sig.phrase)).or_insert((w, sig, t));
                if w > entry.0 {
                    *entry = (w, sig, t);
                }
            }
            turns_with_empathy += usize::from(empathic_turn);
        }
        let (mut pos, mut neg, mut hard_neg) = (0.0, 0.0, 0.0);
        for ((cat, _), (w, sig, t)) in &distinct {
            if cat.is_positive() {
                pos += w;
                j.evidence.push(evidence(sig, t, *w));
            } else {
                neg += w;
                if cat.is_counter_attack() {
                    hard_neg += w;
                }
                j.evidence.push(evidence(sig, t, -*w));
            }
        }

        // Overdone: repetition, empathy in nearly every turn, gushing.
        let last_agent = agent.last().map_or(0, |t| t.message_index);
        for (phrase, turns) in &phrase_turns {
            if *turns >= p.overdone_repeat_turns as usize {
                j.empathy_overdone = true;
                j.evidence.push(Evidence {
                    category: "overdone".into(),
                    words: format!("\"{phrase}\" in {turns} turns"),
                    message_index: last_agent,
                    party: Party::Agent,
                    weight: 0.0,
                });
            }
        }
        if agent.len() >= p.overdone_min_turns as usize
            && turns_with_empathy as f64 >= p.overdone_turn_share * agent.len() as f64
        {
            j.empathy_overdone = true;
            j.evidence.push(Evidence {
                category: "overdone".into(),
                words: format!("empathy in {turns_with_empathy} of {} turns", agent.len()),
                message_index: last_agent,
                party: Party::Agent,
                weight: 0.0,
            });
        }
        if j.empathy_overdone {
            neg += p.overdone_penalty;
            j.evidence.push(Evidence {
                category: "overdone_penalty".into(),
                words: String::new(),
                message_index: last_agent,
                party: Party::Agent,
                weight: -p.overdone_penalty,
            });
        }

        if j.empathy_scored {
            // Over-familiar or gushing words lower the score but do not undo
            // empathy that was shown (it was shown, too thick).
            j.empathy_shown = pos >= p.shown_threshold && !j.pity && pos > hard_neg;
            j.empathy_score = (p.points_per_weight * (pos - neg))
                .round()
                .clamp(0.0, 100.0) as u8;
        } else {
            j.questions_asked = false;
        }
        j.empathy_missed = j.empathy_scored && j.empathy_opportunity && !j.empathy_shown;
        // Seed 004: stay neutral, then name the behaviour or the feeling,
        // ask what the customer wants to achieve, or offer a call-back.
        // Acknowledging the anger ("I can hear how upset you are") names it;
        // a question asks for the goal.
        j.hostile_defused = j.hostile_customer
            && j.empathy_scored
            && !counter_attack
            && (named_or_callback || j.questions_asked || j.empathy_shown)
            && seg.disposition != Disposition::Unresolved;
        j
    }
}

fn evidence(sig: &Signal, t: &SegmentTurn<'_>, weight: f64) -> Evidence {
    Evidence {
        category: sig.category.name().to_string(),
        words: sig.words.clone(),
        message_index: t.message_index,
        party: t.party,
        weight: (weight * 1000.0).round() / 1000.0,
    }
}

/// ISO 639-3 (whatlang) to ISO 639-1 for the languages a contact center is
/// likely to see; others are not reported.
fn iso639_1(code: &str) -> Option<&'static str> {
    Some(match code {
        "nld" => "nl",
        "eng" => "en",
        "deu" => "de",
        "fra" => "fr",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "tur" => "tr",
        "arb" | "ara" => "ar",
        "pol" => "pl",
        "rus" => "ru",
        "ukr" => "uk",
        "ron" => "ro",
        "bul" => "bg",
        "ces" => "cs",
        "slk" => "sk",
        "hun" => "hu",
        "swe" => "sv",
        "dan" => "da",
        "nob" => "nb",
        "fin" => "fi",
        "ell" => "el",
        "hrv" => "hr",
        "srp" => "sr",
        "slv" => "sl",
        "lit" => "lt",
        "lav" => "lv",
        "est" => "et",
        "hin" => "hi",
        "urd" => "ur",
        "pes" => "fa",
        "heb" => "he",
        "ind" => "id",
        "vie" => "vi",
        "tha" => "th",
        "cmn" => "zh",
        "jpn" => "ja",
        "kor" => "ko",
        "afr" => "af",
        "tgl" => "tl",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
