//! Sentence-transformers pooling: from per-token hidden states to one vector.

use std::path::Path;

use serde::Deserialize;

use crate::error::{ModelError, Result};

/// The pooling modes of a `1_Pooling/config.json`; several may be on, and
/// their results are concatenated in the order sentence-transformers uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // mirrors the file format
pub struct Pooling {
    /// The first token's state.
    #[serde(default)]
    pub pooling_mode_cls_token: bool,
    /// The element-wise maximum over tokens.
    #[serde(default)]
    pub pooling_mode_max_tokens: bool,
    /// The mean over tokens.
    #[serde(default)]
    pub pooling_mode_mean_tokens: bool,
    /// The sum over tokens divided by the square root of their count.
    #[serde(default)]
    pub pooling_mode_mean_sqrt_len_tokens: bool,
    /// The mean weighted by position (1, 2, 3, ...).
    #[serde(default)]
    pub pooling_mode_weightedmean_tokens: bool,
    /// The last token's state.
    #[serde(default)]
    pub pooling_mode_lasttoken: bool,
    /// Whether prompt tokens count in the pooling (they are masked out when false).
    #[serde(default = "included")]
    pub include_prompt: bool,
}

fn included() -> bool {
    true
}

impl Pooling {
    /// Mean pooling, what sentence-transformers uses when a folder has no pooling config.
    pub fn mean() -> Self {
        Self { pooling_mode_mean_tokens: true, include_prompt: true, ..Self::default() }
    }

    pub(crate) fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|error| ModelError::io(path, error))?;
        let pooling: Self =
            serde_json::from_str(&text).map_err(|error| ModelError::invalid(path, error))?;
        if pooling.modes().is_empty() {
            return Err(ModelError::invalid(path, "no pooling mode is enabled"));
        }
        Ok(pooling)
    }

    /// The enabled modes, by their sentence-transformers names, in output order.
    pub fn modes(&self) -> Vec<&'static str> {
        [
            (self.pooling_mode_cls_token, "cls"),
            (self.pooling_mode_max_tokens, "max"),
            (self.pooling_mode_mean_tokens, "mean"),
            (self.pooling_mode_mean_sqrt_len_tokens, "mean_sqrt_len_tokens"),
            (self.pooling_mode_weightedmean_tokens, "weightedmean"),
            (self.pooling_mode_lasttoken, "lasttoken"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }

    /// Pools the `[tokens, width]` states of one sequence into `output` (appended).
    ///
    /// The first `skip` tokens (the prompt) are masked out when `include_prompt` is false;
    /// the CLS mode always reads the first token.
    pub(crate) fn pool(&self, states: &[f32], width: usize, skip: usize, output: &mut Vec<f32>) {
        let tokens = states.len() / width;
        let skip = if self.include_prompt { 0 } else { skip.min(tokens.saturating_sub(1)) };
        let rows = || states.chunks_exact(width).skip(skip);
        let count = (tokens - skip) as f32;
        let summed = || {
            let mut sum = vec![0.0_f32; width];
            rows().for_each(|row| sum.iter_mut().zip(row).for_each(|(s, x)| *s += x));
            sum
        };
        if self.pooling_mode_cls_token {
            output.extend_from_slice(&states[..width]);
        }
        if self.pooling_mode_max_tokens {
            let mut maximum = vec![f32::NEG_INFINITY; width];
            rows().for_each(|row| maximum.iter_mut().zip(row).for_each(|(m, x)| *m = m.max(*x)));
            output.extend(maximum);
        }
        if self.pooling_mode_mean_tokens {
            output.extend(summed().into_iter().map(|s| s / count));
        }
        if self.pooling_mode_mean_sqrt_len_tokens {
            output.extend(summed().into_iter().map(|s| s / count.sqrt()));
        }
        if self.pooling_mode_weightedmean_tokens {
            let mut sum = vec![0.0_f32; width];
            let mut total_weight = 0.0;
            for (index, row) in rows().enumerate() {
                let weight = (skip + index + 1) as f32;
                total_weight += weight;
                sum.iter_mut().zip(row).for_each(|(s, x)| *s += weight * x);
            }
            output.extend(sum.into_iter().map(|s| s / total_weight));
        }
        if self.pooling_mode_lasttoken {
            output.extend_from_slice(&states[(tokens - 1) * width..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_pool_as_defined() {
        let states = [1.0, 10.0, 3.0, 20.0, 5.0, 60.0];
        let all = Pooling {
            pooling_mode_cls_token: true,
            pooling_mode_max_tokens: true,
            pooling_mode_mean_tokens: true,
            pooling_mode_mean_sqrt_len_tokens: true,
            pooling_mode_weightedmean_tokens: true,
            pooling_mode_lasttoken: true,
            include_prompt: true,
        };
        let mut output = Vec::new();
        all.pool(&states, 2, 0, &mut output);
        let root3 = 3f32.sqrt();
        let expected = [
            1.0,
            10.0, // cls
            5.0,
            60.0, // max
            3.0,
            30.0, // mean
            9.0 / root3,
            90.0 / root3, // mean / sqrt(len)
            (1.0 + 6.0 + 15.0) / 6.0,
            (10.0 + 40.0 + 180.0) / 6.0, // weighted
            5.0,
            60.0, // last
        ];
        for (got, want) in output.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{output:?}");
        }
    }

    #[test]
    fn prompt_tokens_are_masked_when_excluded() {
        let pooling = Pooling { include_prompt: false, ..Pooling::mean() };
        let mut output = Vec::new();
        pooling.pool(&[100.0, 1.0, 3.0], 1, 1, &mut output);
        assert_eq!(output, vec![2.0]);
    }
}
