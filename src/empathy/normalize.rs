//! Normalization of contact-center text into tokens the matcher can trust.
//!
//! Real messages are messy: e-mails carry quoted earlier mails, greetings and
//! signatures that are not the agent's own words; chat has "snap t",
//! "sorry!!", "ff", elongations and emoji; customers shout in capitals; quoted
//! customer words are not the agent's empathy. This module strips the e-mail
//! structure, folds case and diacritics (NFKD), rewrites chat spelling through
//! the lexicon's spelling map, and records for every token its sentence,
//! clause and whether it sits inside quotes.

use super::lexicon::{has_elongation, Lexicon, Modifier};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Case and diacritics folding of one character, appended to `out`.
#[inline]
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c.to_ascii_lowercase());
        return;
    }
    match c {
        '\u{2019}' | '\u{2018}' | '\u{201B}' | '\u{00B4}' | '\u{0060}' | '\u{2032}' => {
            out.push('\'')
        }
        'ß' => out.push_str("ss"),
        'æ' | 'Æ' => out.push_str("ae"),
        'œ' | 'Œ' => out.push_str("oe"),
        'ø' | 'Ø' => out.push('o'),
        'ł' | 'Ł' => out.push('l'),
        'đ' | 'Đ' => out.push('d'),
        _ => decompose_compatible(c, |d| {
            if !is_combining_mark(d) {
                for l in d.to_lowercase() {
                    out.push(l);
                }
            }
        }),
    }
}

/// Lowercase, NFKD, diacritics removed.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    fold_into(text, &mut out);
    out
}

