//! 2x up-sampling: transposed convolution, interpolation followed by a 1x1 convolution, or
//! interpolation alone (the `*_concat` modes, whose decoder convolution sees the deep map's
//! channels).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::interpolate::{Interpolate2d, Interpolate2dConfig, InterpolateMode};
use burn::tensor::backend::Backend;

use crate::feature::Feature;
use crate::level::{Down, Level};

/// How a decoder level doubles the resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpMode {
    /// `ConvTranspose2d`, kernel 2, stride 2, `CIN -> COUT`.
    Transposed,
    /// Bilinear 2x interpolation (align_corners false, as PyTorch's default), then 1x1 conv.
    Bilinear,
    /// Nearest 2x interpolation, then 1x1 conv.
    Nearest,
    /// Bilinear 2x interpolation only (align_corners false), channels kept: `CIN == COUT`, so
    /// the decoder convolution sees `CIN + SKIP` channels (the seeds' bilinear `Up`).
    BilinearConcat,
    /// Nearest 2x interpolation only, channels kept: `CIN == COUT`.
    NearestConcat,
}

impl UpMode {
    /// Whether the mode keeps the deep map's channels (no convolution after interpolating).
    pub fn keeps_channels(self) -> bool {
        matches!(self, UpMode::BilinearConcat | UpMode::NearestConcat)
    }
}

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
            },
            UpMode::Bilinear => UpSample {
                transposed: None,
                interpolate: interpolate(InterpolateMode::Linear),
                project: project(),
            },
            UpMode::Nearest => UpSample {
                transposed: None,
                interpolate: interpolate(InterpolateMode::Nearest),
                project: project(),
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
}

impl<B: Backend, const CIN: usize, const COUT: usize> UpSample<B, CIN, COUT> {
    /// Doubles H and W and maps `CIN` to `COUT` channels (equal for the `*_concat` modes).
    pub fn forward<L: Level>(&self, x: Feature<B, CIN, Down<L>>) -> Feature<B, COUT, L> {
        let mut x = x.into_tensor();
        if let Some(t) = &self.transposed {
            x = t.forward(x);
        }
        if let Some(i) = &self.interpolate {
            x = i.forward(x);
        }
        if let Some(p) = &self.project {
            x = p.forward(x);
        }
        Feature::trusted(x)
    }
}
