//! Rust: items of files and inline modules, trait and impl methods, doc comments and
//! `#[doc]` attributes.

use tree_sitter::Node;

use super::{children, collapse_whitespace, unindent, Extractor, Found, SymbolKind, MAX_DEPTH};

/// Where a Rust item sits.
pub(super) enum RustScope {
    /// In a file or inline module, with its path: `a::b::` in `mod a { mod b { ... } }`.
    Module(String),
    /// In the body of a trait or impl, with the qualified name of the trait or self type.
    Container(String),
}

/// Rust: items of files, inline modules, traits and impls.
impl Extractor<'_> {
    pub(super) fn rust_items(&mut self, list: Node, scope: &RustScope, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let items = children(list);
        for (index, &item) in items.iter().enumerate() {
            let kind = match (item.kind(), scope) {
                ("function_item" | "function_signature_item", RustScope::Container(_)) => {
                    SymbolKind::Method
                }
                ("function_item", RustScope::Module(_)) => SymbolKind::Function,
                ("struct_item", RustScope::Module(_)) => SymbolKind::Struct,
                ("enum_item", RustScope::Module(_)) => SymbolKind::Enum,
                ("trait_item", RustScope::Module(_)) => SymbolKind::Trait,
                ("type_item", RustScope::Module(_)) => SymbolKind::Type,
                ("impl_item", RustScope::Module(module)) => {
                    if let (Some(body), Some(self_type)) =
                        (item.child_by_field_name("body"), item.child_by_field_name("type"))
                    {
                        let container = format!("{module}{}", self.rust_type_name(self_type));
                        self.rust_items(body, &RustScope::Container(container), depth + 1);
                    }
                    continue;
                }
                ("mod_item", RustScope::Module(module)) => {
                    if let (Some(name), Some(body)) =
                        (self.field_text(item, "name"), item.child_by_field_name("body"))
                    {
                        let inner = RustScope::Module(format!("{module}{name}::"));
                        self.rust_items(body, &inner, depth + 1);
                    }
                    continue;
                }
                ("ERROR", _) => {
                    self.rust_items(item, scope, depth + 1);
                    continue;
                }
                _ => continue,
            };
            let Some(name) = self.field_text(item, "name") else {
                continue;
            };
            let name = match scope {
                RustScope::Container(container) => format!("{container}.{name}"),
                RustScope::Module(module) => format!("{module}{name}"),
            };
            self.rust_item(item, &items[..index], name, kind, depth);
        }
    }

    /// One named item; `before` are its siblings before it, where its docs and attributes are.
    fn rust_item(
        &mut self,
        item: Node,
        before: &[Node],
        name: String,
        kind: SymbolKind,
        depth: usize,
    ) {
        let mut docs = Vec::new();
        let mut attributes = Vec::new();
        let mut start = item.start_byte();
        for &sibling in before.iter().rev() {
            match sibling.kind() {
                "attribute_item" => match self.rust_doc_attribute(sibling) {
                    Some(doc) => docs.push(doc),
                    None => attributes.push(sibling),
                },
                "line_comment" | "block_comment"
                    if sibling.child_by_field_name("outer").is_some() =>
                {
                    docs.push(rust_doc_comment(self.node_text(sibling)));
                }
                "line_comment" | "block_comment"
                    if sibling.child_by_field_name("inner").is_none() =>
                {
                    continue;
                }
                _ => break,
            }
            start = sibling.start_byte();
        }
        docs.reverse();
        attributes.reverse();
        let body = item.child_by_field_name("body").filter(|body| {
            matches!(
                body.kind(),
                "block" | "field_declaration_list" | "enum_variant_list" | "declaration_list"
            )
        });
        if let Some(body) = body {
            // Inner docs (`//!`, `#![doc]`) at the start of the body document the item too.
            for inner in children(body).into_iter().skip(1) {
                match inner.kind() {
                    "line_comment" | "block_comment"
                        if inner.child_by_field_name("inner").is_some() =>
                    {
                        docs.push(rust_doc_comment(self.node_text(inner)));
                    }
                    "inner_attribute_item" => {
                        if let Some(doc) = self.rust_doc_attribute(inner) {
                            docs.push(doc);
                        }
                    }
                    "line_comment" | "block_comment" => {}
                    _ => break,
                }
            }
        }
        let head_end = body.map_or(item.end_byte(), |body| body.start_byte());
        self.push(Found {
            signature: self.signature(&attributes, item.start_byte(), head_end),
            docstring: Some(unindent(&docs.join("\n"))),
            name: name.clone(),
            kind,
            start,
            end: item.end_byte(),
        });
        if let (SymbolKind::Trait, Some(body)) = (kind, body) {
            self.rust_items(body, &RustScope::Container(name), depth + 1);
        }
    }

    /// The text of `#[doc = "..."]` or `#![doc = "..."]`; `None` for any other attribute.
    fn rust_doc_attribute(&self, attribute_item: Node) -> Option<String> {
        let attribute = attribute_item.named_child(0).filter(|node| node.kind() == "attribute")?;
        let path = attribute.named_child(0)?;
        let value = attribute.child_by_field_name("value")?;
        if self.node_text(path) != "doc" {
            return None;
        }
        let literal = self.node_text(value);
        match value.kind() {
            "string_literal" => {
                Some(rust_unescape(literal.get(1..literal.len().saturating_sub(1))?))
            }
            "raw_string_literal" => {
                let inner = literal.trim_start_matches('r').trim_matches('#');
                Some(inner.get(1..inner.len().saturating_sub(1))?.to_string())
            }
            _ => None,
        }
    }

    /// The name of an impl's self type: `Foo` for `Foo`, `Foo<T>`, `a::Foo`, `&Foo`, `&mut Foo<T>`.
    fn rust_type_name(&self, node: Node) -> String {
        match node.kind() {
            "generic_type" | "reference_type" | "pointer_type" => {
                node.child_by_field_name("type").map_or_else(
                    || collapse_whitespace(self.node_text(node)),
                    |inner| self.rust_type_name(inner),
                )
            }
            "scoped_type_identifier" => self
                .field_text(node, "name")
                .map_or_else(|| collapse_whitespace(self.node_text(node)), ToString::to_string),
            _ => collapse_whitespace(self.node_text(node)),
        }
    }
}

