//! Markdown to sanitized HTML, plus what is derived from a body (excerpt, reading time).
//! Rendering happens when an article is written, never when it is read.

use std::sync::LazyLock;

use pulldown_cmark::{Event, Options, Parser, TagEnd, html};

/// ammonia's defaults drop scripts, event-handler attributes and `javascript:` URLs; links
/// also get `rel="noopener noreferrer"`.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_generic_attributes(["id"])
        .add_tag_attributes("code", ["class"]);
    builder
});

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// Renders markdown to HTML that is safe to insert into a page as is.
pub fn render(markdown: &str) -> String {
    let mut unsafe_html = String::with_capacity(markdown.len() * 5 / 4);
    html::push_html(&mut unsafe_html, Parser::new_ext(markdown, options()));
    SANITIZER.clean(&unsafe_html).to_string()
}

/// The plain text of a body, as a reader would see it.
fn plain_text(markdown: &str) -> String {
    let mut text = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(t) | Event::Code(t) => text.push_str(&t),
            // Blocks end with a space; inline ends (emphasis, links) must not add one.
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableCell,
            ) => text.push(' '),
            _ => {}
        }
    }
    text
}

/// An excerpt of at most `max_chars` characters, cut at a word boundary.
pub fn excerpt(markdown: &str, max_chars: usize) -> String {
    let text = plain_text(markdown);
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::new();
    for word in words {
        let extra = if out.is_empty() { 0 } else { 1 };
        if out.chars().count() + extra + word.chars().count() > max_chars {
            out.push('…');
            break;
        }
        if extra == 1 {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whole minutes at 265 words a minute (Medium's figure), at least one.
pub fn reading_time(markdown: &str) -> i32 {
    let words = plain_text(markdown).split_whitespace().count();
    i32::try_from(words.div_ceil(265))
        .unwrap_or(i32::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_event_handlers_and_javascript_urls_are_removed() {
        let html = render(
            "Hi <script>alert(1)</script>\n\n<img src=x onerror=\"alert(2)\">\n\n[x](javascript:alert(3))",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("onerror"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("Hi"), "{html}");
    }

    #[test]
    fn markdown_becomes_html() {
        let html = render("# Title\n\nSome *emphasis* and `code`.");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>emphasis</em>"), "{html}");
    }

    #[test]
    fn excerpt_cuts_at_a_word_and_reading_time_counts_words() {
        assert_eq!(excerpt("# A\n\nOne two three four", 12), "A One two…");
        assert_eq!(
            excerpt("See *this*. And [that](https://x.y)!", 100),
            "See this. And that!"
        );
        assert_eq!(reading_time("word "), 1);
        assert_eq!(reading_time(&"word ".repeat(530)), 2);
    }
}
