//! JavaScript, TypeScript and TSX: top-level and exported declarations, class members and
//! `/** */` docs.

use tree_sitter::Node;

use super::{
    children, comments_above, decorators, trim_blank_lines, Extractor, Found, SymbolKind, MAX_DEPTH,
};

/// JavaScript and TypeScript expressions that make a function: `const f = <one of these>`.
const SCRIPT_FUNCTION_VALUES: [&str; 3] =
    ["arrow_function", "function_expression", "generator_function"];

/// JavaScript, TypeScript and TSX: top-level and exported declarations and class members.
impl Extractor<'_> {
    pub(super) fn script_statements(&mut self, parent: Node, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        let statements = children(parent);
        for (index, &statement) in statements.iter().enumerate() {
            let before = &statements[..index];
            match statement.kind() {
                "export_statement" => {
                    if let Some(declaration) = statement
                        .child_by_field_name("declaration")
                        .or_else(|| statement.child_by_field_name("value"))
                    {
                        self.script_declaration(statement, declaration, before);
                    }
                }
                "ERROR" => self.script_statements(statement, depth + 1),
                _ => self.script_declaration(statement, statement, before),
            }
        }
    }

    /// One declaration; `outer` is the `export` statement around it, or itself.
    fn script_declaration(&mut self, outer: Node, declaration: Node, before: &[Node]) {
        if !declaration.is_named() {
            return;
        }
        let kind = match declaration.kind() {
            "function_declaration"
            | "generator_function_declaration"
            | "lexical_declaration"
            | "variable_declaration"
            | "arrow_function"
            | "function_expression"
            | "generator_function" => SymbolKind::Function,
            "class_declaration" | "abstract_class_declaration" | "class" => SymbolKind::Class,
            "interface_declaration" => SymbolKind::Interface,
            "type_alias_declaration" => SymbolKind::Type,
            "enum_declaration" => SymbolKind::Enum,
            _ => return,
        };
        let (docstring, start) = self.jsdoc(outer, before);
        if matches!(declaration.kind(), "lexical_declaration" | "variable_declaration") {
            self.script_variables(outer, declaration, start, docstring);
            return;
        }
        let name = self.field_text(declaration, "name").unwrap_or("default").to_string();
        let body = declaration.child_by_field_name("body");
        let decorators = decorators(&[outer, declaration]);
        self.push(Found {
            signature: self.signature(
                &decorators,
                outer.start_byte(),
                body.map_or(outer.end_byte(), |body| body.start_byte()),
            ),
            name: name.clone(),
            kind,
            docstring,
            start,
            end: outer.end_byte(),
        });
        if let (SymbolKind::Class, Some(body)) = (kind, body) {
            self.script_class_members(body, &name);
        }
    }

    /// `const f = (...) => ...` and `let f = function ...`: one function per such declarator.
    fn script_variables(
        &mut self,
        outer: Node,
        declaration: Node,
        start: usize,
        docstring: Option<String>,
    ) {
        // `export const`, `const` or `let`: the text before the first declarator.
        let mut keyword_end = declaration.start_byte();
        for (number, declarator) in children(declaration)
            .into_iter()
            .filter(|child| child.kind() == "variable_declarator")
            .enumerate()
        {
            if number == 0 {
                keyword_end = declarator.start_byte();
            }
            let (Some(name), Some(value)) =
                (declarator.child_by_field_name("name"), declarator.child_by_field_name("value"))
            else {
                continue;
            };
            if name.kind() != "identifier" || !SCRIPT_FUNCTION_VALUES.contains(&value.kind()) {
                continue;
            }
            let head_end = value
                .child_by_field_name("body")
                .map_or(value.end_byte(), |body| body.start_byte());
            let keyword = self.text(outer.start_byte(), keyword_end);
            let signature = self.signature(&[], declarator.start_byte(), head_end);
            self.push(Found {
                name: self.node_text(name).to_string(),
                kind: SymbolKind::Function,
                signature: format!("{} {signature}", keyword.trim_end()),
                docstring: docstring.clone(),
                start: if number == 0 { start } else { declarator.start_byte() },
                end: declarator.end_byte(),
            });
        }
    }

    fn script_class_members(&mut self, body: Node, class: &str) {
        let members = children(body);
        for (index, &member) in members.iter().enumerate() {
            let function = match member.kind() {
                "method_definition" | "abstract_method_signature" => Some(member),
                "field_definition" | "public_field_definition" => member
                    .child_by_field_name("value")
                    .filter(|value| SCRIPT_FUNCTION_VALUES.contains(&value.kind())),
                _ => None,
            };
            let Some(function) = function else {
                continue;
            };
            let Some(name) =
                self.field_text(member, "name").or_else(|| self.field_text(member, "property"))
            else {
                continue;
            };
            let (docstring, start) = self.jsdoc(member, &members[..index]);
            let head_end = function
                .child_by_field_name("body")
                .map_or(member.end_byte(), |body| body.start_byte());
            self.push(Found {
                name: format!("{class}.{name}"),
                kind: SymbolKind::Method,
                signature: self.signature(&decorators(&[member]), member.start_byte(), head_end),
                docstring,
                start,
                end: member.end_byte(),
            });
        }
    }

    /// The `/** */` comment right above `item`, cleaned, and where it starts (else where
    /// `item` starts).
    fn jsdoc(&self, item: Node, before: &[Node]) -> (Option<String>, usize) {
        let Some(&comment) = comments_above(item, before).last() else {
            return (None, item.start_byte());
        };
        let text = self.node_text(comment);
        let Some(inner) = text.strip_prefix("/**").and_then(|text| text.strip_suffix("*/")) else {
            return (None, item.start_byte());
        };
        let lines: Vec<&str> = inner
            .lines()
            .map(|line| {
                let line = line.trim();
                let line = line.strip_prefix('*').unwrap_or(line);
                line.strip_prefix(' ').unwrap_or(line).trim_end()
            })
            .collect();
        (Some(trim_blank_lines(&lines)), comment.start_byte())
    }
}

