//! Code symbols: the functions, methods and types of a source file, one [`Symbol`] each, so a
//! codebase can be embedded function by function and searched by meaning.
//!
//! ```
//! use emb_docs::code::{symbols, CodeOptions, Language, SymbolKind};
//!
//! let source = "class Greeter:\n    def greet(self):\n        \"\"\"Say hello.\"\"\"\n";
//! let found = symbols(source, Language::Python, &CodeOptions::default())?;
//! assert_eq!(found[1].name, "Greeter.greet");
//! assert_eq!(found[1].kind, SymbolKind::Method);
//! assert_eq!(found[1].docstring.as_deref(), Some("Say hello."));
//! # Ok::<(), emb_docs::code::CodeError>(())
//! ```
//!
//! [`symbols`] parses a source with the tree-sitter grammar of its [`Language`] and walks the
//! syntax tree. Rules common to every language:
//!
//! - Containers (classes, traits) are symbols themselves, and so is each of their methods, named
//!   `Container.method`. Anything declared inside a function body (nested functions, local
//!   classes, closures) is not a separate symbol: it is part of its function's content.
//! - A symbol's lines run from its first leading doc comment, attribute or decorator to its end,
//!   so `start_line..=end_line` covers all of [`Symbol::content`]. Decorators and attributes are
//!   part of the signature, one line each above the declaration.
//! - Symbols come in source order. Syntax errors are tolerated: what tree-sitter parsed around
//!   them is still found (error nodes are searched like the level they sit at).
//!
//! Per language:
//!
//! - **Python**: functions and classes at module level and methods and nested classes in class
//!   bodies (`Outer.Inner.method`), also when defined under `if`, `try`, `with`, `for` or `while`
//!   at those levels (not in `match` cases); the docstring is the first statement's string
//!   literal, decoded and cleaned like `ast.get_docstring` (`\N{...}` escapes stay as written).
//! - **Rust**: free functions, structs, enums, traits, type aliases, trait methods with or without
//!   a body (`Trait.method`) and impl methods (`Type.method`, for `impl Type` and
//!   `impl Trait for Type`, generics and paths stripped). Items in inline `mod` blocks are named
//!   with their module path, `tests::it_works`, `outer::Type.method`. Docs are `///`, `/** */`
//!   and `#[doc = "..."]` above the item plus `//!`, `/*! */` at the start of its body.
//!   Unions, consts, statics, macros and `extern` blocks are not symbols.
//! - **JavaScript, TypeScript, TSX**: top-level and exported function declarations, classes with
//!   their methods (and fields holding a function), `const f = (...) => ...` and
//!   `const f = function ...`, TypeScript interfaces, type aliases and enums; the docstring is a
//!   `/** */` comment directly above. Default exports without a name are named `default`.
//!   Namespaces, `declare` blocks and overload signatures are not searched.
//! - **Go**: functions, methods (`Receiver.Method`, pointer and type arguments stripped) and type
//!   declarations (each spec of a grouped `type (...)`); the docstring is the `//` or `/* */`
//!   comment group directly above, with directives such as `//go:generate` left out.

mod go;
mod python;
mod rust;
mod script;

use std::path::Path;

use serde::Serialize;
use tree_sitter::{Node, Parser};

use rust::RustScope;

/// How deep containers (classes in classes, modules in modules, nested `if` blocks) are followed.
const MAX_DEPTH: usize = 64;

/// The line that ends a truncated [`Symbol::content`].
const TRUNCATION_MARKER: &str = "…";

/// A programming language whose symbols [`symbols`] can find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Python (`.py`).
    Python,
    /// Rust (`.rs`).
    Rust,
    /// JavaScript, JSX included (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// Go (`.go`).
    Go,
}

impl Language {
    /// Every supported language.
    pub const ALL: [Language; 6] = [
        Language::Python,
        Language::Rust,
        Language::JavaScript,
        Language::TypeScript,
        Language::Tsx,
        Language::Go,
    ];

