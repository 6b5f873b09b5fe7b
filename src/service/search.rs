//! The search box's language, read from `q` and written for each database's own engine
//! (SQLite FTS5, PostgreSQL tsquery):
//!
//! - words are all required, in any order; `"a phrase"` wants its words adjacent and in
//!   order, and so does a word joined by punctuation (`real-time`, `e-mail`);
//! - `-word` (or `-"a phrase"`) leaves out what matches it;
//! - the last word is also a prefix (`datab` finds "database") while it is being typed, that
//!   is, unless the query ends with a space or a closing quote;
//! - everything else is text: only letters and digits make words, so no character a person
//!   types is ever engine syntax (`*`, `:`, `^`, `(`, `NEAR`, `&`, `|`, `!`, `<->`, quotes
//!   left open, a lone `-`).
//!
//! Stemming, accent and case folding are the engines' (see the search migrations); marking
//! the matched words in a page's titles and excerpts is Folio's (`highlight`).
//!
//! Relevance is where a search matched: the title (tier 3) above the excerpt (2) above
//! anywhere else, the body, tag or author names (1); within a tier, newest first. Each tier is
//! its own engine query, so a page reads matches in the index's own order and stops at its
//! limit, for a word in a dozen articles or in a million. (A score like bm25 must be computed
//! for every match before the first page: 1.6 s for a common word at a million articles.)

mod highlight;

pub use highlight::Highlighter;

/// A parsed query: at least one wanted term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    terms: Vec<Term>,
}

/// Words that must appear next to each other (one word is a phrase of one).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    words: Vec<String>,
    excluded: bool,
    /// The last word may be the start of a longer one.
    prefix: bool,
}

/// Where a search matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tier {
    /// Neither in the title nor in the excerpt alone: the body, names, or spread across.
    Elsewhere = 1,
    Excerpt = 2,
    Title = 3,
}

impl Tier {
    pub const BEST_FIRST: [Self; 3] = [Self::Title, Self::Excerpt, Self::Elsewhere];

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(number: u8) -> Option<Self> {
        Self::BEST_FIRST.into_iter().find(|t| t.number() == number)
    }
}

impl Term {
    /// Quoted lexemes joined by `<->`, `:*` after the last for a prefix.
    fn tsquery(&self) -> String {
        let last = self.words.len() - 1;
        let words: Vec<String> = self
            .words
            .iter()
            .enumerate()
            .map(|(i, word)| {
                let star = if self.prefix && i == last { ":*" } else { "" };
                format!("'{word}'{star}")
            })
            .collect();
        format!("({})", words.join(" <-> "))
    }

    /// A quoted FTS5 string (nothing in it is syntax), `*` after it for a prefix.
    fn fts5(&self) -> String {
        let mut text = format!("\"{}\"", self.words.join(" "));
        if self.prefix {
            text.push('*');
        }
        text
    }
}

/// Why `q` cannot be searched for; the API makes it a 400 on `q`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("has no words to search for (only letters and digits make words)")]
    NoWords,
    #[error("only excludes words; add a word to search for")]
    OnlyExclusions,
}

/// The shortest prefix searched as one: a single letter would match nearly every article.
const MIN_PREFIX_CHARS: usize = 2;

