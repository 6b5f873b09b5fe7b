//! Slugs: transliterated, lower-case, hyphenated, and unique with `-2`, `-3`… on collision.

use crate::db::{self, DbConn};
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

/// A tag's slug. A name with nothing to transliterate (`+`, `*`) still gets a stable slug of
/// its own, from the hex of its bytes, so it names one tag and never collides with another.
pub fn tag_slug(name: &str) -> String {
    let name = name.trim();
    let slug = slugify(name, "");
    if !slug.is_empty() {
        return slug;
    }
    let hex: String = name.bytes().take(40).map(|b| format!("{b:02x}")).collect();
    format!("tag-{hex}")
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
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    let next = (2..=taken.len() + 1)
        .find(|n| !taken.contains(&format!("{base}-{n}")))
        .unwrap_or(taken.len() + 2);
    format!("{base}-{next}")
}

/// The first free article slug for `title`.
pub fn free_article_slug(conn: &mut DbConn, title: &str) -> Result<String, AppError> {
    let base = slugify(title, "article");
    Ok(free_slug(&base, &db::articles::slugs_like(conn, &base)?))
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
        assert_ne!(tag_slug("*"), tag_slug("+"));
        assert!(is_slug("creme-brulee-10"));
        assert!(!is_slug("Creme") && !is_slug("a--b") && !is_slug("-a") && !is_slug(""));
    }
}