    /// By file extension: py, rs, js/mjs/cjs/jsx, ts/mts/cts, tsx, go (any letter case).
    pub fn from_path(path: &Path) -> Option<Language> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "py" => Some(Language::Python),
            "rs" => Some(Language::Rust),
            "js" | "mjs" | "cjs" | "jsx" => Some(Language::JavaScript),
            "ts" | "mts" | "cts" => Some(Language::TypeScript),
            "tsx" => Some(Language::Tsx),
            "go" => Some(Language::Go),
            _ => None,
        }
    }

    /// The lowercase name: "python", "rust", "javascript", "typescript", "tsx", "go".
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::Go => "go",
        }
    }

    fn grammar(self) -> tree_sitter::Language {
        match self {
            Language::Python => tree_sitter_python::LANGUAGE.into(),
            Language::Rust => tree_sitter_rust::LANGUAGE.into(),
            Language::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Language::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Language::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Language::Go => tree_sitter_go::LANGUAGE.into(),
        }
    }
}

/// What a [`Symbol`] declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolKind {
    /// A free function (Python, Rust, Go, JavaScript and TypeScript functions and arrow functions).
    Function,
    /// A function inside a class, trait or impl, or a Go method.
    Method,
    /// A Python, JavaScript or TypeScript class.
    Class,
    /// A Rust or Go struct.
    Struct,
    /// A Rust or TypeScript enum.
    Enum,
    /// A Rust trait.
    Trait,
    /// A TypeScript or Go interface.
    Interface,
    /// A type alias or other named type (Rust `type`, TypeScript `type`, Go `type T int`).
    Type,
}

impl SymbolKind {
    /// The lowercase name, as serialized: "function", "method", "class", ...
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Trait => "trait",
            SymbolKind::Interface => "interface",
            SymbolKind::Type => "type",
        }
    }
}

/// One function, method or type of a source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    /// Qualified name: `name` at top level, `Class.method`, `Type.method`, `module::name`.
    pub name: String,
    /// What the symbol declares.
    pub kind: SymbolKind,
    /// The declaration up to its body, whitespace collapsed; decorators and attributes on lines above.
    pub signature: String,
    /// The documentation: Python docstring, Rust doc comments, `/** */` above JS/TS, Go doc comment.
    pub docstring: Option<String>,
    /// First line (1-based) of the symbol including its leading docs, attributes and decorators.
    pub start_line: usize,
    /// Last line (1-based, inclusive).
    pub end_line: usize,
    /// The source text of `start_line..=end_line`, dedented and truncated: the text to embed.
    pub content: String,
}

/// Settings of [`symbols`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeOptions {
    /// Longest [`Symbol::content`] in characters, the truncation marker included; default 4000.
    ///
    /// Longer content is cut at the last line boundary that fits and ends with a line `…`.
    pub max_chars: usize,
}

impl Default for CodeOptions {
    fn default() -> Self {
        CodeOptions { max_chars: 4000 }
    }
}

/// What can go wrong finding symbols.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    /// The tree-sitter grammar does not fit the tree-sitter library (an ABI version mismatch).
    #[error("cannot load the tree-sitter grammar for {language}: {message}")]
    Grammar {
        /// The language whose grammar failed.
        language: &'static str,
        /// tree-sitter's reason.
        message: String,
    },
    /// tree-sitter returned no syntax tree.
    #[error("tree-sitter did not parse the {language} source")]
    Parse {
        /// The language of the source.
        language: &'static str,
    },
}

/// The functions, methods and types of `source`, in source order (see the module docs for the rules).
pub fn symbols(
    source: &str,
    language: Language,
    options: &CodeOptions,
) -> Result<Vec<Symbol>, CodeError> {
    let mut parser = Parser::new();
    parser.set_language(&language.grammar()).map_err(|error| CodeError::Grammar {
        language: language.name(),
        message: error.to_string(),
    })?;
    let tree = parser.parse(source, None).ok_or(CodeError::Parse { language: language.name() })?;
    let mut extractor = Extractor::new(source, options.max_chars);
    let root = tree.root_node();
    match language {
        Language::Python => extractor.python_block(root, None, 0),
        Language::Rust => extractor.rust_items(root, &RustScope::Module(String::new()), 0),
        Language::JavaScript | Language::TypeScript | Language::Tsx => {
            extractor.script_statements(root, 0);
        }
        Language::Go => extractor.go_declarations(root, 0),
    }
    Ok(extractor.symbols)
}

