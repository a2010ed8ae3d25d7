//! Lexicon files: the data a quality team tunes without a rebuild.
//!
//! One TOML file per language (`lexicons/nl.toml`, `lexicons/en.toml`) holds
//! the score parameters, the modifiers (negators, intensifiers, clause
//! breaks, chat spelling) and groups of phrases, each group with a category
//! and a weight. Loading validates everything and reports the file and line
//! of the first problem, then compiles all phrases into one Aho-Corasick
//! automaton over normalized tokens.

use super::normalize;
use super::Category;
use aho_corasick::dfa::DFA;
use aho_corasick::MatchKind;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use toml::Spanned;

/// A fast, non-cryptographic hasher for the lexicon's short word keys (the
/// FxHash mixing step). The sets are built from the lexicon file only and
/// are only ever queried, so hash flooding is no concern; SipHash dominated
/// the per-token cost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WordHasher {
    hash: u64,
}

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(buf));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // Byte by byte: a copy of a variable length calls memcpy,
            // which cost more than the hashing (most words fit here).
            let tail = rest
                .iter()
                .rev()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            self.add(tail);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A 1024-bit Bloom filter over a word's length and first and last bytes:
/// most words of a message are in no word list, and this answers "not in
/// it" for most of them without hashing the word.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WordFilter {
    bits: [u64; 16],
}

impl WordFilter {
    #[inline]
    fn bit(word: &str) -> usize {
        let b = word.as_bytes();
        let (first, last) = match b {
            [] => (0, 0),
            [f, .., l] => (usize::from(*f), usize::from(*l)),
            [f] => (usize::from(*f), usize::from(*f)),
        };
        (first.wrapping_mul(0x9E37) ^ last.wrapping_mul(0x85EB) ^ b.len().wrapping_mul(0xC2B3)) >> 3
            & 1023
    }

