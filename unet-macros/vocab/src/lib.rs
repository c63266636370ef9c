//! The vocabulary of a U-Net, shared by the `unet!` macro (which checks, describes and
//! counts a network at expansion) and `unet-core`'s blocks (which build it): every option,
//! the size rules and the parameter formulas, each defined once, with no dependencies.

#![warn(missing_docs)]

pub mod geometry;
pub mod layers;
mod options;
pub mod params;

pub use geometry::PaddingKind;
pub use layers::{Extent, LayerOutput};
pub use options::{kernel, ActKind, Arg, Attention, BlockOptions, NormKind, UpMode, Word};
