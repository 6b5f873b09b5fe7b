//! Why an article matched: the query's words marked in its title and excerpt, and whether the
//! whole query is in either, worked out here from the page's own text.
//!
//! The engines can do this (FTS5 `highlight()`, PostgreSQL `ts_headline`), but each costs
//! statements per page and reads the index or re-parses every text in the database: on
//! SQLite a scratch index of the page's texts (four statements, and a third of a search
//! page's time at ten thousand articles), on PostgreSQL the most expensive function of the
//! page. Marking follows the engines' rules closely: words are runs of letters and digits,
//! folded for case and accents, compared by their Snowball English stem (PostgreSQL's own
//! stemmer; SQLite's Porter stemmer agrees on nearly every word), the last word as a prefix
//! while typed, phrases only where their words are adjacent. Which articles match, and their
//! order, stay the engines' answer; this only marks them.

use std::borrow::Cow;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

use super::SearchQuery;

/// Around a marked word: characters from Unicode's private use area, which no text a person
/// writes holds in this order; the API escapes the text, then turns them into `<mark>` and
/// `</mark>`.
pub const MARK_START: &str = "\u{F8FF}\u{E000}";
pub const MARK_END: &str = "\u{F8FF}\u{E001}";

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// A query's wanted terms, folded and stemmed once for a whole page.
pub struct Highlighter {
    terms: Vec<Vec<Pattern>>,
    /// The first letters of the wanted words: stemming keeps a word's first letter, so only
    /// words starting with one of these can match, and only they are stemmed (stemming every
    /// word of a page's excerpts was a sixth of a search page's time).
    initials: Vec<char>,
}

struct Pattern {
    stem: String,
    prefix: bool,
}

/// A text with the query's words marked, and whether every wanted term is in it.
#[derive(Debug, PartialEq, Eq)]
pub struct Marked {
    pub text: String,
    pub has_all_terms: bool,
}

/// A word of the text: where it is, and its stem (none: it cannot match).
struct Token {
    start: usize,
    end: usize,
    stem: Option<String>,
}

impl Highlighter {
    pub fn new(query: &SearchQuery) -> Self {
        let terms = query
            .wanted()
            .map(|term| {
                let last = term.words.len() - 1;
                term.words
                    .iter()
                    .enumerate()
                    .map(|(i, word)| Pattern {
                        stem: stem(&fold(word)),
                        prefix: term.prefix && i == last,
                    })
                    .collect()
            })
            .collect::<Vec<Vec<Pattern>>>();
        let mut initials: Vec<char> = terms
            .iter()
            .flatten()
            .filter_map(|word| word.stem.chars().next())
            .collect();
        initials.sort_unstable();
        initials.dedup();
        Self { terms, initials }
    }

    pub fn mark(&self, text: &str) -> Marked {
        let tokens = tokens(text, &self.initials);
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut has_all_terms = true;
        for term in &self.terms {
            let mut found = false;
            // Every term has a word (`SearchQuery::parse`).
            for window in tokens.windows(term.len().max(1)) {
                if window
                    .iter()
                    .zip(term)
                    .all(|(token, word)| word.matches(token))
                    && let (Some(first), Some(last)) = (window.first(), window.last())
                {
                    spans.push((first.start, last.end));
                    found = true;
                }
            }
            has_all_terms &= found;
        }
        spans.sort_unstable();
        let mut marked = String::with_capacity(text.len() + spans.len() * 8);
        let mut written = 0;
        let mut spans = spans.into_iter().peekable();
        while let Some((start, mut end)) = spans.next() {
            // Overlapping matches (two terms sharing a word) make one mark.
            while let Some(&(next_start, next_end)) = spans.peek()
                && next_start < end
            {
                end = end.max(next_end);
                spans.next();
            }
            marked.push_str(&text[written..start]);
            marked.push_str(MARK_START);
            marked.push_str(&text[start..end]);
            marked.push_str(MARK_END);
            written = end;
        }
        marked.push_str(&text[written..]);
        Marked {
            text: marked,
            has_all_terms,
        }
    }
}

impl Pattern {
    fn matches(&self, token: &Token) -> bool {
        let Some(stem) = &token.stem else {
            return false;
        };
        // A prefix is compared stem to stem, as both engines do: `runn` does not find
        // "running" (stem `run`), `datab` finds "databases" (`databas`).
        *stem == self.stem || (self.prefix && stem.starts_with(&self.stem))
    }
}

