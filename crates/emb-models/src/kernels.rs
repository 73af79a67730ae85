//! Element-wise and row-wise kernels of the transformer forward pass.
//!
//! Every kernel is a plain loop compiled for AVX-512, AVX2 and the baseline
//! (see [`emb_core::multiversion!`]). The transcendental functions are
//! polynomial approximations accurate to a few units in the last place of
//! `f32`, written so that the compiler can vectorise them.

use emb_core::multiversion;

const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a high part exact in `f32` and a low correction (Cody-Waite).
const LN_2_HIGH: f32 = 0.693_145_75;
const LN_2_LOW: f32 = 1.428_606_8e-6;

/// `e^x` for `x` in `[-87, 88]` (clamped outside), relative error about 2e-7.
///
/// `x = n ln 2 + r` with `|r| <= ln 2 / 2`; `e^r` by its Taylor series to degree 7;
/// `2^n` assembled in the exponent bits.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + 0.5).floor();
    let r = n.mul_add(-LN_2_LOW, n.mul_add(-LN_2_HIGH, x));
    let mut p: f32 = 1.0 / 5040.0;
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    p = p.mul_add(r, 1.0);
    p = p.mul_add(r, 1.0);
    // SAFETY: the clamp keeps n within [-126, 127], so the conversion is exact (and this avoids
    // the saturation checks `as` adds, which stop vectorisation).
    let exponent = unsafe { n.to_int_unchecked::<i32>() };
    let scale = f32::from_bits(((exponent + 127) as u32) << 23);
    p * scale
}

/// The error function, by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / 0.327_591_1f32.mul_add(a, 1.0);
    let mut p = 1.061_405_4_f32;
    p = p.mul_add(t, -1.453_152_1);
    p = p.mul_add(t, 1.421_413_7);
    p = p.mul_add(t, -0.284_496_74);
    p = p.mul_add(t, 0.254_829_6);
    let magnitude = 1.0 - p * t * exp(-a * a);
    magnitude.copysign(x)
}

/// `tanh(x)` through `exp`, exact to about 1e-7 absolute.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let e = exp(2.0 * x.abs());
    (1.0 - 2.0 / (e + 1.0)).copysign(x)
}

multiversion! {
    /// Adds `bias` to each row of `rows` and applies GELU with the exact error function
    /// (`hidden_act = "gelu"`), in place.
    pub(crate) fn bias_gelu_erf(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                let x = *value + b;
                *value = 0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
            }
        }
    }
}

multiversion! {
    /// Adds `bias` to each row and applies GELU with the tanh approximation (`gelu_new`,
    /// `gelu_pytorch_tanh`), in place.
    pub(crate) fn bias_gelu_tanh(rows: &mut [f32], bias: &[f32]) {
        const SQRT_2_OVER_PI: f32 = 0.797_884_6;
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                let x = *value + b;
                let inner = SQRT_2_OVER_PI * (0.044_715 * x * x).mul_add(x, x);
                *value = 0.5 * x * (1.0 + tanh(inner));
            }
        }
    }
}

multiversion! {
    /// Adds `bias` to each row and applies CLIP's quick GELU, `x * sigmoid(1.702 x)`, in place.
    pub(crate) fn bias_quick_gelu(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                let x = *value + b;
                *value = x / (1.0 + exp(-1.702 * x));
            }
        }
    }
}

multiversion! {
    /// Adds `bias` to each row and applies ReLU, in place.
    pub(crate) fn bias_relu(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                *value = (*value + b).max(0.0);
            }
        }
    }
}

const LANES: usize = 16;

#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut sums = [0.0_f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in chunks.by_ref() {
        for lane in 0..LANES {
            sums[lane] += chunk[lane];
        }
    }
    sums.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

