//! Typed U-Net building blocks on burn.
//!
//! Channel counts are const generics and resolution levels are marker types
//! ([`L0`], [`Down<L>`]), so a [`Feature<B, C, L>`] can only flow into a block that expects
//! exactly `C` channels at level `L`: a skip from the wrong level or of the wrong width is an
//! ordinary type error. The `unet!` macro writes the numbers; these blocks do the work.

#![warn(missing_docs)]

pub mod backend;
pub mod blocks;
#[cfg(feature = "train")]
pub mod data;
mod error;
mod feature;
#[cfg(any(feature = "train", feature = "interop"))]
pub mod fsio;
pub use unet_vocab::geometry;
#[cfg(feature = "train")]
pub mod infer;
#[cfg(feature = "interop")]
pub mod interop;
mod items;
pub mod kernels;
mod level;
mod network;
#[cfg(feature = "onnx")]
pub mod onnx;
mod summary;
#[cfg(feature = "train")]
pub mod train;

pub use burn;
pub use error::ShapeError;
pub use feature::{
    center_crop, center_crop3d, center_crop_to, crop_at, crop_window, pad_spatial_to_multiple,
    pad_to_multiple, Concat, Concat3d, Feature, Feature3d,
};
pub use level::{Down, Level, L0, L1, L2, L3, L4, L5, L6, L7, L8};
pub use network::{sizes, Network, TrainableNetwork};
pub use summary::{
    group_thousands, Extent, LayerOutput, Memory, ShapedSummary, Summary, SummaryRow,
};
pub use unet_vocab::PaddingKind;

/// Checks an untyped `[N, C, H, W]` (or `[N, C, D, H, W]`) input against a network's
/// channels and spatial rules, naming the expected and actual sizes on failure. Used by every
/// generated `forward`. With `pad_input`, any spatial size fits: the network pads it itself.
pub fn check_input<const R: usize, const S: usize>(
    shape: [usize; R],
    in_channels: usize,
    depth: usize,
    padding: PaddingKind,
    declared: Option<[usize; S]>,
    pad_input: bool,
) -> Result<(), ShapeError> {
    debug_assert_eq!(R, S + 2, "shape is [N, C, spatial...]");
    let declared = declared.as_ref().map(|d| &d[..]);
    let network = InputRules {
        dims: S,
        in_channels,
        depth,
        padding,
        declared,
        pad_input,
    };
    network.check(&shape)
}

/// What a network's input must satisfy: [`check_input`]'s settings for a shape of any rank,
/// which [`Network`]'s provided methods use since a trait cannot name `D - 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputRules<'a> {
    /// Spatial axes: 2 or 3.
    pub dims: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Pooling levels.
    pub depth: usize,
    /// The 3x3 convolutions' padding.
    pub padding: PaddingKind,
    /// The declared spatial input, if any.
    pub declared: Option<&'a [usize]>,
    /// Whether the network reflect-pads any input itself.
    pub pad_input: bool,
}

impl InputRules<'_> {
    /// Checks an `[N, C, spatial...]` shape, naming the expected and actual sizes on failure.
    pub fn check(&self, shape: &[usize]) -> Result<(), ShapeError> {
        let &InputRules {
            dims,
            in_channels,
            depth,
            padding,
            declared,
            pad_input,
        } = self;
        let [n, c, spatial @ ..] = shape else {
            return Err(ShapeError::Rank {
                expected: dims + 2,
                shape: shape.to_vec(),
            });
        };
        let (n, c) = (*n, *c);
        if spatial.len() != dims {
            return Err(ShapeError::Rank {
                expected: dims + 2,
                shape: shape.to_vec(),
            });
        }

        if c != in_channels {
            return Err(ShapeError::Channels {
                expected: in_channels,
                actual: c,
                shape: shape.to_vec(),
            });
        }
        if n == 0 {
            return Err(ShapeError::EmptyBatch {
                shape: shape.to_vec(),
            });
        }
        if let Some(expected) = declared {
            if spatial != expected {
                return Err(ShapeError::Declared {
                    expected: expected.to_vec(),
                    actual: spatial.to_vec(),
                });
            }
        }
        if pad_input {
            return Ok(());
        }
        let axes: &[&'static str] = if spatial.len() == 3 {
            &["depth", "height", "width"]
        } else {
            &["height", "width"]
        };
        for (axis, &size) in axes.iter().zip(spatial) {
            if let Err(problem) = geometry::output_size(depth, padding, size) {
                let (below, above) = geometry::nearest_valid(depth, padding, size);
                return Err(ShapeError::Spatial {
                    axis,
                    actual: size,
                    problem,
                    below,
                    above,
                });
            }
        }
        Ok(())
    }
}
