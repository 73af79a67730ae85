//! Code symbols of real sources, checked against each language's own parser: Python's `ast`
//! for standard library modules, `syn` for this project's Rust sources.

use std::path::{Path, PathBuf};
use std::process::Command;

use emb_docs::code::{symbols, CodeOptions, Language, Symbol};
use serde_json::Value;
use syn::visit::Visit;

/// Lists the symbols of each module named in argv by the rules of `emb_docs::code`: functions
/// and classes at module level, methods and classes in class bodies, also under if/try/with/
/// for/while at those levels; nothing inside functions. Prints JSON.
const PYTHON_LISTER: &str = r#"
import ast, importlib, json, sys

COMPOUND = tuple(getattr(ast, name) for name in
    ("If", "For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar") if hasattr(ast, name))

def walk(statements, scope, out):
    for node in statements:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = scope + "." + node.name if scope else node.name
            is_class = isinstance(node, ast.ClassDef)
            out.append({
                "name": name,
                "kind": "class" if is_class else ("method" if scope else "function"),
                "start": min([node.lineno] + [d.lineno for d in node.decorator_list]),
                "end": node.end_lineno,
                "docstring": ast.get_docstring(node),
            })
            if is_class:
                walk(node.body, name, out)
        elif isinstance(node, COMPOUND):
            for field in ("body", "orelse", "finalbody"):
                walk(getattr(node, field, []), scope, out)
            for handler in getattr(node, "handlers", []):
                walk(handler.body, scope, out)

modules = []
for module_name in sys.argv[1:]:
    path = importlib.import_module(module_name).__file__
    with open(path, "rb") as file:
        tree = ast.parse(file.read(), path)
    out = []
    walk(tree.body, "", out)
    modules.append({"module": module_name, "path": path, "symbols": out})
print(json.dumps(modules))
"#;

const PYTHON_MODULES: &[&str] = &[
    "argparse",
    "json.decoder",
    "textwrap",
    "typing",
    "collections",
    "dataclasses",
    "inspect",
    "email.message",
    "asyncio.tasks",
];

fn python_modules() -> Option<Vec<Value>> {
    let output = Command::new("python3").arg("-c").arg(PYTHON_LISTER).args(PYTHON_MODULES).output();
    match output {
        Ok(output) if output.status.success() => {
            Some(serde_json::from_slice::<Vec<Value>>(&output.stdout).expect("lister prints JSON"))
        }
        Ok(output) => panic!("python3 failed: {}", String::from_utf8_lossy(&output.stderr)),
        Err(error) => {
            println!("skipped: python3 is not available ({error})");
            None
        }
    }
}

/// The fields both sides report, for one symbol.
#[derive(Debug, Clone, PartialEq)]
struct Summary {
    name: String,
    kind: String,
    start: usize,
    end: usize,
    docstring: Option<String>,
}

impl From<&Symbol> for Summary {
    fn from(symbol: &Symbol) -> Self {
        Summary {
            name: symbol.name.clone(),
            kind: symbol.kind.name().to_string(),
            start: symbol.start_line,
            end: symbol.end_line,
            docstring: symbol.docstring.clone(),
        }
    }
}

impl From<&Value> for Summary {
    fn from(value: &Value) -> Self {
        let line = |key: &str| usize::try_from(value[key].as_u64().unwrap()).unwrap();
        Summary {
            name: value["name"].as_str().unwrap().to_string(),
            kind: value["kind"].as_str().unwrap().to_string(),
            start: line("start"),
            end: line("end"),
            docstring: value["docstring"]
                .as_str()
                .filter(|doc| !doc.is_empty())
                .map(str::to_string),
        }
    }
}

#[test]
fn python_standard_library_matches_ast() {
    let Some(modules) = python_modules() else {
        return;
    };
    for module in &modules {
        let path = module["path"].as_str().unwrap();
        let source = std::fs::read_to_string(path).unwrap();
        let found = symbols(&source, Language::Python, &CodeOptions::default()).unwrap();
        let expected: Vec<Summary> =
            module["symbols"].as_array().unwrap().iter().map(Summary::from).collect();
        let found: Vec<Summary> = found.iter().map(Summary::from).collect();
        println!("{path}: {} symbols, ast {}", found.len(), expected.len());
        let names = |summaries: &[Summary]| -> Vec<String> {
            summaries.iter().map(|summary| summary.name.clone()).collect()
        };
        assert_eq!(names(&found), names(&expected), "{path}: names in order");
        for (found, expected) in found.iter().zip(&expected) {
            // ast ends a definition at its last statement; tree-sitter too, except that comments
            // indented as part of the body after the last statement count as body.
            let end_ok = found.end >= expected.end
                && source
                    .lines()
                    .skip(expected.end)
                    .take(found.end - expected.end)
                    .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
            assert!(end_ok, "{path}: end of {}: {} vs ast {}", found.name, found.end, expected.end);
            let found = Summary { end: expected.end, ..found.clone() };
            assert_eq!(&found, expected, "{path}");
        }
    }
    let argparse = modules.iter().find(|module| module["module"] == "argparse").unwrap();
    let source = std::fs::read_to_string(argparse["path"].as_str().unwrap()).unwrap();
    let found = symbols(&source, Language::Python, &CodeOptions::default()).unwrap();
    let parser = found.iter().find(|symbol| symbol.name == "ArgumentParser").unwrap();
    assert!(parser
        .docstring
        .as_deref()
        .unwrap()
        .starts_with("Object for parsing command line strings into Python objects."));
    assert!(parser.signature.starts_with("class ArgumentParser("));
    let parse_args =
        found.iter().find(|symbol| symbol.name == "ArgumentParser.parse_args").unwrap();
    assert!(parse_args.content.starts_with("def parse_args(self"));
}

