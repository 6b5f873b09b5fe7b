//! Property tests over what parses untrusted text: whatever a client sends, the query-string
//! parser, the cursor decoder, slug making, markdown sanitizing and token parsing give a value
//! or a 4xx, never a panic or a 500, and sanitized HTML never carries a script.

use std::time::Duration;

use actix_web::ResponseError;
use folio::api::articles::ArticleListQuery;
use folio::api::extract::parse_query;
use folio::auth::token::TokenKeys;
use folio::service::markdown;
use folio::service::pagination::Cursor;
use folio::service::slugs::{MAX_SLUG_CHARS, slugify, tag_slug};
use proptest::prelude::*;

/// Query strings made of the list's own parameter names with hostile values, and plain noise.
fn query_strings() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("tag".to_owned()),
        Just("exclude_tag".to_owned()),
        Just("tag_match".to_owned()),
        Just("author".to_owned()),
        Just("q".to_owned()),
        Just("sort".to_owned()),
        Just("page".to_owned()),
        Just("limit".to_owned()),
        Just("cursor".to_owned()),
        Just("count".to_owned()),
        Just("fields".to_owned()),
        Just("status".to_owned()),
        Just("published_after".to_owned()),
        Just("published_before".to_owned()),
        "[a-z_]{1,12}",
    ];
    let value = prop_oneof![
        "\\PC{0,40}",
        "-?[0-9]{1,25}",
        Just("%FF%FE".to_owned()),
        Just("2025-13-45T99:99:99Z".to_owned()),
        Just(",,,".to_owned()),
        Just("\"unclosed".to_owned()),
    ];
    let pairs = proptest::collection::vec((key, value), 0..8).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    prop_oneof![pairs, "\\PC{0,80}", "[=&%a-z0-9]{0,60}"]
}

/// Markdown with the attacks a sanitizer meets mixed into arbitrary text.
fn hostile_markdown() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "\\PC{0,30}",
        Just("<script>alert(1)</script>".to_owned()),
        Just("<img src=x onerror=alert(1)>".to_owned()),
        Just("<svg/onload=alert(1)>".to_owned()),
        Just("[click](javascript:alert(1))".to_owned()),
        Just("[x](jav&#x09;ascript:alert(1))".to_owned()),
        Just("<a href=\"JaVaScRiPt:alert(1)\">x</a>".to_owned()),
        Just("<a href=\" javascript:alert(1)\">x</a>".to_owned()),
        Just("![i](javascript:alert(1))".to_owned()),
        Just("<iframe src=//evil></iframe>".to_owned()),
        Just("<div style=\"background:url(javascript:x)\" onclick=\"x()\">".to_owned()),
        Just("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>".to_owned()),
        Just("\n\n```\n<script>x</script>\n```\n".to_owned()),
        Just("{#id onclick=x}".to_owned()),
        Just("# Heading {onmouseover=alert(1)}".to_owned()),
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// Every tag in sanitized HTML (text `<` is always escaped, so each `<` opens a real tag).
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .filter_map(|(start, _)| {
            html[start..]
                .find('>')
                .map(|end| &html[start..=start + end])
        })
        .collect()
}

fn is_dangerous(tag: &str) -> Option<&'static str> {
    let lower = tag.to_ascii_lowercase();
    let name: String = lower[1..]
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    if matches!(
        name.as_str(),
        "script" | "style" | "iframe" | "object" | "embed" | "svg" | "math"
    ) {
        return Some("a dangerous element");
    }
    // Attribute names follow whitespace; any `on…=` is an event handler.
    let handler = lower
        .split(|c: char| c.is_whitespace() || c == '/')
        .skip(1)
        .any(|attribute| attribute.starts_with("on") && attribute.contains('='));
    if handler {
        return Some("an event handler");
    }
    let squeezed: String = lower
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    if squeezed.contains("=\"javascript:")
        || squeezed.contains("='javascript:")
        || squeezed.contains("=javascript:")
    {
        return Some("a javascript: URL");
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_query_string_is_a_list_query_or_a_client_error(query in query_strings()) {
        let config = folio::Config::for_tests("sqlite://unused.db");
        let parsed = parse_query::<ArticleListQuery>(&query).and_then(|q| q.into_query(&config));
        if let Err(error) = parsed {
            prop_assert!(error.status_code().is_client_error(), "{query:?} gave {:?}", error.status_code());
        }
    }

    #[test]
    fn any_cursor_text_decodes_or_is_refused(text in prop_oneof![
        "\\PC{0,60}",
        "[A-Za-z0-9_-]{0,120}",
        any::<Vec<u8>>().prop_map(|bytes| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        }),
        ("\\PC{0,10}", any::<i64>(), "\\PC{0,10}").prop_map(|(s, i, k)| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(format!(r#"{{"s":"{s}","i":{i},"k":"{k}"}}"#))
        }),
    ]) {
        let _decoded = Cursor::decode(&text, None);
    }

    #[test]
    fn slugs_are_short_lower_case_words_joined_by_hyphens(text in "\\PC{0,300}") {
        let slug = slugify(&text, "untitled");
        prop_assert!(slug.chars().count() <= MAX_SLUG_CHARS);
        prop_assert!(slug == "untitled" || is_slug(&slug), "{text:?} gave {slug:?}");
        // Blank names never reach it (a tag name must have a visible character).
        if !text.trim().is_empty() {
            let tag = tag_slug(&text);
            prop_assert!(is_slug(&tag), "{text:?} gave tag {tag:?}");
        }
    }

    #[test]
    fn sanitized_markdown_never_carries_a_script(markdown in hostile_markdown()) {
        let html = markdown::render(&markdown);
        for tag in tags(&html) {
            prop_assert!(is_dangerous(tag).is_none(), "{markdown:?} kept {:?}: {tag}", is_dangerous(tag));
        }
    }

    #[test]
    fn any_bearer_text_is_refused_without_a_panic(token in prop_oneof![
        "\\PC{0,200}",
        "[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,80}\\.[A-Za-z0-9_-]{0,60}",
        Just("eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.".to_owned()),
    ]) {
        let keys = TokenKeys::new(
            b"a secret of at least thirty-two bytes!",
            "folio",
            "folio",
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        let refused = keys.verify_access(&token);
        prop_assert!(refused.is_err());
        prop_assert!(refused.unwrap_err().status_code().is_client_error());
        prop_assert!(keys.verify_preview(&token).is_none());
    }
}

fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && !text.starts_with('-')
        && !text.ends_with('-')
        && !text.contains("--")
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The checker itself catches what it looks for, so a passing property means something.
#[test]
fn the_script_checker_sees_scripts() {
    for bad in [
        "<script>",
        "<img src=x onerror=alert(1)>",
        "<a href=\"javascript:alert(1)\">",
        "<a href=\" JAVASCRIPT:x\">",
        "<div onclick=\"x\">",
    ] {
        assert!(is_dangerous(bad).is_some(), "{bad}");
    }
    assert!(is_dangerous("<a href=\"https://example.com\" rel=\"noopener\">").is_none());
    assert_eq!(
        tags("<p>a &lt;b&gt; <em>c</em></p>"),
        ["<p>", "<em>", "</em>", "</p>"]
    );
}