    fn of<'w>(words: impl Iterator<Item = &'w String>) -> Self {
        let mut filter = WordFilter::default();
        for word in words {
            let bit = Self::bit(word);
            filter.bits[bit / 64] |= 1 << (bit % 64);
        }
        filter
    }

    /// Whether `word` may be one of the words: false means it is not.
    #[inline]
    pub fn may_contain(&self, word: &str) -> bool {
        let bit = Self::bit(word);
        self.bits[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// What [`Lexicon::word_info`] knows of a word.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WordInfo {
    /// [`Modifier`] bits.
    pub modifiers: u8,
    /// The spelling map rewrites it.
    pub spelled: bool,
    /// [`Starts`] bits.
    pub starts: u8,
}

/// Bits of [`WordInfo::starts`]: the word is the first of a greeting or a
/// closing, so only tokens with the bit need the phrase lists compared.
pub(crate) struct Starts;

impl Starts {
    pub const GREETING: u8 = 1;
    pub const CLOSING: u8 = 2;
}

/// Bits of [`Lexicon::modifiers`], kept on each token.
pub(crate) struct Modifier;

impl Modifier {
    pub const NEGATOR: u8 = 1;
    pub const INTENSIFIER: u8 = 2;
    pub const CLAUSE_BREAK: u8 = 4;
    pub const QUESTION_WORD: u8 = 8;
    pub const QUESTION_DETERMINER: u8 = 16;
    pub const FINITE_VERB: u8 = 32;
    pub const QUESTION_SUBJECT: u8 = 64;
    pub const SUBORDINATOR: u8 = 128;
}

pub(crate) type WordSet = HashSet<String, BuildHasherDefault<WordHasher>>;
pub(crate) type WordMap<V> = HashMap<String, V, BuildHasherDefault<WordHasher>>;

/// Parameters of the score rule and the structural thresholds, per language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreParams {
    /// Score points per unit of net weight: `score = points_per_weight * (P - N)`.
    pub points_per_weight: f64,
    /// Positive weight needed for `empathy_shown`.
    pub shown_threshold: f64,
    /// Extra share of a positive phrase's weight when an intensifier or an
    /// exclamation run sits next to it (`w * (1 + boost)`).
    pub intensifier_boost: f64,
    /// Factor on positive weights found in the agent's first message (the
    /// first impression counts, seed 002).
    pub first_message_factor: f64,
    /// Negative weight added when the empathy is overdone.
    pub overdone_penalty: f64,
    /// The same stock phrase in this many agent turns is overdone.
    pub overdone_repeat_turns: u32,
    /// Empathy phrases in at least this share of agent turns is overdone ...
    pub overdone_turn_share: f64,
    /// ... once the agent wrote at least this many turns.
    pub overdone_min_turns: u32,
    /// A run of this many `!` in one customer message is shouting.
    pub shouting_exclamations: u32,
    /// A customer message with at least this many letters, of which at least
    /// `caps_share` are capitals, is shouting.
    pub caps_min_letters: u32,
    pub caps_share: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModifiersFile {
    negators: Vec<Spanned<String>>,
    intensifiers: Vec<Spanned<String>>,
    clause_breaks: Vec<Spanned<String>>,
    greetings: Vec<Spanned<String>>,
    closings: Vec<Spanned<String>>,
    negation_before: usize,
    negation_after: usize,
    max_gap: usize,
    /// Pronouns addressing the customer: a verb before one ("kunt u") is
    /// inverted word order, a question in an unpunctuated transcript.
    #[serde(default)]
    address_pronouns: Vec<Spanned<String>>,
    /// Words after which the language inverts a statement ("dan kunt u het
    /// ophalen"), so the inversion is no question there.
    #[serde(default)]
    statement_inversion: Vec<Spanned<String>>,
    /// Words after a negator that make it no complaint ("no problem").
    #[serde(default)]
    not_a_complaint: Vec<Spanned<String>>,
    /// Question words ("wat", "where"): followed by a finite verb and a
    /// subject they open a question in unpunctuated speech ("dat kan wat is
    /// uw pasnummer"), where an embedded clause would have the subject first
    /// ("ik kijk wat er mis is").
    #[serde(default)]
    question_words: Vec<Spanned<String>>,
    /// Question words that take a word before the verb ("welke dag komt u",
    /// "how long have you").
    #[serde(default)]
    question_determiners: Vec<Spanned<String>>,
    /// Finite verbs of the word-order rules (canonical spelling).
    #[serde(default)]
    finite_verbs: Vec<Spanned<String>>,
    /// Words that begin a subject after an inverted verb ("is *uw*
    /// pasnummer", "did *the* engineer").
    #[serde(default)]
    question_subjects: Vec<Spanned<String>>,
    /// Words that open a subordinate clause ("dat", "that", "if"): a
    /// negator after one negates that clause, not the phrase before it ("ik
    /// begrijp dat het niet werkt" understands; "ik begrijp uw probleem
    /// niet" does not).
    #[serde(default)]
    subordinators: Vec<Spanned<String>>,
    /// Interjections after which a negator is an exclamation, not a
    /// negation ("oh no, that's the last thing you need").
    #[serde(default)]
    exclamations: Vec<Spanned<String>>,
    /// Subjects that open a clause ("ik", "we", "I"): a phrase starting
    /// with one is not negated by a negator before it.
    #[serde(default)]
    clause_subjects: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    category: Spanned<String>,
    weight: Spanned<f64>,
    /// `both` (default for agent categories), `before` (default for customer
    /// categories) or `none`.
    #[serde(default)]
    negation: Option<Spanned<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    phrases: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LexiconFile {
    language: Spanned<String>,
    score: ScoreParams,
    modifiers: ModifiersFile,
    #[serde(default)]
    spelling: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Word classes: a phrase naming `{class}` stands for one phrase per
    /// word of the class ("that sounds {negative}"), so constructions are
    /// written once and the words come from open lexicons (see README).
    #[serde(default)]
    classes: BTreeMap<String, Vec<Spanned<String>>>,
    #[serde(rename = "group")]
    groups: Vec<GroupFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NegationScope {
    Both,
    Before,
    None,
}

/// One lexicon phrase, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub category: Category,
    pub weight: f64,
    pub negation: NegationScope,
    /// The phrase as normalized tokens, gaps shown as `...` (shared with
    /// every signal it makes: a signal costs no copy of it).
    pub key: std::sync::Arc<str>,
    /// Ids of the phrase's parts (split at `...` gaps) in the automaton.
    pub parts: Vec<usize>,
}

/// One automaton string: its logical part (a class's words share their
/// class's part), its length in tokens and in bytes (the automaton knows
/// the latter too, but in a table of its own: one more cache miss per
/// match).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AcString {
    pub part: u32,
    pub len: u32,
    pub bytes: u32,
}

/// What a match of an automaton part leads to, in one record and one run
/// of [`Lexicon::part_lists`] rather than in a table each: the matcher's
/// time went more to cache misses in those tables (several per match, at
/// scattered places) than to its instructions.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PartInfo {
    /// `part_lists[single.0..single.1]`: the single-part patterns the part
    /// is (in `part_patterns` order).
    pub single: (u32, u32),
    /// `part_lists[gapped_first.0..gapped_first.1]`: the gapped patterns
    /// the part starts (in `part_patterns` order), each as its id, its
    /// number of parts and its parts. Apart from the parts' other patterns
    /// so a match of a common word ("i", "ik") does not walk every pattern
    /// it is part of.
    pub gapped_first: (u32, u32),
    /// Whether a gapped (multi-part) pattern uses the part.
    pub in_gapped: bool,
}

