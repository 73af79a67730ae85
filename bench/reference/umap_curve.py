"""Reference values for emb-analysis's UMAP curve fit (crates/emb-analysis/src/umap/curve.rs):
`a` and `b` of 1 / (1 + a * d^(2b)) fitted by scipy's least squares to 1 below min_dist and
exp(-(d - min_dist) / spread) beyond it, on 300 points evenly over [0, 3 * spread]; the same
numbers umap-learn's find_ab_params gives.

    $(bench/setup-peers) bench/reference/umap_curve.py
"""
import numpy as np
from scipy.optimize import curve_fit

CASES = [(0.1, 1.0), (0.0, 1.0), (0.5, 1.0), (0.25, 2.0)]


def fit(minimum_distance, spread):
    distances = np.linspace(0, spread * 3, 300)
    targets = np.where(distances < minimum_distance, 1.0,
                       np.exp(-(distances - minimum_distance) / spread))
    (a, b), _ = curve_fit(lambda d, a, b: 1.0 / (1.0 + a * d ** (2 * b)), distances, targets)
    return a, b


def main():
    try:
        from umap.umap_ import find_ab_params
    except ImportError:
        find_ab_params = None
    for minimum_distance, spread in CASES:
        a, b = fit(minimum_distance, spread)
        line = f"min_dist {minimum_distance} spread {spread}: a {float(a)!r} b {float(b)!r}"
        if find_ab_params is not None:
            theirs = tuple(map(float, find_ab_params(spread, minimum_distance)))
            line += f" (umap-learn: {theirs!r})"
        print(line)


if __name__ == "__main__":
    main()
