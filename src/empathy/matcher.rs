//! Phrase matching over normalized tokens: one Aho-Corasick pass finds every
//! lexicon phrase part; gapped phrases are chained within a sentence; then
//! the modifiers a plain phrase list gets wrong are applied — negation scope,
//! statements vs questions, quoted words — and intensifiers are noted.

use super::lexicon::{Lexicon, Modifier, NegationScope};
use super::normalize::Normalized;
use super::{Category, Signal};
use crate::model::Party;
use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;
use std::sync::{Arc, LazyLock};

#[derive(Debug, Clone, Copy)]
struct Hit {
    pattern: usize,
    start: usize,
    end: usize,
    /// Token ranges of the phrase's own words (gaps lie between them): a
    /// range of [`Scratch::parts`], empty for a phrase without gaps.
    parts: (usize, usize),
}

/// Buffers of [`match_turn`], reused between messages.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    hits: Vec<Hit>,
    /// The token ranges of gapped hits' parts (see [`Hit::parts`]).
    parts: Vec<(usize, usize)>,
    /// (part, start token, end token) of the parts gapped phrases use, in
    /// the automaton's order.
    occurrences: Vec<(usize, usize, usize)>,
    /// Per occurrence: the index of its part's next occurrence (`NONE`
    /// for the last), so each part's occurrences are a chain in the
    /// automaton's order, built as they are found (no sort).
    next_occurrence: Vec<usize>,
    /// Per automaton part: its first and last occurrence, valid when the
    /// part was seen in this message (see `part_seen`).
    part_occurrences: Vec<(usize, usize)>,
    /// (end, state) of the special states the automaton entered (see
    /// [`special_states`]), and a buffer for them.
    special: Vec<(usize, StateID)>,
    later_special: Vec<(usize, StateID)>,
    /// Ranges of [`Lexicon::part_lists`]: the gapped phrases whose first
    /// part was found, in the order found.
    gapped: Vec<(u32, u32)>,
    /// Per automaton part: the `generation` of the last message it was
    /// found in.
    part_seen: Vec<u32>,
    generation: u32,
    /// Per byte of the text: the token starting there (see [`hits`]).
    token_at: Vec<u32>,
    kept: Vec<(Hit, bool)>,
    /// (category, start, longest first, index) of the kept hits.
    order: Vec<(usize, usize, std::cmp::Reverse<usize>, usize)>,
    covered: Vec<bool>,
    stock_question_sentences: Vec<u32>,
    opener_sentences: Vec<(u32, usize)>,
    kept_starts: Vec<usize>,
}

impl Scratch {
    pub fn shrink(&mut self, max_bytes: usize) {
        if (self.hits.capacity() + self.kept.capacity()) * std::mem::size_of::<(Hit, bool)>()
            + (self.parts.capacity()
                + self.occurrences.capacity()
                + self.next_occurrence.capacity())
                * 24
            + self.token_at.capacity() * 4
            > max_bytes
        {
            *self = Scratch::default();
        }
    }

    /// The token ranges of a hit's parts.
    fn parts_of(&self, hit: &Hit) -> &[(usize, usize)] {
        &self.parts[hit.parts.0..hit.parts.1]
    }
}

/// Words that are often written capitalized alone between commas but are not
/// a customer's name ("Oké, ...", "Yes, ...").
const NOT_NAMES: &[&str] = &[
    "ok",
    "oke",
    "okay",
    "ja",
    "nee",
    "nou",
    "goed",
    "prima",
    "top",
    "helder",
    "fijn",
    "dus",
    "ah",
    "oh",
    "och",
    "hm",
    "hmm",
    "yes",
    "no",
    "well",
    "so",
    "right",
    "sure",
    "great",
    "thanks",
    "bedankt",
    "hoi",
    "hallo",
    "hi",
    "hello",
    "hey",
    "sorry",
    "oei",
    "jeetje",
    "tja",
    "alright",
    "perfect",
    "perfect",
    "super",
    "mooi",
    "klopt",
    "inderdaad",
    "indeed",
    "absolutely",
    "certainly",
    "natuurlijk",
    "zeker",
    "excuses",
    "dank",
    "thank",
    "please",
    "alstublieft",
    "alsjeblieft",
    "graag",
    "daarom",
    "ook",
    "also",
    "unfortunately",
    "helaas",
    "wow",
    "gosh",
    "ach",
    "echt",
    "really",
    "again",
    "weer",
];

