//! Disjoint sets over `0..n` with path halving and union by size.

/// A partition of `0..n` into sets, each named by one of its members (its root).
#[derive(Clone, Debug)]
pub(super) struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `count` singletons.
    pub fn new(count: usize) -> Self {
        Self { parent: (0..count as u32).collect(), size: vec![1; count] }
    }

    /// The root of `item`'s set.
    pub fn find(&mut self, mut item: u32) -> u32 {
        while self.parent[item as usize] != item {
            let grandparent = self.parent[self.parent[item as usize] as usize];
            self.parent[item as usize] = grandparent;
            item = grandparent;
        }
        item
    }

    /// Joins the sets of `a` and `b`; returns the new root, or `None` if they were one set.
    pub fn union(&mut self, a: u32, b: u32) -> Option<u32> {
        let (a, b) = (self.find(a), self.find(b));
        if a == b {
            return None;
        }
        let (large, small) =
            if self.size[a as usize] >= self.size[b as usize] { (a, b) } else { (b, a) };
        self.parent[small as usize] = large;
        self.size[large as usize] += self.size[small as usize];
        Some(large)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_join_sets_once() {
        let mut sets = UnionFind::new(6);
        assert!(sets.union(0, 1).is_some());
        assert!(sets.union(2, 3).is_some());
        assert!(sets.union(1, 3).is_some());
        assert!(sets.union(0, 2).is_none());
        assert_eq!(sets.find(3), sets.find(0));
        assert_ne!(sets.find(4), sets.find(0));
        assert_eq!(sets.find(5), 5);
    }
}
