//! Normalization of contact-center text into tokens the matcher can trust.
//!
//! Real messages are messy: e-mails carry quoted earlier mails, greetings and
//! signatures that are not the agent's own words; chat has "snap t",
//! "sorry!!", "ff", elongations and emoji; customers shout in capitals; quoted
//! customer words are not the agent's empathy. This module strips the e-mail
//! structure, folds case and diacritics (NFKD), rewrites chat spelling through
//! the lexicon's spelling map, and records for every token its sentence,
//! clause and whether it sits inside quotes.

use super::lexicon::{has_elongation, Lexicon, Modifier, Starts, WordInfo};
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
    /// Its surface word's [`Starts`] bits (first word of a greeting or
    /// closing).
    pub starts: u8,
}

/// What the tokens of one surface word share.
#[derive(Clone, Copy)]
struct WordAttrs {
    surface: u32,
    quoted: bool,
    capitalized: bool,
    starts: u8,
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
    /// Some sentence alone is written in capitals ("ZIJN JULLIE NOU GEK
    /// GEWORDEN 300 euro voor een maand"): shouting in a message whose
    /// capitals are too few overall.
    pub shouted_sentence: bool,
    /// Letters and capitals of the sentence being read.
    sentence_letters: u32,
    sentence_upper: u32,
    pub exclamations: u32,
    pub max_exclaim_run: u32,
    /// Scratch buffers, kept between messages (see [`normalize_into`]) so a
    /// message costs no allocations once they have grown.
    scratch: NormScratch,
}

#[derive(Debug, Default)]
struct NormScratch {
    /// The word being rewritten.
    word: String,
    /// The last word as written, folded, when a period needs it.
    last_word: String,
    /// Decoded characters of a non-ASCII message.
    chars: Vec<(usize, char)>,
    /// Quote spans.
    spans: Vec<(usize, usize)>,
    /// Previous buffers of [`drop_greeting_and_closing`]'s rebuild.
    text: String,
    tokens: Vec<Tok>,
    sentences: Vec<Sentence>,
}

impl Normalized {
    /// Empty, keeping the buffers' capacity.
    fn clear(&mut self) {
        self.text.clear();
        self.tokens.clear();
        self.folded.clear();
        self.surfaces.clear();
        self.sentences.clear();
        self.letters = 0;
        self.upper = 0;
        self.shouted_sentence = false;
        self.sentence_letters = 0;
        self.sentence_upper = 0;
        self.exclamations = 0;
        self.max_exclaim_run = 0;
    }

    /// Gives back the memory of buffers a huge message grew, so a worker
    /// thread does not hold it for good.
    pub fn shrink(&mut self, max_bytes: usize) {
        if self.text.capacity() + self.folded.capacity() > max_bytes
            || self.tokens.capacity() * std::mem::size_of::<Tok>() > max_bytes
            || self.scratch.chars.capacity() * 16 > max_bytes
            || self.scratch.text.capacity() > max_bytes
        {
            *self = Normalized::default();
        }
    }

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

/// Buffers of [`strip_email`], reused between messages.
#[derive(Debug, Default)]
pub(crate) struct EmailScratch {
    /// Every line trimmed and folded, back to back.
    folded: String,
    /// Per line: its byte range in the text and in `folded`.
    lines: Vec<(usize, usize, usize, usize)>,
}

impl EmailScratch {
    /// Line `i`, trimmed and folded.
    fn folded(&self, i: usize) -> &str {
        let (_, _, a, b) = self.lines[i];
        &self.folded[a..b]
    }

