//! Metadata filters: `lang = "en" and year >= 2020`, parsed once, translated by each store.
//!
//! Grammar (keywords in any case):
//!
//! ```text
//! filter     := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" filter ")" | comparison
//! comparison := field ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") literal
//!             | field ["not"] "in" "(" literal ("," literal)* ")"
//!             | field "is" ["not"] "null"
//! field      := name ("." name)*          a key of the metadata (`metadata.` may lead)
//! literal    := "text" | 'text' | number | true | false | null
//! ```
//!
//! Two limits keep every filter small enough for each consumer (the stores' SQL, formatting,
//! dropping the tree) to handle without running out of stack or hitting a database's limit:
//! parentheses and `not`s nest at most [`MAX_NESTING`] levels deep, and a filter holds at most
//! [`MAX_CONDITIONS`] conditions, each value of an `in` list counting as one. [`Filter::parse`]
//! refuses a filter past either limit with a [`FilterError`] that names the limit and where it
//! was passed.
//!
//! ```
//! use emb_core::filter::{Filter, FilterError, MAX_NESTING};
//!
//! let filter = Filter::parse(r#"lang = "en" and not (year < 2020 or draft = true)"#).unwrap();
//! assert_eq!(filter.to_string(), r#"lang = "en" and not (year < 2020 or draft = true)"#);
//!
//! let deep = format!("{}year > 1{}", "(".repeat(100), ")".repeat(100));
//! let error = Filter::parse(&deep).unwrap_err();
//! assert_eq!(error, FilterError::TooDeep { limit: MAX_NESTING, position: MAX_NESTING });
//! ```

use std::fmt;

/// How deep parentheses and `not`s may nest in a filter (`not (a = 1)` nests two levels).
///
/// Each level becomes at most two levels of a store's SQL expression, so the deepest filter
/// stays far from SQLite's expression depth limit (1000) and every consumer's recursion short.
pub const MAX_NESTING: usize = 64;

/// How many conditions a filter may hold; each value of an `in` list counts as one.
///
/// A chain of conditions becomes a chain of SQL `AND`s or `OR`s, one expression level each: with
/// [`MAX_NESTING`] the deepest SQL a filter becomes is under 400 levels, well within SQLite's
/// 1000.
pub const MAX_CONDITIONS: usize = 256;

/// A parsed filter over an item's metadata.
///
/// [`Filter::parse`] makes `And` and `Or` with two or more filters, and keeps within
/// [`MAX_NESTING`] and [`MAX_CONDITIONS`]; a filter built by hand should do the same (an empty
/// `And` holds for every item and an empty `Or` for none, but neither has a text form).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every one holds.
    And(Vec<Filter>),
    /// At least one holds.
    Or(Vec<Filter>),
    /// It does not hold.
    Not(Box<Filter>),
    /// `field op value`.
    Compare {
        /// The metadata key path.
        field: Vec<String>,
        /// The comparison.
        operator: Operator,
        /// The value compared with.
        value: Literal,
    },
    /// `field in (values)`.
    In {
        /// The metadata key path.
        field: Vec<String>,
        /// The values.
        values: Vec<Literal>,
    },
    /// `field is null` (missing or null).
    IsNull {
        /// The metadata key path.
        field: Vec<String>,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// `=`
    Equal,
    /// `!=` or `<>`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Operator {
    /// The operator as SQL writes it.
    pub fn sql(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
        }
    }
}

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string.
    Text(String),
    /// A finite number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A filter that cannot be used: what is wrong, and where (a character offset in the text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The text does not follow the grammar.
    #[error("filter {}, at character {position}: {message}", Excerpt { text, position: *position })]
    Syntax {
        /// The filter as given.
        text: String,
        /// Where the problem is.
        position: usize,
        /// What is wrong.
        message: String,
    },
    /// Parentheses and `not`s nest deeper than the limit ([`MAX_NESTING`]).
    #[error("the filter nests deeper than {limit} levels (of parentheses and `not`) at character {position}; write it with less nesting")]
    TooDeep {
        /// The deepest nesting allowed.
        limit: usize,
        /// Where the nesting passes the limit: the `(` or `not` one level too deep.
        position: usize,
    },
    /// The filter holds more conditions than the limit ([`MAX_CONDITIONS`]).
    #[error("the filter has more than {limit} conditions (each value of an `in` list counts as one); the first one past the limit is at character {position}")]
    TooManyConditions {
        /// The most conditions allowed.
        limit: usize,
        /// Where the first condition past the limit starts.
        position: usize,
    },
}

