//! 3D blocks for `dims: 3` (the 3D U-Net of Çiçek et al. 2016): 3x3x3 convolutions, 2x2x2
//! max-pooling, 2x up-sampling of depth, height and width. Same wiring and options as the 2D
//! blocks, on [`Feature3`] volumes.

use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use burn::nn::norm::Normalization;
use burn::nn::{Dropout, DropoutConfig, PaddingConfig3d};
use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d;
use burn::tensor::Tensor;

use super::options::{Act, BlockOptions};
use crate::feature::{center_crop3, Concat3, Feature3};
use crate::geometry::PaddingKind;
use crate::level::{Down, Level};

/// Up-sampling of a 3D decoder level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpMode3d {
    /// `ConvTranspose3d`, kernel 2, stride 2, `CIN -> COUT`.
    Transposed,
    /// Nearest 2x interpolation, then a 1x1x1 convolution.
    Nearest,
    /// Nearest 2x interpolation only, channels kept (`CIN == COUT`).
    NearestConcat,
}

fn conv3<B: Backend>(
    cin: usize,
    cout: usize,
    kernel: usize,
    padding: PaddingKind,
    bias: bool,
    device: &B::Device,
) -> Conv3d<B> {
    let padding = match padding {
        PaddingKind::Same if kernel == 3 => PaddingConfig3d::Explicit(1, 1, 1),
        _ => PaddingConfig3d::Valid,
    };
    Conv3dConfig::new([cin, cout], [kernel; 3])
        .with_padding(padding)
        .with_bias(bias)
        .init(device)
}

/// Configuration of [`DoubleConv3d`] and [`MergeConv3d`]; channel counts come from the type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DoubleConv3dConfig {
    /// Padding, norm, activation, residual wiring and dropout.
    pub options: BlockOptions,
}

impl DoubleConv3dConfig {
    /// A configuration from a padding (the classic block) or full [`BlockOptions`].
    pub fn new(options: impl Into<BlockOptions>) -> Self {
        Self {
            options: options.into(),
        }
    }

    fn body<B: Backend>(&self, cin: usize, cout: usize, device: &B::Device) -> Body3d<B> {
        let o = self.options;
        let bias = o.norm.conv_bias();
        Body3d {
            conv1: conv3(cin, cout, 3, o.padding, bias, device),
            norm1: o.norm.init(cout, device),
            act1: o.act.init(device),
            conv2: conv3(cout, cout, 3, o.padding, bias, device),
            norm2: o.norm.init(cout, device),
            act2: o.act.init(device),
            project: (o.residual && cin != cout)
                .then(|| conv3(cin, cout, 1, PaddingKind::Valid, true, device)),
            residual: o.residual,
            dropout: (o.dropout > 0.0).then(|| DropoutConfig::new(o.dropout).init()),
        }
    }

    /// A [`DoubleConv3d`] taking `CIN` channels to `COUT`.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> DoubleConv3d<B, CIN, COUT> {
        DoubleConv3d {
            body: self.body(CIN, COUT, device),
        }
    }

    /// A [`MergeConv3d`] taking a `[UP, SKIP]` concatenation to `COUT` channels.
    pub fn init_merge<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> MergeConv3d<B, UP, SKIP, COUT> {
        MergeConv3d {
            body: self.body(UP + SKIP, COUT, device),
        }
    }
}

/// conv -> norm -> act -> conv -> norm (-> + shortcut) -> act (-> dropout), in 3D.
#[derive(Module, Debug)]
pub struct Body3d<B: Backend> {
    /// First 3x3x3 convolution.
    pub conv1: Conv3d<B>,
    /// Norm after the first convolution.
    pub norm1: Option<Normalization<B>>,
    /// First activation.
    pub act1: Act<B>,
    /// Second 3x3x3 convolution.
    pub conv2: Conv3d<B>,
    /// Norm after the second convolution.
    pub norm2: Option<Normalization<B>>,
    /// Second activation (after the residual sum).
    pub act2: Act<B>,
    /// 1x1x1 projection of a residual block whose widths differ.
    pub project: Option<Conv3d<B>>,
    /// Whether the input is added before the second activation.
    pub residual: bool,
    /// Dropout on the block's output.
    pub dropout: Option<Dropout>,
}