    pub fn shrink(&mut self, max_bytes: usize) {
        if self.folded.capacity() > max_bytes || self.lines.capacity() * 32 > max_bytes {
            *self = EmailScratch::default();
        }
    }
}

/// The agent's or customer's own words of a message: quoted earlier mails,
/// `>` lines and signatures removed.
pub(crate) fn strip_email<'t>(
    text: &'t str,
    lex: &Lexicon,
    scratch: &mut EmailScratch,
) -> std::borrow::Cow<'t, str> {
    // A fold, not `contains` (a memchr call costs more than a short chat
    // message's scan): without the early exit it is vectorized.
    if !text.bytes().fold(false, |seen, b| seen | (b == b'\n')) {
        return std::borrow::Cow::Borrowed(text);
    }
    // The folded lines go into one reused buffer, not a String each, and
    // only as far as they are looked at (a quote header or signature ends
    // the look, and the quoted mail after it is often most of the text).
    scratch.folded.clear();
    scratch.lines.clear();
    let mut lines = text.lines();
    let mut fold_lines = |scratch: &mut EmailScratch, upto: usize| {
        while scratch.lines.len() < upto {
            let Some(line) = lines.next() else {
                break;
            };
            // The line's byte offset in `text` (lines yields subslices of it).
            let start = line.as_ptr() as usize - text.as_ptr() as usize;
            let folded_start = scratch.folded.len();
            fold_into(line.trim(), &mut scratch.folded);
            scratch.lines.push((
                start,
                start + line.len(),
                folded_start,
                scratch.folded.len(),
            ));
        }
    };
    let mut cut = None;
    let mut skipped = false;
    let mut i = 0;
    loop {
        fold_lines(scratch, i + 1);
        if i >= scratch.lines.len() {
            break;
        }
        let l = scratch.folded(i);
        if l.starts_with('>') {
            skipped = true;
            i += 1;
            continue;
        }
        // The lines after it that `is_quote_header` reads: the next for a
        // header wrapped over two lines, four for a forwarded header's
        // fields (only then: the lines after a signature are often most of
        // the text).
        let ahead = if l.starts_with("van:") || l.starts_with("from:") {
            5
        } else if ["op ", "on ", "am ", "le "]
            .iter()
            .any(|p| l.starts_with(p))
        {
            2
        } else {
            1
        };
        fold_lines(scratch, i + ahead);
        let l = scratch.folded(i);
        if is_quote_header(scratch, i) || is_signature_start(l, lex) {
            cut = Some(i);
            break;
        }
        i += 1;
    }
    // Without a cut every line was read.
    let cut = cut.unwrap_or(scratch.lines.len());
    // The kept lines joined by "\n". When they are the text's first lines
    // without a gap, that is a prefix of the text (unless `lines` dropped a
    // "\r" of a "\r\n"), borrowed instead of copied.
    let prefix_end = if cut == 0 {
        0
    } else {
        scratch.lines[cut - 1].1
    };
    if !skipped && !text[..prefix_end].contains('\r') {
        return std::borrow::Cow::Borrowed(&text[..prefix_end]);
    }
    let mut out = String::with_capacity(prefix_end);
    let mut first = true;
    for i in 0..cut {
        if scratch.folded(i).starts_with('>') {
            continue;
        }
        if !first {
            out.push('\n');
        }
        first = false;
        let (a, b, _, _) = scratch.lines[i];
        out.push_str(&text[a..b]);
    }
    std::borrow::Cow::Owned(out)
}

/// Text that is not language, blanked before judging: URLs (a `?` in a
/// query string is no question, `?language=en_US` no behaviour named),
/// e-mail addresses, @handles, and codes that mix letters and digits
/// (tracking and order numbers, whose capitals are no shouting). Sentence
/// punctuation right after them is kept. Hashtags stay words ("#fail").
pub(crate) fn strip_non_language(text: &str) -> std::borrow::Cow<'_, str> {
    // A fold, not `any`: without the early exit it is vectorized.
    let suspicious = text.bytes().fold(false, |seen, b| {
        seen | matches!(b, b'/' | b'@' | b'0'..=b'9')
    }) || has_www(text);
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

/// Whether `text` contains "www." or "WWW.". Substring searches first only
/// where a 'w' or 'W' stands before a '.': a fold over the byte pairs has no
/// early exit and is vectorized, while each substring search cost more to
/// set up than a chat message takes to scan.
fn has_www(text: &str) -> bool {
    let b = text.as_bytes();
    let w_before_dot = b
        .iter()
        .zip(b.iter().skip(1))
        .fold(false, |seen, (&w, &dot)| {
            seen | (((w | 0x20) == b'w') & (dot == b'.'))
        });
    w_before_dot && (text.contains("www.") || text.contains("WWW."))
}