/// The words of `text`, as `SearchQuery` reads words: runs of letters and digits; those
/// starting with one of `initials` stemmed.
fn tokens(text: &str, initials: &[char]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut start = None;
    for (at, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (start, c.is_alphanumeric()) {
            (None, true) => start = Some(at),
            (Some(from), false) => {
                let folded = fold(&text[from..at]);
                let may_match = folded
                    .chars()
                    .next()
                    .is_some_and(|first| initials.binary_search(&first).is_ok());
                tokens.push(Token {
                    start: from,
                    end: at,
                    stem: may_match.then(|| stem(&folded)),
                });
                start = None;
            }
            _ => {}
        }
    }
    tokens
}

/// Lower case, and Latin letters without their accents (`Crème` → `creme`, `ÉCOLE` →
/// `ecole`, `ß` → `ss`), as both engines fold them. Other scripts keep their letters
/// (`ωμέγα`): transliterated, a word could match one of another script (`нет` and `net`).
fn fold(word: &str) -> Cow<'_, str> {
    if word
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return Cow::Borrowed(word);
    }
    let mut folded = String::with_capacity(word.len());
    for c in word.chars().flat_map(char::to_lowercase) {
        match deunicode::deunicode_char(c) {
            Some(plain) if is_accented_latin(c) => folded.extend(
                plain
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .map(|c| c.to_ascii_lowercase()),
            ),
            _ => folded.push(c),
        }
    }
    Cow::Owned(folded)
}

/// Latin-1 Supplement to Latin Extended-B, and Latin Extended Additional.
fn is_accented_latin(c: char) -> bool {
    matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}

fn stem(folded: &str) -> String {
    ENGLISH.stem(folded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(q: &str, text: &str) -> (String, bool) {
        let query = SearchQuery::parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        let marked = Highlighter::new(&query).mark(text);
        let shown = marked.text.replace(MARK_START, "[").replace(MARK_END, "]");
        (shown, marked.has_all_terms)
    }

    #[test]
    fn stems_accents_and_case_beyond_ascii_match_both_ways() {
        assert_eq!(
            marked("index ", "Indexes, indexing and an index."),
            ("[Indexes], [indexing] and an [index].".into(), true)
        );
        assert_eq!(
            marked("creme brulee ", "Crème brûlée, twice"),
            ("[Crème] [brûlée], twice".into(), true)
        );
        assert_eq!(marked("crème ", "creme"), ("[creme]".into(), true));
        assert_eq!(
            marked("ÉCOLE ΩΜΈΓΑ ", "une école, ωμέγα"),
            ("une [école], [ωμέγα]".into(), true)
        );
        assert_eq!(
            marked("Straße ", "strasse, STRAßE"),
            ("[strasse], [STRAßE]".into(), true)
        );
        // Only Latin letters lose their accents; no word matches one of another script.
        assert_eq!(
            marked("omega net ", "ωμέγα нет"),
            ("ωμέγα нет".into(), false)
        );
    }

    #[test]
    fn a_phrase_is_marked_only_where_its_words_are_adjacent() {
        assert_eq!(
            marked("\"honest schemas\"", "Honest schemas, schemas honest"),
            ("[Honest schemas], schemas honest".into(), true)
        );
        assert_eq!(
            marked("\"honest schemas\"", "schemas honest"),
            ("schemas honest".into(), false)
        );
        // A word joined by punctuation is a phrase too.
        assert_eq!(
            marked("real-time ", "Real-time, real time, time real"),
            ("[Real-time], [real time], time real".into(), true)
        );
    }

    #[test]
    fn the_last_word_is_a_prefix_only_while_typed() {
        assert_eq!(
            marked("datab", "Databases and data"),
            ("[Databases] and data".into(), true)
        );
        assert_eq!(marked("datab ", "Databases"), ("Databases".into(), false));
        // Stem to stem, as the engines compare: "running" is `run`.
        assert_eq!(marked("runn", "Running"), ("Running".into(), false));
    }

    #[test]
    fn every_wanted_term_must_be_in_the_text_and_exclusions_are_never_marked() {
        assert_eq!(
            marked("rust cache -slow", "Rust is fast, slow to compile"),
            ("[Rust] is fast, slow to compile".into(), false)
        );
        assert_eq!(
            marked("rust fast -slow", "Rust is fast"),
            ("[Rust] is [fast]".into(), true)
        );
    }

    #[test]
    fn overlapping_matches_make_one_mark_and_the_text_is_kept_as_written() {
        assert_eq!(
            marked("\"rust cache\" cache ", "<b>Rust cache</b> & more"),
            ("<b>[Rust cache]</b> & more".into(), true)
        );
        assert_eq!(marked("zebra ", ""), (String::new(), false));
        assert_eq!(
            marked("日本 ", "日本語 and 日本"),
            ("日本語 and [日本]".into(), true)
        );
    }
}
