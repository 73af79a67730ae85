//! Metadata filters as SQL: the shape of a condition (and, or, not, in) is the same for every
//! store; each store's [`Dialect`] writes the comparisons of one field.

use emb_core::filter::{Filter, Literal, Operator};

/// How one store writes the comparisons of a metadata field, binding values as parameters.
pub(crate) trait Dialect {
    /// The condition `field is null`: the field is missing or JSON null.
    fn is_null(&mut self, field: &[String]) -> String;
    /// The condition `field operator value`.
    fn compare(&mut self, field: &[String], operator: Operator, value: &Literal) -> String;
    /// SQL's false in this dialect.
    const FALSE: &'static str;
}

/// `filter` as one SQL condition (NULL where a value is unknown, so callers wrap it in
/// `coalesce(..., false)`).
pub(crate) fn condition<D: Dialect>(filter: &Filter, dialect: &mut D) -> String {
    match filter {
        Filter::And(left, right) => {
            format!("({} AND {})", condition(left, dialect), condition(right, dialect))
        }
        Filter::Or(left, right) => {
            format!("({} OR {})", condition(left, dialect), condition(right, dialect))
        }
        Filter::Not(inner) => {
            format!("(NOT coalesce({}, {}))", condition(inner, dialect), D::FALSE)
        }
        Filter::IsNull { field } => dialect.is_null(field),
        Filter::In { field, values } => {
            let alternatives: Vec<String> =
                values.iter().map(|value| dialect.compare(field, Operator::Equal, value)).collect();
            format!("({})", alternatives.join(" OR "))
        }
        Filter::Compare { field, operator, value } => dialect.compare(field, *operator, value),
    }
}