impl FilterError {
    /// Where the problem is: a character offset in the filter's text.
    pub fn position(&self) -> usize {
        match self {
            Self::Syntax { position, .. }
            | Self::TooDeep { position, .. }
            | Self::TooManyConditions { position, .. } => *position,
        }
    }
}

/// A filter's text for an error message: all of it when short, else the part around `position`
/// (a character offset), so a long filter is not repeated whole.
struct Excerpt<'a> {
    text: &'a str,
    position: usize,
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 80;
        const BEFORE: usize = 40;
        let length = self.text.chars().count();
        if length <= SHOWN {
            return write!(formatter, "{:?}", self.text);
        }
        let start = self.position.saturating_sub(BEFORE).min(length - SHOWN);
        let part: String = self.text.chars().skip(start).take(SHOWN).collect();
        let before = if start > 0 { "…" } else { "" };
        let after = if start + SHOWN < length { "…" } else { "" };
        write!(formatter, "{before}{part:?}{after} ({length} characters)")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Text(String),
    Number(f64),
    Symbol(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => write!(formatter, "{name}"),
            Self::Text(text) => write!(formatter, "{text:?}"),
            Self::Number(number) => write!(formatter, "{number}"),
            Self::Symbol(symbol) => write!(formatter, "{symbol}"),
        }
    }
}

/// Why parsing stopped, at a byte offset of the text.
enum Problem {
    /// The text does not follow the grammar.
    Syntax(String),
    /// One `(` or `not` too many.
    TooDeep,
    /// One condition too many.
    TooManyConditions,
}

type Parsed<T> = Result<T, (usize, Problem)>;

fn syntax<T>(at: usize, message: impl Into<String>) -> Parsed<T> {
    Err((at, Problem::Syntax(message.into())))
}