/// Discourse fillers that may precede a question opener in speech.
const FILLERS: &[&str] = &[
    "ja", "oke", "ok", "nou", "en", "dus", "dan", "goed", "prima", "so", "and", "right", "well",
    "alright", "yes", "eh", "uh", "uhm", "hm", "euh", "now",
];

/// An inverted verb and "you"/"u" inside an unpunctuated run of speech
/// ("ok i see it can you read me the postcode"): a question where no
/// question mark was written, unless the word before makes it a statement.
/// The word lists are the lexicon's `address_pronouns` and
/// `statement_inversion`.
fn spoken_inversion(n: &Normalized, lex: &Lexicon, hit: &Hit) -> bool {
    let sentence = n.tokens[hit.start].sentence as usize;
    hit.end == hit.start + 2
        && hit.start > 0
        && n.sentences.get(sentence).is_some_and(|s| !s.terminated)
        && lex.address_pronouns.contains(n.token_text(hit.start + 1))
        && !lex
            .statement_inversion
            .contains(n.token_text(hit.start - 1))
}

/// A question told by word order alone in an unpunctuated run of speech:
/// a question word, a finite verb and a subject ("dat kan wat is uw
/// pasnummer", "what's the reference on the letter"), a question
/// determiner with one word between ("welke dag komt u", "how long have
/// you"). An embedded clause puts its subject before the verb ("ik kijk wat er mis
/// is", "I'll check what the problem is"), so it is no question.
fn word_order_question(n: &Normalized, first: usize, end: usize) -> bool {
    let has = |i: usize, bit: u8| i < end && n.tokens[i].modifiers & bit != 0;
    let same = |a: usize, b: usize| b < end && !n.tokens[b].quoted && same_clause(n, a, b);
    (first..end).any(|i| {
        if n.tokens[i].quoted {
            return false;
        }
        let wh = has(i, Modifier::QUESTION_WORD | Modifier::QUESTION_DETERMINER)
            && has(i + 1, Modifier::FINITE_VERB)
            && has(i + 2, Modifier::QUESTION_SUBJECT)
            && same(i, i + 2);
        let determiner = has(i, Modifier::QUESTION_DETERMINER)
            && has(i + 2, Modifier::FINITE_VERB)
            && has(i + 3, Modifier::QUESTION_SUBJECT)
            && same(i, i + 3);
        wh || determiner
    })
}

const TITLES: &[&str] = &[
    "meneer", "mevrouw", "dhr", "mevr", "mr", "mrs", "ms", "miss", "heer", "mw", "mister", "madam",
];

pub(crate) struct TurnMatch {
    pub signals: Vec<Signal>,
    pub questions: u32,
}

