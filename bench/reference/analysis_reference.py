"""Reference numbers for emb-analysis's unit tests of t-SNE and HDBSCAN, from scikit-learn.

    PEERS_PYTHON bench/reference/analysis_reference.py

Makes the test data exactly as the Rust tests do (crates/emb-analysis/src/random.rs's generator:
splitmix64 seeding, xoshiro256++, uniform [0, 1) from the top 53 bits; blob coordinates are a
uniform centre in [-box, box] plus spread x (sum of four uniforms - 2) x sqrt(3), noise uniform
in [-1.2 box, 1.2 box]), runs scikit-learn on it and prints the numbers the tests paste, with the
data's checksum so a test can tell it has the same points. Rerun it when the data or the
scikit-learn version changes, and paste the new numbers into:
  crates/emb-analysis/src/tsne/mod.rs     (matches_scikit_learns_divergence_and_separation)
  crates/emb-analysis/src/hdbscan/mod.rs  (finds_what_scikit_learn_finds_on_reference_blobs)
"""
import json
import warnings

import numpy as np
import sklearn
from sklearn.cluster import HDBSCAN
from sklearn.manifold import TSNE, trustworthiness
from sklearn.neighbors import NearestNeighbors

MASK = (1 << 64) - 1
SQRT3 = 3.0 ** 0.5


def rotate_left(value, bits):
    return ((value << bits) | (value >> (64 - bits))) & MASK


class Random:
    """The same sequence as emb_analysis::random::Random::new(seed)."""

    def __init__(self, seed):
        mix = seed & MASK
        self.state = []
        for _ in range(4):
            mix = (mix + 0x9E3779B97F4A7C15) & MASK
            z = mix
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.state.append(z ^ (z >> 31))

    def next_u64(self):
        a, b, c, d = self.state
        result = (rotate_left((a + d) & MASK, 23) + a) & MASK
        t = (b << 17) & MASK
        c ^= a
        d ^= b
        b ^= c
        a ^= d
        c ^= t
        d = rotate_left(d, 45)
        self.state = [a, b, c, d]
        return result

    def unit(self):
        return (self.next_u64() >> 11) * (1.0 / (1 << 53))


def blobs(seed, dimensions, groups, noise, box):
    """Points (float32) and their group (-1 for noise), as the Rust tests' reference_blobs."""
    random = Random(seed)
    centres = [[(random.unit() * 2.0 - 1.0) * box for _ in range(dimensions)] for _ in groups]
    points, labels = [], []
    for group, ((count, spread), centre) in enumerate(zip(groups, centres)):
        for _ in range(count):
            points.append([value + spread * (random.unit() + random.unit() + random.unit()
                                             + random.unit() - 2.0) * SQRT3
                           for value in centre])
            labels.append(group)
    for _ in range(noise):
        points.append([(random.unit() * 2.0 - 1.0) * box * 1.2 for _ in range(dimensions)])
        labels.append(-1)
    return np.array(points, dtype=np.float64).astype(np.float32), np.array(labels)


def checksum(points):
    return float(points.astype(np.float64).sum())


def main():
    warnings.filterwarnings("ignore", category=FutureWarning)
    print(json.dumps({"scikit_learn": sklearn.__version__}))

    # HDBSCAN: four blobs of different spread in 2-D and 50 noise points.
    points, _ = blobs(7, 2, [(300, 0.5), (200, 1.0), (150, 0.3), (100, 1.5)], 50, 10.0)
    for size in (10, 25):
        labels = HDBSCAN(min_cluster_size=size).fit_predict(points)
        sizes = sorted(np.bincount(labels[labels >= 0]).tolist(), reverse=True)
        print(json.dumps({"hdbscan": {"min_cluster_size": size, "checksum": checksum(points),
                                      "clusters": len(sizes), "sizes": sizes,
                                      "noise": int((labels < 0).sum())}}))

    # t-SNE: five blobs of 120 points in 10-D.
    points, groups = blobs(3, 10, [(120, 1.0)] * 5, 0, 2.0)
    model = TSNE(perplexity=20.0, metric="euclidean", init="pca", random_state=0)
    embedded = model.fit_transform(points)
    nearest = NearestNeighbors(n_neighbors=2).fit(embedded).kneighbors(embedded)[1][:, 1]
    print(json.dumps({"tsne": {"checksum": checksum(points),
                               "kl_divergence": float(model.kl_divergence_),
                               "nearest_agreement": float((groups[nearest] == groups).mean()),
                               "trustworthiness_10": float(trustworthiness(points, embedded,
                                                                           n_neighbors=10))}}))


if __name__ == "__main__":
    main()