/// A language's compiled lexicon.
#[derive(Debug, Clone)]
pub(crate) struct Lexicon {
    pub language: String,
    pub score: ScoreParams,
    pub negators: WordSet,
    pub intensifiers: WordSet,
    /// Negators, intensifiers and clause breaks as [`Modifier`] bits, so a
    /// token is looked up once while it is normalized.
    pub modifiers: WordMap<u8>,
    /// Every modifier word, spelling key and first word of a greeting or
    /// closing: its [`Modifier`] bits, whether the spelling map rewrites it
    /// and its [`Starts`] bits (one lookup per plain word).
    pub word_info: WordMap<WordInfo>,
    /// A Bloom filter of `word_info`'s keys (see [`Lexicon::word_info`]).
    pub word_filter: WordFilter,
    pub address_pronouns: WordSet,
    pub statement_inversion: WordSet,
    pub not_a_complaint: WordSet,
    pub exclamations: WordSet,
    pub clause_subjects: WordSet,
    pub greetings: Vec<Vec<String>>,
    pub closings: Vec<Vec<String>>,
    pub negation_before: usize,
    pub negation_after: usize,
    pub max_gap: usize,
    /// Token rewrites (chat spelling, contractions, pronoun variants).
    pub spelling: WordMap<Vec<String>>,
    /// Every token a phrase uses: elongated chat words ("sooorry") are folded
    /// back to the form found here.
    pub vocabulary: WordSet,
    pub patterns: Vec<Pattern>,
    /// For each automaton string: its logical part and its length.
    pub ac_info: Vec<AcString>,
    /// For each automaton part: (pattern id, position of the part in it).
    pub part_patterns: Vec<Vec<(usize, usize)>>,
    /// For each automaton part: what a match of it leads to.
    pub part_info: Vec<PartInfo>,
    /// The pattern lists of [`PartInfo`], each part's back to back.
    pub part_lists: Vec<u32>,
    /// Weight of the first personalisation group (for names), if any.
    pub personalisation_weight: Option<f64>,
    /// The phrase parts' strings, searched by [`super::matcher`] through
    /// the automaton's own state transitions (shared: the DFA is a few MB).
    pub automaton: Arc<DFA>,
}

/// Error of one lexicon file; the caller adds the file name.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub line: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

fn err_at<T>(source: &str, span: std::ops::Range<usize>, message: String) -> Result<T, ParseError> {
    Err(ParseError {
        line: Some(line_of(source, span.start)),
        message,
    })
}

