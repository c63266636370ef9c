//! Spatial arithmetic of a U-Net: which input sizes a network takes and what comes out.
//!
//! `unet-macros` checks declared inputs with it at expansion and `unet-core` checks tensors
//! with it at run time, so the two can never disagree.

/// How the 3x3 convolutions treat borders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaddingKind {
    /// Padding 1: every level keeps its size; inputs must be multiples of `2^depth`.
    Same,
    /// No padding (the paper): each conv loses 2 pixels, skips are center-cropped.
    Valid,
}

/// Why an input size does not fit a network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeProblem {
    /// `padding: same`: the size is below `2^depth`, so the bottleneck would be empty.
    TooSmall {
        /// The smallest size that fits.
        minimum: usize,
    },
    /// `padding: same`: the size is not a multiple of `2^depth`.
    NotMultiple {
        /// `2^depth`.
        multiple: usize,
    },
    /// `padding: valid`: the feature map before the pooling of `level` has odd size `size`.
    OddAtLevel {
        /// Encoder level (0 = full resolution).
        level: usize,
        /// The odd size.
        size: usize,
    },
    /// `padding: valid`: the feature map at `level` would have size `size` <= 0.
    NonPositiveAtLevel {
        /// Level (0 = full resolution, `depth` = bottleneck).
        level: usize,
        /// The size it would have (can be negative).
        size: i64,
        /// Whether the problem is on the way up (decoder) rather than down.
        decoder: bool,
    },
}

impl SizeProblem {
    /// A sentence that says what goes wrong, without the size itself.
    pub fn describe(&self) -> String {
        match self {
            SizeProblem::TooSmall { minimum } => {
                format!("it is smaller than {minimum}, so the bottleneck would be empty")
            }
            SizeProblem::NotMultiple { multiple } => {
                format!("it must be a multiple of {multiple} (2^depth)")
            }
            SizeProblem::OddAtLevel { level, size } => format!(
                "with valid padding, level {level} would have odd size {size} before its 2x2 max-pool"
            ),
            SizeProblem::NonPositiveAtLevel {
                level,
                size,
                decoder,
            } => format!(
                "with valid padding, {} level {level} would have non-positive size {size}",
                if *decoder { "decoder" } else { "encoder" }
            ),
        }
    }
}

/// Output size along one axis for an input of `input` pixels, or why that input does not fit.
pub fn output_size(depth: usize, padding: PaddingKind, input: usize) -> Result<usize, SizeProblem> {
    let multiple = 1usize << depth;
    match padding {
        PaddingKind::Same => {
            if input < multiple {
                Err(SizeProblem::TooSmall { minimum: multiple })
            } else if !input.is_multiple_of(multiple) {
                Err(SizeProblem::NotMultiple { multiple })
            } else {
                Ok(input)
            }
        }
        PaddingKind::Valid => {
            // No image has 2^63 pixels a side; beyond that the size is clamped, not wrapped.
            let mut size = i64::try_from(input).unwrap_or(i64::MAX);
            for level in 0..depth {
                let convolved = size - 4;
                if convolved <= 0 {
                    return Err(SizeProblem::NonPositiveAtLevel {
                        level,
                        size: convolved,
                        decoder: false,
                    });
                }
                if convolved % 2 != 0 {
                    return Err(SizeProblem::OddAtLevel {
                        level,
                        size: convolved as usize,
                    });
                }
                size = convolved / 2;
            }
            let mut up = size - 4;
            if up <= 0 {
                return Err(SizeProblem::NonPositiveAtLevel {
                    level: depth,
                    size: up,
                    decoder: false,
                });
            }
            for level in (0..depth).rev() {
                up = 2 * up - 4;
                if up <= 0 {
                    return Err(SizeProblem::NonPositiveAtLevel {
                        level,
                        size: up,
                        decoder: true,
                    });
                }
            }
            Ok(up as usize)
        }
    }
}