#[inline(always)]
fn sum_of_squared_deviations(values: &[f32], mean: f32) -> f32 {
    let mut sums = [0.0_f32; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in chunks.by_ref() {
        for lane in 0..LANES {
            let deviation = chunk[lane] - mean;
            sums[lane] = deviation.mul_add(deviation, sums[lane]);
        }
    }
    let tail: f32 = chunks.remainder().iter().map(|x| (x - mean) * (x - mean)).sum();
    sums.iter().sum::<f32>() + tail
}

#[inline(always)]
fn normalize_row(row: &mut [f32], weight: &[f32], bias: &[f32], epsilon: f32) {
    let width = weight.len();
    let mean = sum(row) / width as f32;
    let variance = sum_of_squared_deviations(row, mean) / width as f32;
    let inverse_deviation = 1.0 / (variance + epsilon).sqrt();
    for ((x, w), b) in row.iter_mut().zip(weight).zip(bias) {
        *x = ((*x - mean) * inverse_deviation).mul_add(*w, *b);
    }
}

multiversion! {
    /// `rows = layer_norm(rows + input_bias + residual)`, row by row (row length `weight.len()`):
    /// a dense layer's bias, the residual connection and the normalisation in one pass.
    pub(crate) fn residual_layer_norm(
        rows: &mut [f32],
        input_bias: &[f32],
        residual: &[f32],
        weight: &[f32],
        bias: &[f32],
        epsilon: f32,
    ) {
        let width = weight.len();
        for (row, residual_row) in rows.chunks_exact_mut(width).zip(residual.chunks_exact(width)) {
            for ((x, b), r) in row.iter_mut().zip(input_bias).zip(residual_row) {
                *x += b + r;
            }
            normalize_row(row, weight, bias, epsilon);
        }
    }
}

multiversion! {
    /// Layer normalisation of each row of `rows` (row length `weight.len()`), in place.
    pub(crate) fn layer_norm(rows: &mut [f32], weight: &[f32], bias: &[f32], epsilon: f32) {
        let width = weight.len();
        for row in rows.chunks_exact_mut(width) {
            let mean = sum(row) / width as f32;
            let variance = sum_of_squared_deviations(row, mean) / width as f32;
            let inverse_deviation = 1.0 / (variance + epsilon).sqrt();
            for ((x, w), b) in row.iter_mut().zip(weight).zip(bias) {
                *x = ((*x - mean) * inverse_deviation).mul_add(*w, *b);
            }
        }
    }
}

#[inline(always)]
fn maximum(values: &[f32]) -> f32 {
    let mut maxima = [f32::NEG_INFINITY; LANES];
    let mut chunks = values.chunks_exact(LANES);
    for chunk in chunks.by_ref() {
        for lane in 0..LANES {
            maxima[lane] = if chunk[lane] > maxima[lane] { chunk[lane] } else { maxima[lane] };
        }
    }
    for &value in chunks.remainder() {
        maxima[0] = if value > maxima[0] { value } else { maxima[0] };
    }
    reduce(maxima, |a, b| if a > b { a } else { b })
}

/// Combines the lanes of `lanes` pairwise, halving each step, so that the compiler emits a few
/// vector shuffles instead of a chain of `LANES` dependent scalar operations.
#[inline(always)]
fn reduce(mut lanes: [f32; LANES], combine: impl Fn(f32, f32) -> f32) -> f32 {
    let mut width = LANES / 2;
    while width > 0 {
        for lane in 0..width {
            lanes[lane] = combine(lanes[lane], lanes[lane + width]);
        }
        width /= 2;
    }
    lanes[0]
}

/// Replaces each value by `e^(value - shift)` and returns their sum.
#[inline(always)]
fn exp_shifted_sum(values: &mut [f32], shift: f32) -> f32 {
    let mut sums = [0.0_f32; LANES];
    let mut chunks = values.chunks_exact_mut(LANES);
    for chunk in chunks.by_ref() {
        for lane in 0..LANES {
            chunk[lane] = exp(chunk[lane] - shift);
            sums[lane] += chunk[lane];
        }
    }
    for value in chunks.into_remainder() {
        *value = exp(*value - shift);
        sums[0] += *value;
    }
    reduce(sums, |a, b| a + b)
}

/// Replaces a row of scores by `e^(score - max)` and returns their sum: softmax without its
/// last division, which callers apply to whatever the probabilities produce (one value per
/// output column instead of one per score). Inlined into callers' SIMD clones.
#[inline(always)]
pub(crate) fn exp_shifted_by_maximum(row: &mut [f32]) -> f32 {
    let shift = maximum(row);
    exp_shifted_sum(row, shift)
}

/// Softmax of one row, in place; inlined into callers' SIMD clones.
#[inline(always)]
pub(crate) fn softmax_in_place(row: &mut [f32]) {
    let scale = 1.0 / exp_shifted_by_maximum(row);
    for x in row.iter_mut() {
        *x *= scale;
    }
}

multiversion! {
    /// Softmax of each row of `rows` (row length `width`), in place.
    pub(crate) fn softmax_rows(rows: &mut [f32], width: usize) {
        for row in rows.chunks_exact_mut(width) {
            softmax_in_place(row);
        }
    }
}

multiversion! {
    /// Adds `bias` to each row of `rows` (row length `bias.len()`).
    pub(crate) fn add_bias_rows(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            for (value, b) in row.iter_mut().zip(bias) {
                *value += b;
            }
        }
    }
}