fn tokenize(text: &str) -> Parsed<Vec<(usize, Token)>> {
    let characters: Vec<(usize, char)> = text.char_indices().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < characters.len() {
        let (at, character) = characters[index];
        if character.is_whitespace() {
            index += 1;
        } else if character == '"' || character == '\'' {
            let mut value = String::new();
            index += 1;
            loop {
                let Some(&(_, next)) = characters.get(index) else {
                    return syntax(at, "the string is not closed");
                };
                index += 1;
                if next == character {
                    // A doubled quote stands for itself, as in SQL.
                    if characters.get(index).is_some_and(|&(_, after)| after == character) {
                        value.push(character);
                        index += 1;
                        continue;
                    }
                    break;
                }
                value.push(next);
            }
            tokens.push((at, Token::Text(value)));
        } else if character.is_ascii_digit()
            || (character == '-'
                && characters.get(index + 1).is_some_and(|&(_, next)| next.is_ascii_digit()))
        {
            index += 1;
            while characters.get(index).is_some_and(|&(_, next)| {
                next.is_ascii_digit()
                    || matches!(next, '.' | 'e' | 'E')
                    // The sign of an exponent: 1e-5.
                    || (matches!(next, '+' | '-')
                        && matches!(characters[index - 1].1, 'e' | 'E'))
            }) {
                index += 1;
            }
            let end = characters.get(index).map_or(text.len(), |&(offset, _)| offset);
            let written = &text[at..end];
            match written.parse::<f64>() {
                Ok(number) if number.is_finite() => tokens.push((at, Token::Number(number))),
                Ok(_) => return syntax(at, format!("{written} is too large a number")),
                Err(_) => return syntax(at, format!("{written:?} is not a number")),
            }
        } else if character.is_alphanumeric() || character == '_' {
            let start = index;
            while characters
                .get(index)
                .is_some_and(|&(_, next)| next.is_alphanumeric() || matches!(next, '_' | '-'))
            {
                index += 1;
            }
            let end = characters.get(index).map_or(text.len(), |&(offset, _)| offset);
            tokens.push((at, Token::Name(text[characters[start].0..end].to_owned())));
        } else {
            let two: String = characters[index..].iter().take(2).map(|&(_, c)| c).collect();
            let Some(symbol) = ["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "."]
                .into_iter()
                .find(|symbol| two.starts_with(symbol))
            else {
                return syntax(at, format!("unexpected {character:?}"));
            };
            index += symbol.chars().count();
            tokens.push((at, Token::Symbol(symbol)));
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    next: usize,
    end: usize,
    /// How many `(` and `not` enclose the token at `next`.
    depth: usize,
    /// How many conditions have been read.
    conditions: usize,
}

impl Parser {
    fn position(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |(at, _)| *at)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Parsed<T> {
        syntax(self.position(), message)
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.next), Some((_, Token::Name(name))) if name.eq_ignore_ascii_case(keyword))
    }

    fn keyword(&mut self, keyword: &str) -> bool {
        let found = self.peek_keyword(keyword);
        self.next += usize::from(found);
        found
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        let found =
            matches!(self.tokens.get(self.next), Some((_, Token::Symbol(s))) if *s == symbol);
        self.next += usize::from(found);
        found
    }

    /// One more condition, which starts at `at`.
    fn count_condition(&mut self, at: usize) -> Parsed<()> {
        if self.conditions == MAX_CONDITIONS {
            return Err((at, Problem::TooManyConditions));
        }
        self.conditions += 1;
        Ok(())
    }

    /// `parse` one level deeper than now, entered at `at` (a `(` or a `not`).
    fn nested(&mut self, at: usize, parse: fn(&mut Self) -> Parsed<Filter>) -> Parsed<Filter> {
        if self.depth == MAX_NESTING {
            return Err((at, Problem::TooDeep));
        }
        self.depth += 1;
        let parsed = parse(self);
        self.depth -= 1;
        parsed
    }

    /// `part (keyword part)*`: the one part alone, or all of them in a list made by `make`.
    fn chain(
        &mut self,
        keyword: &str,
        part: fn(&mut Self) -> Parsed<Filter>,
        make: fn(Vec<Filter>) -> Filter,
    ) -> Parsed<Filter> {
        let first = part(self)?;
        if !self.peek_keyword(keyword) {
            return Ok(first);
        }
        let mut parts = vec![first];
        while self.keyword(keyword) {
            parts.push(part(self)?);
        }
        Ok(make(parts))
    }

    fn or(&mut self) -> Parsed<Filter> {
        self.chain("or", Self::and, Filter::Or)
    }

    fn and(&mut self) -> Parsed<Filter> {
        self.chain("and", Self::unary, Filter::And)
    }

    fn unary(&mut self) -> Parsed<Filter> {
        let at = self.position();
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.nested(at, Self::unary)?)));
        }
        if self.symbol("(") {
            let inner = self.nested(at, Self::or)?;
            if !self.symbol(")") {
                return self.fail("expected )");
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn field(&mut self) -> Parsed<Vec<String>> {
        let mut path = Vec::new();
        loop {
            match self.tokens.get(self.next) {
                Some((_, Token::Name(name) | Token::Text(name))) => {
                    path.push(name.clone());
                    self.next += 1;
                }
                _ => return self.fail("expected a metadata field name"),
            }
            if !self.symbol(".") {
                break;
            }
        }
        if path.len() > 1 && path[0] == "metadata" {
            path.remove(0);
        }
        Ok(path)
    }

    fn literal(&mut self) -> Parsed<Literal> {
        let literal = match self.tokens.get(self.next) {
            Some((_, Token::Text(text))) => Literal::Text(text.clone()),
            Some((_, Token::Number(number))) => Literal::Number(*number),
            Some((_, Token::Name(name))) if name.eq_ignore_ascii_case("true") => {
                Literal::Bool(true)
            }
            Some((_, Token::Name(name))) if name.eq_ignore_ascii_case("false") => {
                Literal::Bool(false)
            }
            Some((_, Token::Name(name))) if name.eq_ignore_ascii_case("null") => Literal::Null,
            Some((_, token)) => {
                return self.fail(format!(
                    "expected a value (\"text\", a number, true, false or null), found {token}"
                ))
            }
            None => return self.fail("expected a value"),
        };
        self.next += 1;
        Ok(literal)
    }

    fn comparison(&mut self) -> Parsed<Filter> {
        let start = self.position();
        let field = self.field()?;
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return self.fail("expected null after is");
            }
            self.count_condition(start)?;
            let test = Filter::IsNull { field };
            return Ok(if negated { Filter::Not(Box::new(test)) } else { test });
        }
        let negated = self.keyword("not");
        if self.keyword("in") {
            if !self.symbol("(") {
                return self.fail("expected ( after in");
            }
            let mut values = Vec::new();
            loop {
                // Each value is one more comparison in SQL.
                self.count_condition(self.position())?;
                values.push(self.literal()?);
                if !self.symbol(",") {
                    break;
                }
            }
            if !self.symbol(")") {
                return self.fail("expected , or )");
            }
            let test = Filter::In { field, values };
            return Ok(if negated { Filter::Not(Box::new(test)) } else { test });
        }
        if negated {
            return self.fail("expected in after not");
        }
        let operator = match self.tokens.get(self.next) {
            Some((_, Token::Symbol("="))) => Operator::Equal,
            Some((_, Token::Symbol("!=" | "<>"))) => Operator::NotEqual,
            Some((_, Token::Symbol("<"))) => Operator::Less,
            Some((_, Token::Symbol("<="))) => Operator::LessOrEqual,
            Some((_, Token::Symbol(">"))) => Operator::Greater,
            Some((_, Token::Symbol(">="))) => Operator::GreaterOrEqual,
            _ => return self.fail("expected a comparison (= != < <= > >=), in, or is null"),
        };
        self.next += 1;
        self.count_condition(start)?;
        Ok(Filter::Compare { field, operator, value: self.literal()? })
    }
}