/// The valid input sizes nearest to `input`: the largest below it (if any) and the smallest above.
pub fn nearest_valid(depth: usize, padding: PaddingKind, input: usize) -> (Option<usize>, usize) {
    let fits = |s: usize| output_size(depth, padding, s).is_ok();
    // Valid sizes recur every 2^depth pixels from the smallest one (below the valid margin
    // plus that window), so the search stays short for any input, however large.
    let window = 1usize << (depth + 1).min(63);
    let below = (input.saturating_sub(window).max(1)..input)
        .rev()
        .find(|&s| fits(s));
    let last = input
        .saturating_add(window)
        .max(valid_margin(depth).saturating_add(window));
    let above = (input.saturating_add(1)..=last)
        .find(|&s| fits(s))
        .unwrap_or(usize::MAX);
    (below, above)
}

/// "96 or 112", or "16" when no valid size lies below (or "96" when none lies above): the
/// sizes [`nearest_valid`] found.
pub fn nearest_text(below: Option<usize>, above: usize) -> String {
    // `usize::MAX` above means none fits there (the input is near the largest size).
    match (below, above) {
        (Some(b), usize::MAX) => format!("{b}"),
        (Some(b), _) => format!("{b} or {above}"),
        (None, usize::MAX) => "none".into(),
        (None, _) => format!("{above}"),
    }
}

/// Pixels lost between input and output with valid padding (`12 * 2^depth - 8`; 184 at depth 4).
pub fn valid_margin(depth: usize) -> usize {
    12 * (1usize << depth) - 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_input_572_gives_388_at_depth_4() {
        assert_eq!(output_size(4, PaddingKind::Valid, 572), Ok(388));
        assert_eq!(572 - valid_margin(4), 388);
    }

    #[test]
    fn valid_inputs_lose_exactly_the_margin() {
        for depth in 1..=5 {
            for input in 1..2000 {
                if let Ok(out) = output_size(depth, PaddingKind::Valid, input) {
                    assert_eq!(
                        input - out,
                        valid_margin(depth),
                        "depth {depth} input {input}"
                    );
                }
            }
        }
    }

    #[test]
    fn same_padding_needs_a_multiple_of_two_to_the_depth() {
        assert_eq!(output_size(3, PaddingKind::Same, 64), Ok(64));
        assert_eq!(
            output_size(3, PaddingKind::Same, 60),
            Err(SizeProblem::NotMultiple { multiple: 8 })
        );
        assert_eq!(
            output_size(3, PaddingKind::Same, 4),
            Err(SizeProblem::TooSmall { minimum: 8 })
        );
    }

    #[test]
    fn odd_level_is_named() {
        // 570 - 4 = 566 -> 283, 283 - 4 = 279 is odd at level 1.
        assert_eq!(
            output_size(4, PaddingKind::Valid, 570),
            Err(SizeProblem::OddAtLevel {
                level: 1,
                size: 279
            })
        );
    }

    #[test]
    fn the_nearest_sizes_are_those_of_an_exhaustive_search_and_any_input_is_answered() {
        for depth in 1..=6 {
            for padding in [PaddingKind::Same, PaddingKind::Valid] {
                let fits = |s: usize| output_size(depth, padding, s).is_ok();
                for input in 1..1500 {
                    let below = (1..input).rev().find(|&s| fits(s));
                    let above = (input + 1..).find(|&s| fits(s)).unwrap();
                    assert_eq!(nearest_valid(depth, padding, input), (below, above));
                }
            }
        }
        for input in [usize::MAX, usize::MAX - 1, 1 << 63] {
            let _ = nearest_valid(4, PaddingKind::Valid, input);
            assert!(nearest_valid(4, PaddingKind::Same, input).0.is_some());
        }
    }

    #[test]
    fn nearest_valid_brackets_the_input() {
        assert_eq!(nearest_valid(4, PaddingKind::Same, 100), (Some(96), 112));
        assert_eq!(nearest_valid(4, PaddingKind::Valid, 570), (Some(556), 572));
        assert_eq!(nearest_valid(4, PaddingKind::Same, 3), (None, 16));
    }
}
