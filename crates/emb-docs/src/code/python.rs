//! Python: functions and classes at module level, methods and nested classes in class bodies,
//! docstrings decoded and cleaned like `ast.get_docstring`.

use tree_sitter::Node;

use super::{children, decorators, Extractor, Found, SymbolKind, MAX_DEPTH};

/// Python: definitions at module level and in class bodies.
impl Extractor<'_> {
    /// Walks the statements of a module, class body or compound statement at such a level.
    pub(super) fn python_block(&mut self, block: Node, class: Option<&str>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for statement in children(block) {
            match statement.kind() {
                "function_definition" | "class_definition" => {
                    self.python_definition(statement, statement, class, depth);
                }
                "decorated_definition" => {
                    if let Some(definition) = statement.child_by_field_name("definition") {
                        self.python_definition(statement, definition, class, depth);
                    }
                }
                "if_statement"
                | "elif_clause"
                | "else_clause"
                | "try_statement"
                | "except_clause"
                | "except_group_clause"
                | "finally_clause"
                | "with_statement"
                | "for_statement"
                | "while_statement"
                | "block"
                | "ERROR" => {
                    self.python_block(statement, class, depth + 1);
                }
                _ => {}
            }
        }
    }

    /// One `def` or `class`; `outer` is the decorated definition around it, or itself.
    fn python_definition(
        &mut self,
        outer: Node,
        definition: Node,
        class: Option<&str>,
        depth: usize,
    ) {
        let Some(name) = self.field_text(definition, "name") else {
            return;
        };
        let name = class.map_or_else(|| name.to_string(), |class| format!("{class}.{name}"));
        let is_class = definition.kind() == "class_definition";
        let kind = match (is_class, class) {
            (true, _) => SymbolKind::Class,
            (false, Some(_)) => SymbolKind::Method,
            (false, None) => SymbolKind::Function,
        };
        let body = definition.child_by_field_name("body");
        // The declaration ends at the `:` before the body, not at a comment after it.
        let body_start = body.map_or(definition.end_byte(), |body| body.start_byte());
        let head_end = children(definition)
            .into_iter()
            .rev()
            .find(|child| child.kind() == ":" && child.end_byte() <= body_start)
            .map_or(body_start, |colon| colon.end_byte());
        self.push(Found {
            signature: self.signature(&decorators(&[outer]), outer.start_byte(), head_end),
            docstring: body.and_then(|body| self.python_docstring(body)),
            name: name.clone(),
            kind,
            start: outer.start_byte(),
            end: outer.end_byte(),
        });
        if let (true, Some(body)) = (is_class, body) {
            self.python_block(body, Some(&name), depth + 1);
        }
    }

    /// The docstring of a body: its first statement if that is a plain string literal.
    fn python_docstring(&self, body: Node) -> Option<String> {
        let first = children(body).into_iter().find(|child| child.kind() != "comment")?;
        if first.kind() != "expression_statement" || first.named_child_count() != 1 {
            return None;
        }
        let literal = first.named_child(0)?;
        let value = match literal.kind() {
            "string" => python_string_value(self.node_text(literal))?,
            "concatenated_string" => children(literal)
                .into_iter()
                .filter(|part| part.kind() == "string")
                .map(|part| python_string_value(self.node_text(part)))
                .collect::<Option<String>>()?,
            _ => return None,
        };
        Some(clean_python_docstring(&value))
    }
}

/// The value of a Python string literal, or `None` for bytes and f-strings (not docstrings).
fn python_string_value(literal: &str) -> Option<String> {
    let prefix_length = literal.find(['\'', '"'])?;
    let prefix = literal[..prefix_length].to_ascii_lowercase();
    if prefix.contains(['b', 'f', 't']) {
        return None;
    }
    let rest = &literal[prefix_length..];
    let quote =
        if rest.starts_with("\"\"\"") || rest.starts_with("'''") { &rest[..3] } else { &rest[..1] };
    let inner = rest.strip_prefix(quote)?;
    let inner = inner.strip_suffix(quote).unwrap_or(inner).replace("\r\n", "\n");
    Some(if prefix.contains('r') { inner } else { python_unescape(&inner) })
}

