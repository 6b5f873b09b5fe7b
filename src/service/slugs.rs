//! Slugs: transliterated, lower-case, hyphenated, and unique with `-2`, `-3`… on collision.

use diesel::QueryResult;

use crate::db::DbConn;
use crate::error::AppError;

/// Most characters in a slug.
pub const MAX_SLUG_CHARS: usize = 120;

/// `Crème Brûlée: 10 Tips!` becomes `creme-brulee-10-tips`; text with nothing to keep
/// becomes `fallback`.
pub fn slugify(text: &str, fallback: &str) -> String {
    let slug = slug::slugify(text);
    let mut slug: String = slug.chars().take(MAX_SLUG_CHARS).collect();
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        slug
    }
}

/// A tag's slug. Symbols that tell tags apart are spelled out first (`C++` is `c-plus-plus`,
/// `C#` is `c-sharp`, `.NET` is `dotnet`), so `C`, `C++` and `C#` get readable slugs of their
/// own. A name with nothing to transliterate (`*`) still gets a stable slug of its own, from
/// the hex of its bytes, so it names one tag and never collides with another.
pub fn tag_slug(name: &str) -> String {
    let name = name.trim();
    let slug = slugify(&spell_symbols(name), "");
    if !slug.is_empty() {
        return slug;
    }
    let hex: String = name.bytes().take(40).map(|b| format!("{b:02x}")).collect();
    format!("tag-{hex}")
}

/// The mapping applied before transliteration; documented in the README ("Tags").
fn spell_symbols(name: &str) -> String {
    let mut spelled = String::with_capacity(name.len() + 16);
    let mut previous: Option<char> = None;
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match c {
            '+' if previous.is_some_and(|p| p.is_alphanumeric() || p == '+')
                || next == Some('+') =>
            {
                spelled.push_str(" plus ");
            }
            '#' if previous.is_some_and(char::is_alphanumeric) => spelled.push_str(" sharp "),
            // A leading dot names a technology (.NET): "dot", joined to the word.
            '.' if !previous.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphabetic) =>
            {
                spelled.push_str("dot");
            }
            _ => spelled.push(c),
        }
        previous = Some(c);
    }
    spelled
}

/// Whether `text` is already a slug as Folio makes them.
pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.chars().count() <= MAX_SLUG_CHARS
        && text.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// `base` if it is not in `taken`, else the first free `base-2`, `base-3`…
pub fn free_slug(base: &str, taken: &[String]) -> String {
    nth_free_slug(base, taken, 0)
}

/// The `n`th free slug for `base` (0 is `free_slug`).
fn nth_free_slug(base: &str, taken: &[String], n: usize) -> String {
    std::iter::once(base.to_owned())
        .chain((2..).map(|i| format!("{base}-{i}")))
        .filter(|candidate| !taken.contains(candidate))
        .nth(n)
        .unwrap_or_else(|| base.to_owned())
}

/// Tries a derived slug gets before giving up with a 503 (only under a storm of writers
/// deriving the same base at the same instant).
const SLUG_ATTEMPTS: usize = 32;

/// Stores something under the first free slug for `base`: `taken` lists the slugs in use
/// that start with `base`; `insert` stores with the slug given, or returns `None` when the
/// slug was taken meanwhile (an `INSERT … ON CONFLICT DO NOTHING`, which on PostgreSQL
/// waits for a concurrent insert of the same slug and needs no savepoint). A derived slug is
/// Folio's choice, so a concurrent writer taking it first is never the client's conflict: a
/// collision moves on to another free slug. After the first collisions the choice is spread
/// over the next few free ones, so many writers deriving one base at once do not all chase
/// the same next number.
pub fn insert_with_free_slug<T>(
    conn: &mut DbConn,
    base: &str,
    taken: impl Fn(&mut DbConn, &str) -> QueryResult<Vec<String>>,
    mut insert: impl FnMut(&mut DbConn, &str) -> Result<Option<T>, AppError>,
) -> Result<T, AppError> {
    for attempt in 0..SLUG_ATTEMPTS {
        let in_use = taken(conn, base)?;
        let spread = if attempt < 2 {
            0
        } else {
            fastrand::usize(0..attempt.min(16))
        };
        let slug = nth_free_slug(base, &in_use, spread);
        match insert(conn, &slug)? {
            Some(stored) => return Ok(stored),
            None => tracing::debug!(
                slug,
                attempt,
                "derived slug taken meanwhile; trying another"
            ),
        }
    }
    Err(AppError::Contended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_transliterated_lower_case_and_hyphenated() {
        assert_eq!(
            slugify("Crème Brûlée: 10 Tips!", "x"),
            "creme-brulee-10-tips"
        );
        assert_eq!(slugify("Привет, мир", "x"), "privet-mir");
        assert_eq!(slugify("!!!", "article"), "article");
        assert_eq!(tag_slug(" Data Engineering "), "data-engineering");
        assert_eq!(tag_slug("+"), "tag-2b");
        assert_eq!(tag_slug("*"), "tag-2a");
        assert_ne!(tag_slug("*"), tag_slug("+"));
        assert!(is_slug("creme-brulee-10"));
        assert!(!is_slug("Creme") && !is_slug("a--b") && !is_slug("-a") && !is_slug(""));
    }

    #[test]
    fn symbols_that_tell_tags_apart_are_spelled_out() {
        for (name, slug) in [
            ("C", "c"),
            ("C++", "c-plus-plus"),
            ("C#", "c-sharp"),
            ("F#", "f-sharp"),
            (".NET", "dotnet"),
            ("Node.js", "node-js"),
            ("ASP.NET Core", "asp-net-core"),
            ("Notepad++", "notepad-plus-plus"),
            ("1 + 1", "1-1"),
            ("#hashtag", "hashtag"),
        ] {
            assert_eq!(tag_slug(name), slug, "{name}");
        }
    }

    #[test]
    fn free_slugs_skip_the_taken_ones() {
        let taken = vec!["post".to_owned(), "post-2".to_owned(), "post-4".to_owned()];
        assert_eq!(free_slug("post", &taken), "post-3");
        assert_eq!(nth_free_slug("post", &taken, 1), "post-5");
        assert_eq!(free_slug("fresh", &taken), "fresh");
    }
}
