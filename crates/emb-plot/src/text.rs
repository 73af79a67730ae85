//! Text made safe and short: XML escaping, one-line clean-up and truncation.

/// The mark put where text was cut.
pub(crate) const ELLIPSIS: char = '…';

/// `text` escaped for XML and HTML character data and attribute values; characters that XML
/// 1.0 forbids (control characters other than tab, line feed and carriage return) are dropped.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(character),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            _ => escaped.push(character),
        }
    }
    escaped
}

/// `text` on one line: runs of whitespace (line breaks included) become one space, and the ends
/// are trimmed.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first `limit` characters of `text`, ending in an ellipsis when it was longer (the
/// ellipsis counts towards the limit).
pub(crate) fn truncate(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(limit.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push(ELLIPSIS);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("bell\u{7} tab\t"), "bell tab\t");
    }

    #[test]
    fn text_is_cut_to_the_limit_with_an_ellipsis() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        assert_eq!(truncate("a longer sentence", 10), "a longer…");
        assert_eq!(truncate("héllo wörld", 4).chars().count(), 4);
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(one_line("  two\n\nlines\t here "), "two lines here");
    }
}
