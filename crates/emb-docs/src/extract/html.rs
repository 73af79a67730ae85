//! HTML to readable text: headings become `#` lines, list items `- ` lines, what a reader does
//! not see is dropped and the `<title>` opens the text.

use ego_tree::iter::Edge;
use scraper::{Html, Node};

use super::tidy_lines;

const HTML_NAMESPACE: &str = "http://www.w3.org/1999/xhtml";

/// Elements whose content is not text a reader sees.
const SKIPPED_ELEMENTS: &[&str] =
    &["head", "script", "style", "noscript", "template", "svg", "math", "iframe", "select"];

/// How much space an element puts around itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Break {
    /// Its text starts and ends a line.
    Line,
    /// It is separated from what is around it by a blank line.
    Paragraph,
}

fn block_break(element: &str) -> Option<Break> {
    match element {
        "p" | "pre" | "blockquote" | "table" | "figure" | "hr" | "dl" | "ul" | "ol" | "menu"
        | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "address" | "details" | "fieldset" | "form" => {
            Some(Break::Paragraph)
        }
        "html" | "body" | "div" | "section" | "article" | "aside" | "header" | "footer" | "nav"
        | "main" | "search" | "hgroup" | "center" | "dialog" | "li" | "dt" | "dd" | "tr"
        | "thead" | "tbody" | "tfoot" | "caption" | "figcaption" | "summary" | "legend"
        | "option" | "optgroup" | "textarea" | "frameset" | "noframes" => Some(Break::Line),
        _ => None,
    }
}

/// The level of a heading element `h1`–`h6`.
fn heading_level(element: &str) -> Option<usize> {
    match element.as_bytes() {
        [b'h', level @ b'1'..=b'6'] => Some(usize::from(level - b'0')),
        _ => None,
    }
}

/// Readable text of an HTML document; see the module documentation.
pub(super) fn html_to_text(html: &str) -> String {
    let document = Html::parse_document(html);
    let mut writer = TextWriter::default();
    if let Some(title) = title(&document) {
        writer.prefix = Some("# ".to_owned());
        writer.text(&title);
        writer.request_break(Break::Paragraph);
    }
    // How many skipped elements are open around the current node, and how many `<pre>` and lists.
    let (mut skipped, mut preformatted, mut lists) = (0usize, 0usize, 0usize);
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Text(text) if skipped == 0 => {
                    if preformatted > 0 {
                        writer.preformatted(text);
                    } else {
                        writer.text(text);
                    }
                }
                Node::Element(element) => {
                    let name = element.name();
                    if skipped > 0 || SKIPPED_ELEMENTS.contains(&name) {
                        skipped += 1;
                        continue;
                    }
                    match name {
                        "br" => writer.hard_break(),
                        "td" | "th" => writer.space(),
                        "pre" => preformatted += 1,
                        "li" => {
                            writer.request_break(Break::Line);
                            let indent = "  ".repeat(lists.saturating_sub(1));
                            writer.prefix = Some(format!("{indent}- "));
                            continue;
                        }
                        _ => {}
                    }
                    if let Some(level) = heading_level(name) {
                        writer.request_break(Break::Paragraph);
                        writer.prefix = Some(format!("{} ", "#".repeat(level)));
                        continue;
                    }
                    if let Some(kind) = block_break(name) {
                        writer.request_break(if lists > 0 { Break::Line } else { kind });
                    }
                    if matches!(name, "ul" | "ol" | "menu") {
                        lists += 1;
                    }
                }
                _ => {}
            },
            Edge::Close(node) => {
                let Node::Element(element) = node.value() else {
                    continue;
                };
                if skipped > 0 {
                    skipped -= 1;
                    continue;
                }
                let name = element.name();
                match name {
                    "pre" => preformatted -= 1,
                    "ul" | "ol" | "menu" => lists -= 1,
                    _ => {}
                }
                if heading_level(name).is_some() || name == "li" {
                    // An empty heading or item leaves no `#` or `-` line behind.
                    writer.prefix = None;
                }
                if let Some(kind) = block_break(name) {
                    writer.request_break(if lists > 0 { Break::Line } else { kind });
                }
            }
        }
    }
    tidy_lines(&writer.text)
}

