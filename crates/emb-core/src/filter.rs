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

use std::fmt;

/// A parsed filter over an item's metadata.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both hold.
    And(Box<Filter>, Box<Filter>),
    /// Either holds.
    Or(Box<Filter>, Box<Filter>),
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
    /// A number.
    Number(f64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// A filter that does not parse: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter {text:?}, at character {position}: {message}")]
pub struct FilterError {
    /// The filter as given.
    pub text: String,
    /// Where the problem is (a character offset).
    pub position: usize,
    /// What is wrong.
    pub message: String,
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

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, (usize, String)> {
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
                    return Err((at, "the string is not closed".into()));
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
            let start = index;
            index += 1;
            while characters
                .get(index)
                .is_some_and(|&(_, next)| next.is_ascii_digit() || matches!(next, '.' | 'e' | 'E'))
            {
                index += 1;
            }
            let end = characters.get(index).map_or(text.len(), |&(offset, _)| offset);
            let number = text[characters[start].0..end].parse().map_err(|_| {
                (at, format!("{:?} is not a number", &text[characters[start].0..end]))
            })?;
            tokens.push((at, Token::Number(number)));
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
            let symbol = ["!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "."]
                .into_iter()
                .find(|symbol| two.starts_with(symbol))
                .ok_or((at, format!("unexpected {character:?}")))?;
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
}

impl Parser {
    fn position(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |(at, _)| *at)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, (usize, String)> {
        Err((self.position(), message.into()))
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

    fn or(&mut self) -> Result<Filter, (usize, String)> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, (usize, String)> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, (usize, String)> {
        if self.keyword("not") {
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.symbol("(") {
            let inner = self.or()?;
            if !self.symbol(")") {
                return self.fail("expected )");
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn field(&mut self) -> Result<Vec<String>, (usize, String)> {
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

    fn literal(&mut self) -> Result<Literal, (usize, String)> {
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

    fn comparison(&mut self) -> Result<Filter, (usize, String)> {
        let field = self.field()?;
        if self.keyword("is") {
            let negated = self.keyword("not");
            if !self.keyword("null") {
                return self.fail("expected null after is");
            }
            let test = Filter::IsNull { field };
            return Ok(if negated { Filter::Not(Box::new(test)) } else { test });
        }
        let negated = self.keyword("not");
        if self.keyword("in") {
            if !self.symbol("(") {
                return self.fail("expected ( after in");
            }
            let mut values = vec![self.literal()?];
            while self.symbol(",") {
                values.push(self.literal()?);
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
        Ok(Filter::Compare { field, operator, value: self.literal()? })
    }
}

impl Filter {
    /// Parses `text` (see the module's grammar).
    pub fn parse(text: &str) -> Result<Self, FilterError> {
        let error = |(position, message): (usize, String)| FilterError {
            text: text.to_owned(),
            position,
            message,
        };
        let tokens = tokenize(text).map_err(error)?;
        let mut parser = Parser { tokens, next: 0, end: text.len() };
        let filter = parser.or().map_err(error)?;
        if parser.next < parser.tokens.len() {
            return Err(error((parser.position(), "unexpected text after the filter".into())));
        }
        Ok(filter)
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
        let parsed = Filter::parse(r#"lang = "en" and year >= 2020 or not draft = true"#).unwrap();
        let expected = Filter::Or(
            Box::new(Filter::And(
                Box::new(compare("lang", Operator::Equal, Literal::Text("en".into()))),
                Box::new(compare("year", Operator::GreaterOrEqual, Literal::Number(2020.0))),
            )),
            Box::new(Filter::Not(Box::new(compare("draft", Operator::Equal, Literal::Bool(true))))),
        );
        assert_eq!(parsed, expected);
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
        let error = Filter::parse("lang = ").unwrap_err();
        assert_eq!(error.position, 7);
        assert!(error.message.contains("expected a value"));
        let error = Filter::parse("lang == 'en'").unwrap_err();
        assert_eq!(error.position, 6, "{error}");
        assert!(Filter::parse("a = 'open").unwrap_err().message.contains("not closed"));
        assert!(Filter::parse("a = 1 b").unwrap_err().message.contains("unexpected text"));
    }
}