/// Every lexicon phrase in the text, into `s.hits`: single-part phrases in
/// the automaton's order, then gapped ones by their first part's order.
fn hits(n: &Normalized, lex: &Lexicon, s: &mut Scratch) {
    let Scratch {
        hits: out,
        parts: part_ranges,
        occurrences,
        next_occurrence,
        part_occurrences,
        gapped,
        part_seen,
        generation,
        token_at,
        special,
        later_special,
        ..
    } = s;
    // The token starting at each byte of the text (u32::MAX: none), so a
    // match finds its token without a search.
    token_at.clear();
    token_at.resize(n.text.len() + 1, u32::MAX);
    for (i, t) in n.tokens.iter().enumerate() {
        token_at[t.start as usize] = i as u32;
    }
    out.clear();
    part_ranges.clear();
    occurrences.clear();
    next_occurrence.clear();
    gapped.clear();
    // A generation stamp per part marks the parts seen in this message
    // without clearing a table per message.
    *generation = generation.wrapping_add(1);
    if *generation == 0 || part_seen.len() < lex.part_info.len() {
        let len = part_seen.len().max(lex.part_info.len());
        part_seen.clear();
        part_seen.resize(len, 0);
        part_occurrences.clear();
        part_occurrences.resize(len, (NONE, NONE));
        *generation = 1;
    }
    // The automaton's overlapping search, stepped here rather than through
    // its match iterator (whose per-match call and state bookkeeping cost
    // as much as the scan): the same transitions and the same matches in
    // the same order, each state's matches in its own order. Its start
    // state matches nothing (no string is empty).
    let dfa = &*lex.automaton;
    special_states(dfa, n.text.as_bytes(), special, later_special);
    for &(end, sid) in special.iter() {
        if dfa.is_dead(sid) {
            break;
        }
        if !dfa.is_match(sid) {
            continue;
        }
        for index in 0..dfa.match_len(sid) {
            let string = lex.ac_info[dfa.match_pattern(sid, index).as_usize()];
            let string_start = end - string.bytes as usize;
            let part = string.part as usize;
            let Some(start) = token_at
                .get(string_start + 1)
                .and_then(|&t| (t != u32::MAX).then_some(t as usize))
            else {
                continue;
            };
            let end = start + string.len as usize;
            let info = lex.part_info[part];
            let single = &lex.part_lists[info.single.0 as usize..info.single.1 as usize];
            out.extend(single.iter().map(|&pattern| Hit {
                pattern: pattern as usize,
                start,
                end,
                parts: (0, 0),
            }));
            if info.in_gapped {
                // The gapped phrases a part starts are noted at its first
                // occurrence (a phrase has one first part, so no phrase is
                // noted twice).
                let occurrence = occurrences.len();
                if part_seen[part] != *generation {
                    part_seen[part] = *generation;
                    if info.gapped_first.0 < info.gapped_first.1 {
                        gapped.push(info.gapped_first);
                    }
                    part_occurrences[part].0 = occurrence;
                } else {
                    next_occurrence[part_occurrences[part].1] = occurrence;
                }
                part_occurrences[part].1 = occurrence;
                occurrences.push((part, start, end));
                next_occurrence.push(NONE);
            }
        }
    }
    if gapped.is_empty() {
        return;
    }
    // Each gapped phrase looks up only its parts' occurrences, not all of
    // them (that scan was the matcher's largest own cost), through the
    // chain of a part seen in this message.
    let of_part = |part: usize| {
        std::iter::successors(Some(part_occurrences[part].0), |&o| {
            Some(next_occurrence[o]).filter(|&next| next != NONE)
        })
    };
    for &(lo, hi) in gapped.iter() {
        // Each entry: the pattern's id, its number of parts, its parts.
        let mut entries = &lex.part_lists[lo as usize..hi as usize];
        while let [pattern, count, rest @ ..] = entries {
            let (parts, after) = rest.split_at(*count as usize);
            entries = after;
            let pattern = *pattern as usize;
            // Most gapped phrases a common first word starts ("i ...") lack a
            // later part in this message: rejected without any lookup.
            if parts[1..]
                .iter()
                .any(|&p| part_seen[p as usize] != *generation)
            {
                continue;
            }
            'first: for first in of_part(parts[0] as usize) {
                let (_, s0, e0) = occurrences[first];
                let sentence = n.tokens[s0].sentence;
                let mark = part_ranges.len();
                part_ranges.push((s0, e0));
                let mut cur = e0;
                for &part in &parts[1..] {
                    // The nearest occurrence within the gap; of equal starts
                    // the first found.
                    let mut next: Option<(usize, usize)> = None;
                    for o in of_part(part as usize) {
                        let (_, st, en) = occurrences[o];
                        if st >= cur
                            && st - cur <= lex.max_gap
                            && n.tokens[st].sentence == sentence
                            && next.is_none_or(|(best, _)| st < best)
                        {
                            next = Some((st, en));
                        }
                    }
                    match next {
                        Some((st, en)) => {
                            part_ranges.push((st, en));
                            cur = en;
                        }
                        None => {
                            part_ranges.truncate(mark);
                            continue 'first;
                        }
                    }
                }
                out.push(Hit {
                    pattern,
                    start: s0,
                    end: cur,
                    parts: (mark, part_ranges.len()),
                });
            }
        }
    }
}

/// No occurrence (the end of a part's chain, see [`Scratch::next_occurrence`]).
const NONE: usize = usize::MAX;

