//! The vector functions: `emb_cosine`, `emb_dot`, `emb_l2`, `emb_decode`, `emb_encode`,
//! `emb_dims` and the aggregate `emb_average`.
//!
//! A vector is a little-endian float32 blob (what emb and llm store) or a JSON array of numbers.
//! Anything else (NULL, numbers, a blob whose length is not a multiple of 4) is an SQL error
//! that says which function, which argument and what to do.

use std::borrow::Cow;

use emb_core::distance;

use crate::api::{Context, Kind, Output, Value};

/// Reads argument `position` (from 1) of `function` as a vector. A scalar function passes its
/// `context`, so that a JSON argument that is the same on every row is parsed once per statement
/// (an aggregate passes `None`: SQLite keeps no per-row memory for it).
pub fn vector<'call>(
    context: Option<Context>,
    function: &str,
    arguments: &[Value],
    position: usize,
) -> Result<Cow<'call, [f32]>, String> {
    let value = arguments[position - 1];
    match value.kind() {
        Kind::Blob => {
            let bytes = value.blob();
            if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
                return Err(format!(
                    "{function}: argument {position} is a blob of {} bytes, not a float32 vector \
                     (4 bytes per dimension)",
                    bytes.len()
                ));
            }
            Ok(Cow::Owned(emb_core::blob::decode(bytes).map_err(|error| error.to_string())?))
        }
        Kind::Text => {
            // A JSON argument is usually the same constant on every row: parse it once per
            // statement.
            let index = i32::try_from(position - 1).unwrap_or(i32::MAX);
            // SAFETY: every vector function remembers a Vec<f32> per argument, and the borrow
            // ends with the call that returns it.
            let remembered =
                context.and_then(|context| unsafe { context.remembered::<Vec<f32>>(index) });
            if let Some(parsed) = remembered {
                return Ok(Cow::Borrowed(parsed.as_slice()));
            }
            let parsed = parse_json(&value.text()).map_err(|reason| {
                format!("{function}: argument {position} is text but not a vector: {reason}")
            })?;
            if let Some(context) = context {
                context.remember(index, parsed.clone());
            }
            Ok(Cow::Owned(parsed))
        }
        Kind::Null => Err(format!(
            "{function}: argument {position} is NULL; leave out rows without a vector \
             (WHERE embedding IS NOT NULL)"
        )),
        kind @ (Kind::Integer | Kind::Float) => Err(format!(
            "{function}: argument {position} is {}, not a vector (a float32 blob or a JSON array \
             of numbers)",
            kind.name()
        )),
    }
}

/// A JSON array of finite numbers.
fn parse_json(text: &str) -> Result<Vec<f32>, String> {
    let values: Vec<f64> = serde_json::from_str(text.trim())
        .map_err(|error| format!("expected a JSON array of numbers ({error})"))?;
    if values.is_empty() {
        return Err("the array is empty".to_owned());
    }
    Ok(values.into_iter().map(|value| value as f32).collect())
}

/// Checks the two vectors of `function` have the same number of dimensions.
fn same_size(function: &str, a: &[f32], b: &[f32]) -> Result<(), String> {
    if a.len() == b.len() {
        Ok(())
    } else {
        Err(format!(
            "{function}: the vectors have {} and {} dimensions; compare vectors of one model",
            a.len(),
            b.len()
        ))
    }
}

/// A function of two vectors to a number.
fn pairwise(
    context: Context,
    function: &str,
    arguments: &[Value],
    measure: fn(&[f32], &[f32]) -> f32,
) -> Result<Output, String> {
    let a = vector(Some(context), function, arguments, 1)?;
    let b = vector(Some(context), function, arguments, 2)?;
    same_size(function, &a, &b)?;
    Ok(Output::Real(f64::from(measure(&a, &b))))
}

/// `emb_cosine(a, b)`: the cosine similarity, in [-1, 1] (0 when either vector is all zeros).
pub fn cosine(context: Context, arguments: &[Value]) -> Result<Output, String> {
    pairwise(context, "emb_cosine", arguments, distance::cosine)
}

/// `emb_dot(a, b)`: the dot product.
pub fn dot(context: Context, arguments: &[Value]) -> Result<Output, String> {
    pairwise(context, "emb_dot", arguments, distance::dot)
}

/// `emb_l2(a, b)`: the Euclidean distance.
pub fn l2(context: Context, arguments: &[Value]) -> Result<Output, String> {
    pairwise(context, "emb_l2", arguments, distance::l2)
}

/// `emb_decode(v)`: the vector as a JSON array.
pub fn decode(context: Context, arguments: &[Value]) -> Result<Output, String> {
    let vector = vector(Some(context), "emb_decode", arguments, 1)?;
    Ok(Output::Text(to_json(&vector)))
}

/// `emb_encode(v)`: the vector as a float32 blob.
pub fn encode(context: Context, arguments: &[Value]) -> Result<Output, String> {
    let vector = vector(Some(context), "emb_encode", arguments, 1)?;
    Ok(Output::Blob(emb_core::blob::encode(&vector)))
}

/// `emb_dims(v)`: the number of dimensions.
pub fn dimensions(context: Context, arguments: &[Value]) -> Result<Output, String> {
    let vector = vector(Some(context), "emb_dims", arguments, 1)?;
    Ok(Output::Integer(i64::try_from(vector.len()).unwrap_or(i64::MAX)))
}

/// The shortest JSON that reads back as the same float32 values (`null` for NaN or infinity).
pub fn to_json(vector: &[f32]) -> String {
    serde_json::to_string(vector).unwrap_or_else(|_| "[]".to_owned())
}

/// The running sum of `emb_average`.
#[derive(Default)]
pub struct Average {
    sum: Vec<f64>,
    count: u64,
}

impl Average {
    /// Adds one row; NULL rows are skipped, as `avg()` skips them.
    pub fn step(&mut self, arguments: &[Value]) -> Result<(), String> {
        if arguments[0].kind() == Kind::Null {
            return Ok(());
        }
        let vector = vector(None, "emb_average", arguments, 1)?;
        if self.count == 0 {
            self.sum = vec![0.0; vector.len()];
        } else if vector.len() != self.sum.len() {
            return Err(format!(
                "emb_average: a vector of {} dimensions among vectors of {}; average vectors of \
                 one model",
                vector.len(),
                self.sum.len()
            ));
        }
        for (total, value) in self.sum.iter_mut().zip(vector.iter()) {
            *total += f64::from(*value);
        }
        self.count += 1;
        Ok(())
    }

    /// The mean vector as a float32 blob; NULL when no row had one.
    pub fn finish(&self) -> Output {
        if self.count == 0 {
            return Output::Null;
        }
        let count = self.count as f64;
        let mean: Vec<f32> = self.sum.iter().map(|total| (total / count) as f32).collect();
        Output::Blob(emb_core::blob::encode(&mean))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_vectors_parse_and_print_back_the_same() {
        let vector = parse_json(" [0.1, -2, 3.5e-3] ").unwrap();
        assert_eq!(vector, vec![0.1_f32, -2.0, 0.0035]);
        assert_eq!(parse_json(&to_json(&vector)).unwrap(), vector);
        assert!(parse_json("[]").unwrap_err().contains("empty"));
        assert!(parse_json("[1, \"a\"]").is_err());
        assert!(parse_json("hello").is_err());
    }
}