fn is_non_language(w: &str) -> bool {
    if w.is_empty() {
        return false;
    }
    let lower_starts = |p: &str| w.get(..p.len()).is_some_and(|s| s.eq_ignore_ascii_case(p));
    // Every case below needs a '/', an '@', a digit or a leading "www.":
    // plain words are out after one look at their bytes.
    if !w.bytes().any(|b| matches!(b, b'/' | b'@' | b'0'..=b'9')) && !lower_starts("www.") {
        return false;
    }
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

fn is_quote_header(scratch: &EmailScratch, i: usize) -> bool {
    let l = scratch.folded(i);
    let next = if i + 1 < scratch.lines.len() {
        scratch.folded(i + 1)
    } else {
        ""
    };
    // "Op 3 jun. 2024 om 10:12 schreef Jan <jan@x.nl>:", "On Mon, ... wrote:"
    // (mail clients wrap these over two lines).
    if l.starts_with("op ") || l.starts_with("on ") || l.starts_with("am ") || l.starts_with("le ")
    {
        let has_verb = ["schreef", "wrote", "schrieb", "a ecrit"]
            .iter()
            .any(|v| joined_contains(l, next, v));
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
        return (i + 1..scratch.lines.len())
            .take(4)
            .any(|k| heads.iter().any(|h| scratch.folded(k).starts_with(h)));
    }
    false
}

/// Whether `"{a} {b}"` contains `needle`, without building that string:
/// in `a`, in `b`, or across the joining space (at a space of `needle`).
fn joined_contains(a: &str, b: &str, needle: &str) -> bool {
    a.contains(needle)
        || b.contains(needle)
        || needle
            .match_indices(' ')
            .any(|(space, _)| a.ends_with(&needle[..space]) && b.starts_with(&needle[space + 1..]))
}

/// The first of [`words_of`]: for an ASCII line found on its bytes, without
/// the split's character decoding (every line of an e-mail is looked at).
fn first_word(line: &str) -> Option<&str> {
    if !line.is_ascii() {
        return words_of(line).next();
    }
    let in_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'\'';
    let bytes = line.as_bytes();
    let start = bytes.iter().position(in_word)?;
    let len = bytes[start..]
        .iter()
        .position(|b| !in_word(b))
        .unwrap_or(bytes.len() - start);
    Some(&line[start..start + len])
}

fn is_signature_start(l: &str, lex: &Lexicon) -> bool {
    if l == "--" || l == "-- " {
        return true;
    }
    let Some(first) = first_word(l) else {
        return false;
    };
    // Most lines start with no closing's first word (one lookup, not a
    // comparison per closing): no need to count their words.
    let closing_first = lex.word_filter.may_contain(first)
        && lex
            .word_info
            .get(first)
            .is_some_and(|info| info.starts & Starts::CLOSING != 0);
    if !closing_first {
        return false;
    }
    let words = words_of(l);
    let count = words.clone().count();
    lex.closings.iter().any(|c| {
        count >= c.len()
            && count <= c.len() + 4
            && c.first().is_some_and(|w| w == first)
            && words.clone().zip(c).all(|(a, b)| a == b)
    })
}

/// Quote spans (byte ranges of the text between the quote marks), into
/// `spans` (cleared first).
fn quote_spans<C: CharSeq + ?Sized>(chars: &C, spans: &mut Vec<(usize, usize)>) {
    spans.clear();
    match chars.ascii() {
        // ASCII text: only the quote marks' positions are visited (a byte
        // filter), not every character.
        Some(b) => quote_spans_at(
            chars,
            b.chunks(8)
                .enumerate()
                .filter(|(_, chunk)| may_hold_quote_mark(chunk))
                .flat_map(|(c, chunk)| {
                    chunk
                        .iter()
                        .enumerate()
                        .filter(|(_, b)| matches!(b, b'"' | b'\'' | b'`'))
                        .map(move |(k, _)| c * 8 + k)
                }),
            spans,
        ),
        None => quote_spans_at(chars, 0..chars.len(), spans),
    }
}

/// Whether a chunk of at most 8 bytes may hold '"', '\'' or '`': false
/// means it holds none. Eight bytes are tested at once (a word's "has a
/// zero byte" test after XOR with each mark), so the quote marks' scan
/// looks at each byte only in the few chunks that hold one.
#[inline]
fn may_hold_quote_mark(chunk: &[u8]) -> bool {
    let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
        return true; // the last, short chunk: looked at byte by byte
    };
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let word = u64::from_ne_bytes(bytes);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\'')))
        || has_zero(word ^ (ONES * u64::from(b'`')))
}