/// [`fold`], appended to `out`. ASCII text (the common case) only needs
/// lowercasing: NFKD leaves it unchanged.
#[inline]
pub(crate) fn fold_into(text: &str, out: &mut String) {
    if text.is_ascii() {
        let start = out.len();
        out.push_str(text);
        out[start..].make_ascii_lowercase();
        return;
    }
    for c in text.chars() {
        fold_char(c, out);
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{2018}' | '\u{201B}' | '\u{00B4}' | '`'
    )
}

/// Emoji that carry a feeling become pseudo-words the lexicons can list.
fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        '😡' | '😠' | '🤬' | '👿' | '💢' | '🖕' => "emo_angry",
        '😢' | '😭' | '😞' | '😔' | '☹' | '🙁' | '😩' | '😫' | '😤' | '😿' | '💔' => {
            "emo_sad"
        }
        '❤' | '♥' | '💕' | '💖' | '💗' | '💓' | '😘' | '😍' | '🥰' | '😚' | '💋' | '🤗' | '😙'
        | '💞' => "emo_love",
        _ => return None,
    })
}

/// Abbreviations whose trailing period does not end a sentence.
fn is_abbreviation(word: &str) -> bool {
    matches!(
        word,
        "dhr"
            | "mevr"
            | "mr"
            | "mrs"
            | "ms"
            | "dr"
            | "st"
            | "nr"
            | "no"
            | "bijv"
            | "ca"
            | "evt"
            | "vs"
            | "etc"
            | "incl"
            | "excl"
            | "tel"
            | "ing"
            | "ir"
            | "mw"
            | "hr"
    )
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Tok {
    /// Byte range of the token in [`Normalized::text`].
    pub start: u32,
    pub end: u32,
    /// Index into [`Normalized::surfaces`]: the word as written (folded).
    pub surface: u32,
    pub sentence: u32,
    pub clause: u32,
    pub quoted: bool,
    pub capitalized: bool,
    /// The token's [`Modifier`] bits (negator, intensifier, clause break).
    pub modifiers: u8,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sentence {
    pub first: u32,
    pub end: u32,
    /// Ended with a `?`.
    pub question: bool,
    /// Ended with punctuation at all (voice transcripts often have none).
    pub terminated: bool,
    /// Longest run of `!` at its end.
    pub exclaim_run: u32,
    /// All its tokens were inside quotes.
    pub quoted: bool,
}

/// One message, normalized.
#[derive(Debug, Default)]
pub(crate) struct Normalized {
    /// Matching text: `" tok tok | tok "`; `|` separates sentences so no
    /// phrase spans two of them.
    pub text: String,
    pub tokens: Vec<Tok>,
    /// Folded surface words (before the spelling rewrite), for evidence.
    pub folded: String,
    pub surfaces: Vec<(u32, u32)>,
    pub sentences: Vec<Sentence>,
    pub letters: u32,
    pub upper: u32,
    pub exclamations: u32,
    pub max_exclaim_run: u32,
}

impl Normalized {
    pub fn token_text(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.text[t.start as usize..t.end as usize]
    }

    pub fn surface(&self, i: usize) -> &str {
        let (a, b) = self.surfaces[i];
        &self.folded[a as usize..b as usize]
    }

    /// Whether token `i` lies in the last clause of a sentence ending in `?`.
    pub fn in_question_clause(&self, i: usize) -> bool {
        let t = &self.tokens[i];
        let s = &self.sentences[t.sentence as usize];
        if !s.question {
            return false;
        }
        let last = &self.tokens[s.end as usize - 1];
        last.clause == t.clause
    }

    /// Surface words of tokens `a..b`, for evidence.
    pub fn words(&self, a: usize, b: usize) -> String {
        let mut out = String::with_capacity(8 * (b - a) + 8);
        let mut last = u32::MAX;
        for t in &self.tokens[a..b] {
            if t.surface != last {
                if !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(self.surface(t.surface as usize));
                last = t.surface;
            }
        }
        out
    }
}

/// Tokens of a lexicon phrase part, rewritten like message text.
pub(crate) fn phrase_tokens(text: &str, lex: &Lexicon) -> Vec<String> {
    let n = normalize_body(text, lex, false);
    (0..n.tokens.len())
        .map(|i| n.token_text(i).to_string())
        .collect()
}

/// The agent's or customer's own words of a message: quoted earlier mails,
/// `>` lines and signatures removed.
pub(crate) fn strip_email<'t>(text: &'t str, lex: &Lexicon) -> std::borrow::Cow<'t, str> {
    if !text.contains('\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let lines: Vec<&str> = text.lines().collect();
    let folded: Vec<String> = lines.iter().map(|l| fold(l.trim())).collect();
    let mut kept: Vec<&str> = Vec::with_capacity(lines.len());
    for (i, l) in folded.iter().enumerate() {
        if l.starts_with('>') {
            continue;
        }
        if is_quote_header(&folded, i) || is_signature_start(l, lex) {
            break;
        }
        kept.push(lines[i]);
    }
    std::borrow::Cow::Owned(kept.join("\n"))
}

/// Text that is not language, blanked before judging: URLs (a `?` in a
/// query string is no question, `?language=en_US` no behaviour named),
/// e-mail addresses, @handles, and codes that mix letters and digits
/// (tracking and order numbers, whose capitals are no shouting). Sentence
/// punctuation right after them is kept. Hashtags stay words ("#fail").
pub(crate) fn strip_non_language(text: &str) -> std::borrow::Cow<'_, str> {
    let suspicious = text.bytes().any(|b| matches!(b, b'/' | b'@' | b'0'..=b'9'))
        || text.contains("www.")
        || text.contains("WWW.");
    if !suspicious {
        return std::borrow::Cow::Borrowed(text);
    }
    // Built only once a chunk is blanked: most texts with digits or a slash
    // ("5 weken", "en/of") have nothing to blank and are not copied.
    let mut out: Option<String> = None;
    let mut pos = 0;
    for chunk in text.split(char::is_whitespace) {
        // The chunk's byte offset in `text` (split yields subslices of it).
        let start = chunk.as_ptr() as usize - text.as_ptr() as usize;
        // Trailing sentence punctuation belongs to the sentence.
        let core = chunk.trim_end_matches(['.', ',', '!', '?', ';', ':', ')', '"', '\'']);
        let core_start = core.trim_start_matches(['(', '"', '\'', '<']);
        if is_non_language(core_start) {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            let lead = core.len() - core_start.len();
            out.push_str(&text[pos..start + lead]);
            pos = start + core.len();
        }
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[pos..]);
            std::borrow::Cow::Owned(out)
        }
        None => std::borrow::Cow::Borrowed(text),
    }
}

fn is_non_language(w: &str) -> bool {
    if w.is_empty() {
        return false;
    }
    let lower_starts = |p: &str| w.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    if w.contains("://") || lower_starts("www.") {
        return true;
    }
    // A bare domain with a path or query: "bol.com/help?x=1".
    if let Some(slash) = w.find('/') {
        if w[..slash].contains('.')
            && w[..slash]
                .chars()
                .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
        {
            return true;
        }
    }
    if let Some(at) = w.find('@') {
        // @handle, or name@domain.
        return at == 0 && w.len() > 1 || (at > 0 && w[at + 1..].contains('.'));
    }
    // Codes: letters and digits mixed, at least 6 characters ("1Z999AA1",
    // "NL12ABCD", "ORD-20240512"); "2e", "3x" or "10am" are short words.
    let (mut letters, mut digits) = (0usize, 0usize);
    for c in w.chars() {
        if c.is_alphabetic() {
            letters += 1;
        } else if c.is_ascii_digit() {
            digits += 1;
        }
    }
    letters > 0 && digits > 0 && letters + digits >= 6
}

fn words_of(line: &str) -> impl Iterator<Item = &str> + Clone {
    line.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
}

fn is_quote_header(folded: &[String], i: usize) -> bool {
    let l = folded[i].as_str();
    let next = folded.get(i + 1).map(String::as_str).unwrap_or("");
    // "Op 3 jun. 2024 om 10:12 schreef Jan <jan@x.nl>:", "On Mon, ... wrote:"
    // (mail clients wrap these over two lines).
    if l.starts_with("op ") || l.starts_with("on ") || l.starts_with("am ") || l.starts_with("le ")
    {
        let joined = format!("{l} {next}");
        let has_verb = ["schreef", "wrote", "schrieb", "a ecrit"]
            .iter()
            .any(|v| joined.contains(v));
        if has_verb && (l.ends_with(':') || next.ends_with(':')) {
            return true;
        }
    }
    if (l.starts_with('-') || l.starts_with('_') || l.starts_with("begin") || l.starts_with('='))
        && [
            "original message",
            "oorspronkelijk bericht",
            "origineel bericht",
            "forwarded message",
            "doorgestuurd bericht",
            "reply message",
        ]
        .iter()
        .any(|m| l.contains(m))
    {
        return true;
    }
    if l.len() >= 10 && l.chars().all(|c| c == '_') {
        return true;
    }
    if l.starts_with("van:") || l.starts_with("from:") {
        let heads = [
            "verzonden:",
            "sent:",
            "datum:",
            "date:",
            "aan:",
            "to:",
            "onderwerp:",
            "subject:",
        ];
        return folded[i + 1..]
            .iter()
            .take(4)
            .any(|n| heads.iter().any(|h| n.starts_with(h)));
    }
    false
}

fn is_signature_start(l: &str, lex: &Lexicon) -> bool {
    if l == "--" || l == "-- " {
        return true;
    }
    let words = words_of(l);
    let Some(first) = words.clone().next() else {
        return false;
    };
    let count = words.clone().count();
    lex.closings.iter().any(|c| {
        count >= c.len()
            && count <= c.len() + 4
            && c.first().is_some_and(|w| w == first)
            && words.clone().zip(c).all(|(a, b)| a == b)
    })
}

/// Quote spans (byte ranges of the text between the quote marks).
fn quote_spans<C: CharSeq + ?Sized>(chars: &C) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut open_double: Option<usize> = None;
    let mut open_single: Option<usize> = None;
    let alnum = |k: usize| chars.get(k).is_some_and(|(_, c)| c.is_alphanumeric());
    for k in 0..chars.len() {
        let (i, c) = chars.at(k);
        match c {
            '"' | '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' => {
                let closing = matches!(c, '\u{201D}' | '\u{00BB}' | '"');
                match open_double {
                    Some(start) if closing => {
                        spans.push((start, i));
                        open_double = None;
                    }
                    None if c != '\u{201D}' && c != '\u{00BB}' => {
                        open_double = Some(i + c.len_utf8())
                    }
                    _ => {}
                }
            }
            c if is_apostrophe(c) => {
                let prev_alnum = k > 0 && alnum(k - 1);
                let next_alnum = alnum(k + 1);
                if prev_alnum && next_alnum {
                    continue; // don't, auto's
                }
                if open_single.is_some()
                    && !next_alnum
                    && k > 0
                    && !chars.at(k - 1).1.is_whitespace()
                {
                    spans.push((open_single.unwrap_or(0), i));
                    open_single = None;
                } else if !prev_alnum && next_alnum && open_single.is_none() {
                    // 't, 'k, 's, 'n, 'm are Dutch elisions, not quotes.
                    let elision = !alnum(k + 2)
                        && chars.get(k + 1).is_some_and(|(_, n)| {
                            matches!(n, 't' | 'k' | 's' | 'n' | 'm' | 'T' | 'K' | 'S')
                        });
                    if !elision {
                        open_single = Some(i + c.len_utf8());
                    }
                }
            }
            _ => {}
        }
    }
    spans
}

/// Indexed access to a message's characters with their byte offsets:
/// [`AsciiChars`] for ASCII text (offset = index, no decoding), else the
/// decoded `(offset, char)` pairs.
trait CharSeq {
    fn len(&self) -> usize;
    fn at(&self, k: usize) -> (usize, char);
    #[inline]
    fn get(&self, k: usize) -> Option<(usize, char)> {
        (k < self.len()).then(|| self.at(k))
    }
}

impl CharSeq for [(usize, char)] {
    #[inline]
    fn len(&self) -> usize {
        <[(usize, char)]>::len(self)
    }
    #[inline]
    fn at(&self, k: usize) -> (usize, char) {
        self[k]
    }
}

struct AsciiChars<'a>(&'a [u8]);

impl CharSeq for AsciiChars<'_> {
    #[inline]
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn at(&self, k: usize) -> (usize, char) {
        (k, char::from(self.0[k]))
    }
}

struct Builder<'l> {
    lex: &'l Lexicon,
    n: Normalized,
    sentence_open: bool,
    clause: u32,
    clause_has_tokens: bool,
    /// Scratch buffer for the folded word, reused across words.
    word: String,
}

impl<'l> Builder<'l> {
    fn push_word(&mut self, raw: &str, quoted: bool, capitalized: bool, rewrite: bool) {
        let mut word = std::mem::take(&mut self.word);
        word.clear();
        fold_into(raw, &mut word);
        if word.contains('.') && word.split('.').all(|p| p.chars().count() <= 1) {
            word.retain(|c| c != '.');
        }
        if !word.is_empty() {
            let start = self.n.folded.len() as u32;
            self.n.folded.push_str(&word);
            let surface = self.n.surfaces.len() as u32;
            self.n.surfaces.push((start, self.n.folded.len() as u32));

            let lex = self.lex;
            let (modifiers, spelled) = lex.word_info.get(&word).copied().unwrap_or_default();
            if rewrite && (spelled || word.contains('\'') || has_elongation(&word)) {
                lex.rewrite(&word, &mut |t: &str| {
                    let modifiers = lex.modifiers.get(t).copied().unwrap_or(0);
                    self.push_token(t, surface, quoted, capitalized, modifiers)
                });
            } else {
                // The rewrite would return the word itself.
                self.push_token(&word, surface, quoted, capitalized, modifiers);
            }
        }
        self.word = word;
    }

    fn push_token(
        &mut self,
        tok: &str,
        surface: u32,
        quoted: bool,
        capitalized: bool,
        modifiers: u8,
    ) {
        if modifiers & Modifier::CLAUSE_BREAK != 0 && self.clause_has_tokens {
            self.clause += 1;
            self.clause_has_tokens = false;
        }
        if !self.sentence_open {
            self.n.text.push_str(" |");
            self.n.sentences.push(Sentence {
                first: self.n.tokens.len() as u32,
                quoted: true,
                ..Sentence::default()
            });
            self.sentence_open = true;
        }
        self.n.text.push(' ');
        let start = self.n.text.len() as u32;
        self.n.text.push_str(tok);
        let sentence = self.n.sentences.len() as u32 - 1;
        self.n.tokens.push(Tok {
            start,
            end: self.n.text.len() as u32,
            surface,
            sentence,
            clause: self.clause,
            quoted,
            capitalized,
            modifiers,
        });
        let s = self.n.sentences.last_mut().expect("sentence opened above");
        s.end = self.n.tokens.len() as u32;
        s.quoted &= quoted;
        self.clause_has_tokens = true;
    }

    fn break_clause(&mut self) {
        if self.clause_has_tokens {
            self.clause += 1;
            self.clause_has_tokens = false;
        }
    }

    fn end_sentence(&mut self, question: bool, terminated: bool, exclaim_run: u32) {
        if self.sentence_open {
            if let Some(s) = self.n.sentences.last_mut() {
                s.question = question;
                s.terminated = terminated;
                s.exclaim_run = exclaim_run;
            }
            self.sentence_open = false;
        }
        self.break_clause();
    }
}

/// Normalize a message body (after [`strip_email`]).
pub(crate) fn normalize_body(body: &str, lex: &Lexicon, rewrite: bool) -> Normalized {
    if body.is_ascii() {
        normalize_chars(body, &AsciiChars(body.as_bytes()), lex, rewrite)
    } else {
        let chars: Vec<(usize, char)> = body.char_indices().collect();
        normalize_chars(body, chars.as_slice(), lex, rewrite)
    }
}

fn normalize_chars<C: CharSeq + ?Sized>(
    body: &str,
    chars: &C,
    lex: &Lexicon,
    rewrite: bool,
) -> Normalized {
    // Quote marks are '"', apostrophes and non-ASCII characters: without
    // any, there are no quote spans.
    let spans = if body
        .bytes()
        .any(|b| matches!(b, b'"' | b'\'' | b'`') || !b.is_ascii())
    {
        quote_spans(chars)
    } else {
        Vec::new()
    };
    let in_quote = |i: usize| spans.iter().any(|&(a, b)| i >= a && i < b);
    let mut b = Builder {
        lex,
        n: Normalized {
            text: String::with_capacity(body.len() + body.len() / 4 + 16),
            tokens: Vec::with_capacity(body.len() / 4 + 4),
            folded: String::with_capacity(body.len()),
            surfaces: Vec::with_capacity(body.len() / 4 + 4),
            sentences: Vec::with_capacity(body.len() / 32 + 2),
            ..Normalized::default()
        },
        sentence_open: false,
        clause: 0,
        clause_has_tokens: false,
        word: String::new(),
    };
    b.n.text.push(' ');
    let alnum = |k: usize| chars.get(k).is_some_and(|(_, c)| c.is_alphanumeric());

    let mut k = 0;
    // The last word as written; folded only when a period needs it.
    let mut last_raw: &str = "";
    let mut last_word = String::new();
    while k < chars.len() {
        let (i, c) = chars.at(k);
        // A word: letters and digits, internal apostrophes and periods
        // ("don't", "a.u.b"), and Dutch elisions ("'t").
        let starts_elision = is_apostrophe(c)
            && !(k > 0 && alnum(k - 1))
            && alnum(k + 1)
            && !alnum(k + 2)
            && !in_quote(i + c.len_utf8())
            && {
                let n = chars.at(k + 1).1;
                matches!(n, 't' | 'k' | 's' | 'n' | 'm' | 'T' | 'K' | 'S')
            };
        if c.is_alphanumeric() || starts_elision {
            let start = i;
            let mut j = k + 1;
            while j < chars.len() {
                let cj = chars.at(j).1;
                if cj.is_alphanumeric()
                    || ((is_apostrophe(cj) || cj == '.' || cj == '-' || cj == '_')
                        && alnum(j - 1)
                        && alnum(j + 1))
                {
                    j += 1;
                } else {
                    break;
                }
            }
            let end = chars.get(j).map_or(body.len(), |(e, _)| e);
            let raw = &body[start..end];
            let quoted = in_quote(start);
            let mut first_upper = false;
            let mut any_lower = false;
            for ch in raw.chars().filter(|c| c.is_alphabetic()) {
                if !quoted {
                    b.n.letters += 1;
                    if ch.is_uppercase() {
                        b.n.upper += 1;
                    }
                }
                any_lower |= ch.is_lowercase();
            }
            if let Some(ch) = raw.chars().find(|c| c.is_alphabetic()) {
                first_upper = ch.is_uppercase();
            }
            // Hyphenated compounds ("na-vragen") are matched as their parts.
            for part in raw.split('-').filter(|p| !p.is_empty()) {
                b.push_word(part, quoted, first_upper && any_lower, rewrite);
            }
            last_raw = raw;
            k = j;
            continue;
        }
        if let Some(w) = emoji_word(c) {
            let quoted = in_quote(i);
            b.push_word(w, quoted, false, false);
            k += 1;
            continue;
        }
        match c {
            ':' | ';'
                if matches!(chars.get(k + 1).map(|c| c.1), Some('(' | '['))
                    || (matches!(chars.get(k + 1).map(|c| c.1), Some('-' | '\''))
                        && matches!(chars.get(k + 2).map(|c| c.1), Some('(' | '['))) =>
            {
                // Text emoticons ":(", ":-(", ":'(".
                b.push_word("emo_sad", in_quote(i), false, false);
                k += if chars.at(k + 1).1 == '(' || chars.at(k + 1).1 == '[' {
                    2
                } else {
                    3
                };
            }
            '?' | '!' | '.' | '\u{2026}' | ';' | ':' => {
                let mut j = k;
                let (mut q, mut ex) = (false, 0u32);
                while j < chars.len()
                    && matches!(chars.at(j).1, '?' | '!' | '.' | '\u{2026}' | ';' | ':')
                {
                    q |= chars.at(j).1 == '?';
                    ex += u32::from(chars.at(j).1 == '!');
                    j += 1;
                }
                let only_period = j == k + 1 && c == '.';
                if only_period {
                    last_word.clear();
                    fold_into(last_raw, &mut last_word);
                }
                let abbreviation = only_period
                    && (is_abbreviation(&last_word)
                        || last_word.chars().count() == 1
                        || last_word.contains('.'));
                let before_word =
                    only_period && chars.get(j).is_some_and(|(_, n)| n.is_alphanumeric());
                let colon_in_time = c == ':' && j == k + 1 && alnum(j) && k > 0 && alnum(k - 1);
                b.n.exclamations += ex;
                b.n.max_exclaim_run = b.n.max_exclaim_run.max(ex);
                if !(abbreviation || before_word || colon_in_time) {
                    b.end_sentence(q, true, ex);
                }
                k = j;
            }
            ',' | '(' | ')' | '\u{2013}' | '\u{2014}' | '-' | '/' => {
                b.break_clause();
                k += 1;
            }
            '\n' => {
                // A hard-wrapped e-mail line continues its sentence; a new
                // line starting with a capital, a digit or a bullet (or a blank
                // line) starts a new one.
                let mut j = k + 1;
                let mut blank = false;
                while j < chars.len() && chars.at(j).1.is_whitespace() {
                    blank |= chars.at(j).1 == '\n';
                    j += 1;
                }
                let next_starts = chars.get(j).is_none_or(|(_, n)| {
                    n.is_uppercase() || n.is_numeric() || matches!(n, '-' | '*' | '\u{2022}')
                });
                if blank || next_starts {
                    b.end_sentence(false, false, 0);
                }
                k += 1;
            }
            _ => k += 1,
        }
    }
    b.end_sentence(false, false, 0);
    b.n.text.push(' ');
    b.n
}

/// Drop an opening greeting ("Beste meneer Jansen,", "Hi Sarah!") and a
/// trailing sign-off clause: they are not the agent's own judgeable words.
pub(crate) fn drop_greeting_and_closing(n: &mut Normalized, lex: &Lexicon) {
    if n.tokens.is_empty() {
        return;
    }
    let starts_with = |n: &Normalized, from: usize, phrase: &[String]| -> bool {
        phrase.iter().enumerate().all(|(o, w)| {
            from + o < n.tokens.len() && n.surface(n.tokens[from + o].surface as usize) == w
        })
    };
    // Greeting: first clause of the first sentence, at most 5 words.
    let first_clause = n.tokens[0].clause;
    let first_sentence = n.tokens[0].sentence;
    let clause_len = n
        .tokens
        .iter()
        .take_while(|t| t.clause == first_clause && t.sentence == first_sentence)
        .count();
    let mut drop_front = 0;
    if clause_len <= 5 && lex.greetings.iter().any(|g| starts_with(n, 0, g)) {
        drop_front = clause_len;
    }
    // Closing: a clause starting with a sign-off with at most 4 words after it,
    // at the very end.
    let mut drop_from = n.tokens.len();
    for i in (drop_front..n.tokens.len()).rev() {
        if n.tokens.len() - i > 8 {
            break;
        }
        let clause_start = i == 0 || n.tokens[i - 1].clause != n.tokens[i].clause;
        if clause_start
            && lex
                .closings
                .iter()
                .any(|c| starts_with(n, i, c) && n.tokens.len() - i <= c.len() + 4)
        {
            drop_from = i;
        }
    }
    if drop_front == 0 && drop_from == n.tokens.len() {
        return;
    }
    // Rebuild the matching text without the dropped tokens.
    let kept: Vec<Tok> = n.tokens[drop_front..drop_from].to_vec();
    let old_text = std::mem::take(&mut n.text);
    let old_sentences = std::mem::take(&mut n.sentences);
    n.text.push(' ');
    n.tokens.clear();
    let mut last_sentence = u32::MAX;
    for t in kept {
        if t.sentence != last_sentence {
            n.text.push_str(" |");
            let mut s = old_sentences[t.sentence as usize];
            s.first = n.tokens.len() as u32;
            n.sentences.push(s);
            last_sentence = t.sentence;
        }
        n.text.push(' ');
        let start = n.text.len() as u32;
        n.text.push_str(&old_text[t.start as usize..t.end as usize]);
        let sentence = n.sentences.len() as u32 - 1;
        n.tokens.push(Tok {
            start,
            end: n.text.len() as u32,
            sentence,
            ..t
        });
        if let Some(s) = n.sentences.last_mut() {
            s.end = n.tokens.len() as u32;
        }
    }
    n.text.push(' ');
}
