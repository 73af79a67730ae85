//! Bounded top-k selection.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A scored candidate; ordered so the heap's top is the *worst* kept score.
#[derive(Debug, Clone, Copy)]
struct Entry<T> {
    score: f32,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.score.total_cmp(&other.score) == Ordering::Equal
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.score.total_cmp(&self.score)
    }
}

/// Keeps the `k` highest-scoring items seen so far, in `O(log k)` per push.
#[derive(Debug, Clone)]
pub struct TopK<T> {
    capacity: usize,
    heap: BinaryHeap<Entry<T>>,
}

impl<T> TopK<T> {
    /// A selector that keeps at most `k` items.
    pub fn new(k: usize) -> Self {
        Self { capacity: k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    /// The lowest score an item needs to be kept right now.
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.capacity {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |entry| entry.score)
        }
    }

    /// Offers an item; it is kept if it is among the best `k` so far. NaN scores are ignored.
    pub fn push(&mut self, score: f32, item: T) {
        if self.capacity == 0 || score.is_nan() {
            return;
        }
        if self.heap.len() < self.capacity {
            self.heap.push(Entry { score, item });
        } else if score > self.threshold() {
            self.heap.pop();
            self.heap.push(Entry { score, item });
        }
    }

    /// The kept items, best first.
    pub fn into_sorted(self) -> Vec<(f32, T)> {
        let mut entries: Vec<(f32, T)> =
            self.heap.into_iter().map(|entry| (entry.score, entry.item)).collect();
        entries.sort_by(|a, b| b.0.total_cmp(&a.0));
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_k_in_order() {
        let mut top = TopK::new(3);
        for (i, score) in [0.1, 0.9, 0.5, 0.7, 0.3, f32::NAN, 0.8].into_iter().enumerate() {
            top.push(score, i);
        }
        let kept: Vec<usize> = top.into_sorted().into_iter().map(|(_, i)| i).collect();
        assert_eq!(kept, vec![1, 6, 3]);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut top = TopK::new(0);
        top.push(1.0, ());
        assert!(top.into_sorted().is_empty());
    }
}
