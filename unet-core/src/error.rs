//! Errors raised where untyped tensors enter the typed world.

use crate::geometry::SizeProblem;

/// A tensor's shape does not fit the network or block it was given to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// The channel axis (dim 1) has the wrong size.
    #[error("expected {expected} channels, got {actual} (input shape {shape:?})")]
    Channels {
        /// Channels the type or network requires.
        expected: usize,
        /// Channels the tensor has.
        actual: usize,
        /// The whole `[N, C, H, W]` shape.
        shape: [usize; 4],
    },
    /// A spatial size the network cannot take.
    #[error("input {axis} {actual} does not fit this network: {}; nearest valid {axis}s: {}", problem.describe(), crate::geometry::nearest_text(*below, *above))]
    Spatial {
        /// `"height"` or `"width"`.
        axis: &'static str,
        /// The size given.
        actual: usize,
        /// What goes wrong with it.
        problem: SizeProblem,
        /// The largest valid size below `actual`, if any.
        below: Option<usize>,
        /// The smallest valid size above `actual`.
        above: usize,
    },
    /// The network declares a static `input` size and the tensor has another.
    #[error(
        "this network was declared with input {expected_h}x{expected_w}, got {actual_h}x{actual_w}"
    )]
    Declared {
        /// Declared height.
        expected_h: usize,
        /// Declared width.
        expected_w: usize,
        /// Actual height.
        actual_h: usize,
        /// Actual width.
        actual_w: usize,
    },
    /// The batch axis is empty.
    #[error("the batch is empty (input shape {shape:?})")]
    EmptyBatch {
        /// The whole `[N, C, H, W]` shape.
        shape: [usize; 4],
    },
}