/// [`quote_spans`] over the characters at `candidates` (every character
/// that may be a quote mark, in order).
fn quote_spans_at<C: CharSeq + ?Sized>(
    chars: &C,
    candidates: impl Iterator<Item = usize>,
    spans: &mut Vec<(usize, usize)>,
) {
    let mut open_double: Option<usize> = None;
    let mut open_single: Option<usize> = None;
    let alnum = |k: usize| chars.get(k).is_some_and(|(_, c)| c.is_alphanumeric());
    for k in candidates {
        let (i, c) = chars.at(k);
        if c.is_ascii() && !matches!(c, '"' | '\'' | '`') {
            continue; // no quote mark: nothing below acts on it
        }
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
    /// The text's bytes when it is ASCII (for the byte-wise word scan).
    #[inline]
    fn ascii(&self) -> Option<&[u8]> {
        None
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
    #[inline]
    fn ascii(&self) -> Option<&[u8]> {
        Some(self.0)
    }
}

/// [`ASCII_CLASS`] bits.
const ALNUM: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;
/// Joins two letters or digits into one word: `'` `` ` `` `.` `-` `_`.
const JOIN: u8 = 8;

/// Character classes of the ASCII bytes, for the byte-wise word scan.
const ASCII_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c.is_ascii_uppercase() {
            ALNUM | UPPER
        } else if c.is_ascii_lowercase() {
            ALNUM | LOWER
        } else if c.is_ascii_digit() {
            ALNUM
        } else if matches!(c, b'\'' | b'`' | b'.' | b'-' | b'_') {
            JOIN
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Per ASCII byte, what it adds to a word's letter counts: 1 for a
/// lowercase letter, 1 << 32 for a capital (the capitals are the high half
/// of the sum, the lowercase letters the low half). Read off
/// [`ASCII_CLASS`], which stays the one place that says what a letter is.
const CASE_COUNT: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let class = ASCII_CLASS[b];
        t[b] = if class & UPPER != 0 {
            1 << 32
        } else {
            (class & LOWER != 0) as u64
        };
        b += 1;
    }
    t
};

/// The end of the word starting at char `k`, its letter counts and whether
/// it holds a hyphen. A word is letters and digits, with apostrophes,
/// periods, hyphens and underscores between two of them.
#[inline]
fn scan_word<C: CharSeq + ?Sized>(chars: &C, k: usize) -> (usize, Letters, bool, bool) {
    let mut letters = Letters::default();
    let mut hyphen = false;
    // An ASCII word with neither '.' nor '\'' (see [`Builder::push_word`]).
    let mut plain = chars.ascii().is_some();
    let mut j = k + 1;
    if let Some(b) = chars.ascii() {
        // ASCII text (nearly all): the same rules on bytes through one
        // table, without decoding characters or Unicode tables.
        let class = |i: usize| b.get(i).map_or(0, |&c| ASCII_CLASS[usize::from(c)]);
        // Capitals and lowercase letters counted with one addition per
        // byte (see [`CASE_COUNT`]).
        let mut counts = CASE_COUNT[usize::from(b[k])];
        // Indexed by the loop bound, not through `class`: the letters of a
        // word are most of the text's bytes, and this loop is their scan.
        while j < b.len() {
            let c = usize::from(b[j]);
            let f = ASCII_CLASS[c];
            if f & ALNUM != 0 {
                counts += CASE_COUNT[c];
                j += 1;
            } else if f & JOIN != 0 && class(j - 1) & ALNUM != 0 && class(j + 1) & ALNUM != 0 {
                hyphen |= b[j] == b'-';
                plain &= !matches!(b[j], b'.' | b'\'');
                j += 1;
            } else {
                break;
            }
        }
        let first_upper = b[k..j]
            .iter()
            .find(|c| c.is_ascii_alphabetic())
            .map(u8::is_ascii_uppercase);
        // A word's bytes are far fewer than 2^32: no count carries into
        // the other.
        let (upper, lower) = ((counts >> 32) as u32, counts as u32);
        let letters = Letters {
            letters: upper + lower,
            upper,
            any_lower: lower > 0,
            first_upper,
        };
        // An elision's leading apostrophe.
        plain &= b[k] != b'\'';
        return (j, letters, hyphen, plain);
    }
    let alnum = |k: usize| chars.get(k).is_some_and(|(_, c)| c.is_alphanumeric());
    letters.note(chars.at(k).1);
    while j < chars.len() {
        let cj = chars.at(j).1;
        if cj.is_alphanumeric() {
            letters.note(cj);
            j += 1;
        } else if (is_apostrophe(cj) || cj == '.' || cj == '-' || cj == '_')
            && alnum(j - 1)
            && alnum(j + 1)
        {
            hyphen |= cj == '-';
            j += 1;
        } else {
            break;
        }
    }
    (j, letters, hyphen, false)
}

/// What [`Builder::push_word`] needs to know of a folded word, noted while
/// it is folded rather than found by scanning it again.
#[derive(Default)]
struct WordFlags {
    dot: bool,
    apostrophe: bool,
    elongated: bool,
}

/// [`fold_into`] for one word, with its [`WordFlags`] (words that are not
/// plain, see [`Builder::push_word`]: non-ASCII, or with '.' or '\'').
#[inline]
fn fold_word_into(raw: &str, out: &mut String) -> WordFlags {
    let start = out.len();
    if !raw.is_ascii() {
        for c in raw.chars() {
            fold_char(c, out);
        }
        let w = &out[start..];
        return WordFlags {
            dot: w.contains('.'),
            apostrophe: w.contains('\''),
            elongated: has_elongation(w),
        };
    }
    out.push_str(raw);
    out[start..].make_ascii_lowercase();
    let w = &out.as_bytes()[start..];
    // One pass over the bytes for all three flags, kept in locals.
    let (mut dot, mut apostrophe, mut elongated) = (false, false, false);
    for (i, &b) in w.iter().enumerate() {
        dot |= b == b'.';
        apostrophe |= b == b'\'';
        elongated |= i >= 2 && b == w[i - 1] && b == w[i - 2] && b.is_ascii_alphabetic();
    }
    WordFlags {
        dot,
        apostrophe,
        elongated,
    }
}

/// [`has_elongation`] of an ASCII word: a run of three equal letters.
/// Such a run holds a pair of equal bytes starting at an even index (its
/// first two or its last two), so only those pairs are compared, half the
/// windows of three, and the run's third byte is looked at only after a
/// pair matched.
#[inline]
fn has_ascii_elongation(w: &[u8]) -> bool {
    let mut j = 0;
    while j + 1 < w.len() {
        let b = w[j];
        if b == w[j + 1]
            && b.is_ascii_alphabetic()
            && ((j > 0 && w[j - 1] == b) || w.get(j + 2) == Some(&b))
        {
            return true;
        }
        j += 2;
    }
    false
}

struct Builder<'l, 'n, 'b> {
    lex: &'l Lexicon,
    n: &'n mut Normalized,
    /// The message body. When it is ASCII, `folded` starts with all of it
    /// lowercased, and a plain word's surface is its range there (no copy).
    body: &'b str,
    body_folded: bool,
    sentence_open: bool,
    clause: u32,
    clause_has_tokens: bool,
}

