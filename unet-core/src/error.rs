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
        /// The whole shape, `[N, C, H, W]` (or `[N, C, D, H, W]`).
        shape: Vec<usize>,
    },
    /// A spatial size the network cannot take.
    #[error("input {axis} {actual} does not fit this network: {}; nearest valid {axis}s: {}", problem.describe(), crate::geometry::nearest_text(*below, *above))]
    Spatial {
        /// `"depth"`, `"height"` or `"width"`.
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
        "this network was declared with input {}, got {}",
        sizes(expected),
        sizes(actual)
    )]
    Declared {
        /// Declared `[height, width]` (or `[depth, height, width]`).
        expected: Vec<usize>,
        /// The tensor's spatial sizes.
        actual: Vec<usize>,
    },
    /// The shape is not `[N, C]` and one size per spatial axis.
    #[error("expected an input of rank {expected} ([N, C] and {} spatial sizes), got shape {shape:?}", expected - 2)]
    Rank {
        /// 4 for images, 5 for volumes.
        expected: usize,
        /// The shape given.
        shape: Vec<usize>,
    },
    /// The batch axis is empty.
    #[error("the batch is empty (input shape {shape:?})")]
    EmptyBatch {
        /// The whole shape, `[N, C, H, W]` (or `[N, C, D, H, W]`).
        shape: Vec<usize>,
    },
}

/// `32x48`.
fn sizes(s: &[usize]) -> String {
    s.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("x")
}