/// A symbol found in the tree, by byte range, before it becomes a [`Symbol`].
struct Found {
    name: String,
    kind: SymbolKind,
    /// First byte, leading docs and attributes included.
    start: usize,
    end: usize,
    signature: String,
    docstring: Option<String>,
}

/// Walks one syntax tree and collects its symbols.
struct Extractor<'s> {
    source: &'s str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    max_chars: usize,
    symbols: Vec<Symbol>,
}

impl<'s> Extractor<'s> {
    fn new(source: &'s str, max_chars: usize) -> Self {
        let line_starts =
            std::iter::once(0).chain(source.match_indices('\n').map(|(at, _)| at + 1)).collect();
        Extractor { source, line_starts, max_chars, symbols: Vec::new() }
    }

    /// `source[start..end]`, clamped to the source and to character boundaries.
    fn text(&self, start: usize, end: usize) -> &'s str {
        let floor = |mut at: usize| {
            at = at.min(self.source.len());
            while !self.source.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let (start, end) = (floor(start), floor(end));
        self.source.get(start..end.max(start)).unwrap_or_default()
    }

    fn node_text(&self, node: Node) -> &'s str {
        self.text(node.start_byte(), node.end_byte())
    }

    /// The text of a node's field, if the node has it.
    fn field_text(&self, node: Node, field: &str) -> Option<&'s str> {
        node.child_by_field_name(field).map(|child| self.node_text(child))
    }

    /// Index of the line holding `byte`, 0-based.
    fn line_index(&self, byte: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= byte) - 1
    }

    /// The signature: each decorator on its own line, then the declaration `start..end` without
    /// the decorators inside it, whitespace collapsed and a trailing `;` dropped.
    fn signature(&self, decorators: &[Node], start: usize, end: usize) -> String {
        let mut lines: Vec<String> = decorators
            .iter()
            .map(|decorator| collapse_whitespace(self.node_text(*decorator)))
            .collect();
        let mut head = String::new();
        let mut at = start;
        for decorator in decorators {
            if decorator.start_byte() >= at && decorator.end_byte() <= end {
                head.push_str(self.text(at, decorator.start_byte()));
                head.push(' ');
                at = decorator.end_byte();
            }
        }
        head.push_str(self.text(at, end));
        let head = collapse_whitespace(&head);
        lines.push(head.trim_end_matches(';').trim_end().to_string());
        lines.join("\n")
    }

    fn push(&mut self, found: Found) {
        let first = self.line_index(found.start);
        let last = self.line_index(found.end.max(found.start + 1) - 1).max(first);
        let content = dedent(
            self.text(found.start, found.end),
            self.text(self.line_starts[first], found.start),
        );
        self.symbols.push(Symbol {
            name: found.name,
            kind: found.kind,
            signature: found.signature,
            docstring: found.docstring.filter(|doc| !doc.is_empty()),
            start_line: first + 1,
            end_line: last + 1,
            content: truncate(&content, self.max_chars),
        });
    }
}

/// The children of a node, in order (a cursor walk, linear in their number).
fn children(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.children(&mut cursor).collect()
}

/// The comments directly above `item`, each on the line right before the next, the closest
/// last; none that share a line with code before them.
fn comments_above<'tree>(item: Node<'tree>, before: &[Node<'tree>]) -> Vec<Node<'tree>> {
    let mut next_row = item.start_position().row;
    let mut comments = Vec::new();
    for (index, &sibling) in before.iter().enumerate().rev() {
        let ends_right_above = sibling.end_position().row + 1 >= next_row;
        let after_code =
            index > 0 && before[index - 1].end_position().row == sibling.start_position().row;
        if sibling.kind() != "comment" || !ends_right_above || after_code {
            break;
        }
        next_row = sibling.start_position().row;
        comments.push(sibling);
    }
    comments.reverse();
    comments
}

/// The `decorator` children of the given nodes, in source order.
fn decorators<'tree>(nodes: &[Node<'tree>]) -> Vec<Node<'tree>> {
    let mut found: Vec<Node> = nodes
        .iter()
        .flat_map(|node| children(*node))
        .filter(|child| child.kind() == "decorator")
        .collect();
    found.sort_by_key(Node::start_byte);
    found.dedup();
    found
}