#[cfg(test)]
mod tests {
    use crate::code::tests::{find, outline, parse};
    use crate::code::Language;

    const TYPESCRIPT: &str = r"import { x } from './x';

/**
 * Adds numbers.
 * @param a first
 */
export function add(a: number, b: number): number {
  return a + b;
}

/** Not attached: blank line. */

function plain() {}

/** Multiplies. */
export const multiply = (a: number, b: number): number => a * b;
const half = function (a: number) { return a / 2; }, notAFunction = 3;
let counter = 0;

@Component({ selector: 'app' })
export class Widget extends Base implements Thing {
  /** The name. */
  private name = 'w';

  /** Renders it. */
  render(): string {
    return this.name;
  }

  onClick = (event: Event) => {
    console.log(event);
  };

  static get instance() { return new Widget(); }
}

export abstract class Shape {
  abstract area(): number;
}

export interface Point { x: number; y: number }
export type Id = string | number;
enum Color { Red, Green }
export default function () {}
";

    #[test]
    fn typescript_symbols() {
        for language in [Language::TypeScript, Language::Tsx] {
            let symbols = parse(TYPESCRIPT, language);
            assert_eq!(
                outline(&symbols),
                [
                    ("add", "function"),
                    ("plain", "function"),
                    ("multiply", "function"),
                    ("half", "function"),
                    ("Widget", "class"),
                    ("Widget.render", "method"),
                    ("Widget.onClick", "method"),
                    ("Widget.instance", "method"),
                    ("Shape", "class"),
                    ("Shape.area", "method"),
                    ("Point", "interface"),
                    ("Id", "type"),
                    ("Color", "enum"),
                    ("default", "function"),
                ],
                "{language:?}"
            );
            let add = find(&symbols, "add");
            assert_eq!(add.docstring.as_deref(), Some("Adds numbers.\n@param a first"));
            assert_eq!(add.signature, "export function add(a: number, b: number): number");
            assert_eq!((add.start_line, add.end_line), (3, 9));
            assert_eq!(find(&symbols, "plain").docstring, None);
            let multiply = find(&symbols, "multiply");
            assert_eq!(
                multiply.signature,
                "export const multiply = (a: number, b: number): number =>"
            );
            assert_eq!(multiply.docstring.as_deref(), Some("Multiplies."));
            assert_eq!(find(&symbols, "half").signature, "const half = function (a: number)");
            let widget = find(&symbols, "Widget");
            assert_eq!(widget.signature, "@Component({ selector: 'app' })\nexport class Widget extends Base implements Thing");
            assert_eq!(widget.start_line, 20);
            let render = find(&symbols, "Widget.render");
            assert_eq!(render.docstring.as_deref(), Some("Renders it."));
            assert_eq!(render.signature, "render(): string");
            assert_eq!(
                render.content,
                "/** Renders it. */\nrender(): string {\n  return this.name;\n}"
            );
            assert_eq!(find(&symbols, "Widget.onClick").signature, "onClick = (event: Event) =>");
            assert_eq!(find(&symbols, "Shape.area").signature, "abstract area(): number");
            assert_eq!(find(&symbols, "Point").signature, "export interface Point");
            assert_eq!(find(&symbols, "Id").signature, "export type Id = string | number");
        }
    }

    #[test]
    fn javascript_symbols() {
        let source = "/** Doc. */\nexport default class App extends React.Component {\n  #secret() {}\n  render() { return <div>{this.props.x}</div>; }\n}\nfunction* gen() { yield 1; }\nmodule.exports = { gen };\nvar old = function named() {};\n";
        let symbols = parse(source, Language::JavaScript);
        assert_eq!(
            outline(&symbols),
            [
                ("App", "class"),
                ("App.#secret", "method"),
                ("App.render", "method"),
                ("gen", "function"),
                ("old", "function"),
            ]
        );
        assert_eq!(symbols[0].docstring.as_deref(), Some("Doc."));
        assert_eq!(symbols[0].signature, "export default class App extends React.Component");
        assert_eq!(symbols[4].signature, "var old = function named()");
    }
}
