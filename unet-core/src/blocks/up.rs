//! 2x up-sampling: transposed convolution, interpolation followed by a 1x1 convolution,
//! sub-pixel convolution (3x3 conv to `4 * COUT` channels, then pixel shuffle), or
//! interpolation alone (the `*_concat` modes, whose decoder convolution sees the deep map's
//! channels).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::interpolate::{Interpolate2d, Interpolate2dConfig, InterpolateMode};
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use crate::feature::Feature;
use crate::kernels::{conv2d, conv_transpose2d};
use crate::level::{Down, Level};

pub use unet_vocab::UpMode;

/// Configuration of [`UpSample`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpSampleConfig {
    /// The up-sampling method.
    pub mode: UpMode,
}

impl UpSampleConfig {
    /// A configuration with the given method.
    pub fn new(mode: UpMode) -> Self {
        Self { mode }
    }

    /// An [`UpSample`] taking `CIN` channels to `COUT`.
    ///
    /// # Panics
    ///
    /// For [`UpMode::BilinearConcat`] and [`UpMode::NearestConcat`] if `CIN != COUT`: they
    /// do not change the channel count.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> UpSample<B, CIN, COUT> {
        let interpolate = |mode| {
            Some(
                Interpolate2dConfig::new()
                    .with_scale_factor(Some([2.0, 2.0]))
                    .with_mode(mode)
                    .with_align_corners(false)
                    .init(),
            )
        };
        let project = || Some(Conv2dConfig::new([CIN, COUT], [1, 1]).init(device));
        match self.mode {
            UpMode::Transposed => UpSample {
                transposed: Some(
                    ConvTranspose2dConfig::new([CIN, COUT], [2, 2])
                        .with_stride([2, 2])
                        .init(device),
                ),
                interpolate: None,
                project: None,
                subpixel: None,
            },
            UpMode::Bilinear => UpSample {
                transposed: None,
                interpolate: interpolate(InterpolateMode::Linear),
                project: project(),
                subpixel: None,
            },
            UpMode::Nearest => UpSample {
                transposed: None,
                interpolate: interpolate(InterpolateMode::Nearest),
                project: project(),
                subpixel: None,
            },
            UpMode::PixelShuffle => UpSample {
                transposed: None,
                interpolate: None,
                project: None,
                subpixel: Some(
                    Conv2dConfig::new([CIN, 4 * COUT], [3, 3])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device),
                ),
            },
            UpMode::BilinearConcat | UpMode::NearestConcat => {
                assert_eq!(
                    CIN, COUT,
                    "{:?} keeps the channel count: UpSample<B, {CIN}, {COUT}> needs CIN == COUT",
                    self.mode
                );
                let mode = if self.mode == UpMode::BilinearConcat {
                    InterpolateMode::Linear
                } else {
                    InterpolateMode::Nearest
                };
                UpSample {
                    transposed: None,
                    interpolate: interpolate(mode),
                    project: None,
                    subpixel: None,
                }
            }
        }
    }
}

/// 2x up-sampling from level `Down<L>` to `L`, `CIN -> COUT` channels.
#[derive(Module, Debug)]
pub struct UpSample<B: Backend, const CIN: usize, const COUT: usize> {
    /// Set for [`UpMode::Transposed`].
    pub transposed: Option<ConvTranspose2d<B>>,
    /// Set for the interpolating modes.
    pub interpolate: Option<Interpolate2d>,
    /// The 1x1 convolution after interpolation ([`UpMode::Bilinear`], [`UpMode::Nearest`]).
    pub project: Option<Conv2d<B>>,
    /// The 3x3 convolution before the pixel shuffle ([`UpMode::PixelShuffle`]).
    pub subpixel: Option<Conv2d<B>>,
}

impl<B: Backend, const CIN: usize, const COUT: usize> UpSample<B, CIN, COUT> {
    /// Doubles H and W and maps `CIN` to `COUT` channels (equal for the `*_concat` modes).
    pub fn forward<L: Level>(&self, x: Feature<B, CIN, Down<L>>) -> Feature<B, COUT, L> {
        let mut x = x.into_tensor();
        if let Some(t) = &self.transposed {
            x = conv_transpose2d(t, x);
        }
        if let Some(i) = &self.interpolate {
            x = i.forward(x);
        }
        if let Some(p) = &self.project {
            x = conv2d(p, x);
        }
        if let Some(s) = &self.subpixel {
            x = pixel_shuffle(conv2d(s, x));
        }
        Feature::trusted(x)
    }
}

/// PyTorch's `PixelShuffle(2)`: `[N, 4C, H, W] -> [N, C, 2H, 2W]`, channel `4c + 2i + j` going
/// to row offset `i`, column offset `j`.
pub fn pixel_shuffle<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c4, h, w] = x.dims();
    let c = c4 / 4;
    x.reshape([n, c, 2, 2, h, w])
        .permute([0, 1, 4, 2, 5, 3])
        .reshape([n, c, 2 * h, 2 * w])
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use unet_vocab::params;

    type B = Flex;

    #[test]
    fn every_mode_allocates_the_vocabulary_count() {
        let device = Default::default();
        for mode in [
            UpMode::Transposed,
            UpMode::Bilinear,
            UpMode::Nearest,
            UpMode::PixelShuffle,
        ] {
            let up: UpSample<B, 8, 4> = UpSampleConfig::new(mode).init(&device);
            assert_eq!(Some(up.num_params()), params::up(mode, 8, 4, 2), "{mode:?}");
        }
        for mode in [UpMode::BilinearConcat, UpMode::NearestConcat] {
            let up: UpSample<B, 8, 8> = UpSampleConfig::new(mode).init(&device);
            assert_eq!(Some(up.num_params()), params::up(mode, 8, 4, 2), "{mode:?}");
        }
    }
}