/// The text of a Rust doc comment without its markers (`///`, `//!`, `/** */`, `/*! */`),
/// leading `*` of block comment lines removed.
fn rust_doc_comment(comment: &str) -> String {
    if let Some(line) = comment.strip_prefix("///").or_else(|| comment.strip_prefix("//!")) {
        return line.trim_end().to_string();
    }
    let inner = comment.get(3..comment.len().saturating_sub(2)).unwrap_or_default();
    inner
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            trimmed.strip_prefix('*').map_or(line, |rest| rest).trim_end()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The value of a Rust string literal's inside, for the common escapes.
fn rust_unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(character) = chars.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\n') => while chars.next_if(|next| next.is_whitespace()).is_some() {},
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::code::tests::{find, outline, parse};
    use crate::code::Language;

    const RUST: &str = r#"//! Crate docs, not a symbol's.

/// A point.
///
///   Indented line.
#[derive(Debug, Clone)]
// plain comment
pub struct Point<T> {
    x: T,
}

#[doc = "Tuple struct."]
struct Pair(u8, u8);

/** Block docs.
 * Second line.
 */
enum Shape { Circle, Square }

type Alias = Vec<u8>;

pub trait Area {
    /// The area.
    fn area(&self) -> f64;
    fn double(&self) -> f64 {
        2.0 * self.area()
    }
    type Output;
}

impl<T: Copy> Point<T> {
    pub fn new(x: T) -> Self {
        //! Makes a point.
        fn helper() {}
        Point { x }
    }
}

impl Area for &'static std::boxed::Box<Shape> {
    fn area(&self) -> f64 { 1.0 }
}

pub fn free<'a>(
    input: &'a str,
    other: usize,
) -> &'a str
where
    'a: 'static,
{
    input
}

#[cfg(test)]
mod tests {
    mod inner {
        impl super::Thing {
            fn method() {}
        }
    }

    #[test]
    fn it_works() {}
}
"#;

    #[test]
    fn rust_symbols() {
        let symbols = parse(RUST, Language::Rust);
        assert_eq!(
            outline(&symbols),
            [
                ("Point", "struct"),
                ("Pair", "struct"),
                ("Shape", "enum"),
                ("Alias", "type"),
                ("Area", "trait"),
                ("Area.area", "method"),
                ("Area.double", "method"),
                ("Point.new", "method"),
                ("Box.area", "method"),
                ("free", "function"),
                ("tests::inner::Thing.method", "method"),
                ("tests::it_works", "function"),
            ]
        );
        let point = find(&symbols, "Point");
        assert_eq!(point.docstring.as_deref(), Some("A point.\n\n  Indented line."));
        assert_eq!(point.signature, "#[derive(Debug, Clone)]\npub struct Point<T>");
        assert_eq!((point.start_line, point.end_line), (3, 10));
        assert!(point.content.starts_with("/// A point.\n"));

        assert_eq!(find(&symbols, "Pair").docstring.as_deref(), Some("Tuple struct."));
        assert_eq!(find(&symbols, "Pair").signature, "struct Pair(u8, u8)");
        assert_eq!(find(&symbols, "Shape").docstring.as_deref(), Some("Block docs.\nSecond line."));
        assert_eq!(find(&symbols, "Shape").signature, "enum Shape");
        assert_eq!(find(&symbols, "Area.area").signature, "fn area(&self) -> f64");
        assert_eq!(find(&symbols, "Area.area").docstring.as_deref(), Some("The area."));
        assert_eq!(find(&symbols, "Point.new").docstring.as_deref(), Some("Makes a point."));
        assert_eq!(find(&symbols, "Point.new").signature, "pub fn new(x: T) -> Self");
        assert_eq!(
            find(&symbols, "free").signature,
            "pub fn free<'a>(input: &'a str, other: usize,) -> &'a str where 'a: 'static,"
        );
        let it_works = find(&symbols, "tests::it_works");
        assert_eq!(it_works.signature, "#[test]\nfn it_works()");
        assert_eq!((it_works.start_line, it_works.end_line), (61, 62));
        assert_eq!(it_works.content, "#[test]\nfn it_works() {}");
    }
}