/// The special states (matches, or the dead state) the automaton enters
/// over `text` from its start state, with the position after the byte that
/// led to each, in text order, into `out` (`later` is a buffer).
///
/// Each step waits for the previous one's table lookup, a cache miss more
/// often than not in a table of a few MB, so the text is stepped as two
/// halves at once: two independent chains of lookups overlap in time. The
/// halves meet after a '|', the sentence separator, which no automaton
/// string contains: after it the automaton is in its start state whatever
/// came before, so the second half, stepped from the start state, goes
/// through the same states as one scan of the whole text.
#[inline(never)]
fn special_states(
    dfa: &DFA,
    text: &[u8],
    out: &mut Vec<(usize, StateID)>,
    later: &mut Vec<(usize, StateID)>,
) {
    out.clear();
    later.clear();
    let start = dfa
        .start_state(Anchored::No)
        .expect("the automaton is built for unanchored search");
    let middle = text.len() / 2;
    let split = text[middle..]
        .iter()
        .position(|&b| b == b'|')
        .map(|i| middle + i + 1)
        .or_else(|| {
            text[..middle]
                .iter()
                .rposition(|&b| b == b'|')
                .map(|i| i + 1)
        })
        .unwrap_or(text.len());
    let (first, second) = text.split_at(split);
    let (mut a, mut b) = (start, start);
    for (i, (&x, &y)) in first.iter().zip(second).enumerate() {
        a = dfa.next_state(Anchored::No, a, x);
        b = dfa.next_state(Anchored::No, b, y);
        if dfa.is_special(a) {
            out.push((i + 1, a));
        }
        if dfa.is_special(b) {
            later.push((split + i + 1, b));
        }
    }
    let both = first.len().min(second.len());
    for (i, &x) in first.iter().enumerate().skip(both) {
        a = dfa.next_state(Anchored::No, a, x);
        if dfa.is_special(a) {
            out.push((i + 1, a));
        }
    }
    for (i, &y) in second.iter().enumerate().skip(both) {
        b = dfa.next_state(Anchored::No, b, y);
        if dfa.is_special(b) {
            later.push((split + i + 1, b));
        }
    }
    out.append(later);
}

fn same_clause(n: &Normalized, a: usize, b: usize) -> bool {
    n.tokens[a].sentence == n.tokens[b].sentence && n.tokens[a].clause == n.tokens[b].clause
}

/// A negator, unless an interjection makes it an exclamation ("oh no").
fn negates(n: &Normalized, lex: &Lexicon, i: usize) -> bool {
    is_negator(n, i) && !(i > 0 && lex.exclamations.contains(n.token_text(i - 1)))
}

fn is_negator(n: &Normalized, i: usize) -> bool {
    n.tokens[i].modifiers & Modifier::NEGATOR != 0
}

fn is_negated(
    n: &Normalized,
    lex: &Lexicon,
    hit: &Hit,
    parts: &[(usize, usize)],
    scope: NegationScope,
) -> bool {
    if scope == NegationScope::None {
        return false;
    }
    // A negator inside a gap ("ik kan me niet voorstellen").
    for w in parts.windows(2) {
        if (w[0].1..w[1].0).any(|i| negates(n, lex, i)) {
            return true;
        }
    }
    // A phrase that opens with its own subject ("ik snap", "we understand")
    // starts a clause: a negator before it belongs to the clause before ("da's
    // geen klein bedrag ik snap da ge daarvan verschiet"). Looked up only
    // when a negator stands there: most phrases have none.
    let negated_before = (hit.start.saturating_sub(lex.negation_before)..hit.start)
        .rev()
        .take_while(|&i| same_clause(n, i, hit.start))
        .any(|i| negates(n, lex, i));
    if negated_before && !lex.clause_subjects.contains(n.token_text(hit.start)) {
        return true;
    }
    if scope == NegationScope::Both {
        for i in hit.end..(hit.end + lex.negation_after).min(n.tokens.len()) {
            let opens_clause = n.tokens[i].modifiers
                & (Modifier::SUBORDINATOR
                    | Modifier::QUESTION_WORD
                    | Modifier::QUESTION_DETERMINER)
                != 0;
            if !same_clause(n, i, hit.end - 1) || opens_clause {
                break;
            }
            if negates(n, lex, i) {
                return true;
            }
        }
    }
    false
}

fn is_intensified(n: &Normalized, hit: &Hit, parts: &[(usize, usize)]) -> bool {
    let s = &n.sentences[n.tokens[hit.start].sentence as usize];
    if s.exclaim_run >= 2 {
        return true;
    }
    let before = (hit.start.saturating_sub(2)..hit.start).filter(|&i| same_clause(n, i, hit.start));
    let inside = parts.windows(2).flat_map(|w| w[0].1..w[1].0);
    before
        .chain(inside)
        .any(|i| n.tokens[i].modifiers & Modifier::INTENSIFIER != 0)
}

/// Match one normalized message against the lexicon for `party`.
/// Whether signals carry the words they matched (for `contact-kpi score`)
/// or not (the engine, which keeps no text: building them was a twentieth
/// of the analyzer's time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvidenceWords {
    Kept,
    Omitted,
}

impl EvidenceWords {
    fn words(self, n: &Normalized, start: usize, end: usize) -> String {
        match self {
            EvidenceWords::Kept => n.words(start, end),
            EvidenceWords::Omitted => String::new(),
        }
    }
}

