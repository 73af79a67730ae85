//! The low-dimensional similarity `1 / (1 + a·d^(2b))`, with `a` and `b` fitted by least squares
//! to the curve the settings describe: 1 up to `minimum_distance`, then
//! `exp(-(d - minimum_distance) / spread)`.

/// Points on which the curve is fitted, spread evenly over `[0, 3·spread]`.
const SAMPLES: usize = 300;
/// Levenberg–Marquardt steps at most; the fit settles in a few dozen.
const STEPS: usize = 500;

/// The parameters of the low-dimensional similarity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Curve {
    /// `a` of `1 / (1 + a·d^(2b))`.
    pub a: f64,
    /// `b` of `1 / (1 + a·d^(2b))`.
    pub b: f64,
}

impl Curve {
    /// The similarity at distance `distance`.
    fn similarity(self, distance: f64) -> f64 {
        1.0 / (1.0 + self.a * distance.powf(2.0 * self.b))
    }

    /// The similarity's derivatives in `a` and `b` at `distance`.
    fn gradient(self, distance: f64) -> [f64; 2] {
        if distance <= 0.0 {
            return [0.0, 0.0];
        }
        let power = distance.powf(2.0 * self.b);
        let denominator = (1.0 + self.a * power).powi(2);
        [-power / denominator, -self.a * power * 2.0 * distance.ln() / denominator]
    }

    /// Fits `a` and `b` by Levenberg–Marquardt from `a = b = 1`.
    pub fn fit(minimum_distance: f64, spread: f64) -> Self {
        let samples: Vec<(f64, f64)> = (0..SAMPLES)
            .map(|index| {
                let distance = 3.0 * spread * index as f64 / (SAMPLES - 1) as f64;
                let target = if distance < minimum_distance {
                    1.0
                } else {
                    (-(distance - minimum_distance) / spread).exp()
                };
                (distance, target)
            })
            .collect();
        let cost = |curve: Curve| -> f64 {
            samples
                .iter()
                .map(|&(distance, target)| (target - curve.similarity(distance)).powi(2))
                .sum()
        };
        let mut curve = Curve { a: 1.0, b: 1.0 };
        let mut current = cost(curve);
        let mut damping = 1e-3;
        for _ in 0..STEPS {
            // Normal equations of the linearised problem: (JᵀJ + λ·diag(JᵀJ)) δ = Jᵀr.
            let (mut normal, mut right) = ([[0.0_f64; 2]; 2], [0.0_f64; 2]);
            for &(distance, target) in &samples {
                let gradient = curve.gradient(distance);
                let residual = target - curve.similarity(distance);
                for row in 0..2 {
                    right[row] += gradient[row] * residual;
                    for column in 0..2 {
                        normal[row][column] += gradient[row] * gradient[column];
                    }
                }
            }
            let mut improved = false;
            while damping < 1e12 {
                let diagonal = [normal[0][0] * (1.0 + damping), normal[1][1] * (1.0 + damping)];
                let determinant = diagonal[0] * diagonal[1] - normal[0][1] * normal[1][0];
                if determinant.abs() < f64::MIN_POSITIVE {
                    damping *= 10.0;
                    continue;
                }
                let step = [
                    (right[0] * diagonal[1] - normal[0][1] * right[1]) / determinant,
                    (diagonal[0] * right[1] - normal[1][0] * right[0]) / determinant,
                ];
                let candidate = Curve { a: curve.a + step[0], b: curve.b + step[1] };
                let candidate_cost =
                    if candidate.a > 0.0 && candidate.b > 0.0 { cost(candidate) } else { f64::MAX };
                if candidate_cost < current {
                    let settled = (current - candidate_cost) <= 1e-15 * current.max(1e-300)
                        || (step[0].abs() <= 1e-12 * curve.a && step[1].abs() <= 1e-12 * curve.b);
                    curve = candidate;
                    current = candidate_cost;
                    damping = (damping / 10.0).max(1e-12);
                    improved = !settled;
                    break;
                }
                damping *= 10.0;
            }
            if !improved {
                break;
            }
        }
        curve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_least_squares_fit_of_scipy() {
        // scipy.optimize.curve_fit on the same 300 points: bench/reference/umap_curve.py.
        for (minimum_distance, spread, a, b) in [
            (0.1, 1.0, 1.576_943_460_269_765_2, 0.895_060_877_851_573_3),
            (0.0, 1.0, 1.932_808_397_343_15, 0.790_494_973_223_383_1),
            (0.5, 1.0, 0.583_030_020_341_442_5, 1.334_166_992_431_491_4),
            (0.25, 2.0, 0.416_273_496_670_131_86, 0.921_855_132_407_287_3),
        ] {
            let curve = Curve::fit(minimum_distance, spread);
            assert!((curve.a - a).abs() < 1e-4 * a, "{minimum_distance}/{spread}: {curve:?}");
            assert!((curve.b - b).abs() < 1e-4 * b, "{minimum_distance}/{spread}: {curve:?}");
        }
    }

    #[test]
    fn the_similarity_falls_from_one() {
        let curve = Curve::fit(0.1, 1.0);
        assert_eq!(curve.similarity(0.0), 1.0);
        assert!(curve.similarity(0.1) > 0.85 && curve.similarity(3.0) < 0.1);
    }
}