multiversion! {
    /// `destination[i] += source[i]`.
    pub(crate) fn add_assign(destination: &mut [f32], source: &[f32]) {
        for (d, s) in destination.iter_mut().zip(source) {
            *d += s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf_reference(x: f64) -> f64 {
        // Maclaurin series; in f64 it is good to ~1e-8 for |x| <= 4.3.
        let mut term = x;
        let mut total = x;
        for n in 1..400 {
            term *= -x * x / f64::from(n);
            total += term / f64::from(2 * n + 1);
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_is_accurate_over_its_range() {
        let mut worst = 0.0_f64;
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let relative = (f64::from(exp(x)) - f64::from(x).exp()).abs() / f64::from(x).exp();
            worst = worst.max(relative);
        }
        assert!(worst < 5e-7, "worst relative error {worst}");
    }

    #[test]
    fn erf_is_accurate() {
        for i in -300..=300 {
            let x = f64::from(i) / 100.0;
            let error = (f64::from(erf(x as f32)) - erf_reference(x)).abs();
            // A&S 7.1.26 is within 1.5e-7; f32 arithmetic adds a few 1e-8.
            assert!(error < 4e-7, "erf({x}) off by {error}");
        }
    }

    #[test]
    fn gelu_matches_definition() {
        let inputs: Vec<f32> = (-60..=60).map(|i| i as f32 / 10.0).collect();
        let mut values = inputs.clone();
        bias_gelu_erf(&mut values, &[0.0]);
        for (x, y) in inputs.iter().zip(&values) {
            let x64 = f64::from(*x);
            let expected = 0.5 * x64 * (1.0 + erf_reference(x64 / std::f64::consts::SQRT_2));
            assert!((f64::from(*y) - expected).abs() < 1e-5, "gelu({x}) = {y}, want {expected}");
        }
        let mut approximated = inputs.clone();
        bias_gelu_tanh(&mut approximated, &[0.0]);
        for (exact, approximate) in values.iter().zip(&approximated) {
            assert!((exact - approximate).abs() < 2e-3);
        }
    }

    #[test]
    fn layer_norm_gives_zero_mean_unit_variance() {
        let mut rows: Vec<f32> = (0..40).map(|i| (i as f32 * 0.7).sin() * 3.0 + 1.0).collect();
        layer_norm(&mut rows, &[1.0; 20], &[0.0; 20], 1e-12);
        for row in rows.chunks(20) {
            let mean: f32 = row.iter().sum::<f32>() / 20.0;
            let variance: f32 = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / 20.0;
            assert!(mean.abs() < 1e-5 && (variance - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn residual_layer_norm_equals_add_then_normalize() {
        let rows: Vec<f32> = (0..12).map(|i| (i as f32 * 1.3).cos()).collect();
        let residual: Vec<f32> = (0..12).map(|i| i as f32 * 0.1).collect();
        let (input_bias, weight, bias) = ([0.5, -0.5, 1.0, 0.0], [1.0, 2.0, 0.5, 1.0], [0.1; 4]);
        let mut fused = rows.clone();
        residual_layer_norm(&mut fused, &input_bias, &residual, &weight, &bias, 1e-12);
        let mut separate: Vec<f32> = rows
            .iter()
            .zip(&residual)
            .enumerate()
            .map(|(i, (x, r))| x + r + input_bias[i % 4])
            .collect();
        layer_norm(&mut separate, &weight, &bias, 1e-12);
        for (a, b) in fused.iter().zip(&separate) {
            assert!((a - b).abs() < 1e-6);
        }
    }

    #[test]
    fn softmax_rows_sum_to_one() {
        let mut rows = vec![1.0, 2.0, 3.0, -1000.0, 0.0, 1000.0];
        softmax_rows(&mut rows, 3);
        assert!((rows[..3].iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((rows[2] - 0.665_240_9).abs() < 1e-6);
        assert!((rows[5] - 1.0).abs() < 1e-6 && rows[3] < 1e-30);
    }
}