impl Builder<'_, '_, '_> {
    /// `plain`: the word is ASCII without '.' or '\'' (the word scan saw
    /// that), so its folded form is its range of the lowercased body and
    /// only an elongation is left to find. Inlined into the word loop's
    /// one common call site (a call per word, with the prologue of a
    /// function this size, cost a fifth of the word's work); the rare
    /// ones call [`Builder::push_word_outlined`].
    #[inline(always)]
    fn push_word(
        &mut self,
        raw: &str,
        quoted: bool,
        capitalized: bool,
        rewrite: bool,
        plain: bool,
    ) {
        let (start, end, flags) = if plain && self.body_folded {
            // Already folded with the body: the surface is the same range.
            let start = raw.as_ptr() as usize - self.body.as_ptr() as usize;
            let end = start + raw.len();
            let elongated = has_ascii_elongation(&self.n.folded.as_bytes()[start..end]);
            let flags = WordFlags {
                dot: false,
                apostrophe: false,
                elongated,
            };
            (start, end, flags)
        } else {
            match self.fold_word(raw) {
                Some(folded) => folded,
                None => return,
            }
        };
        // One call site: push_surface is inlined here.
        self.push_surface(start, end, flags, quoted, capitalized, rewrite);
    }

    /// [`Builder::push_word`] for the rare call sites (hyphenated parts,
    /// emoji), so the word loop holds one copy of it.
    #[inline(never)]
    fn push_word_outlined(
        &mut self,
        raw: &str,
        quoted: bool,
        capitalized: bool,
        rewrite: bool,
        plain: bool,
    ) {
        self.push_word(raw, quoted, capitalized, rewrite, plain);
    }

    /// Folds a word that is not plain into `folded` after what is there
    /// (its surface): its range there and flags, `None` if it folds to
    /// nothing. The token text is copied from there unless the spelling
    /// rewrites it.
    #[inline(never)]
    fn fold_word(&mut self, raw: &str) -> Option<(usize, usize, WordFlags)> {
        let start = self.n.folded.len();
        let mut flags = fold_word_into(raw, &mut self.n.folded);
        if flags.dot
            && self.n.folded[start..]
                .split('.')
                .all(|p| p.chars().count() <= 1)
        {
            // "a.u.b" is "aub" (rare: done through the scratch word).
            let word = &mut self.n.scratch.word;
            word.clear();
            word.extend(self.n.folded[start..].chars().filter(|&c| c != '.'));
            self.n.folded.truncate(start);
            self.n.folded.push_str(word);
            let w = &self.n.folded[start..];
            flags = WordFlags {
                dot: false,
                apostrophe: w.contains('\''),
                elongated: has_elongation(w),
            };
        }
        let end = self.n.folded.len();
        (end != start).then_some((start, end, flags))
    }

    /// Records the surface word `folded[start..end]` and pushes its tokens.
    /// Inlined into [`Builder::push_word`] (a call per word cost more than
    /// the common path's work); the spelling rewrite is out of line.
    #[inline(always)]
    fn push_surface(
        &mut self,
        start: usize,
        end: usize,
        flags: WordFlags,
        quoted: bool,
        capitalized: bool,
        rewrite: bool,
    ) {
        let surface = self.n.surfaces.len() as u32;
        self.n.surfaces.push((start as u32, end as u32));

        let lex = self.lex;
        let word = &self.n.folded[start..end];
        let info: WordInfo = if lex.word_filter.may_contain(word) {
            lex.word_info.get(word).copied().unwrap_or_default()
        } else {
            WordInfo::default()
        };
        let attrs = WordAttrs {
            surface,
            quoted,
            capitalized,
            starts: info.starts,
        };
        if rewrite && (info.spelled || flags.apostrophe || flags.elongated) {
            self.push_rewritten(start, end, attrs);
        } else {
            // The rewrite would return the word itself.
            self.begin_token(info.modifiers);
            let n = &mut *self.n;
            let tok_start = n.text.len();
            n.text.push_str(&n.folded[start..end]);
            self.end_token(tok_start, attrs, info.modifiers);
        }
    }

    /// The tokens the spelling rewrite makes of the surface word
    /// `folded[start..end]` (chat spelling, contractions, elongations).
    #[inline(never)]
    fn push_rewritten(&mut self, start: usize, end: usize, attrs: WordAttrs) {
        let lex = self.lex;
        let mut word = std::mem::take(&mut self.n.scratch.word);
        word.clear();
        word.push_str(&self.n.folded[start..end]);
        lex.rewrite(&word, &mut |t: &str| {
            // The filter holds every modifier word (see
            // [`Lexicon::word_info`]): most tokens skip the lookup.
            let modifiers = if lex.word_filter.may_contain(t) {
                lex.modifiers.get(t).copied().unwrap_or(0)
            } else {
                0
            };
            self.begin_token(modifiers);
            let tok_start = self.n.text.len();
            self.n.text.push_str(t);
            self.end_token(tok_start, attrs, modifiers);
        });
        self.n.scratch.word = word;
    }

    /// Clause and sentence bookkeeping before a token's text is appended.
    #[inline]
    fn begin_token(&mut self, modifiers: u8) {
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
    }

    /// Records the token whose text was appended from byte `start` on.
    #[inline]
    fn end_token(&mut self, start: usize, attrs: WordAttrs, modifiers: u8) {
        let sentence = self.n.sentences.len() as u32 - 1;
        self.n.tokens.push(Tok {
            start: start as u32,
            end: self.n.text.len() as u32,
            surface: attrs.surface,
            sentence,
            clause: self.clause,
            quoted: attrs.quoted,
            capitalized: attrs.capitalized,
            modifiers,
            starts: attrs.starts,
        });
        let s = self.n.sentences.last_mut().expect("sentence opened above");
        s.end = self.n.tokens.len() as u32;
        s.quoted &= attrs.quoted;
        self.clause_has_tokens = true;
    }

    fn break_clause(&mut self) {
        if self.clause_has_tokens {
            self.clause += 1;
            self.clause_has_tokens = false;
        }
    }

    fn end_sentence(&mut self, question: bool, terminated: bool, exclaim_run: u32) {
        let score = &self.lex.score;
        self.n.shouted_sentence |= self.n.sentence_letters >= score.caps_min_letters
            && f64::from(self.n.sentence_upper)
                >= score.caps_share * f64::from(self.n.sentence_letters);
        self.n.sentence_letters = 0;
        self.n.sentence_upper = 0;
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
    let mut n = Normalized::default();
    normalize_into(body, lex, rewrite, &mut n);
    n
}