/// A part of a phrase between gaps: words, or a slot for any word of a class.
enum PartSpec {
    Words(Vec<String>),
    Class(String),
}

/// Every modifier word, spelling key and first word of a greeting or
/// closing, with what the normalizer needs to know of it (one lookup per
/// word).
fn word_info(
    modifiers: &WordMap<u8>,
    spelling: &WordMap<Vec<String>>,
    greetings: &[Vec<String>],
    closings: &[Vec<String>],
) -> WordMap<WordInfo> {
    let mut map: WordMap<WordInfo> = WordMap::default();
    for (w, bits) in modifiers {
        map.entry(w.clone()).or_default().modifiers |= bits;
    }
    for w in spelling.keys() {
        map.entry(w.clone()).or_default().spelled = true;
    }
    for (phrases, bit) in [(greetings, Starts::GREETING), (closings, Starts::CLOSING)] {
        for first in phrases.iter().filter_map(|p| p.first()) {
            map.entry(first.clone()).or_default().starts |= bit;
        }
    }
    map
}

/// Tokens of a lexicon entry, without the spelling map (used for modifiers).
fn plain_tokens(text: &str) -> Vec<String> {
    let folded = normalize::fold(text);
    folded
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

impl Lexicon {
    /// Parse and validate one lexicon file. `expected_language` is the file
    /// stem when loaded from a directory.
    pub fn parse(source: &str, expected_language: Option<&str>) -> Result<Lexicon, ParseError> {
        let file: LexiconFile = toml::from_str(source).map_err(|e| ParseError {
            line: e.span().map(|s| line_of(source, s.start)),
            message: e.message().trim().to_string(),
        })?;

        let language = file.language.get_ref().trim().to_ascii_lowercase();
        if language.len() != 2 || !language.chars().all(|c| c.is_ascii_lowercase()) {
            return err_at(
                source,
                file.language.span(),
                format!(
                    "language must be an ISO 639-1 code, got {:?}",
                    file.language.get_ref()
                ),
            );
        }
        if let Some(expected) = expected_language {
            if expected != language {
                return err_at(
                    source,
                    file.language.span(),
                    format!("language {language:?} does not match the file name {expected:?}"),
                );
            }
        }
        validate_score(&file.score)?;

        let m = &file.modifiers;
        let single_tokens = |list: &[Spanned<String>], what: &str| -> Result<WordSet, ParseError> {
            let mut set = WordSet::default();
            for entry in list {
                let toks = plain_tokens(entry.get_ref());
                if toks.len() != 1 {
                    return err_at(
                        source,
                        entry.span(),
                        format!(
                            "{what} entry {:?} must be exactly one word",
                            entry.get_ref()
                        ),
                    );
                }
                set.extend(toks);
            }
            Ok(set)
        };
        let negators = single_tokens(&m.negators, "negator")?;
        let intensifiers = single_tokens(&m.intensifiers, "intensifier")?;
        let clause_breaks = single_tokens(&m.clause_breaks, "clause break")?;
        let address_pronouns = single_tokens(&m.address_pronouns, "address pronoun")?;
        let statement_inversion = single_tokens(&m.statement_inversion, "statement inversion")?;
        let not_a_complaint = single_tokens(&m.not_a_complaint, "not-a-complaint")?;
        let question_words = single_tokens(&m.question_words, "question word")?;
        let question_determiners = single_tokens(&m.question_determiners, "question determiner")?;
        let finite_verbs = single_tokens(&m.finite_verbs, "finite verb")?;
        let question_subjects = single_tokens(&m.question_subjects, "question subject")?;
        let subordinators = single_tokens(&m.subordinators, "subordinator")?;
        let exclamations = single_tokens(&m.exclamations, "exclamation")?;
        let clause_subjects = single_tokens(&m.clause_subjects, "clause subject")?;
        let mut modifiers: WordMap<u8> = WordMap::default();
        for (set, bit) in [
            (&negators, Modifier::NEGATOR),
            (&intensifiers, Modifier::INTENSIFIER),
            (&clause_breaks, Modifier::CLAUSE_BREAK),
            (&question_words, Modifier::QUESTION_WORD),
            (&question_determiners, Modifier::QUESTION_DETERMINER),
            (&finite_verbs, Modifier::FINITE_VERB),
            (&question_subjects, Modifier::QUESTION_SUBJECT),
            (&subordinators, Modifier::SUBORDINATOR),
        ] {
            for word in set {
                *modifiers.entry(word.clone()).or_default() |= bit;
            }
        }
        let phrase_list =
            |list: &[Spanned<String>], what: &str| -> Result<Vec<Vec<String>>, ParseError> {
                let mut out = Vec::new();
                for entry in list {
                    let toks = plain_tokens(entry.get_ref());
                    if toks.is_empty() {
                        return err_at(source, entry.span(), format!("{what} entry is empty"));
                    }
                    out.push(toks);
                }
                Ok(out)
            };
        let greetings = phrase_list(&m.greetings, "greeting")?;
        let closings = phrase_list(&m.closings, "closing")?;
        if m.max_gap > 8 {
            return Err(ParseError {
                line: None,
                message: format!("modifiers.max_gap must be at most 8, got {}", m.max_gap),
            });
        }

        let mut spelling = WordMap::default();
        for (from, to) in &file.spelling {
            let key = plain_tokens(from.get_ref());
            if key.len() != 1 {
                return err_at(
                    source,
                    from.span(),
                    format!("spelling key {:?} must be exactly one word", from.get_ref()),
                );
            }
            let value = plain_tokens(to.get_ref());
            if value.is_empty() {
                return err_at(
                    source,
                    to.span(),
                    format!("spelling of {:?} is empty", from.get_ref()),
                );
            }
            spelling.insert(key.into_iter().next().unwrap_or_default(), value);
        }

        let info = word_info(&modifiers, &spelling, &greetings, &closings);
        let mut lex = Lexicon {
            language,
            score: file.score.clone(),
            negators,
            intensifiers,
            word_filter: WordFilter::of(info.keys()),
            word_info: info,
            modifiers,
            address_pronouns,
            statement_inversion,
            not_a_complaint,
            exclamations,
            clause_subjects,
            greetings,
            closings,
            negation_before: m.negation_before,
            negation_after: m.negation_after,
            max_gap: m.max_gap,
            spelling,
            vocabulary: WordSet::default(),
            patterns: Vec::new(),
            ac_info: Vec::new(),
            part_patterns: Vec::new(),
            part_info: Vec::new(),
            part_lists: Vec::new(),
            personalisation_weight: None,
            // Replaced below once all parts are known.
            automaton: Arc::new(DFA::new([" "]).map_err(|e| ParseError {
                line: None,
                message: e.to_string(),
            })?),
        };

        // Logical parts (a phrase's words between gaps, or a class slot) and
        // the automaton's strings: a class's part has one string per word.
        let mut part_ids: HashMap<String, usize> = HashMap::new();
        let mut class_parts: HashMap<String, usize> = HashMap::new();
        let mut ac_strings: Vec<String> = Vec::new();
        let mut ac_part: Vec<usize> = Vec::new();
        let mut ac_len: Vec<usize> = Vec::new();
        let mut seen: HashSet<(Category, String)> = HashSet::new();
        for group in &file.groups {
            let category =
                Category::from_name(group.category.get_ref()).ok_or_else(|| ParseError {
                    line: Some(line_of(source, group.category.span().start)),
                    message: format!(
                        "unknown category {:?} (known: {})",
                        group.category.get_ref(),
                        Category::names().join(", ")
                    ),
                })?;
            let weight = *group.weight.get_ref();
            if !weight.is_finite() || !(0.0..=10.0).contains(&weight) {
                return err_at(
                    source,
                    group.weight.span(),
                    format!("weight must be between 0 and 10, got {weight}"),
                );
            }
            let negation = match &group.negation {
                None => category.default_negation(),
                Some(s) => match s.get_ref().as_str() {
                    "both" => NegationScope::Both,
                    "before" => NegationScope::Before,
                    "none" => NegationScope::None,
                    other => {
                        return err_at(
                            source,
                            s.span(),
                            format!(
                                "negation must be \"both\", \"before\" or \"none\", got {other:?}"
                            ),
                        )
                    }
                },
            };
            if group.phrases.is_empty() {
                return err_at(
                    source,
                    group.category.span(),
                    "group has no phrases".to_string(),
                );
            }
            for phrase in &group.phrases {
                let (raw, span) = (phrase.get_ref(), phrase.span());
                // Parts between gaps; a class slot is a part of its own.
                let mut parts: Vec<PartSpec> = Vec::new();
                for piece in raw.split("...") {
                    let before = parts.len();
                    let mut rest = piece;
                    while let Some(open) = rest.find('{') {
                        let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                            return err_at(
                                source,
                                span,
                                format!("phrase {raw:?} has an unclosed {{"),
                            );
                        };
                        let toks = normalize::phrase_tokens(&rest[..open], &lex);
                        if !toks.is_empty() {
                            parts.push(PartSpec::Words(toks));
                        }
                        let name = rest[open + 1..close].trim();
                        if !file.classes.contains_key(name) {
                            return err_at(
                                source,
                                span,
                                format!(
                                    "phrase {raw:?} names an unknown class {{{name}}} (known: {})",
                                    file.classes.keys().cloned().collect::<Vec<_>>().join(", ")
                                ),
                            );
                        }
                        parts.push(PartSpec::Class(name.to_string()));
                        rest = &rest[close + 1..];
                    }
                    let toks = normalize::phrase_tokens(rest, &lex);
                    if !toks.is_empty() {
                        parts.push(PartSpec::Words(toks));
                    }
                    if parts.len() == before {
                        return err_at(source, span, format!("phrase {raw:?} has an empty part (a gap `...` must sit between words)"));
                    }
                }
                let key = parts
                    .iter()
                    .map(|p| match p {
                        PartSpec::Words(toks) => toks.join(" "),
                        PartSpec::Class(name) => format!("{{{name}}}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ... ");
                if !seen.insert((category, key.clone())) {
                    return err_at(
                        source,
                        span,
                        format!(
                            "phrase {raw:?} appears twice in category {}",
                            category.name()
                        ),
                    );
                }
                let pattern_id = lex.patterns.len();
                let mut ids = Vec::new();
                for (pos, spec) in parts.iter().enumerate() {
                    let id = match spec {
                        PartSpec::Words(toks) => {
                            lex.vocabulary.extend(toks.iter().cloned());
                            let s = format!(" {} ", toks.join(" "));
                            *part_ids.entry(s.clone()).or_insert_with(|| {
                                lex.part_patterns.push(Vec::new());
                                ac_strings.push(s);
                                ac_part.push(lex.part_patterns.len() - 1);
                                ac_len.push(toks.len());
                                lex.part_patterns.len() - 1
                            })
                        }
                        PartSpec::Class(name) => {
                            if let Some(&id) = class_parts.get(name) {
                                id
                            } else {
                                // One logical part; each of its words is
                                // its own string in the automaton.
                                lex.part_patterns.push(Vec::new());
                                let id = lex.part_patterns.len() - 1;
                                class_parts.insert(name.clone(), id);
                                let mut words_seen = HashSet::new();
                                for word in &file.classes[name] {
                                    let toks = normalize::phrase_tokens(word.get_ref(), &lex);
                                    if toks.is_empty() {
                                        return err_at(
                                            source,
                                            word.span(),
                                            format!("class {name} has an empty word"),
                                        );
                                    }
                                    let s = format!(" {} ", toks.join(" "));
                                    if words_seen.insert(s.clone()) {
                                        lex.vocabulary.extend(toks.iter().cloned());
                                        ac_strings.push(s);
                                        ac_part.push(id);
                                        ac_len.push(toks.len());
                                    }
                                }
                                id
                            }
                        }
                    };
                    lex.part_patterns[id].push((pattern_id, pos));
                    ids.push(id);
                }
                lex.patterns.push(Pattern {
                    category,
                    weight,
                    negation,
                    key: key.into(),
                    parts: ids,
                });
            }
        }
        for word in lex.intensifiers.iter().chain(lex.negators.iter()) {
            lex.vocabulary.insert(word.clone());
        }
        for v in lex.spelling.values() {
            lex.vocabulary.extend(v.iter().cloned());
        }
        let gapped = |p: usize| lex.patterns[p].parts.len() > 1;
        let mut part_info = Vec::with_capacity(lex.part_patterns.len());
        let mut part_lists: Vec<u32> = Vec::new();
        for pp in &lex.part_patterns {
            let single_start = part_lists.len() as u32;
            part_lists.extend(
                pp.iter()
                    .filter(|&&(p, _)| !gapped(p))
                    .map(|&(p, _)| p as u32),
            );
            let gapped_start = part_lists.len() as u32;
            for &(p, pos) in pp {
                if gapped(p) && pos == 0 {
                    let parts = &lex.patterns[p].parts;
                    part_lists.push(p as u32);
                    part_lists.push(parts.len() as u32);
                    part_lists.extend(parts.iter().map(|&part| part as u32));
                }
            }
            part_info.push(PartInfo {
                single: (single_start, gapped_start),
                gapped_first: (gapped_start, part_lists.len() as u32),
                in_gapped: pp.iter().any(|&(p, _)| gapped(p)),
            });
        }
        lex.part_info = part_info;
        lex.part_lists = part_lists;
        lex.personalisation_weight = lex
            .patterns
            .iter()
            .find(|p| p.category == Category::Personalisation)
            .map(|p| p.weight);
        // A DFA, not the contiguous NFA the builder picks for this many
        // patterns: one table lookup per byte instead of following failure
        // transitions (the search was a tenth of `analyze_turn`), for a few
        // MB per language. No prefilter: every string starts with ' ', so
        // the start-byte prefilter stops at every word for nothing.
        lex.automaton = Arc::new(
            DFA::builder()
                .match_kind(MatchKind::Standard)
                .prefilter(false)
                .build(&ac_strings)
                .map_err(|e| ParseError {
                    line: None,
                    message: format!("cannot compile phrases: {e}"),
                })?,
        );
        lex.ac_info = ac_part
            .iter()
            .zip(&ac_len)
            .zip(&ac_strings)
            .map(|((&part, &len), string)| AcString {
                part: part as u32,
                len: len as u32,
                bytes: string.len() as u32,
            })
            .collect();
        Ok(lex)
    }

    /// Rewrite one folded word into matching tokens (chat spelling,
    /// contractions, elongations); each token is passed to `emit` in order.
    pub fn rewrite(&self, word: &str, emit: &mut impl FnMut(&str)) {
        if let Some(rep) = self.spelling.get(word) {
            rep.iter().for_each(|s| emit(s));
            return;
        }
        if word.contains('\'') {
            // Contractions: English n't/'re/'ve/'ll/'m/'d/'s, then drop the
            // apostrophe (Dutch plurals like "auto's").
            for (suffix, expansion) in [
                ("n't", "not"),
                ("'re", "are"),
                ("'ve", "have"),
                ("'ll", "will"),
                ("'m", "am"),
                ("'d", "would"),
            ] {
                if let Some(stem) = word.strip_suffix(suffix) {
                    if !stem.is_empty() {
                        let stem = match (suffix, stem) {
                            ("n't", "ca") => "can",
                            ("n't", "wo") => "will",
                            ("n't", "sha") => "shall",
                            _ => stem,
                        };
                        self.rewrite_plain(stem, emit);
                        emit(expansion);
                        return;
                    }
                }
            }
            if let Some(stem) = word.strip_suffix("'s") {
                if !stem.is_empty() {
                    self.rewrite_plain(stem, emit);
                    if matches!(
                        stem,
                        "it" | "that"
                            | "what"
                            | "there"
                            | "here"
                            | "he"
                            | "she"
                            | "who"
                            | "where"
                            | "how"
                            | "this"
                    ) {
                        emit("is");
                    } else if stem == "let" {
                        emit("us");
                    }
                    return;
                }
            }
            let plain: String = word.chars().filter(|c| *c != '\'').collect();
            if !plain.is_empty() {
                self.rewrite_plain(&plain, emit);
            }
            return;
        }
        if has_elongation(word) {
            self.rewrite_plain(word, emit);
            return;
        }
        emit(word);
    }

    fn rewrite_plain(&self, word: &str, emit: &mut impl FnMut(&str)) {
        if let Some(rep) = self.spelling.get(word) {
            rep.iter().for_each(|s| emit(s));
            return;
        }
        if has_elongation(word) {
            let two = collapse_runs(word, 2);
            let one = collapse_runs(word, 1);
            for candidate in [&two, &one] {
                if let Some(rep) = self.spelling.get(candidate) {
                    rep.iter().for_each(|s| emit(s));
                    return;
                }
                if self.vocabulary.contains(candidate) {
                    emit(candidate);
                    return;
                }
            }
            emit(&one);
            return;
        }
        emit(word);
    }
}

pub(crate) fn has_elongation(word: &str) -> bool {
    let b = word.as_bytes();
    b.windows(3)
        .any(|w| w[0] == w[1] && w[1] == w[2] && w[0].is_ascii_alphabetic())
}

fn collapse_runs(word: &str, keep: usize) -> String {
    // Only runs of three or more letters are chat elongations; real doubles
    // ("heel", "sorry") stay as written.
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < chars.len() {
        let mut j = i;
        while j < chars.len() && chars[j] == chars[i] {
            j += 1;
        }
        let len = j - i;
        let n = if len >= 3 && chars[i].is_alphabetic() {
            keep
        } else {
            len
        };
        for _ in 0..n {
            out.push(chars[i]);
        }
        i = j;
    }
    out
}

fn validate_score(s: &ScoreParams) -> Result<(), ParseError> {
    let bad = |key: &str, why: &str| {
        Err(ParseError {
            line: None,
            message: format!("score.{key} {why}"),
        })
    };
    let finite = [
        ("points_per_weight", s.points_per_weight),
        ("shown_threshold", s.shown_threshold),
        ("intensifier_boost", s.intensifier_boost),
        ("first_message_factor", s.first_message_factor),
        ("overdone_penalty", s.overdone_penalty),
        ("overdone_turn_share", s.overdone_turn_share),
        ("caps_share", s.caps_share),
    ];
    for (key, v) in finite {
        if !v.is_finite() || v < 0.0 {
            return bad(key, "must be a non-negative number");
        }
    }
    if s.points_per_weight == 0.0 || s.points_per_weight > 100.0 {
        return bad("points_per_weight", "must be in (0, 100]");
    }
    if s.shown_threshold <= 0.0 {
        return bad("shown_threshold", "must be positive");
    }
    if s.overdone_turn_share > 1.0 || s.caps_share > 1.0 {
        return bad(
            if s.caps_share > 1.0 {
                "caps_share"
            } else {
                "overdone_turn_share"
            },
            "must be at most 1",
        );
    }
    if s.overdone_repeat_turns < 2 {
        return bad("overdone_repeat_turns", "must be at least 2");
    }
    if s.shouting_exclamations == 0 {
        return bad("shouting_exclamations", "must be at least 1");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_keeps_real_doubles() {
        assert_eq!(collapse_runs("heeeel", 2), "heel");
        assert_eq!(collapse_runs("sooorry", 1), "sorry");
        assert_eq!(collapse_runs("balennnn", 1), "balen");
    }
}
