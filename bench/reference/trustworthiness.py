"""Reference values for emb-analysis's trustworthiness (crates/emb-analysis/src/trustworthiness.rs):
sklearn.manifold.trustworthiness on the rows the Rust test makes, which this script makes the
same way by running the crate's generator (xoshiro256++ seeded by splitmix64, emb_analysis::random)
in Python.

    $(bench/setup-peers) bench/reference/trustworthiness.py

The float32 rows are handed to scikit-learn as float64, so that it ranks exact distances as emb
does. The rows: 300 x 20 values `Random::new(11).unit_f32()`, then three 2-D maps of them: the first
two coordinates; (x0 + x2 + x4, x1 - x3 + x5) in float32; 300 x 2 further draws (unrelated).
"""
import numpy as np
import sklearn
from sklearn.manifold import trustworthiness

MASK = (1 << 64) - 1
COUNT, DIMENSIONS, SEED = 300, 20, 11
NEIGHBOURS = (5, 12)


def rotate_left(value, bits):
    return ((value << bits) | (value >> (64 - bits))) & MASK


class Random:
    """emb_analysis::random::Random: the same sequence for the same seed."""

    def __init__(self, seed):
        mix = seed & MASK
        state = []
        for _ in range(4):
            mix = (mix + 0x9E3779B97F4A7C15) & MASK
            z = mix
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            state.append(z ^ (z >> 31))
        self.state = state

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

    def unit_f32(self, count):
        return np.array([self.next_u64() >> 40 for _ in range(count)],
                        dtype=np.float32) * np.float32(2.0 ** -24)


def main():
    random = Random(SEED)
    high = random.unit_f32(COUNT * DIMENSIONS).reshape(COUNT, DIMENSIONS)
    maps = {
        "first two": high[:, :2].copy(),
        "sums": np.stack([high[:, 0] + high[:, 2] + high[:, 4],
                          high[:, 1] - high[:, 3] + high[:, 5]], axis=1),
        "unrelated": random.unit_f32(COUNT * 2).reshape(COUNT, 2),
    }
    print(f"scikit-learn {sklearn.__version__}; high[0, :3] = {high[0, :3].tolist()}")
    for k in NEIGHBOURS:
        # In float64: on float32 input scikit-learn rounds the distances to float32 before it
        # ranks them, and near-ties then fall either way; emb ranks exact distances.
        values = [trustworthiness(high.astype(np.float64), low.astype(np.float64), n_neighbors=k)
                  for low in maps.values()]
        named = (f"{name} {float(value)!r}" for name, value in zip(maps, values))
        print(f"k {k}: " + ", ".join(named))


if __name__ == "__main__":
    main()