/// [`normalize_body`] into `n`, reusing its buffers (a message then costs no
/// allocations: they were a seventh of the analyzer's time).
pub(crate) fn normalize_into(body: &str, lex: &Lexicon, rewrite: bool, n: &mut Normalized) {
    n.clear();
    if body.is_ascii() {
        normalize_chars(body, &AsciiChars(body.as_bytes()), lex, rewrite, n);
    } else {
        let mut chars = std::mem::take(&mut n.scratch.chars);
        chars.clear();
        chars.extend(body.char_indices());
        normalize_chars(body, chars.as_slice(), lex, rewrite, n);
        n.scratch.chars = chars;
    }
}

/// Letter counts of one word, noted while the word is scanned.
#[derive(Default)]
struct Letters {
    letters: u32,
    upper: u32,
    any_lower: bool,
    /// Whether the first letter is a capital (`None` before any letter).
    first_upper: Option<bool>,
}

impl Letters {
    #[inline]
    fn note(&mut self, c: char) {
        // ASCII first: `is_alphabetic` and friends are table lookups
        // otherwise.
        let (alpha, upper, lower) = if c.is_ascii() {
            (
                c.is_ascii_alphabetic(),
                c.is_ascii_uppercase(),
                c.is_ascii_lowercase(),
            )
        } else if c.is_alphabetic() {
            (true, c.is_uppercase(), c.is_lowercase())
        } else {
            return;
        };
        if alpha {
            self.letters += 1;
            self.upper += u32::from(upper);
            self.any_lower |= lower;
            self.first_upper.get_or_insert(upper);
        }
    }
}