/// Runs of whitespace become one space; a run with a line break next to a bracket goes away,
/// so a parameter list over several lines reads `f(a, b)`.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.trim().chars().peekable();
    while let Some(character) = chars.next() {
        if !character.is_whitespace() {
            out.push(character);
            continue;
        }
        let mut line_break = character == '\n';
        while let Some(&next) = chars.peek().filter(|next| next.is_whitespace()) {
            line_break |= next == '\n';
            chars.next();
        }
        let after_opening = out.ends_with(['(', '[', '{']);
        let before_closing = chars.peek().is_some_and(|next| matches!(next, ')' | ']' | '}'));
        if !(line_break && (after_opening || before_closing)) {
            out.push(' ');
        }
    }
    out
}

/// Removes the indentation of the first line (`indent`, the text before it on its line) from
/// the lines after it, and carriage returns at line ends.
fn dedent(text: &str, indent: &str) -> String {
    let width = if indent.chars().all(char::is_whitespace) { indent.chars().count() } else { 0 };
    let mut out = String::with_capacity(text.len());
    for (number, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if number > 0 {
            out.push('\n');
            let strip = line
                .chars()
                .take(width)
                .take_while(|c| c.is_whitespace())
                .map(char::len_utf8)
                .sum();
            out.push_str(&line[strip..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// At most `max_chars` characters: cut at the last line break that leaves room for a final
/// line `…` (mid-line only when the first line alone is too long).
fn truncate(content: &str, max_chars: usize) -> String {
    let Some((limit, _)) = content.char_indices().nth(max_chars) else {
        return content.to_string();
    };
    // Room for "\n…".
    let room = content[..limit].char_indices().rev().nth(1).map_or(0, |(at, _)| at);
    let kept = if content[room..].starts_with('\n') {
        &content[..room]
    } else {
        content[..room].rfind('\n').map_or(&content[..room], |at| &content[..at])
    };
    let kept = kept.trim_end();
    if kept.is_empty() {
        TRUNCATION_MARKER.to_string()
    } else {
        format!("{kept}\n{TRUNCATION_MARKER}")
    }
}

/// Drops blank lines at both ends and joins the rest.
fn trim_blank_lines(lines: &[&str]) -> String {
    let first = lines.iter().position(|line| !line.trim().is_empty());
    let last = lines.iter().rposition(|line| !line.trim().is_empty());
    match (first, last) {
        (Some(first), Some(last)) => lines[first..=last].join("\n"),
        _ => String::new(),
    }
}

/// Removes the indentation all non-blank lines share, and blank lines at both ends.
fn unindent(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let lines: Vec<&str> = lines.iter().map(|line| line.get(indent..).unwrap_or("")).collect();
    trim_blank_lines(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse(source: &str, language: Language) -> Vec<Symbol> {
        symbols(source, language, &CodeOptions::default()).unwrap()
    }

    /// `(name, kind)` of each symbol, in order.
    pub(super) fn outline(symbols: &[Symbol]) -> Vec<(&str, &str)> {
        symbols.iter().map(|symbol| (symbol.name.as_str(), symbol.kind.name())).collect()
    }

    pub(super) fn find<'a>(symbols: &'a [Symbol], name: &str) -> &'a Symbol {
        symbols
            .iter()
            .find(|symbol| symbol.name == name)
            .unwrap_or_else(|| panic!("no symbol {name} in {:?}", outline(symbols)))
    }

    #[test]
    fn truncation_cuts_at_a_line_boundary() {
        let body = (0..100)
            .map(|number| format!("    x{number} = 'é{number}'\n"))
            .collect::<Vec<_>>()
            .concat();
        let source = format!("def long():\n{body}");
        let options = CodeOptions { max_chars: 200 };
        let symbol = &symbols(&source, Language::Python, &options).unwrap()[0];
        assert!(symbol.content.chars().count() <= 200, "{}", symbol.content.chars().count());
        assert!(symbol.content.ends_with("'\n…"), "{}", symbol.content);
        let kept = symbol.content.strip_suffix("\n…").unwrap();
        assert!(source.starts_with(kept));
        assert!(source[kept.len()..].starts_with('\n'));
        assert_eq!(symbol.end_line, 101);

        assert_eq!(truncate("abc\ndef", 7), "abc\ndef");
        assert_eq!(truncate("abc\ndef", 6), "abc\n…");
        assert_eq!(truncate("abc\ndefgh", 7), "abc\n…");
        assert_eq!(truncate("ééééé", 4), "éé\n…");
        assert_eq!(truncate("abc", 1), "…");
    }

    #[test]
    fn language_from_path() {
        for (path, language) in [
            ("a/b.py", Some(Language::Python)),
            ("x.rs", Some(Language::Rust)),
            ("x.mjs", Some(Language::JavaScript)),
            ("x.JSX", Some(Language::JavaScript)),
            ("x.cts", Some(Language::TypeScript)),
            ("x.tsx", Some(Language::Tsx)),
            ("x.go", Some(Language::Go)),
            ("x.c", None),
            ("Makefile", None),
        ] {
            assert_eq!(Language::from_path(Path::new(path)), language, "{path}");
        }
        assert_eq!(serde_json::to_string(&Language::JavaScript).unwrap(), "\"javascript\"");
        assert_eq!(serde_json::to_string(&SymbolKind::Interface).unwrap(), "\"interface\"");
    }

    #[test]
    fn empty_broken_and_hostile_input() {
        for language in Language::ALL {
            assert!(parse("", language).is_empty(), "{language:?}");
            let bytes: Vec<u8> =
                (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
            parse(&String::from_utf8_lossy(&bytes), language);
            parse(&"(".repeat(20_000), language);
            parse(&"{".repeat(20_000), language);
        }
        let nested = (0..500)
            .map(|depth| format!("{}class C{depth}:\n", " ".repeat(depth)))
            .collect::<Vec<_>>()
            .concat();
        let symbols = parse(&nested, Language::Python);
        assert_eq!(symbols.len(), MAX_DEPTH + 1);

        let broken = parse("def broken(:\n    pass\n\ndef fine():\n    'ok'\n", Language::Python);
        assert_eq!(find(&broken, "fine").docstring.as_deref(), Some("ok"));
        let broken = parse("fn broken( {\n\nfn fine() {}\n", Language::Rust);
        assert!(broken.iter().any(|symbol| symbol.name == "fine"), "{:?}", outline(&broken));
        let broken = parse("func broken( {\n}\n\nfunc Fine() {}\n", Language::Go);
        assert!(broken.iter().any(|symbol| symbol.name == "Fine"), "{:?}", outline(&broken));
        let broken = parse("function broken( {\n\nfunction fine() {}\n", Language::JavaScript);
        assert!(broken.iter().all(|symbol| symbol.name != "default"), "{:?}", outline(&broken));
        let broken = parse(
            "function broken() {\n  let x = ;\n}\n\nfunction fine() {}\n",
            Language::TypeScript,
        );
        assert_eq!(outline(&broken), [("broken", "function"), ("fine", "function")]);
    }

    #[test]
    fn crlf_line_ends() {
        let symbols =
            parse("def f():\r\n    '''Doc.\r\n    More.'''\r\n    return 1\r\n", Language::Python);
        assert_eq!(symbols[0].docstring.as_deref(), Some("Doc.\nMore."));
        assert_eq!(symbols[0].content, "def f():\n    '''Doc.\n    More.'''\n    return 1");
        assert_eq!(symbols[0].end_line, 4);
    }
}