impl<B: Backend> Body3d<B> {
    fn forward(&self, x: Tensor<B, 5>) -> Tensor<B, 5> {
        let norm = |n: &Option<Normalization<B>>, t: Tensor<B, 5>| match n {
            Some(n) => n.forward(t),
            None => t,
        };
        let input = self.residual.then(|| x.clone());
        let h = self.act1.forward(norm(&self.norm1, self.conv1.forward(x)));
        let mut y = norm(&self.norm2, self.conv2.forward(h));
        if let Some(x) = input {
            let [_, _, d, h, w] = y.dims();
            let x = center_crop3(x, [d, h, w]);
            y = y + match &self.project {
                Some(p) => p.forward(x),
                None => x,
            };
        }
        let y = self.act2.forward(y);
        match &self.dropout {
            Some(d) => d.forward(y),
            None => y,
        }
    }
}

/// Two 3x3x3 convolutions `CIN -> COUT -> COUT` at any level.
#[derive(Module, Debug)]
pub struct DoubleConv3d<B: Backend, const CIN: usize, const COUT: usize> {
    /// The layers.
    pub body: Body3d<B>,
}

impl<B: Backend, const CIN: usize, const COUT: usize> DoubleConv3d<B, CIN, COUT> {
    /// Applies the block; the level is unchanged.
    pub fn forward<L: Level>(&self, x: Feature3<B, CIN, L>) -> Feature3<B, COUT, L> {
        Feature3::trusted(self.body.forward(x.into_tensor()))
    }
}

/// A [`DoubleConv3d`] that accepts only a [`Concat3`] of an up-sampled map and a skip.
#[derive(Module, Debug)]
pub struct MergeConv3d<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize> {
    /// The layers.
    pub body: Body3d<B>,
}

impl<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>
    MergeConv3d<B, UP, SKIP, COUT>
{
    /// Applies the block to the concatenation.
    pub fn forward<L: Level>(&self, x: Concat3<B, UP, SKIP, L>) -> Feature3<B, COUT, L> {
        Feature3::trusted(self.body.forward(x.into_tensor()))
    }
}

/// 2x2x2 max-pooling, stride 2 (odd sizes floor, as PyTorch's `MaxPool3d(2)`): a 2x2 pool of
/// every depth slice, then the max of each pair of slices. burn 0.21 has no 3D pooling.
pub fn max_pool3d_2x<B: Backend>(x: Tensor<B, 5>) -> Tensor<B, 5> {
    let [n, c, d, h, w] = x.dims();
    let d2 = d / 2;
    let x = x.slice([0..n, 0..c, 0..2 * d2, 0..h, 0..w]);
    let pooled = max_pool2d(
        x.reshape([n, c * 2 * d2, h, w]),
        [2, 2],
        [2, 2],
        [0, 0],
        [1, 1],
        false,
    );
    let [_, _, h2, w2] = pooled.dims();
    pooled
        .reshape([n, c, d2, 2, h2, w2])
        .max_dim(3)
        .reshape([n, c, d2, h2, w2])
}

/// Nearest 2x up-sampling of depth, height and width.
pub fn upsample_nearest3d_2x<B: Backend>(x: Tensor<B, 5>) -> Tensor<B, 5> {
    let [n, c, d, h, w] = x.dims();
    x.reshape([n, c, d, 1, h, 1, w, 1])
        .repeat_dim(3, 2)
        .repeat_dim(5, 2)
        .repeat_dim(7, 2)
        .reshape([n, c, 2 * d, 2 * h, 2 * w])
}

/// Configuration of [`DownBlock3d`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DownBlock3dConfig {
    /// Options of the level's DoubleConv.
    pub options: BlockOptions,
}

impl DownBlock3dConfig {
    /// A configuration from a padding or full [`BlockOptions`].
    pub fn new(options: impl Into<BlockOptions>) -> Self {
        Self {
            options: options.into(),
        }
    }

    /// A [`DownBlock3d`] taking `CIN` channels to `COUT`.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> DownBlock3d<B, CIN, COUT> {
        DownBlock3d {
            conv: DoubleConv3dConfig::new(self.options).init(device),
        }
    }
}

/// One 3D encoder level: DoubleConv3d, whose output is the skip, then 2x2x2 max-pool.
#[derive(Module, Debug)]
pub struct DownBlock3d<B: Backend, const CIN: usize, const COUT: usize> {
    /// The level's two convolutions.
    pub conv: DoubleConv3d<B, CIN, COUT>,
}