/// The text of the document's `<title>`, whitespace collapsed, if it has one with text.
fn title(document: &Html) -> Option<String> {
    // Only the HTML one: an SVG `<title>` is a tooltip.
    let title = document.tree.root().descendants().find(|node| {
        node.value()
            .as_element()
            .is_some_and(|element| element.name() == "title" && &*element.name.ns == HTML_NAMESPACE)
    })?;
    let text: String =
        title.descendants().filter_map(|node| node.value().as_text().map(|text| &**text)).collect();
    let title = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

/// Writes text with collapsed whitespace, line breaks owed by blocks and line prefixes.
#[derive(Default)]
struct TextWriter {
    text: String,
    /// Newlines owed before the next text: 1 starts a new line, 2 also leaves a blank line.
    newlines: usize,
    /// Whether whitespace was seen since the last text.
    space: bool,
    /// Written where the next text starts, on a line of its own: `## ` for a heading, `- ` for an
    /// item. Dropped if no text comes before the element ends.
    prefix: Option<String>,
}

impl TextWriter {
    fn request_break(&mut self, kind: Break) {
        let newlines = match kind {
            Break::Line => 1,
            Break::Paragraph => 2,
        };
        self.newlines = self.newlines.max(newlines);
        self.space = false;
    }

    fn hard_break(&mut self) {
        self.newlines += 1;
        self.space = false;
    }

    fn space(&mut self) {
        self.space = true;
    }

    fn at_line_start(&self) -> bool {
        self.text.is_empty() || self.text.ends_with('\n')
    }

    /// Writes what is owed before text: newlines, then a space or the prefix.
    fn start_text(&mut self) {
        if self.prefix.is_some() {
            self.newlines = self.newlines.max(1);
        }
        if !self.text.is_empty() {
            let written = self.text.len() - self.text.trim_end_matches('\n').len();
            for _ in written..self.newlines {
                self.text.push('\n');
            }
        }
        self.newlines = 0;
        if let Some(prefix) = self.prefix.take() {
            self.text.push_str(&prefix);
        } else if self.space && !self.at_line_start() {
            self.text.push(' ');
        }
        self.space = false;
    }

    /// Writes text whose whitespace runs (no-break spaces included) collapse to one space.
    fn text(&mut self, text: &str) {
        let collapsible =
            |character: char| character.is_ascii_whitespace() || character == '\u{a0}';
        for (index, word) in text.split(collapsible).enumerate() {
            // Every piece but the first comes after whitespace.
            if index > 0 {
                self.space = true;
            }
            if !word.is_empty() {
                self.start_text();
                self.text.push_str(word);
            }
        }
    }

    /// Writes the text of a `<pre>` as it is.
    fn preformatted(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        self.start_text();
        self.text.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(source: &str) -> String {
        html_to_text(source)
    }

    #[test]
    fn html_headings_become_markdown_headings() {
        assert_eq!(
            html("<h1>One</h1>text<h3> Three <em>deep</em> </h3><h6>Six</h6>"),
            "# One\n\ntext\n\n### Three deep\n\n###### Six\n"
        );
        // An empty heading leaves nothing.
        assert_eq!(html("<p>a</p><h2> </h2><p>b</p>"), "a\n\nb\n");
    }

    #[test]
    fn html_list_items_become_dash_lines_indented_by_depth() {
        assert_eq!(
            html(
                "<p>Steps:</p><ol><li>one<li>two<ul><li>two a</li></ul><li><p>three</p></ol>after"
            ),
            "Steps:\n\n- one\n- two\n  - two a\n- three\n\nafter\n"
        );
    }

    #[test]
    fn html_whitespace_collapses_outside_pre() {
        assert_eq!(
            html("<p>  a \n\t b&nbsp;&nbsp;c<b>d</b> <i>e</i></p><pre>\n  x  y\n\n\n  z</pre>"),
            "a b cd e\n\n  x  y\n\n  z\n"
        );
    }

    #[test]
    fn html_entities_are_decoded() {
        assert_eq!(
            html("<p>&amp; &lt;tag&gt; &#8217; &#x2014; &eacute; &hellip; &copy;</p>"),
            "& <tag> ’ — é … ©\n"
        );
    }

    #[test]
    fn html_drops_what_a_reader_does_not_see() {
        assert_eq!(
            html(
                "<html><head><title>T</title><style>p{}</style></head><body>\
                 <script>var a = '<p>x</p>';</script><noscript>no</noscript>\
                 <svg><title>icon</title><text>svg</text></svg><template>t</template>\
                 <select><option>France</option></select><p>seen</p></body></html>"
            ),
            "# T\n\nseen\n"
        );
    }

    #[test]
    fn html_title_in_svg_is_not_the_page_title() {
        assert_eq!(html("<body><svg><title>icon</title></svg><p>x</p></body>"), "x\n");
    }

    #[test]
    fn html_line_breaks_and_blank_lines() {
        assert_eq!(html("a<br>b<br><br>c<br><br><br><br>d"), "a\nb\n\nc\n\nd\n");
        assert_eq!(html("<div>a</div><div>b</div><p>c</p>"), "a\nb\n\nc\n");
        assert_eq!(html(""), "");
        assert_eq!(html("<p> </p>"), "");
    }

    #[test]
    fn deeply_nested_html_does_not_overflow_the_stack() {
        let depth = 10_000;
        let source = format!("{}deep{}", "<div>".repeat(depth), "</div>".repeat(depth));
        assert_eq!(html(&source), "deep\n");
    }
}