/// The phrases of the signals that no lexicon phrase makes, shared like the
/// lexicon's (a signal costs no copy of its phrase).
static NEGATED_PHRASE: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("{negated}"));
static NAME_PHRASE: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("(name)"));

pub(crate) fn match_turn(
    n: &Normalized,
    lex: &Lexicon,
    party: Party,
    evidence: EvidenceWords,
    scratch: &mut Scratch,
) -> TurnMatch {
    hits(n, lex, scratch);
    let mut kept = std::mem::take(&mut scratch.kept);
    let mut stock_question_sentences = std::mem::take(&mut scratch.stock_question_sentences);
    let mut opener_sentences = std::mem::take(&mut scratch.opener_sentences);
    kept.clear();
    stock_question_sentences.clear();
    opener_sentences.clear();
    for &hit in &scratch.hits {
        let parts = scratch.parts_of(&hit);
        let pattern = &lex.patterns[hit.pattern];
        let cat = pattern.category;
        if (hit.start..hit.end).any(|i| n.tokens[i].quoted) {
            continue; // the customer's (or anyone's) quoted words
        }
        match cat {
            Category::StockQuestion => {
                stock_question_sentences.push(n.tokens[hit.start].sentence);
                continue;
            }
            Category::QuestionOpener => {
                // Unpunctuated speech: an opener at the start of a clause,
                // after at most one filler ("ja, wat is uw postcode").
                let clause_start = |i: usize| i == 0 || !same_clause(n, i - 1, i);
                let at_start = clause_start(hit.start)
                    || (FILLERS.contains(&n.token_text(hit.start - 1))
                        && clause_start(hit.start - 1));
                if at_start || spoken_inversion(n, lex, &hit) {
                    opener_sentences.push((n.tokens[hit.start].sentence, hit.start));
                }
                continue;
            }
            _ => {}
        }
        if cat.is_customer() != (party == Party::Customer) {
            continue;
        }
        if cat.statement_only() && n.in_question_clause(hit.start) {
            continue; // "Begrijp ik goed dat ...?" checks, it does not empathize
        }
        if is_negated(n, lex, &hit, parts, pattern.negation) {
            continue;
        }
        let intensified = cat.is_positive() && is_intensified(n, &hit, parts);
        kept.push((hit, intensified));
    }
    // Within a category a phrase inside a longer matched phrase is the same
    // signal ("het spijt me" in "het spijt me te horen"); of equal spans the
    // first counts. One sweep per category in (start, longest first) order:
    // a hit is covered when an earlier one in that order reaches as far, so
    // the work grows with n log n in the hits, not n² (a message repeating a
    // phrase thousands of times must not stall its partition).
    // The sort keys are computed once, not in every comparison (the index
    // makes each key distinct: an unstable sort gives the same order).
    let order = &mut scratch.order;
    order.clear();
    order.extend(kept.iter().enumerate().map(|(i, (h, _))| {
        let category = lex.patterns[h.pattern].category as usize;
        (category, h.start, std::cmp::Reverse(h.end), i)
    }));
    order.sort_unstable();
    let covered = &mut scratch.covered;
    covered.clear();
    covered.resize(kept.len(), false);
    let mut reach: Option<(usize, usize)> = None; // (category, furthest end)
    for &(category, _, std::cmp::Reverse(h_end), i) in order.iter() {
        match reach {
            Some((c, end)) if c == category => {
                covered[i] = end >= h_end;
                reach = Some((c, end.max(h_end)));
            }
            _ => reach = Some((category, h_end)),
        }
    }
    let mut signals = Vec::with_capacity(kept.len() + 1);
    for (idx, (hit, intensified)) in kept.iter().enumerate() {
        let cat = lex.patterns[hit.pattern].category;
        if covered[idx] {
            continue;
        }
        let pattern = &lex.patterns[hit.pattern];
        signals.push(Signal {
            category: cat,
            phrase: pattern.key.clone(),
            words: evidence.words(n, hit.start, hit.end),
            weight: pattern.weight as f32,
            intensified: *intensified,
        });
    }
    let mut questions = 0;
    if party == Party::Customer && !signals.iter().any(|s| s.category.is_customer()) {
        negated_expectation(n, lex, evidence, &mut signals);
    }
    if party == Party::Agent {
        personalisation(n, lex, evidence, &mut signals);
        // Sorted, so each sentence looks its own up in log time (a text of
        // thousands of sentences must not cost sentences × hits).
        let kept_starts = &mut scratch.kept_starts;
        kept_starts.clear();
        kept_starts.extend(kept.iter().map(|(h, _)| h.start));
        kept_starts.sort_unstable();
        stock_question_sentences.sort_unstable();
        let openers = &mut opener_sentences;
        openers.sort_unstable();
        for (si, s) in n.sentences.iter().enumerate() {
            let si = si as u32;
            if s.quoted || s.first == s.end {
                continue;
            }
            // "wat vervelend" opens like a question ("wat ...") but exclaims.
            let exclaims = |start: usize| kept_starts.binary_search(&start).is_ok();
            let first = openers.partition_point(|&(os, _)| os < si);
            let spoken_question = !s.terminated
                && openers[first..]
                    .iter()
                    .take_while(|&&(os, _)| os == si)
                    .any(|&(_, start)| !exclaims(start));
            let question = s.question
                || spoken_question
                || (!s.terminated && word_order_question(n, s.first as usize, s.end as usize));
            if question && stock_question_sentences.binary_search(&si).is_err() {
                questions += 1;
            }
        }
    }
    // A message packed with phrases is judged on its first ones: every
    // judgement needs a handful, and the features of each message are kept
    // in state (and its changelog) until the contact ends.
    signals.truncate(MAX_SIGNALS_PER_TURN);
    scratch.kept = kept;
    scratch.stock_question_sentences = stock_question_sentences;
    scratch.opener_sentences = opener_sentences;
    TurnMatch { signals, questions }
}