/// Lists a Rust file's symbols by the rules of `emb_docs::code`, from `syn`'s parse: free
/// functions, structs, enums, traits, type aliases, trait methods as `Trait.method`, impl
/// methods as `Type.method`, items of inline modules prefixed `module::`; nothing inside bodies.
#[derive(Default)]
struct RustLister {
    module: String,
    /// `(name, kind, docstring)`.
    found: Vec<(String, &'static str, Option<String>)>,
}

impl RustLister {
    fn push(&mut self, name: String, kind: &'static str, attributes: &[syn::Attribute]) {
        self.found.push((name, kind, doc_text(attributes)));
    }
}

impl<'ast> Visit<'ast> for RustLister {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let module = self.module.clone();
        match item {
            syn::Item::Fn(function) => {
                self.push(format!("{module}{}", function.sig.ident), "function", &function.attrs);
            }
            syn::Item::Struct(item) => {
                self.push(format!("{module}{}", item.ident), "struct", &item.attrs);
            }
            syn::Item::Enum(item) => {
                self.push(format!("{module}{}", item.ident), "enum", &item.attrs);
            }
            syn::Item::Type(item) => {
                self.push(format!("{module}{}", item.ident), "type", &item.attrs);
            }
            syn::Item::Trait(item) => {
                let name = format!("{module}{}", item.ident);
                self.push(name.clone(), "trait", &item.attrs);
                for member in &item.items {
                    if let syn::TraitItem::Fn(function) = member {
                        self.push(
                            format!("{name}.{}", function.sig.ident),
                            "method",
                            &function.attrs,
                        );
                    }
                }
            }
            syn::Item::Impl(item) => {
                let name = format!("{module}{}", type_name(&item.self_ty));
                for member in &item.items {
                    if let syn::ImplItem::Fn(function) = member {
                        self.push(
                            format!("{name}.{}", function.sig.ident),
                            "method",
                            &function.attrs,
                        );
                    }
                }
            }
            syn::Item::Mod(item) => {
                if let Some((_, items)) = &item.content {
                    self.module = format!("{module}{}::", item.ident);
                    for inner in items {
                        self.visit_item(inner);
                    }
                    self.module = module;
                }
            }
            _ => {}
        }
    }
}

/// `Foo` for `Foo`, `Foo<T>`, `a::Foo`, `&Foo`.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().unwrap().ident.to_string(),
        syn::Type::Reference(reference) => type_name(&reference.elem),
        syn::Type::Ptr(pointer) => type_name(&pointer.elem),
        _ => panic!("an impl for a type that is neither a path nor a reference"),
    }
}

/// The doc attributes (`///` lines become `#[doc = "..."]`), their common indentation and blank
/// lines at both ends removed, as rustdoc shows them.
fn doc_text(attributes: &[syn::Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attribute in attributes {
        if let syn::Meta::NameValue(pair) = &attribute.meta {
            if pair.path.is_ident("doc") {
                if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) = &pair.value {
                    lines.extend(text.value().split('\n').map(|line| line.trim_end().to_string()));
                }
            }
        }
    }
    let indent = lines
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()?;
    let lines: Vec<&str> = lines.iter().map(|line| line.get(indent..).unwrap_or("")).collect();
    let first = lines.iter().position(|line| !line.is_empty())?;
    let last = lines.iter().rposition(|line| !line.is_empty())?;
    Some(lines[first..=last].join("\n"))
}

fn rust_files(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// Every Rust source of every crate of this workspace.
#[test]
fn project_rust_sources_match_syn() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(crates).unwrap() {
        let source_directory = entry.unwrap().path().join("src");
        if source_directory.is_dir() {
            rust_files(&source_directory, &mut files);
        }
    }
    files.sort();
    assert!(files.len() >= 10, "too few sources found: {files:?}");
    let (mut total, mut compared) = (0, 0);
    for path in &files {
        let source = std::fs::read_to_string(path).unwrap();
        let Ok(file) = syn::parse_file(&source) else {
            // Another file of the project, being edited right now.
            println!("skipped: {} does not parse with syn", path.display());
            continue;
        };
        let mut lister = RustLister::default();
        lister.visit_file(&file);
        let found = symbols(&source, Language::Rust, &CodeOptions::default()).unwrap();
        let found: Vec<(String, &str, Option<String>)> = found
            .iter()
            .map(|symbol| (symbol.name.clone(), symbol.kind.name(), symbol.docstring.clone()))
            .collect();
        println!("{}: {} symbols, syn {}", path.display(), found.len(), lister.found.len());
        assert_eq!(found, lister.found, "{}", path.display());
        total += found.len();
        compared += 1;
    }
    println!("{compared} files, {total} symbols");
    assert!(total > 100, "too few symbols: {total}");
}