fn normalize_chars<C: CharSeq + ?Sized>(
    body: &str,
    chars: &C,
    lex: &Lexicon,
    rewrite: bool,
    n: &mut Normalized,
) {
    // Quote marks are '"', apostrophes and non-ASCII characters: without
    // any, there are no quote spans.
    let mut spans = std::mem::take(&mut n.scratch.spans);
    spans.clear();
    // A fold, not `any`: without the early exit it is vectorized.
    if body.bytes().fold(false, |seen, b| {
        seen | matches!(b, b'"' | b'\'' | b'`') | !b.is_ascii()
    }) {
        quote_spans(chars, &mut spans);
    }
    let in_quote = |i: usize| spans.iter().any(|&(a, b)| i >= a && i < b);
    n.text.reserve(body.len() + body.len() / 4 + 16);
    n.tokens.reserve(body.len() / 4 + 4);
    n.folded.reserve(body.len());
    n.surfaces.reserve(body.len() / 4 + 4);
    n.sentences.reserve(body.len() / 32 + 2);
    let mut last_word = std::mem::take(&mut n.scratch.last_word);
    // An ASCII body is lowercased once, whole, into `folded` (see
    // [`Builder::body`]).
    let body_folded = chars.ascii().is_some();
    if body_folded {
        n.folded.push_str(body);
        n.folded.make_ascii_lowercase();
    }
    let mut b = Builder {
        lex,
        n,
        body,
        body_folded,
        sentence_open: false,
        clause: 0,
        clause_has_tokens: false,
    };
    b.n.text.push(' ');
    let alnum = |k: usize| chars.get(k).is_some_and(|(_, c)| c.is_alphanumeric());

    let mut k = 0;
    // The last word as written; folded only when a period needs it.
    let mut last_raw: &str = "";
    while k < chars.len() {
        let (i, c) = chars.at(k);
        if c == ' ' {
            // Nothing below acts on a space.
            k += 1;
            continue;
        }
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
        // An ASCII text's classes are a table lookup, not `char` methods.
        let alphanumeric = match chars.ascii() {
            Some(b) => ASCII_CLASS[usize::from(b[k])] & ALNUM != 0,
            None => c.is_alphanumeric(),
        };
        if alphanumeric || starts_elision {
            let start = i;
            // Letters are counted and hyphens noted in the same scan that
            // finds the word's end.
            let (j, letters, hyphen, plain) = scan_word(chars, k);
            let end = chars.get(j).map_or(body.len(), |(e, _)| e);
            let raw = &body[start..end];
            let quoted = in_quote(start);
            if !quoted {
                b.n.letters += letters.letters;
                b.n.upper += letters.upper;
                b.n.sentence_letters += letters.letters;
                b.n.sentence_upper += letters.upper;
            }
            let capitalized = letters.first_upper == Some(true) && letters.any_lower;
            if hyphen {
                // Hyphenated compounds ("na-vragen") are matched as their parts.
                for part in raw.split('-').filter(|p| !p.is_empty()) {
                    b.push_word_outlined(part, quoted, capitalized, rewrite, plain);
                }
            } else {
                b.push_word(raw, quoted, capitalized, rewrite, plain);
            }
            last_raw = raw;
            // The space after a word is skipped here, not by another turn
            // of the loop (nothing acts on a space).
            k = if chars.get(j).is_some_and(|(_, c)| c == ' ') {
                j + 1
            } else {
                j
            };
            continue;
        }
        if let Some(w) = emoji_word(c) {
            let quoted = in_quote(i);
            b.push_word_outlined(w, quoted, false, false, false);
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
                b.push_word_outlined("emo_sad", in_quote(i), false, false, false);
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
    b.n.scratch.last_word = last_word;
    b.n.scratch.spans = spans;
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
    if clause_len <= 5
        && n.tokens[0].starts & Starts::GREETING != 0
        && lex.greetings.iter().any(|g| starts_with(n, 0, g))
    {
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
            && n.tokens[i].starts & Starts::CLOSING != 0
            && lex
                .closings
                .iter()
                .any(|c| n.tokens.len() - i <= c.len() + 4 && starts_with(n, i, c))
        {
            drop_from = i;
        }
    }
    if drop_front == 0 && drop_from == n.tokens.len() {
        return;
    }
    // Rebuild the matching text without the dropped tokens, into the
    // spare buffers (swapped in; the old ones become the spares).
    let mut old_text = std::mem::take(&mut n.scratch.text);
    let mut old_tokens = std::mem::take(&mut n.scratch.tokens);
    let mut old_sentences = std::mem::take(&mut n.scratch.sentences);
    std::mem::swap(&mut old_text, &mut n.text);
    std::mem::swap(&mut old_tokens, &mut n.tokens);
    std::mem::swap(&mut old_sentences, &mut n.sentences);
    n.text.clear();
    n.tokens.clear();
    n.sentences.clear();
    n.text.push(' ');
    let kept = &old_tokens[drop_front..drop_from];
    if let (Some(first), Some(last)) = (kept.first(), kept.last()) {
        // Between two kept tokens the old text already reads as the new
        // one (" " within a sentence, " | " between two), so it is copied
        // whole and the tokens shifted, not copied token by token.
        n.text.push_str(" | ");
        let base = n.text.len() as u32;
        n.text
            .push_str(&old_text[first.start as usize..last.end as usize]);
        let mut last_sentence = u32::MAX;
        for &t in kept {
            if t.sentence != last_sentence {
                let mut s = old_sentences[t.sentence as usize];
                s.first = n.tokens.len() as u32;
                n.sentences.push(s);
                last_sentence = t.sentence;
            }
            let sentence = n.sentences.len() as u32 - 1;
            n.tokens.push(Tok {
                start: t.start - first.start + base,
                end: t.end - first.start + base,
                sentence,
                ..t
            });
            if let Some(s) = n.sentences.last_mut() {
                s.end = n.tokens.len() as u32;
            }
        }
    }
    n.text.push(' ');
    n.scratch.text = old_text;
    n.scratch.tokens = old_tokens;
    n.scratch.sentences = old_sentences;
}
