//! Placing labels so that none covers another: greedy, most important first, each at the free
//! spot nearest where it wants to be, or nowhere.

/// An axis-aligned rectangle in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rectangle {
    /// The left edge.
    pub left: f32,
    /// The top edge.
    pub top: f32,
    /// The width.
    pub width: f32,
    /// The height.
    pub height: f32,
}

impl Rectangle {
    /// The right edge.
    pub fn right(&self) -> f32 {
        self.left + self.width
    }

    /// The bottom edge.
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }

    /// Whether the two share any area, or come closer than `gap` to each other.
    pub fn overlaps(&self, other: &Rectangle, gap: f32) -> bool {
        self.left < other.right() + gap
            && other.left < self.right() + gap
            && self.top < other.bottom() + gap
            && other.top < self.bottom() + gap
    }
}

/// A label to place: the size of its box and the point its box should be centred on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Wish {
    /// The horizontal centre wished for.
    pub x: f32,
    /// The vertical centre wished for.
    pub y: f32,
    /// The box's width.
    pub width: f32,
    /// The box's height.
    pub height: f32,
}

/// How far a label may move from its wish, in box heights; further away it would name the
/// wrong points.
const MAXIMUM_SHIFT: f32 = 3.0;

/// The candidate shifts from a wish, in units of (0.6, 0.5) box heights, nearest first.
fn shifts() -> Vec<(f32, f32)> {
    let mut shifts = Vec::new();
    for column in -8_i8..=8 {
        for row in -6_i8..=6 {
            let shift = (f32::from(column) * 0.6, f32::from(row) * 0.5);
            if shift.0.hypot(shift.1) <= MAXIMUM_SHIFT {
                shifts.push(shift);
            }
        }
    }
    shifts.sort_by(|left, right| {
        let distance = |shift: &(f32, f32)| shift.0.hypot(shift.1);
        distance(left).total_cmp(&distance(right))
    });
    shifts
}

/// Places `wishes` in order, the first most important: each goes to the candidate position
/// nearest its wish that lies inside `area` and keeps `gap` pixels from every box placed before
/// it; `None` for a label no position is free for (or too large for the area).
pub(crate) fn place(wishes: &[Wish], area: Rectangle, gap: f32) -> Vec<Option<Rectangle>> {
    let shifts = shifts();
    let mut placed: Vec<Rectangle> = Vec::new();
    wishes
        .iter()
        .map(|wish| {
            if wish.width > area.width || wish.height > area.height {
                return None;
            }
            let spot = shifts.iter().find_map(|(column, row)| {
                let candidate = Rectangle {
                    left: (wish.x + column * wish.height - wish.width / 2.0)
                        .clamp(area.left, area.right() - wish.width),
                    top: (wish.y + row * wish.height - wish.height / 2.0)
                        .clamp(area.top, area.bottom() - wish.height),
                    width: wish.width,
                    height: wish.height,
                };
                let free = placed.iter().all(|other| !candidate.overlaps(other, gap));
                free.then_some(candidate)
            })?;
            placed.push(spot);
            Some(spot)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AREA: Rectangle = Rectangle { left: 0.0, top: 0.0, width: 400.0, height: 300.0 };

    #[test]
    fn a_free_label_sits_on_its_wish() {
        let wish = Wish { x: 100.0, y: 100.0, width: 60.0, height: 20.0 };
        let placed = place(&[wish], AREA, 2.0);
        assert_eq!(placed, [Some(Rectangle { left: 70.0, top: 90.0, width: 60.0, height: 20.0 })]);
    }

    #[test]
    fn a_label_at_the_edge_is_pulled_inside() {
        let wish = Wish { x: 395.0, y: 2.0, width: 60.0, height: 20.0 };
        let spot = place(&[wish], AREA, 2.0)[0].unwrap();
        assert_eq!((spot.right(), spot.top), (400.0, 0.0));
    }

    #[test]
    fn a_second_label_on_the_same_spot_moves_nearby() {
        let wish = Wish { x: 200.0, y: 150.0, width: 80.0, height: 20.0 };
        let placed = place(&[wish, wish], AREA, 2.0);
        let (first, second) = (placed[0].unwrap(), placed[1].unwrap());
        assert!(!first.overlaps(&second, 2.0));
        let moved = (second.left - first.left).hypot(second.top - first.top);
        assert!(moved <= MAXIMUM_SHIFT * 20.0 + 1e-3, "moved {moved}");
    }

    #[test]
    fn crowded_labels_never_overlap_and_some_are_dropped() {
        // A deterministic scatter of many labels over a small area.
        let mut state = 0x2545_f491_u32;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as f32 / u32::MAX as f32
        };
        for round in 0..20 {
            let wishes: Vec<Wish> = (0..60 + round * 10)
                .map(|_| Wish {
                    x: 150.0 + 100.0 * next(),
                    y: 100.0 + 100.0 * next(),
                    width: 30.0 + 90.0 * next(),
                    height: 14.0 + 8.0 * next(),
                })
                .collect();
            let placed: Vec<Rectangle> = place(&wishes, AREA, 2.0).into_iter().flatten().collect();
            assert!(!placed.is_empty() && placed.len() < wishes.len());
            for (index, first) in placed.iter().enumerate() {
                assert!(first.left >= AREA.left && first.right() <= AREA.right());
                assert!(first.top >= AREA.top && first.bottom() <= AREA.bottom());
                for second in &placed[index + 1..] {
                    assert!(!first.overlaps(second, 2.0), "{first:?} overlaps {second:?}");
                }
            }
        }
    }

    #[test]
    fn a_label_larger_than_the_area_is_dropped() {
        let wish = Wish { x: 10.0, y: 10.0, width: 500.0, height: 20.0 };
        assert_eq!(place(&[wish], AREA, 2.0), [None]);
    }
}
