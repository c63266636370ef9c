//! **unet**: one macro line to a typed, shape-checked U-Net on [burn].
//!
//! ```
//! use unet::prelude::*;
//!
//! unet!(pub Tiny<depth: 2, base: 8, up: bilinear, in_channels: 3, classes: 4>);
//!
//! let device = Default::default();
//! let net = Tiny::<unet::backend::Cpu>::new(&device);
//! let x = Tensor::random([1, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device);
//! assert_eq!(net.forward(x).unwrap().dims(), [1, 4, 16, 16]);
//! assert_eq!(Tiny::<unet::backend::Cpu>::CHANNELS, [8, 16, 32]);
//! ```
//!
//! `unet!` expands into `Name<B>`, `NameEncoder<B>`, `NameSkips<B>` and `NameDecoder<B>`, built
//! from the blocks in [`blocks`] with every channel count written into their types, so a wrong
//! skip concatenation is a type error and a bad configuration a spanned compile error.

#![warn(missing_docs)]

extern crate self as unet;

pub use unet_core::bench;
pub use unet_core::kernels;
pub use unet_core::{
    backend, blocks, burn, center_crop, center_crop3, check_input, crop_at, data, geometry,
    group_thousands, infer, interop, pad_to_multiple, train, Concat, Concat3, Down, Feature,
    Feature3, Level, Network, PaddingKind, ShapeError, Summary, SummaryRow, L0, L1, L2, L3, L4, L5,
    L6, L7, L8,
};
pub use unet_macros::unet;

/// Everything a model file needs: the macro, the typed feature and level markers, the shape
/// error, and burn's `Tensor`, `Backend` and `Distribution`.
pub mod prelude {
    pub use crate::burn::tensor::backend::Backend;
    pub use crate::burn::tensor::{Distribution, Tensor};
    pub use crate::{
        unet, Down, Feature, Feature3, Level, ShapeError, L0, L1, L2, L3, L4, L5, L6, L7, L8,
    };
}
