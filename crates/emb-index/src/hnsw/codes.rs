//! How an index keeps its vectors for searching: full `f32`, or quantised to half precision,
//! to a byte per dimension, or to a bit per dimension.

use std::cell::Cell;
use std::fmt;
use std::str::FromStr;

use emb_core::distance;

use crate::checksum::Verified;

/// How the vectors an index searches are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quantization {
    /// Full `f32` (4 bytes per dimension).
    #[default]
    None,
    /// IEEE half precision (2 bytes per dimension).
    F16,
    /// One byte per dimension, each dimension scaled between its own minimum and maximum over
    /// the collection (4x smaller than `f32`).
    Int8,
    /// One bit per dimension (above or below the dimension's mean; 32x smaller), searched by
    /// Hamming distance and rescored on the full vectors.
    Binary,
}

impl Quantization {
    /// Every kind, in order of size.
    pub const ALL: [Self; 4] = [Self::None, Self::F16, Self::Int8, Self::Binary];

    /// The bytes one vector of `dimensions` takes.
    pub fn code_bytes(self, dimensions: usize) -> usize {
        match self {
            Self::None => dimensions * 4,
            Self::F16 => dimensions * 2,
            Self::Int8 => dimensions,
            Self::Binary => dimensions.div_ceil(64) * 8,
        }
    }

    /// The number of `f32` parameters learnt from the data (ranges, means).
    pub(crate) fn parameters(self, dimensions: usize) -> usize {
        match self {
            Self::None | Self::F16 => 0,
            Self::Int8 => 2 * dimensions,
            Self::Binary => dimensions,
        }
    }

    pub(crate) fn code(self) -> u32 {
        match self {
            Self::None => 0,
            Self::F16 => 1,
            Self::Int8 => 2,
            Self::Binary => 3,
        }
    }

    pub(crate) fn from_code(code: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }

    /// Whether searches rescore their candidates on the full vectors.
    pub(crate) fn rescores(self) -> bool {
        self != Self::None
    }
}

impl fmt::Display for Quantization {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::None => "none",
            Self::F16 => "f16",
            Self::Int8 => "int8",
            Self::Binary => "binary",
        })
    }
}

impl FromStr for Quantization {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|kind| kind.to_string() == text).ok_or_else(|| {
            format!("unknown quantization {text:?}: expected none, f16, int8 or binary")
        })
    }
}

