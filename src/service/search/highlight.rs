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
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

use super::SearchQuery;

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// A query's wanted terms, folded and stemmed once for a whole page.
pub struct Highlighter {
    terms: Vec<Vec<Pattern>>,
    /// How the wanted words' stems start: their first two letters (the whole stem if it is
    /// shorter). The English stemmer only ever changes a word's ending: a stem starts with
    /// the word's first two letters, or is its first letter alone. So only words starting
    /// with one of these can match, and only they are folded and stemmed: stemming every
    /// word of a page's titles and excerpts was a fifth of a search page's time, and every
    /// word starting with a wanted word's first letter still a tenth.
    leads: Vec<String>,
    /// The words folded and stemmed so far, each with its stem's place in `stems`: a page
    /// repeats the words it was found for, so each is stemmed once.
    stem_of: HashMap<String, usize>,
    stems: Vec<String>,
}

struct Pattern {
    stem: String,
    prefix: bool,
}

/// Where a text holds the query's words, and whether every wanted term is in it.
#[derive(Debug, PartialEq, Eq)]
pub struct Marked {
    /// Byte ranges of the text to mark, in order, apart from each other, each on character
    /// boundaries.
    pub marks: Vec<Range<usize>>,
    pub has_all_terms: bool,
}

/// A word of the text that may match: where it is, which word of the text it is (so a phrase
/// can tell adjacent words), and its stem's place in `Highlighter::stems`.
struct Token {
    start: usize,
    end: usize,
    ordinal: usize,
    stem: usize,
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
        let mut leads: Vec<String> = terms
            .iter()
            .flatten()
            .map(|word| word.stem.chars().take(LEAD_LETTERS).collect::<String>())
            .flat_map(|lead| {
                // But for "dying", "lying" and "tying" (`die`, `lie`, `tie`), which Snowball
                // lists as exceptions.
                let exception = match lead.as_str() {
                    "di" => Some("dy".to_owned()),
                    "li" => Some("ly".to_owned()),
                    "ti" => Some("ty".to_owned()),
                    _ => None,
                };
                [Some(lead), exception].into_iter().flatten()
            })
            .collect();
        leads.sort_unstable();
        leads.dedup();
        Self {
            terms,
            leads,
            stem_of: HashMap::new(),
            stems: Vec::new(),
        }
    }

    /// Where `text` holds the query's wanted terms (a phrase only where its words are
    /// adjacent); the API writes the marks into the escaped text (`api::articles`).
    pub fn mark(&mut self, text: &str) -> Marked {
        let tokens = self.tokens(text);
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut has_all_terms = true;
        for term in &self.terms {
            let mut found = false;
            // Every term has a word (`SearchQuery::parse`); a phrase's words are adjacent
            // words of the text, each matching in turn.
            for window in tokens.windows(term.len().max(1)) {
                let (Some(first), Some(last)) = (window.first(), window.last()) else {
                    continue;
                };
                let in_turn = window
                    .iter()
                    .zip(term)
                    .enumerate()
                    .all(|(i, (token, word))| {
                        token.ordinal == first.ordinal + i
                            && self
                                .stems
                                .get(token.stem)
                                .is_some_and(|stem| word.matches(stem))
                    });
                if in_turn {
                    spans.push((first.start, last.end));
                    found = true;
                }
            }
            has_all_terms &= found;
        }
        spans.sort_unstable();
        let mut marks: Vec<Range<usize>> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match marks.last_mut() {
                // Overlapping matches (two terms sharing a word) make one mark.
                Some(last) if start < last.end => last.end = last.end.max(end),
                _ => marks.push(start..end),
            }
        }
        Marked {
            marks,
            has_all_terms,
        }
    }
}

impl Pattern {
    fn matches(&self, stem: &str) -> bool {
        // A prefix is compared stem to stem, as both engines do: `runn` does not find
        // "running" (stem `run`), `datab` finds "databases" (`databas`).
        stem == self.stem || (self.prefix && stem.starts_with(&self.stem))
    }
}

