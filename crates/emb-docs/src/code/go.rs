//! Go: functions, methods and type declarations with their doc comment groups.

use tree_sitter::Node;

use super::{children, comments_above, trim_blank_lines, Extractor, Found, SymbolKind, MAX_DEPTH};

/// Go: functions, methods and type declarations.
impl Extractor<'_> {
    pub(super) fn go_declarations(&mut self, parent: Node, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let declarations = children(parent);
        for (index, &declaration) in declarations.iter().enumerate() {
            let before = &declarations[..index];
            match declaration.kind() {
                "function_declaration" | "method_declaration" => {
                    self.go_function(declaration, before);
                }
                "type_declaration" => self.go_types(declaration, before),
                "ERROR" => self.go_declarations(declaration, depth + 1),
                _ => {}
            }
        }
    }

    fn go_function(&mut self, function: Node, before: &[Node]) {
        let Some(mut name) = self.field_text(function, "name").map(str::to_string) else {
            return;
        };
        let mut kind = SymbolKind::Function;
        if let Some(receiver) = function.child_by_field_name("receiver") {
            kind = SymbolKind::Method;
            if let Some(receiver_type) = self.go_receiver_type(receiver) {
                name = format!("{receiver_type}.{name}");
            }
        }
        let head_end = function
            .child_by_field_name("body")
            .map_or(function.end_byte(), |body| body.start_byte());
        let (docstring, start) = self.go_doc(function, before);
        self.push(Found {
            name,
            kind,
            signature: self.signature(&[], function.start_byte(), head_end),
            docstring,
            start,
            end: function.end_byte(),
        });
    }

    /// `type T ...`, or each spec of `type ( ... )` with the comment above the spec as its doc.
    fn go_types(&mut self, declaration: Node, before: &[Node]) {
        let specs: Vec<Node> = children(declaration)
            .into_iter()
            .filter(|spec| matches!(spec.kind(), "type_spec" | "type_alias" | "comment"))
            .collect();
        let grouped = specs.iter().filter(|spec| spec.kind() != "comment").count() > 1;
        for (index, &spec) in specs.iter().enumerate() {
            let Some(name) = self.field_text(spec, "name") else {
                continue;
            };
            let value = spec.child_by_field_name("type");
            let kind = match value.map(|value| value.kind()) {
                Some("struct_type") if spec.kind() == "type_spec" => SymbolKind::Struct,
                Some("interface_type") if spec.kind() == "type_spec" => SymbolKind::Interface,
                _ => SymbolKind::Type,
            };
            // A struct or interface ends its signature at the `{` of its body.
            let head_end = value
                .filter(|_| kind != SymbolKind::Type)
                .and_then(|value| {
                    self.node_text(value).find('{').map(|brace| value.start_byte() + brace)
                })
                .unwrap_or(spec.end_byte());
            let (item, signature, (docstring, start)) = if grouped {
                let signature =
                    format!("type {}", self.signature(&[], spec.start_byte(), head_end));
                (spec, signature, self.go_doc(spec, &specs[..index]))
            } else {
                let signature = self.signature(&[], declaration.start_byte(), head_end);
                (declaration, signature, self.go_doc(declaration, before))
            };
            self.push(Found {
                name: name.to_string(),
                kind,
                signature,
                docstring,
                start,
                end: item.end_byte(),
            });
        }
    }

    /// The doc comment group above `item` without directives, and where it starts.
    fn go_doc(&self, item: Node, before: &[Node]) -> (Option<String>, usize) {
        let comments = comments_above(item, before);
        let mut lines = Vec::new();
        for comment in &comments {
            let text = self.node_text(*comment);
            if let Some(block) = text.strip_prefix("/*") {
                lines.extend(block.strip_suffix("*/").unwrap_or(block).lines().map(str::trim_end));
            } else {
                let line = text.strip_prefix("//").unwrap_or(text);
                if !is_go_directive(line) {
                    lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end());
                }
            }
        }
        let start = comments.first().map_or(item.start_byte(), Node::start_byte);
        (Some(trim_blank_lines(&lines)), start)
    }

    /// `T` of a receiver `(t *T)`, `(t T[K])` or `(T)`.
    fn go_receiver_type(&self, receiver: Node) -> Option<String> {
        let parameter =
            children(receiver).into_iter().find(|child| child.kind() == "parameter_declaration")?;
        let mut node = parameter.child_by_field_name("type")?;
        loop {
            match node.kind() {
                "pointer_type" => node = node.named_child(0)?,
                "generic_type" => node = node.child_by_field_name("type")?,
                _ => return Some(self.node_text(node).to_string()),
            }
        }
    }
}

/// Whether a Go line comment's text (after `//`) is a directive like `go:generate`.
fn is_go_directive(text: &str) -> bool {
    let Some((word, rest)) = text.split_once(':') else {
        return false;
    };
    !word.is_empty()
        && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && rest.starts_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use crate::code::tests::{find, outline, parse};
    use crate::code::Language;

    const GO: &str = r"package shapes

import 'fmt'

// Shape is anything with an area.
//go:generate stringer
type Shape interface {
	Area() float64
}

type (
	// Circle is round.
	Circle struct {
		Radius float64
	}
	Celsius float64
	Alias = Circle
)

// NewCircle makes a circle.
//
// It never fails.
func NewCircle(r float64) *Circle {
	return &Circle{Radius: r}
}

// Area of the circle.
func (c *Circle) Area() float64 { return 3.14 * c.Radius * c.Radius }

func (s Set[T]) Len() int { return len(s) }

// Not attached: a blank line follows.

func Bare() {}
";

    #[test]
    fn go_symbols() {
        let symbols = parse(GO, Language::Go);
        assert_eq!(
            outline(&symbols),
            [
                ("Shape", "interface"),
                ("Circle", "struct"),
                ("Celsius", "type"),
                ("Alias", "type"),
                ("NewCircle", "function"),
                ("Circle.Area", "method"),
                ("Set.Len", "method"),
                ("Bare", "function"),
            ]
        );
        let shape = find(&symbols, "Shape");
        assert_eq!(shape.docstring.as_deref(), Some("Shape is anything with an area."));
        assert_eq!(shape.signature, "type Shape interface");
        assert_eq!((shape.start_line, shape.end_line), (5, 9));
        let circle = find(&symbols, "Circle");
        assert_eq!(circle.signature, "type Circle struct");
        assert_eq!(circle.docstring.as_deref(), Some("Circle is round."));
        assert_eq!(circle.start_line, 12);
        assert_eq!(circle.content, "// Circle is round.\nCircle struct {\n\tRadius float64\n}");
        assert_eq!(find(&symbols, "Alias").signature, "type Alias = Circle");
        let new_circle = find(&symbols, "NewCircle");
        assert_eq!(
            new_circle.docstring.as_deref(),
            Some("NewCircle makes a circle.\n\nIt never fails.")
        );
        assert_eq!(new_circle.signature, "func NewCircle(r float64) *Circle");
        assert_eq!(find(&symbols, "Circle.Area").signature, "func (c *Circle) Area() float64");
        assert_eq!(find(&symbols, "Bare").docstring, None);
    }
}