/// Decodes Python escapes; unknown escapes and `\N{...}` stay as written.
fn python_unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(character) = chars.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        let Some(escape) = chars.next() else {
            out.push('\\');
            break;
        };
        let simple = match escape {
            '\n' => Some(None),
            '\\' => Some(Some('\\')),
            '\'' => Some(Some('\'')),
            '"' => Some(Some('"')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'n' => Some(Some('\n')),
            'r' => Some(Some('\r')),
            't' => Some(Some('\t')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.extend(decoded);
            continue;
        }
        match escape {
            '0'..='7' => {
                let mut value = escape.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|next| next.to_digit(8)) {
                        Some(digit) => {
                            value = value * 8 + digit;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.extend(char::from_u32(value));
            }
            'x' | 'u' | 'U' => {
                let digits = match escape {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut hex = String::new();
                while hex.len() < digits {
                    match chars.next_if(char::is_ascii_hexdigit) {
                        Some(digit) => hex.push(digit),
                        None => break,
                    }
                }
                let decoded = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32);
                if let Some(decoded) = decoded.filter(|_| hex.len() == digits) {
                    out.push(decoded);
                } else {
                    out.push('\\');
                    out.push(escape);
                    out.push_str(&hex);
                }
            }
            _ => {
                out.push('\\');
                out.push(escape);
            }
        }
    }
    out
}

/// `inspect.cleandoc`: tabs expanded, the first line's leading whitespace and the indentation
/// shared by the later lines removed, blank lines at both ends dropped.
fn clean_python_docstring(doc: &str) -> String {
    let expanded = expand_tabs(doc);
    let mut lines: Vec<&str> = expanded.split('\n').collect();
    let margin = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim_start().is_empty())
        .map(|line| line.chars().count() - line.trim_start().chars().count())
        .min();
    if let Some(first) = lines.first_mut() {
        *first = first.trim_start();
    }
    for line in lines.iter_mut().skip(1) {
        let skip = margin.unwrap_or(0);
        let at = line.char_indices().nth(skip).map_or(line.len(), |(at, _)| at);
        *line = &line[at..];
    }
    let first = lines.iter().position(|line| !line.is_empty()).unwrap_or(lines.len());
    let last = lines.iter().rposition(|line| !line.is_empty()).map_or(0, |last| last + 1);
    lines.get(first..last).unwrap_or_default().join("\n")
}

/// Python's `str.expandtabs()`: tab stops every 8 columns, counted from each line start.
fn expand_tabs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0;
    for character in text.chars() {
        match character {
            '\t' => {
                let spaces = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            '\n' | '\r' => {
                out.push(character);
                column = 0;
            }
            _ => {
                out.push(character);
                column += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::code::tests::{find, outline, parse};
    use crate::code::Language;

    const PYTHON: &str = r#"import os

def top(a, b=1):
    """Add things.

    Second paragraph.
    """
    def inner():
        pass
    return a + b


@decorator
@other(arg=1)
class Greeter(Base):
    'Greets people.'

    greeting = "hi"

    def greet(self, name):  # trailing comment: with a colon
        return f"{self.greeting} {name}"

    @staticmethod
    async def make(
        value,
        other,
    ) -> "Greeter":
        "Make one \x41\n\tindented."
        return Greeter()

    class Inner:
        def deep(self):
            return 1

if os.name == "nt":
    def windows_only():
        pass
else:
    def windows_only():
        pass

def undocumented():
    x = f"not a docstring"
    b"nor this"
"#;

    #[test]
    fn python_symbols() {
        let symbols = parse(PYTHON, Language::Python);
        assert_eq!(
            outline(&symbols),
            [
                ("top", "function"),
                ("Greeter", "class"),
                ("Greeter.greet", "method"),
                ("Greeter.make", "method"),
                ("Greeter.Inner", "class"),
                ("Greeter.Inner.deep", "method"),
                ("windows_only", "function"),
                ("windows_only", "function"),
                ("undocumented", "function"),
            ]
        );
        let top = find(&symbols, "top");
        assert_eq!(top.signature, "def top(a, b=1):");
        assert_eq!(top.docstring.as_deref(), Some("Add things.\n\nSecond paragraph."));
        assert_eq!((top.start_line, top.end_line), (3, 10));
        assert!(top.content.starts_with("def top(a, b=1):\n    \"\"\"Add things."));
        assert!(top.content.ends_with("    return a + b"));

        let greeter = find(&symbols, "Greeter");
        assert_eq!(greeter.signature, "@decorator\n@other(arg=1)\nclass Greeter(Base):");
        assert_eq!(greeter.docstring.as_deref(), Some("Greets people."));
        assert_eq!((greeter.start_line, greeter.end_line), (13, 33));

        let greet = find(&symbols, "Greeter.greet");
        assert_eq!(greet.signature, "def greet(self, name):");
        assert_eq!(greet.docstring, None);
        // Dedented by the method's own indentation.
        assert_eq!(greet.content, "def greet(self, name):  # trailing comment: with a colon\n    return f\"{self.greeting} {name}\"");

        let make = find(&symbols, "Greeter.make");
        assert_eq!(make.signature, "@staticmethod\nasync def make(value, other,) -> \"Greeter\":");
        // As `ast.get_docstring`: the tab expands and goes with the common indentation.
        assert_eq!(make.docstring.as_deref(), Some("Make one A\nindented."));
        assert_eq!(make.start_line, 23);

        assert_eq!(find(&symbols, "undocumented").docstring, None);
    }

    #[test]
    fn python_docstring_literals() {
        let docstring = |source: &str| parse(source, Language::Python)[0].docstring.clone();
        assert_eq!(docstring("def f():\n    r'''raw \\n'''\n"), Some("raw \\n".to_string()));
        assert_eq!(docstring("def f():\n    'a' \"b\"\n"), Some("ab".to_string()));
        assert_eq!(
            docstring("def f():\n    u'\\u00e9\\N{DASH}\\101'\n"),
            Some("é\\N{DASH}A".to_string())
        );
        assert_eq!(docstring("def f():\n    f'x'\n"), None);
        assert_eq!(docstring("def f():\n    x = 'y'\n"), None);
        assert_eq!(
            docstring(
                "def f():\n    # comment\n    '''  first\n      second\n    third\n    '''\n"
            ),
            Some("first\n  second\nthird".to_string())
        );
    }
}
