//! Typed U-Net building blocks on burn.
//!
//! Channel counts are const generics and resolution levels are marker types
//! ([`L0`], [`Down<L>`]), so a [`Feature<B, C, L>`] can only flow into a block that expects
//! exactly `C` channels at level `L`: a skip from the wrong level or of the wrong width is an
//! ordinary type error. The `unet!` macro writes the numbers; these blocks do the work.

#![warn(missing_docs)]

pub mod backend;
pub mod bench;
pub mod blocks;
pub mod data;
mod error;
mod feature;
pub mod geometry;
pub mod infer;
pub mod interop;
mod level;
mod network;
mod summary;
pub mod train;

pub use burn;
pub use error::ShapeError;
pub use feature::{center_crop, crop_at, pad_to_multiple, Concat, Feature};
pub use geometry::PaddingKind;
pub use level::{Down, Level, L0, L1, L2, L3, L4, L5, L6, L7, L8};
pub use network::{Network, TrainableNetwork};
pub use summary::{group_thousands, Summary, SummaryRow};

/// Checks an untyped `[N, C, H, W]` input against a network's channels and spatial rules,
/// naming the expected and actual sizes on failure. Used by every generated `forward`.
/// With `pad_input`, any height and width fit: the network pads them itself.
pub fn check_input(
    shape: [usize; 4],
    in_channels: usize,
    depth: usize,
    padding: PaddingKind,
    declared: Option<[usize; 2]>,
    pad_input: bool,
) -> Result<(), ShapeError> {
    let [n, c, h, w] = shape;
    if c != in_channels {
        return Err(ShapeError::Channels {
            expected: in_channels,
            actual: c,
            shape,
        });
    }
    if n == 0 {
        return Err(ShapeError::EmptyBatch { shape });
    }
    if let Some([dh, dw]) = declared {
        if (h, w) != (dh, dw) {
            return Err(ShapeError::Declared {
                expected_h: dh,
                expected_w: dw,
                actual_h: h,
                actual_w: w,
            });
        }
    }
    if pad_input {
        return Ok(());
    }
    for (axis, size) in [("height", h), ("width", w)] {
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