impl Filter {
    /// Parses `text` (see the module's grammar), refusing a filter that nests deeper than
    /// [`MAX_NESTING`] or holds more than [`MAX_CONDITIONS`] conditions.
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let parsed = tokenize(text).and_then(|tokens| {
            let mut parser = Parser { tokens, next: 0, end: text.len(), depth: 0, conditions: 0 };
            let filter = parser.or()?;
            if parser.next < parser.tokens.len() {
                return parser.fail("unexpected text after the filter");
            }
            Ok(filter)
        });
        parsed.map_err(|(at, problem)| {
            let position = text[..at].chars().count();
            match problem {
                Problem::Syntax(message) => {
                    FilterError::Syntax { text: text.to_owned(), position, message }
                }
                Problem::TooDeep => FilterError::TooDeep { limit: MAX_NESTING, position },
                Problem::TooManyConditions => {
                    FilterError::TooManyConditions { limit: MAX_CONDITIONS, position }
                }
            }
        })
    }
}

/// The text form, which [`Filter::parse`] reads back as the same filter (for every filter it
/// makes): fields and strings quoted where needed, parentheses only where needed.
impl fmt::Display for Filter {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A chain inside a chain of the same kind keeps its parentheses, so that it reads
            // back as the same tree; an `and` inside an `or` needs none.
            Self::And(parts) => write_chain(formatter, parts, " and ", |part| {
                matches!(part, Self::And(_) | Self::Or(_))
            }),
            Self::Or(parts) => {
                write_chain(formatter, parts, " or ", |part| matches!(part, Self::Or(_)))
            }
            Self::Not(inner) => match &**inner {
                Self::IsNull { field } => write!(formatter, "{} is not null", Field(field)),
                Self::In { field, values } => {
                    write!(formatter, "{} not in ({})", Field(field), Values(values))
                }
                chain @ (Self::And(_) | Self::Or(_)) => write!(formatter, "not ({chain})"),
                inner => write!(formatter, "not {inner}"),
            },
            Self::Compare { field, operator, value } => {
                write!(formatter, "{} {} {value}", Field(field), operator.sql())
            }
            Self::In { field, values } => {
                write!(formatter, "{} in ({})", Field(field), Values(values))
            }
            Self::IsNull { field } => write!(formatter, "{} is null", Field(field)),
        }
    }
}