impl<B: Backend, const CIN: usize, const COUT: usize> DownBlock3d<B, CIN, COUT> {
    /// Returns `(skip, pooled)`.
    pub fn forward<L: Level>(
        &self,
        x: Feature3<B, CIN, L>,
    ) -> (Feature3<B, COUT, L>, Feature3<B, COUT, Down<L>>) {
        let skip = self.conv.forward(x);
        let pooled = Feature3::trusted(max_pool3d_2x(skip.tensor().clone()));
        (skip, pooled)
    }
}

/// Configuration of [`UpBlock3d`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpBlock3dConfig {
    /// The up-sampling method.
    pub mode: UpMode3d,
    /// Options of the DoubleConv.
    pub options: BlockOptions,
}

impl UpBlock3dConfig {
    /// A configuration with the given up-sampling and options.
    pub fn new(mode: UpMode3d, options: impl Into<BlockOptions>) -> Self {
        Self {
            mode,
            options: options.into(),
        }
    }

    /// An [`UpBlock3d`]; channel counts come from the type.
    pub fn init<
        B: Backend,
        const CDEEP: usize,
        const UP: usize,
        const SKIP: usize,
        const COUT: usize,
    >(
        &self,
        device: &B::Device,
    ) -> UpBlock3d<B, CDEEP, UP, SKIP, COUT> {
        UpBlock3d {
            transposed: (self.mode == UpMode3d::Transposed).then(|| {
                ConvTranspose3dConfig::new([CDEEP, UP], [2, 2, 2])
                    .with_stride([2, 2, 2])
                    .init(device)
            }),
            project: (self.mode == UpMode3d::Nearest)
                .then(|| conv3(CDEEP, UP, 1, PaddingKind::Valid, true, device)),
            conv: DoubleConv3dConfig::new(self.options).init_merge(device),
        }
    }
}

/// One 3D decoder level: 2x up-sampling `CDEEP -> UP` channels, concatenation with a
/// `SKIP`-channel skip, DoubleConv3d to `COUT`.
#[derive(Module, Debug)]
pub struct UpBlock3d<
    B: Backend,
    const CDEEP: usize,
    const UP: usize,
    const SKIP: usize,
    const COUT: usize,
> {
    /// Set for [`UpMode3d::Transposed`].
    pub transposed: Option<ConvTranspose3d<B>>,
    /// The 1x1x1 convolution after nearest interpolation ([`UpMode3d::Nearest`]).
    pub project: Option<Conv3d<B>>,
    /// The two 3x3x3 convolutions over the concatenation.
    pub conv: MergeConv3d<B, UP, SKIP, COUT>,
}

impl<B: Backend, const CDEEP: usize, const UP: usize, const SKIP: usize, const COUT: usize>
    UpBlock3d<B, CDEEP, UP, SKIP, COUT>
{
    /// Up-samples `x`, concatenates `[up, skip]` (skip center-cropped), convolves.
    pub fn forward<L: Level>(
        &self,
        x: Feature3<B, CDEEP, Down<L>>,
        skip: Feature3<B, SKIP, L>,
    ) -> Feature3<B, COUT, L> {
        let x = x.into_tensor();
        let up = match (&self.transposed, &self.project) {
            (Some(t), _) => t.forward(x),
            (None, Some(p)) => p.forward(upsample_nearest3d_2x(x)),
            (None, None) => upsample_nearest3d_2x(x),
        };
        self.conv
            .forward(Concat3::new(Feature3::<B, UP, L>::trusted(up), skip))
    }
}

/// 1x1x1 convolution to class logits.
#[derive(Module, Debug)]
pub struct Head3d<B: Backend, const CIN: usize, const CLASSES: usize> {
    /// The 1x1x1 convolution.
    pub conv: Conv3d<B>,
}

/// Configuration of [`Head3d`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Head3dConfig;

impl Head3dConfig {
    /// The (only) configuration.
    pub fn new() -> Self {
        Self
    }

    /// A [`Head3d`] taking `CIN` channels to `CLASSES` logits.
    pub fn init<B: Backend, const CIN: usize, const CLASSES: usize>(
        &self,
        device: &B::Device,
    ) -> Head3d<B, CIN, CLASSES> {
        Head3d {
            conv: conv3(CIN, CLASSES, 1, PaddingKind::Valid, true, device),
        }
    }
}

impl<B: Backend, const CIN: usize, const CLASSES: usize> Head3d<B, CIN, CLASSES> {
    /// Per-voxel logits.
    pub fn forward<L: Level>(&self, x: Feature3<B, CIN, L>) -> Feature3<B, CLASSES, L> {
        Feature3::trusted(self.conv.forward(x.into_tensor()))
    }
}
