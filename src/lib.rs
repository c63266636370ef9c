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
//!
//! Features: `cpu` (flex and the project's kernels), `train` (data, the epoch loop, run
//! folders, inference and metrics), `interop` (PyTorch and safetensors weights), `cli` (the
//! tool, and [`cli!`] to build it for your own networks); `cuda`, `wgpu`, `ndarray`, `candle`
//! add burn's backends. The default is `cpu` + `cli`, everything a user of the tool needs;
//! `default-features = false, features = ["cpu"]` is the model alone.
//!
//! Training from code (feature `train`): a typed configuration, the library's epoch loop and
//! observers of its events.
//!
//! ```no_run
//! # #[cfg(all(feature = "train", feature = "cpu"))] {
//! use unet::prelude::*;
//! use unet::train::{Event, TrainConfig, Training};
//!
//! unet!(pub MyNet<depth: 3, base: 8>);
//! type B = unet::backend::CpuAutodiff;
//!
//! let train = unet::data::generate(1, 256, 64, 1);
//! let valid = unet::data::generate(2, 32, 64, 1);
//! let config = TrainConfig::new("mynet").with_epochs(2).with_crop(64);
//! let summary = Training::<B>::new(config, "runs/mynet")
//!     .observe(|event: &Event| {
//!         if let Event::EpochEnd { row, .. } = event {
//!             println!("epoch {}: Dice {:.3}", row.epoch, row.dice);
//!         }
//!     })
//!     .fit::<MyNet<B>>(train, valid)
//!     .expect("training");
//! println!("best Dice {:.3}", summary.best().map_or(0.0, |r| r.dice));
//! # }
//! ```
//!
//! A 3D network trains the same way on volumes; the run's rank is `Training`'s second
//! parameter:
//!
//! ```no_run
//! # fn main() {
//! use unet::prelude::*;
//! use unet::train::{TrainConfig, Training};
//!
//! unet!(pub MyVolumeNet<depth: 2, base: 8, dims: 3, norm: instance>);
//! type B = unet::backend::CpuAutodiff;
//!
//! let train = unet::data::generate_volumes(1, 64, 32, 1);
//! let valid = unet::data::generate_volumes(2, 8, 32, 1);
//! let config = TrainConfig::new("myvolumenet").with_epochs(2).with_crop(32);
//! Training::<B, 5>::new(config, "runs/myvolumenet")
//!     .fit::<MyVolumeNet<B>>(train, valid)
//!     .expect("training");
//! # }
//! ```

#![warn(missing_docs)]

extern crate self as unet;

#[cfg(feature = "cli")]
pub mod cli;

#[cfg(any(feature = "train", feature = "interop"))]
pub use unet_core::fsio;
#[cfg(feature = "interop")]
pub use unet_core::interop;
pub use unet_core::kernels;
#[cfg(feature = "onnx")]
pub use unet_core::onnx;
#[doc(hidden)]
pub use unet_core::{__interop_fallback, __interop_methods, __onnx_fallback, __onnx_methods};
pub use unet_core::{
    backend, blocks, burn, center_crop, center_crop3d, check_input, crop_at, crop_window, geometry,
    group_thousands, pad_spatial_to_multiple, pad_to_multiple, sizes, Concat, Concat3d, Down,
    Extent, Feature, Feature3d, InputRules, LayerOutput, Level, Memory, Network, PaddingKind,
    ShapeError, ShapedSummary, Summary, SummaryRow, TrainableNetwork, L0, L1, L2, L3, L4, L5, L6,
    L7, L8,
};
#[cfg(feature = "train")]
pub use unet_core::{data, infer, train};
pub use unet_macros::unet;

/// Everything a model file needs: the macro, the typed feature and level markers, the shape
/// error, and burn's `Tensor`, `Backend` and `Distribution`.
pub mod prelude {
    pub use crate::burn::tensor::backend::Backend;
    pub use crate::burn::tensor::{Distribution, Tensor};
    pub use crate::{
        unet, Down, Feature, Feature3d, Level, ShapeError, L0, L1, L2, L3, L4, L5, L6, L7, L8,
    };
}
