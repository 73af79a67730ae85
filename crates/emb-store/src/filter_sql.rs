//! Metadata filters as SQL: the shape of a condition (and, or, not, in) is the same for every
//! store; each store's [`Dialect`] writes the comparisons of one field.
//!
//! How deep the SQL gets, in expression levels (what SQLite's limit of 1000 counts): a chain of
//! n parts is a chain of n - 1 `AND`s or `OR`s, which puts its first part n - 1 levels down; a
//! `not` is two levels (`NOT coalesce(...)`); parentheses add none; a comparison and the query
//! around the filter add about 10. SQLite measures a chain of n comparisons under k `not`s at
//! n + 2k + 10 levels, so the deepest filter within [`emb_core::filter::MAX_NESTING`] (64) and
//! [`emb_core::filter::MAX_CONDITIONS`] (256), 64 `not`s before a chain of 256, is 394 levels
//! deep; its parentheses use a fifth of SQLite's parser stack (which 494 `not`s fill).

use emb_core::filter::{Filter, Literal, Operator};

/// How one store writes the comparisons of a metadata field, binding values as parameters.
pub(crate) trait Dialect {
    /// The condition `field is null`: the field is missing or JSON null.
    fn is_null(&mut self, field: &[String]) -> String;
    /// The condition `field operator value`.
    fn compare(&mut self, field: &[String], operator: Operator, value: &Literal) -> String;
    /// SQL's false in this dialect.
    const FALSE: &'static str;
    /// SQL's true in this dialect.
    const TRUE: &'static str;
}

/// `filter` as one SQL condition (NULL where a value is unknown, so callers wrap it in
/// `coalesce(..., false)`).
pub(crate) fn condition<D: Dialect>(filter: &Filter, dialect: &mut D) -> String {
    match filter {
        Filter::And(parts) => chain(parts, " AND ", D::TRUE, dialect),
        Filter::Or(parts) => chain(parts, " OR ", D::FALSE, dialect),
        Filter::Not(inner) => {
            format!("(NOT coalesce({}, {}))", condition(inner, dialect), D::FALSE)
        }
        Filter::IsNull { field } => dialect.is_null(field),
        Filter::In { field, values } => {
            let alternatives: Vec<String> =
                values.iter().map(|value| dialect.compare(field, Operator::Equal, value)).collect();
            if alternatives.is_empty() {
                D::FALSE.to_owned()
            } else {
                format!("({})", alternatives.join(" OR "))
            }
        }
        Filter::Compare { field, operator, value } => dialect.compare(field, *operator, value),
    }
}

/// `parts` joined by `operator` (`empty` when there are none).
fn chain<D: Dialect>(parts: &[Filter], operator: &str, empty: &str, dialect: &mut D) -> String {
    if parts.is_empty() {
        return empty.to_owned();
    }
    let conditions: Vec<String> = parts.iter().map(|part| condition(part, dialect)).collect();
    format!("({})", conditions.join(operator))
}