/// Learns the parameters of `kind` from the rows of `vectors` that `keep` accepts.
pub(crate) fn train(
    kind: Quantization,
    vectors: &[f32],
    dimensions: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<f32> {
    let rows = vectors.chunks_exact(dimensions.max(1)).enumerate().filter(|(row, _)| keep(*row));
    match kind {
        Quantization::None | Quantization::F16 => Vec::new(),
        Quantization::Int8 => {
            let mut low = vec![f32::INFINITY; dimensions];
            let mut high = vec![f32::NEG_INFINITY; dimensions];
            for (_, row) in rows {
                for ((low, high), &x) in low.iter_mut().zip(&mut high).zip(row) {
                    *low = low.min(x);
                    *high = high.max(x);
                }
            }
            let mut parameters = Vec::with_capacity(2 * dimensions);
            parameters.extend(low.iter().map(|low| if low.is_finite() { *low } else { 0.0 }));
            for (low, high) in low.iter().zip(&high) {
                let step = if low.is_finite() && high > low { (high - low) / 255.0 } else { 1.0 };
                parameters.push(step);
            }
            parameters
        }
        Quantization::Binary => {
            let mut sums = vec![0.0_f64; dimensions];
            let mut count = 0_u64;
            for (_, row) in rows {
                for (sum, &x) in sums.iter_mut().zip(row) {
                    *sum += f64::from(x);
                }
                count += 1;
            }
            sums.iter().map(|sum| (sum / count.max(1) as f64) as f32).collect()
        }
    }
}

/// Writes the code of the normalised `vector` into `out` (`kind.code_bytes` long).
pub(crate) fn encode(kind: Quantization, parameters: &[f32], vector: &[f32], out: &mut [u8]) {
    match kind {
        Quantization::None => {
            for (bytes, x) in out.chunks_exact_mut(4).zip(vector) {
                bytes.copy_from_slice(&x.to_le_bytes());
            }
        }
        Quantization::F16 => {
            for (bytes, x) in out.chunks_exact_mut(2).zip(vector) {
                bytes.copy_from_slice(&distance::f32_to_f16(*x).to_le_bytes());
            }
        }
        Quantization::Int8 => {
            let (low, step) = parameters.split_at(vector.len());
            for (((code, x), low), step) in out.iter_mut().zip(vector).zip(low).zip(step) {
                *code = ((x - low) / step).round().clamp(0.0, 255.0) as u8;
            }
        }
        Quantization::Binary => {
            out.fill(0);
            for (dimension, (x, mean)) in vector.iter().zip(parameters).enumerate() {
                if x > mean {
                    out[dimension / 8] |= 1 << (dimension % 8);
                }
            }
        }
    }
}

/// The codes of every node, typed.
#[derive(Clone, Copy)]
pub(crate) enum Codes<'a> {
    F32(&'a [f32]),
    F16(&'a [u16]),
    Int8(&'a [u8]),
    Binary(&'a [u64]),
}

/// The sums of the codes, one per node, and which have been found whole.
#[derive(Clone, Copy)]
pub(crate) struct CodeSums<'a> {
    /// The codes section, as bytes.
    pub bytes: &'a [u8],
    /// A sum per code.
    pub sums: &'a [u32],
    /// The codes checked so far.
    pub verified: &'a Verified,
}

/// A query made ready for one kind of code: `distance(node)` estimates `1 - cosine` (or, for
/// binary codes, a number that orders the same way as the Hamming distance).
pub(crate) struct Prepared<'a> {
    codes: Codes<'a>,
    /// Checks each code before it is first scored.
    sums: CodeSums<'a>,
    /// Bytes per code.
    code_bytes: usize,
    /// A code failed its check: the distances returned are meaningless.
    damaged: Cell<bool>,
    /// Floats (or words) per code.
    stride: usize,
    /// The query: normalised, or scaled by each dimension's step for int8.
    weights: Vec<f32>,
    /// For int8: the query's dot product with the dimensions' minimums.
    bias: f32,
    /// For binary: the query's bits.
    bits: Vec<u64>,
}

impl<'a> Prepared<'a> {
    pub fn new(
        codes: Codes<'a>,
        sums: CodeSums<'a>,
        kind: Quantization,
        parameters: &[f32],
        query: &[f32],
    ) -> Self {
        let dimensions = query.len();
        let mut prepared = Self {
            codes,
            sums,
            code_bytes: kind.code_bytes(dimensions),
            damaged: Cell::new(false),
            stride: dimensions,
            weights: query.to_vec(),
            bias: 0.0,
            bits: Vec::new(),
        };
        match codes {
            Codes::F32(_) | Codes::F16(_) => {}
            Codes::Int8(_) => {
                let (low, step) = parameters.split_at(dimensions);
                prepared.bias = distance::dot(query, low);
                prepared.weights = query.iter().zip(step).map(|(q, s)| q * s).collect();
            }
            Codes::Binary(_) => {
                let words = dimensions.div_ceil(64);
                let mut bytes = vec![0_u8; words * 8];
                encode(Quantization::Binary, parameters, query, &mut bytes);
                prepared.bits = bytes
                    .chunks_exact(8)
                    .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()))
                    .collect();
                prepared.stride = words;
            }
        }
        prepared
    }

    /// Whether a code failed its check (then the search must not be believed).
    pub fn damaged(&self) -> bool {
        self.damaged.get()
    }

    /// The estimated distance from the query to `node` (infinite if its code is damaged).
    #[inline]
    pub fn distance(&self, node: u32) -> f32 {
        let (node_index, first) = (node as usize, node as usize * self.code_bytes);
        let CodeSums { bytes, sums, verified } = self.sums;
        if !verified.check(node_index, &bytes[first..first + self.code_bytes], sums[node_index]) {
            self.damaged.set(true);
            return f32::INFINITY;
        }
        let start = node as usize * self.stride;
        let end = start + self.stride;
        match self.codes {
            Codes::F32(rows) => 1.0 - distance::dot(&self.weights, &rows[start..end]),
            Codes::F16(rows) => 1.0 - distance::dot_f16(&self.weights, &rows[start..end]),
            Codes::Int8(rows) => {
                1.0 - (self.bias + distance::dot_u8(&self.weights, &rows[start..end]))
            }
            Codes::Binary(rows) => distance::hamming(&self.bits, &rows[start..end]) as f32,
        }
    }

    /// Asks the CPU to start loading the code of `node` (every cache line of it: a walk waits
    /// on memory, not on arithmetic).
    #[inline]
    pub fn prefetch(&self, node: u32) {
        let start = node as usize * self.stride;
        let end = start + self.stride;
        match self.codes {
            Codes::F32(rows) => super::graph::prefetch(&rows[start..end]),
            Codes::F16(rows) => super::graph::prefetch(&rows[start..end]),
            Codes::Int8(rows) => super::graph::prefetch(&rows[start..end]),
            Codes::Binary(rows) => super::graph::prefetch(&rows[start..end]),
        }
    }
}