fn write_chain(
    formatter: &mut fmt::Formatter<'_>,
    parts: &[Filter],
    separator: &str,
    grouped: fn(&Filter) -> bool,
) -> fmt::Result {
    if parts.is_empty() {
        return formatter.write_str("()");
    }
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            formatter.write_str(separator)?;
        }
        if grouped(part) {
            write!(formatter, "({part})")?;
        } else {
            write!(formatter, "{part}")?;
        }
    }
    Ok(())
}

/// A metadata key path as the grammar writes it.
struct Field<'a>(&'a [String]);

impl fmt::Display for Field<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The parser drops a leading `metadata.`, so a path that starts with a key of that name
        // needs one written before it.
        if self.0.len() > 1 && self.0[0] == "metadata" {
            formatter.write_str("metadata.")?;
        }
        for (index, name) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(".")?;
            }
            if is_plain_name(name) {
                formatter.write_str(name)?;
            } else {
                write_quoted(formatter, name)?;
            }
        }
        Ok(())
    }
}

/// Whether `name` reads back as one name token that is no keyword.
fn is_plain_name(name: &str) -> bool {
    const KEYWORDS: [&str; 8] = ["and", "or", "not", "in", "is", "null", "true", "false"];
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| (first.is_alphanumeric() || first == '_') && !first.is_ascii_digit())
        && characters.all(|next| next.is_alphanumeric() || matches!(next, '_' | '-'))
        && !KEYWORDS.iter().any(|keyword| name.eq_ignore_ascii_case(keyword))
}

fn write_quoted(formatter: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    write!(formatter, "\"{}\"", text.replace('"', "\"\""))
}

/// The values of an `in` list, separated by commas.
struct Values<'a>(&'a [Literal]);

impl fmt::Display for Values<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, value) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(", ")?;
            }
            write!(formatter, "{value}")?;
        }
        Ok(())
    }
}