impl SearchQuery {
    pub fn parse(q: &str) -> Result<Self, QueryError> {
        let mut terms = Vec::new();
        let mut chars = q.chars().peekable();
        let mut last_open = false;
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
                continue;
            }
            let mut excluded = false;
            if c == '-' {
                chars.next();
                match chars.peek() {
                    // A lone `-` (or one before a space) is just text.
                    None => break,
                    Some(next) if next.is_whitespace() => continue,
                    Some(_) => excluded = true,
                }
            }
            let (text, quoted, closed) = if chars.peek() == Some(&'"') {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    text.push(c);
                }
                (text, true, closed)
            } else {
                let mut text = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '"' {
                        break;
                    }
                    text.push(c);
                    chars.next();
                }
                (text, false, false)
            };
            let words = words_of(&text);
            // Still being typed: an unquoted word at the very end, or a phrase left open.
            last_open = chars.peek().is_none() && (!quoted || !closed);
            if !words.is_empty() {
                terms.push(Term {
                    words,
                    excluded,
                    prefix: false,
                });
            }
        }
        if terms.is_empty() {
            return Err(QueryError::NoWords);
        }
        if terms.iter().all(|t| t.excluded) {
            return Err(QueryError::OnlyExclusions);
        }
        if last_open
            && let Some(last) = terms.last_mut()
            && !last.excluded
            && last
                .words
                .last()
                .is_some_and(|w| w.chars().count() >= MIN_PREFIX_CHARS)
        {
            last.prefix = true;
        }
        Ok(Self { terms })
    }

    /// An FTS5 query for every match: each term a quoted string (so nothing in it is
    /// syntax), wanted terms side by side (AND), then `NOT` each excluded one.
    pub fn fts5(&self) -> String {
        self.fts5_where(None)
    }

    /// An FTS5 query for the matches of one tier: all wanted terms in the title; in the
    /// excerpt and not the title; or neither.
    pub fn fts5_tier(&self, tier: Tier) -> String {
        self.fts5_where(Some(tier))
    }

    /// An FTS5 query for the wanted words, each anywhere: as many articles as the query
    /// matches, or more, found without reading word positions (which phrases need).
    pub fn fts5_words(&self) -> String {
        let words: Vec<String> = self
            .wanted()
            .flat_map(|term| {
                let last = term.words.len() - 1;
                term.words.iter().enumerate().map(move |(i, word)| {
                    let star = if term.prefix && i == last { "*" } else { "" };
                    format!("\"{word}\"{star}")
                })
            })
            .collect();
        words.join(" ")
    }

    fn wanted(&self) -> impl Iterator<Item = &Term> {
        self.terms.iter().filter(|t| !t.excluded)
    }

    fn fts5_where(&self, tier: Option<Tier>) -> String {
        let wanted: Vec<String> = self.wanted().map(Term::fts5).collect();
        let wanted = format!("({})", wanted.join(" "));
        let in_column = |column: &str| format!("({{{column}}} : {wanted})");
        let mut query = match tier {
            None => wanted.clone(),
            Some(Tier::Title) => in_column("title"),
            Some(Tier::Excerpt) => format!("{} NOT {}", in_column("excerpt"), in_column("title")),
            Some(Tier::Elsewhere) => format!(
                "{wanted} NOT {} NOT {}",
                in_column("title"),
                in_column("excerpt")
            ),
        };
        for term in self.terms.iter().filter(|t| t.excluded) {
            query.push_str(" NOT ");
            query.push_str(&term.fts5());
        }
        query
    }

    /// A `to_tsquery` input for every match: each word a quoted lexeme, phrases joined by
    /// `<->`, terms by `&`, excluded ones negated.
    pub fn tsquery(&self) -> String {
        let mut parts = vec![self.tsquery_wanted()];
        parts.extend(
            self.terms
                .iter()
                .filter(|t| t.excluded)
                .map(|t| format!("!{}", t.tsquery())),
        );
        parts.join(" & ")
    }

    /// A `to_tsquery` input for the wanted terms alone (what a tier looks for in the title
    /// or the excerpt).
    pub fn tsquery_wanted(&self) -> String {
        let terms: Vec<String> = self.wanted().map(Term::tsquery).collect();
        format!("({})", terms.join(" & "))
    }

    /// Whether some term is excluded.
    pub fn excludes(&self) -> bool {
        self.terms.iter().any(|t| t.excluded)
    }

    /// Whether some term is a phrase of several words (an index of words finds the rows
    /// with all of them, and each must then be read to check their order).
    pub fn has_phrase(&self) -> bool {
        self.terms.iter().any(|t| t.words.len() > 1)
    }
}