impl Highlighter {
    /// The words of `text` that may match (`stem_if_it_may_match`), read as `SearchQuery`
    /// reads words: runs of letters and digits. Byte by byte where the text is ASCII, which
    /// most is: decoding and classifying every character was nearly a third of the marking,
    /// itself a fifth of the server's work for a search page on PostgreSQL.
    fn tokens(&mut self, text: &str) -> Vec<Token> {
        let bytes = text.as_bytes();
        let mut tokens = Vec::new();
        let (mut at, mut start, mut ordinal) = (0, None, 0);
        while at <= bytes.len() {
            let (in_word, width) = match bytes.get(at) {
                None => (false, 1),
                Some(byte) if byte.is_ascii() => (byte.is_ascii_alphanumeric(), 1),
                // `at` is on a character's first byte: every step is a character's width.
                Some(_) => text[at..]
                    .chars()
                    .next()
                    .map_or((false, 1), |c| (c.is_alphanumeric(), c.len_utf8())),
            };
            match (start, in_word) {
                (None, true) => start = Some(at),
                (Some(from), false) => {
                    if let Some(stem) = self.stem_if_it_may_match(&text[from..at]) {
                        tokens.push(Token {
                            start: from,
                            end: at,
                            ordinal,
                            stem,
                        });
                    }
                    ordinal += 1;
                    start = None;
                }
                _ => {}
            }
            at += width;
        }
        tokens
    }

    /// Where the word's stem is in `stems`, if the word starts as one of `leads` does once
    /// folded. An ASCII word folds to its lower case, so it is checked before folding: most
    /// words are ASCII and start otherwise, and are passed over without folding them.
    fn stem_if_it_may_match(&mut self, word: &str) -> Option<usize> {
        let ascii = word.is_ascii();
        if ascii && !self.starts_as_a_lead(word) {
            return None;
        }
        let folded = fold(word);
        if !ascii && !self.starts_as_a_lead(&folded) {
            return None;
        }
        if let Some(&known) = self.stem_of.get(folded.as_ref()) {
            return Some(known);
        }
        self.stems.push(stem(&folded));
        let place = self.stems.len() - 1;
        self.stem_of.insert(folded.into_owned(), place);
        Some(place)
    }

    /// Whether `word` starts with one of `leads`, ASCII letters in either case.
    fn starts_as_a_lead(&self, word: &str) -> bool {
        self.leads.iter().any(|lead| {
            word.as_bytes()
                .get(..lead.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(lead.as_bytes()))
        })
    }
}

/// How many of a word's first letters the English stemmer keeps, where it leaves that many
/// (but for three words: see `Highlighter::new`).
const LEAD_LETTERS: usize = 2;

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
        let mut shown = String::new();
        let mut written = 0;
        for mark in &marked.marks {
            shown.push_str(&text[written..mark.start]);
            shown.push_str(&format!("[{}]", &text[mark.clone()]));
            written = mark.end;
        }
        shown.push_str(&text[written..]);
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

    /// What lets `mark` stem only the words starting as a wanted stem does.
    #[test]
    fn a_stem_starts_as_its_word_does() {
        // Snowball's exceptions and the suffixes it rewrites rather than removes, the
        // `y` it treats as a consonant, and words of the test corpus and the seeder.
        let words = "dying lying tying skis skies ies ugly early only singly idly gently \
            news atlas cosmos bias andes inning outing canning herring earring proceed \
            exceed succeed ay ayes eyes oyster yelling years yyy generously communication \
            arsenal relational conditional rational valenci hesitanci digitizer \
            conformabli radicalli differentli vileli analogousli vietnamization predication \
            operator feudalism decisiveness hopefulness callousness formaliti sensitiviti \
            sensibiliti triplicate formative formalize electriciti electrical hopeful \
            goodness revival allowance inference airliner gyroscopic adjustable defensible \
            irritant replacement adjustment dependent adoption homologou communism activate \
            angulariti homologous effective bowdlerize queries query indexes indexing \
            databases caching cached schemas honest running zymurgy ecole creme brulee \
            strasse ωμέγα нет 日本語 2fa i a by my aing aings oed";
        for word in words.split_whitespace() {
            let stemmed = stem(word);
            let lead: String = stemmed.chars().take(LEAD_LETTERS).collect();
            let exception = ["dying", "lying", "tying"].contains(&word);
            assert!(
                word.starts_with(&lead) != exception,
                "{word:?} stems to {stemmed:?}"
            );
        }
        // Those three are still marked.
        assert_eq!(
            marked("die lie ", "Dying, lying, tying"),
            ("[Dying], [lying], tying".into(), true)
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
        // A word that cannot match still parts the phrase's words; punctuation does not.
        assert_eq!(
            marked(
                "\"honest schemas\"",
                "honest old schemas, honest über schemas"
            ),
            ("honest old schemas, honest über schemas".into(), false)
        );
        assert_eq!(
            marked("\"honest schemas\"", "honest — schemas"),
            ("[honest — schemas]".into(), true)
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