/// The literal as the grammar writes it (numbers in full, never with an exponent).
impl fmt::Display for Literal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => write_quoted(formatter, text),
            Self::Number(number) => write!(formatter, "{number}"),
            Self::Bool(truth) => write!(formatter, "{truth}"),
            Self::Null => formatter.write_str("null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compare(field: &str, operator: Operator, value: Literal) -> Filter {
        Filter::Compare { field: field.split('.').map(str::to_owned).collect(), operator, value }
    }

    #[test]
    fn parses_comparisons_with_precedence() {
        let parsed =
            Filter::parse(r#"lang = "en" and year >= 2020 and n < 1e-3 or not draft = true"#)
                .unwrap();
        let expected = Filter::Or(vec![
            Filter::And(vec![
                compare("lang", Operator::Equal, Literal::Text("en".into())),
                compare("year", Operator::GreaterOrEqual, Literal::Number(2020.0)),
                compare("n", Operator::Less, Literal::Number(0.001)),
            ]),
            Filter::Not(Box::new(compare("draft", Operator::Equal, Literal::Bool(true)))),
        ]);
        assert_eq!(parsed, expected);
        // Parentheses keep their grouping, also around a chain of the same kind.
        assert_eq!(
            Filter::parse("(a = 1 and b = 2) and c = 3").unwrap(),
            Filter::And(vec![
                Filter::And(vec![
                    compare("a", Operator::Equal, Literal::Number(1.0)),
                    compare("b", Operator::Equal, Literal::Number(2.0)),
                ]),
                compare("c", Operator::Equal, Literal::Number(3.0)),
            ])
        );
    }

    #[test]
    fn parses_in_null_paths_and_quotes() {
        assert_eq!(
            Filter::parse("metadata.author.name in ('Ann', 'O''Brien')").unwrap(),
            Filter::In {
                field: vec!["author".into(), "name".into()],
                values: vec![Literal::Text("Ann".into()), Literal::Text("O'Brien".into())],
            }
        );
        assert_eq!(
            Filter::parse("(score is not null)").unwrap(),
            Filter::Not(Box::new(Filter::IsNull { field: vec!["score".into()] }))
        );
        assert_eq!(
            Filter::parse("x < -1.5").unwrap(),
            compare("x", Operator::Less, Literal::Number(-1.5))
        );
    }

    #[test]
    fn errors_say_where() {
        let position = |text: &str| Filter::parse(text).unwrap_err().position();
        let message = |text: &str| Filter::parse(text).unwrap_err().to_string();
        assert_eq!(position("lang = "), 7);
        assert!(message("lang = ").contains("expected a value"));
        assert_eq!(position("lang == 'en'"), 6);
        // Positions count characters, not bytes.
        assert_eq!(position("größe == 1"), 7);
        assert!(message("a = 'open").contains("not closed"));
        assert!(message("a = 1 b").contains("unexpected text"));
        assert!(message("a = 1e999").contains("too large a number"), "{}", message("a = 1e999"));
        // A long filter is not repeated whole in the message.
        let long = format!("{} b", "a = 1 and ".repeat(20));
        let error = message(&long);
        assert!(error.contains("…") && error.contains("(202 characters)"), "{error}");
        assert!(error.len() < 250, "{error}");
    }

    #[test]
    fn nesting_is_limited() {
        let nested =
            |levels: usize| format!("{}year > 1{}", "(".repeat(levels), ")".repeat(levels));
        assert!(Filter::parse(&nested(MAX_NESTING)).is_ok());
        let error = Filter::parse(&nested(MAX_NESTING + 1)).unwrap_err();
        assert_eq!(error, FilterError::TooDeep { limit: MAX_NESTING, position: MAX_NESTING });
        assert_eq!(
            error.to_string(),
            "the filter nests deeper than 64 levels (of parentheses and `not`) at character 64; write it with less nesting"
        );
        let nots = |count: usize| format!("{}year > 1", "not ".repeat(count));
        assert!(Filter::parse(&nots(MAX_NESTING)).is_ok());
        assert_eq!(
            Filter::parse(&nots(MAX_NESTING + 1)).unwrap_err(),
            FilterError::TooDeep { limit: MAX_NESTING, position: 4 * MAX_NESTING }
        );
        // Both kinds add up.
        let mixed = format!("{}a = 1{}", "not (".repeat(MAX_NESTING / 2 + 1), ")".repeat(40));
        assert!(matches!(
            Filter::parse(&mixed).unwrap_err(),
            FilterError::TooDeep { position, .. } if position == 5 * (MAX_NESTING / 2)
        ));
        // The inputs of the issue, and far deeper ones, stop at the limit.
        for text in [
            nested(2500),
            nested(12_000),
            nested(100_000),
            "(".repeat(1_000_000),
            nots(30_000),
            "not ".repeat(250_000),
        ] {
            assert!(
                matches!(Filter::parse(&text), Err(FilterError::TooDeep { position, .. }) if position < 4 * MAX_NESTING + 4),
                "{}",
                &text[..20]
            );
        }
    }

    #[test]
    fn conditions_are_limited() {
        let chain = |count: usize| vec!["year > 1"; count].join(" and ");
        let Filter::And(parts) = Filter::parse(&chain(MAX_CONDITIONS)).unwrap() else {
            panic!("a chain")
        };
        assert_eq!(parts.len(), MAX_CONDITIONS);
        let error = Filter::parse(&chain(MAX_CONDITIONS + 1)).unwrap_err();
        assert_eq!(
            error,
            FilterError::TooManyConditions {
                limit: MAX_CONDITIONS,
                position: MAX_CONDITIONS * "year > 1 and ".len()
            }
        );
        assert!(
            error.to_string().starts_with("the filter has more than 256 conditions"),
            "{error}"
        );
        for text in [chain(8000), chain(20_000), vec!["a is null"; 100_000].join(" or ")] {
            assert!(
                matches!(Filter::parse(&text), Err(FilterError::TooManyConditions { .. })),
                "{}",
                &text[..20]
            );
        }
        // Each value of an `in` list is a condition.
        let list = |count: usize| {
            format!("x in ({})", (0..count).map(|n| n.to_string()).collect::<Vec<_>>().join(","))
        };
        assert!(Filter::parse(&list(MAX_CONDITIONS)).is_ok());
        assert!(matches!(
            Filter::parse(&list(MAX_CONDITIONS + 1)),
            Err(FilterError::TooManyConditions { .. })
        ));
        assert!(matches!(
            Filter::parse(&format!("a = 1 and {}", list(MAX_CONDITIONS))),
            Err(FilterError::TooManyConditions { .. })
        ));
    }

    #[test]
    fn display_reads_back() {
        for text in [
            r#"lang = "en" and year >= 2020 or not draft = true"#,
            "not (a = 1 or b = 2) and (c = 3 and d = 4) and (e = 5 or f = 6)",
            "(a = 1 or b = 2) or c = 3",
            r#"x not in ("a", 'b''c', 1, -2.5, true, null) and y is not null and not z is null"#,
            r#""and" = 1 and "1x" = 2 and "a b"."c""d" != 'q' and metadata.metadata.x = 0"#,
            "not not n <> 0.000001 and m >= 1e21",
            "größe = 1 and my-key = -0",
        ] {
            let filter = Filter::parse(text).unwrap();
            let shown = filter.to_string();
            assert_eq!(Filter::parse(&shown).as_ref(), Ok(&filter), "{text} -> {shown}");
        }
        assert_eq!(
            Filter::parse("not (a = 1 or b = 2) and x not in (1,2)").unwrap().to_string(),
            "not (a = 1 or b = 2) and x not in (1, 2)"
        );
    }

    /// A small deterministic generator (xorshift64*), so a failing case repeats.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, bound: usize) -> usize {
            (self.next() % bound as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    const NAMES: [&str; 14] = [
        "a", "year", "metadata", "and", "NOT", "null", "", "1x", "a b", "q\"uote", "o'k", "ü-ber",
        "_", "é",
    ];

    fn random_literal(random: &mut Random) -> Literal {
        match random.below(6) {
            0 => Literal::Text((*random.pick(&NAMES)).to_owned()),
            1 => Literal::Number(random.below(5000) as f64 - 2500.0),
            2 => {
                let number = f64::from_bits(random.next());
                Literal::Number(if number.is_finite() { number } else { 0.5 })
            }
            3 => Literal::Bool(random.below(2) == 0),
            4 => Literal::Null,
            _ => Literal::Text("line\nbreak, \"quotes\" and 'more'".into()),
        }
    }

    fn random_field(random: &mut Random) -> Vec<String> {
        (0..=random.below(3)).map(|_| (*random.pick(&NAMES)).to_owned()).collect()
    }

    /// A random filter of the shapes the parser makes: chains of two or more, no chain directly
    /// in a chain of its kind (parentheses keep that apart, and Display writes them).
    fn random_filter(random: &mut Random, depth: usize) -> Filter {
        let leaf = depth == 0 || random.below(3) == 0;
        match if leaf { 3 + random.below(3) } else { random.below(3) } {
            0 | 1 => {
                let parts =
                    (0..2 + random.below(3)).map(|_| random_filter(random, depth - 1)).collect();
                if random.below(2) == 0 {
                    Filter::And(parts)
                } else {
                    Filter::Or(parts)
                }
            }
            2 => Filter::Not(Box::new(random_filter(random, depth - 1))),
            3 => Filter::Compare {
                field: random_field(random),
                operator: *random.pick(&[
                    Operator::Equal,
                    Operator::NotEqual,
                    Operator::Less,
                    Operator::LessOrEqual,
                    Operator::Greater,
                    Operator::GreaterOrEqual,
                ]),
                value: random_literal(random),
            },
            4 => Filter::In {
                field: random_field(random),
                values: (0..=random.below(4)).map(|_| random_literal(random)).collect(),
            },
            _ => Filter::IsNull { field: random_field(random) },
        }
    }

    #[test]
    fn random_filters_read_back_from_their_text() {
        let mut random = Random(0x5EED_F117_E400_0001);
        for case in 0..3000 {
            let filter = random_filter(&mut random, 5);
            let text = filter.to_string();
            match Filter::parse(&text) {
                Ok(parsed) => assert_eq!(parsed, filter, "case {case}: {text}"),
                // A big random tree may pass the condition limit; nothing else may fail.
                Err(FilterError::TooManyConditions { .. }) => {}
                Err(error) => panic!("case {case}: {text}: {error}"),
            }
        }
    }

    #[test]
    fn token_soups_never_panic() {
        const PIECES: [&str; 34] = [
            "(",
            ")",
            "((",
            "))",
            " not ",
            " and ",
            " or ",
            " in ",
            " is ",
            " null ",
            "a",
            "b.c",
            "metadata.",
            "=",
            "!=",
            "<>",
            "<",
            "<=",
            ">",
            ">=",
            ",",
            "'x'",
            "\"y\"",
            "'",
            "\"",
            "1",
            "-2.5",
            "1e-3",
            "1e999",
            "-",
            ".",
            "é",
            "\u{0}",
            "true",
        ];
        let mut random = Random(0xF00D_CAFE_0000_0042);
        let mut parsed = 0;
        for case in 0..20_000 {
            // Half are soups of pieces; half are valid filters with pieces put in or cut out.
            let mut text = if case % 2 == 0 {
                String::new()
            } else {
                random_filter(&mut random, 3).to_string()
            };
            let edits = if case % 2 == 0 {
                random.below(if case % 100 == 0 { 2000 } else { 24 })
            } else {
                1 + random.below(3)
            };
            for _ in 0..edits {
                let boundaries: Vec<usize> =
                    text.char_indices().map(|(at, _)| at).chain([text.len()]).collect();
                let at = *random.pick(&boundaries);
                if case % 2 == 1 && random.below(3) == 0 {
                    let end = *random.pick(&boundaries);
                    text.replace_range(at.min(end)..at.max(end), "");
                } else if random.below(20) == 0 {
                    text.insert(at, char::from_u32(random.below(0x3000) as u32).unwrap_or('?'));
                } else {
                    let piece = *random.pick(&PIECES);
                    text.insert_str(at, piece);
                }
            }
            match Filter::parse(&text) {
                Ok(filter) => {
                    parsed += 1;
                    let shown = filter.to_string();
                    assert_eq!(
                        Filter::parse(&shown),
                        Ok(filter),
                        "case {case}: {text:?} -> {shown:?}"
                    );
                }
                Err(error) => {
                    assert!(error.position() <= text.chars().count(), "case {case}: {error}");
                }
            }
        }
        assert!(parsed > 1000, "only {parsed} soups parsed: the test exercises too little");
    }
}