/// Most signals one message keeps.
pub const MAX_SIGNALS_PER_TURN: usize = 32;

/// A customer who says what did not happen, does not work or cannot be done
/// ("the fridge isn't cooling", "ik heb mijn waarborg nog altijd niet
/// teruggekregen") voices trouble in words no phrase list holds: a negator
/// followed by a word of its clause, unless it is a politeness ("no
/// problem", "niet nodig": the lexicon's `not_a_complaint`).
fn negated_expectation(
    n: &Normalized,
    lex: &Lexicon,
    evidence: EvidenceWords,
    signals: &mut Vec<Signal>,
) {
    for i in 0..n.tokens.len().saturating_sub(1) {
        if is_negator(n, i)
            && same_clause(n, i, i + 1)
            && !n.tokens[i].quoted
            && !lex.not_a_complaint.contains(n.token_text(i + 1))
        {
            signals.push(Signal {
                category: Category::Trouble,
                phrase: NEGATED_PHRASE.clone(),
                words: evidence.words(n, i, i + 2),
                weight: 1.0,
                intensified: false,
            });
            return;
        }
    }
}

/// The customer's name: a title followed by a capitalized word ("meneer
/// Jansen"), or a capitalized word alone between commas ("Sanne, ..."). The
/// name itself is not kept: no personal data in the engine's state.
fn personalisation(
    n: &Normalized,
    lex: &Lexicon,
    evidence: EvidenceWords,
    signals: &mut Vec<Signal>,
) {
    let Some(pattern_weight) = lex.personalisation_weight else {
        return;
    };
    for i in 0..n.tokens.len() {
        let t = &n.tokens[i];
        if t.quoted {
            continue;
        }
        let before_capital = i + 1 < n.tokens.len()
            && n.tokens[i + 1].capitalized
            && n.tokens[i + 1].sentence == t.sentence;
        if !before_capital && !t.capitalized {
            continue; // neither a title before a name nor a name
        }
        let word = n.token_text(i);
        let titled = before_capital && TITLES.contains(&word);
        let vocative = t.capitalized && {
            let alone = (i == 0 || !same_clause(n, i - 1, i))
                && (i + 1 == n.tokens.len() || !same_clause(n, i, i + 1));
            let s = &n.sentences[t.sentence as usize];
            alone
                && s.end - s.first > 1
                && word.len() >= 3
                && word.chars().all(char::is_alphabetic)
                && !NOT_NAMES.contains(&word)
                && !lex.vocabulary.contains(word)
                && !lex.spelling.contains_key(word)
        };
        if titled || vocative {
            signals.push(Signal {
                category: Category::Personalisation,
                phrase: NAME_PHRASE.clone(),
                words: match evidence {
                    EvidenceWords::Omitted => String::new(),
                    EvidenceWords::Kept if titled => format!("{word} (name)"),
                    EvidenceWords::Kept => "(name)".to_string(),
                },
                weight: pattern_weight as f32,
                intensified: false,
            });
            return;
        }
    }
}