/// The words of a piece of text: runs of letters and digits, lower-cased (the engines fold
/// case too; doing it here keeps `NEAR` or `AND` from ever reading as an operator).
fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(q: &str) -> (String, String) {
        let query = SearchQuery::parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
        (query.fts5(), query.tsquery())
    }

    #[test]
    fn words_are_all_wanted_and_the_last_one_is_a_prefix_while_typed() {
        assert_eq!(
            parsed("rust datab"),
            (
                "(\"rust\" \"datab\"*)".into(),
                "(('rust') & ('datab':*))".into()
            )
        );
        // Finished with a space: no prefix.
        assert_eq!(parsed("rust database ").0, "(\"rust\" \"database\")");
        // One letter is not a useful prefix.
        assert_eq!(parsed("rust d").0, "(\"rust\" \"d\")");
    }

    #[test]
    fn quotes_make_phrases_and_a_dash_excludes() {
        assert_eq!(
            parsed("\"honest schemas\" -drafts"),
            (
                "(\"honest schemas\") NOT \"drafts\"".into(),
                "(('honest' <-> 'schemas')) & !('drafts')".into()
            )
        );
        assert_eq!(
            parsed("cache -\"query plans\" real-time"),
            (
                "(\"cache\" \"real time\"*) NOT \"query plans\"".into(),
                "(('cache') & ('real' <-> 'time':*)) & !('query' <-> 'plans')".into()
            )
        );
        // A phrase left open is still being typed.
        assert_eq!(parsed("\"query pla").0, "(\"query pla\"*)");
    }

    #[test]
    fn engine_operators_are_only_text() {
        for q in [
            "a* b",
            "title:x",
            "^start",
            "(group)",
            "x NEAR y",
            "a & b",
            "a | b",
            "!not",
            "a <-> b",
            "\"open",
            "- lone",
            "NEAR/3",
            "AND OR NOT",
            "'quote'",
            "back\\slash",
        ] {
            let query = SearchQuery::parse(q).unwrap_or_else(|e| panic!("{q:?}: {e}"));
            let fts = query.fts5();
            // Outside the quotes only our own syntax remains.
            let outside: String = fts.split('"').step_by(2).collect();
            assert!(
                outside
                    .chars()
                    .all(|c| " ()*".contains(c) || "NOT".contains(c)),
                "{q:?} → {fts}"
            );
            let ts = query.tsquery();
            let outside: String = ts.split('\'').step_by(2).collect();
            assert!(
                outside.chars().all(|c| " ()&!<->:*".contains(c)),
                "{q:?} → {ts}"
            );
        }
        assert_eq!(parsed("x NEAR y").0, "(\"x\" \"near\" \"y\")");
    }

    #[test]
    fn tiers_split_the_matches_by_where_they_are() {
        let query = SearchQuery::parse("-drafts cache datab").unwrap();
        let wanted = "(\"cache\" \"datab\"*)";
        assert_eq!(
            query.fts5_tier(Tier::Title),
            format!("({{title}} : {wanted}) NOT \"drafts\"")
        );
        assert_eq!(
            query.fts5_tier(Tier::Excerpt),
            format!("({{excerpt}} : {wanted}) NOT ({{title}} : {wanted}) NOT \"drafts\"")
        );
        assert_eq!(
            query.fts5_tier(Tier::Elsewhere),
            format!(
                "{wanted} NOT ({{title}} : {wanted}) NOT ({{excerpt}} : {wanted}) NOT \"drafts\""
            )
        );
        assert_eq!(query.tsquery_wanted(), "(('cache') & ('datab':*))");
        assert!(query.excludes());
    }

    #[test]
    fn nothing_to_search_for_is_refused() {
        for q in ["", "   ", "*** !!", "\"\"", "-", "- -"] {
            assert_eq!(SearchQuery::parse(q), Err(QueryError::NoWords), "{q:?}");
        }
        assert_eq!(
            SearchQuery::parse("-rust -go"),
            Err(QueryError::OnlyExclusions)
        );
    }

    #[test]
    fn case_is_folded_beyond_ascii() {
        assert_eq!(parsed("ÉCOLE Ωμέγα").0, "(\"école\" \"ωμέγα\"*)");
    }
}
