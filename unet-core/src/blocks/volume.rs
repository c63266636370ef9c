//! 3D blocks for `dims: 3` (the 3D U-Net of Çiçek et al. 2016): 3x3x3 convolutions, 2x2x2
//! max-pooling, 2x up-sampling of depth, height and width. Same wiring and options as the 2D
//! blocks, on [`Feature3d`] volumes.

use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig, ConvTranspose3d, ConvTranspose3dConfig};
use burn::nn::norm::Normalization;
use burn::nn::{Dropout, DropoutConfig, PaddingConfig3d};
use burn::tensor::backend::Backend;
use burn::tensor::module::max_pool2d;
use burn::tensor::Tensor;

use super::attention3d::{AttentionGate3d, AttentionGate3dConfig, Scse3d, Scse3dConfig};
use super::options::{norm_layer, Act, BlockOptions};
use super::up::UpMode;
use super::up_block::Attention;
use crate::feature::{center_crop3d, Concat3d, Feature3d};
use crate::geometry::PaddingKind;
use crate::level::{Down, Level};

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

    fn parts<B: Backend>(&self, cin: usize, cout: usize, device: &B::Device) -> Parts3d<B> {
        let o = self.options;
        let bias = o.norm.conv_bias();
        Parts3d {
            conv1: conv3(cin, cout, 3, o.padding, bias, device),
            norm1: norm_layer(o.norm, cout, device),
            act1: Act::new(o.act, device),
            conv2: conv3(cout, cout, 3, o.padding, bias, device),
            norm2: norm_layer(o.norm, cout, device),
            act2: Act::new(o.act, device),
            shortcut: o.residual.then(|| Shortcut3d {
                project: (cin != cout)
                    .then(|| conv3(cin, cout, 1, PaddingKind::Valid, true, device)),
            }),
            dropout: (o.dropout > 0.0).then(|| DropoutConfig::new(o.dropout).init()),
        }
    }

    /// A [`DoubleConv3d`] taking `CIN` channels to `COUT`.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> DoubleConv3d<B, CIN, COUT> {
        let p = self.parts(CIN, COUT, device);
        DoubleConv3d {
            conv1: p.conv1,
            norm1: p.norm1,
            act1: p.act1,
            conv2: p.conv2,
            norm2: p.norm2,
            act2: p.act2,
            shortcut: p.shortcut,
            dropout: p.dropout,
        }
    }

    /// A [`MergeConv3d`] taking a `[UP, SKIP]` concatenation to `COUT` channels.
    pub fn init_merge<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> MergeConv3d<B, UP, SKIP, COUT> {
        let p = self.parts(UP + SKIP, COUT, device);
        MergeConv3d {
            conv1: p.conv1,
            norm1: p.norm1,
            act1: p.act1,
            conv2: p.conv2,
            norm2: p.norm2,
            act2: p.act2,
            shortcut: p.shortcut,
            dropout: p.dropout,
        }
    }
}

/// The layers of a 3D double convolution, shared by [`DoubleConv3d`] and [`MergeConv3d`].
struct Parts3d<B: Backend> {
    conv1: Conv3d<B>,
    norm1: Option<Normalization<B>>,
    act1: Act<B>,
    conv2: Conv3d<B>,
    norm2: Option<Normalization<B>>,
    act2: Act<B>,
    shortcut: Option<Shortcut3d<B>>,
    dropout: Option<Dropout>,
}

/// The residual path of a 3D DoubleConv: identity, or a 1x1x1 projection when widths differ.
#[derive(Module, Debug)]
pub struct Shortcut3d<B: Backend> {
    /// 1x1x1 convolution `CIN -> COUT`, present when the widths differ.
    pub project: Option<Conv3d<B>>,
}

/// conv -> norm -> act -> conv -> norm (-> + shortcut) -> act (-> dropout), in 3D: the 2D
/// blocks' wiring, and their field names, so both share one PyTorch key table.
#[allow(clippy::too_many_arguments)]
fn run3d<B: Backend>(
    conv1: &Conv3d<B>,
    norm1: &Option<Normalization<B>>,
    act1: &Act<B>,
    conv2: &Conv3d<B>,
    norm2: &Option<Normalization<B>>,
    act2: &Act<B>,
    shortcut: &Option<Shortcut3d<B>>,
    dropout: &Option<Dropout>,
    x: Tensor<B, 5>,
) -> Tensor<B, 5> {
    let norm = |n: &Option<Normalization<B>>, t: Tensor<B, 5>| match n {
        Some(n) => n.forward(t),
        None => t,
    };
    let residual = shortcut.as_ref().map(|s| (s, x.clone()));
    let h = act1.forward(norm(norm1, conv1.forward(x)));
    let mut y = norm(norm2, conv2.forward(h));
    if let Some((s, x)) = residual {
        let [_, _, d, h, w] = y.dims();
        let x = center_crop3d(x, [d, h, w]);
        y = y + match &s.project {
            Some(p) => p.forward(x),
            None => x,
        };
    }
    let y = act2.forward(y);
    match dropout {
        Some(d) => d.forward(y),
        None => y,
    }
}

/// Two 3x3x3 convolutions `CIN -> COUT -> COUT` at any level.
#[derive(Module, Debug)]
pub struct DoubleConv3d<B: Backend, const CIN: usize, const COUT: usize> {
    /// First convolution, `CIN -> COUT`.
    pub conv1: Conv3d<B>,
    /// Norm after the first convolution.
    pub norm1: Option<Normalization<B>>,
    /// First activation.
    pub act1: Act<B>,
    /// Second convolution, `COUT -> COUT`.
    pub conv2: Conv3d<B>,
    /// Norm after the second convolution.
    pub norm2: Option<Normalization<B>>,
    /// Second activation (after the residual sum).
    pub act2: Act<B>,
    /// The residual path, for residual blocks.
    pub shortcut: Option<Shortcut3d<B>>,
    /// Dropout on the block's output.
    pub dropout: Option<Dropout>,
}

impl<B: Backend, const CIN: usize, const COUT: usize> DoubleConv3d<B, CIN, COUT> {
    /// Applies the block; the level is unchanged.
    pub fn forward<L: Level>(&self, x: Feature3d<B, CIN, L>) -> Feature3d<B, COUT, L> {
        Feature3d::trusted(run3d(
            &self.conv1,
            &self.norm1,
            &self.act1,
            &self.conv2,
            &self.norm2,
            &self.act2,
            &self.shortcut,
            &self.dropout,
            x.into_tensor(),
        ))
    }
}

/// A [`DoubleConv3d`] that accepts only a [`Concat3d`] of an up-sampled map and a skip.
#[derive(Module, Debug)]
pub struct MergeConv3d<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize> {
    /// First convolution, `UP + SKIP -> COUT`.
    pub conv1: Conv3d<B>,
    /// Norm after the first convolution.
    pub norm1: Option<Normalization<B>>,
    /// First activation.
    pub act1: Act<B>,
    /// Second convolution, `COUT -> COUT`.
    pub conv2: Conv3d<B>,
    /// Norm after the second convolution.
    pub norm2: Option<Normalization<B>>,
    /// Second activation (after the residual sum).
    pub act2: Act<B>,
    /// The residual path, for residual blocks.
    pub shortcut: Option<Shortcut3d<B>>,
    /// Dropout on the block's output.
    pub dropout: Option<Dropout>,
}

impl<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>
    MergeConv3d<B, UP, SKIP, COUT>
{
    /// Applies the block to the concatenation.
    pub fn forward<L: Level>(&self, x: Concat3d<B, UP, SKIP, L>) -> Feature3d<B, COUT, L> {
        Feature3d::trusted(run3d(
            &self.conv1,
            &self.norm1,
            &self.act1,
            &self.conv2,
            &self.norm2,
            &self.act2,
            &self.shortcut,
            &self.dropout,
            x.into_tensor(),
        ))
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
        x: Feature3d<B, CIN, L>,
    ) -> (Feature3d<B, COUT, L>, Feature3d<B, COUT, Down<L>>) {
        let skip = self.conv.forward(x);
        let pooled = Feature3d::trusted(max_pool3d_2x(skip.tensor().clone()));
        (skip, pooled)
    }
}

/// Linear 2x up-sampling along `axis` (align_corners false, as PyTorch): each output pair
/// weighs the nearer input 3/4 and its neighbour (clamped at the border) 1/4.
fn linear_2x_along<B: Backend>(x: Tensor<B, 5>, axis: usize) -> Tensor<B, 5> {
    let n = x.dims()[axis];
    let (before, after) = if n == 1 {
        (x.clone(), x.clone())
    } else {
        (
            Tensor::cat(
                vec![
                    x.clone().narrow(axis, 0, 1),
                    x.clone().narrow(axis, 0, n - 1),
                ],
                axis,
            ),
            Tensor::cat(
                vec![
                    x.clone().narrow(axis, 1, n - 1),
                    x.clone().narrow(axis, n - 1, 1),
                ],
                axis,
            ),
        )
    };
    let even = x.clone().mul_scalar(0.75) + before.mul_scalar(0.25);
    let odd = x.mul_scalar(0.75) + after.mul_scalar(0.25);
    let mut dims = even.dims();
    dims[axis] *= 2;
    Tensor::stack::<6>(vec![even, odd], axis + 1).reshape(dims)
}

/// Trilinear 2x up-sampling of depth, height and width (PyTorch's
/// `Upsample(scale_factor=2, mode="trilinear")`): linear along each axis in turn.
pub fn upsample_trilinear3d_2x<B: Backend>(x: Tensor<B, 5>) -> Tensor<B, 5> {
    (2..5).fold(x, linear_2x_along)
}

/// Sub-voxel shuffle: `[N, 8C, D, H, W] -> [N, C, 2D, 2H, 2W]`, channel `8c + 4i + 2j + k`
/// going to offsets `(i, j, k)` (PyTorch's `PixelShuffle` ordering, one axis more).
pub fn voxel_shuffle<B: Backend>(x: Tensor<B, 5>) -> Tensor<B, 5> {
    let [n, c8, d, h, w] = x.dims();
    let c = c8 / 8;
    x.reshape([n * c, 2, 2, 2, d, h, w])
        .permute([0, 4, 1, 5, 2, 6, 3])
        .reshape([n, c, 2 * d, 2 * h, 2 * w])
}

/// Configuration of [`UpSample3d`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpSample3dConfig {
    /// The up-sampling method.
    pub mode: UpMode,
}

impl UpSample3dConfig {
    /// A configuration with the given method.
    pub fn new(mode: UpMode) -> Self {
        Self { mode }
    }

    /// An [`UpSample3d`] taking `CIN` channels to `COUT` (equal for the `*_concat` modes,
    /// which the type of [`UpBlock3d`] ensures).
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> UpSample3d<B, CIN, COUT> {
        let mode = self.mode;
        UpSample3d {
            transposed: (mode == UpMode::Transposed).then(|| {
                ConvTranspose3dConfig::new([CIN, COUT], [2, 2, 2])
                    .with_stride([2, 2, 2])
                    .init(device)
            }),
            project: matches!(mode, UpMode::Bilinear | UpMode::Nearest)
                .then(|| conv3(CIN, COUT, 1, PaddingKind::Valid, true, device)),
            subpixel: (mode == UpMode::PixelShuffle)
                .then(|| conv3(CIN, 8 * COUT, 3, PaddingKind::Same, true, device)),
            linear: matches!(mode, UpMode::Bilinear | UpMode::BilinearConcat),
        }
    }
}

/// 2x up-sampling of a volume from level `Down<L>` to `L`, `CIN -> COUT` channels; the 2D
/// [`UpSample`](super::UpSample)'s field names.
#[derive(Module, Debug)]
pub struct UpSample3d<B: Backend, const CIN: usize, const COUT: usize> {
    /// Set for [`UpMode::Transposed`].
    pub transposed: Option<ConvTranspose3d<B>>,
    /// The 1x1x1 convolution after interpolation ([`UpMode::Bilinear`], [`UpMode::Nearest`]).
    pub project: Option<Conv3d<B>>,
    /// The 3x3x3 convolution before the voxel shuffle ([`UpMode::PixelShuffle`]).
    pub subpixel: Option<Conv3d<B>>,
    /// Whether interpolation is trilinear rather than nearest.
    pub linear: bool,
}

impl<B: Backend, const CIN: usize, const COUT: usize> UpSample3d<B, CIN, COUT> {
    /// Doubles D, H and W and maps `CIN` to `COUT` channels.
    pub fn forward<L: Level>(&self, x: Feature3d<B, CIN, Down<L>>) -> Feature3d<B, COUT, L> {
        let x = x.into_tensor();
        let x = match (&self.transposed, &self.subpixel) {
            (Some(t), _) => t.forward(x),
            (None, Some(s)) => voxel_shuffle(s.forward(x)),
            (None, None) => {
                let x = if self.linear {
                    upsample_trilinear3d_2x(x)
                } else {
                    upsample_nearest3d_2x(x)
                };
                match &self.project {
                    Some(p) => p.forward(x),
                    None => x,
                }
            }
        };
        Feature3d::trusted(x)
    }
}

/// Configuration of [`UpBlock3d`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpBlock3dConfig {
    /// The up-sampling method.
    pub mode: UpMode,
    /// Options of the DoubleConv.
    pub options: BlockOptions,
    /// Attention on the skip or the block's output.
    pub attention: Attention,
}

impl UpBlock3dConfig {
    /// A configuration with the given up-sampling and options; no attention.
    pub fn new(mode: UpMode, options: impl Into<BlockOptions>) -> Self {
        Self {
            mode,
            options: options.into(),
            attention: Attention::None,
        }
    }

    /// The same configuration with the given attention.
    pub fn with_attention(self, attention: Attention) -> Self {
        Self { attention, ..self }
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
            up: UpSample3dConfig::new(self.mode).init(device),
            gate: (self.attention == Attention::Gate)
                .then(|| AttentionGate3dConfig::new().init(device)),
            conv: DoubleConv3dConfig::new(self.options).init_merge(device),
            scse: (self.attention == Attention::Scse).then(|| Scse3dConfig::new().init(device)),
        }
    }
}

/// One 3D decoder level: 2x up-sampling `CDEEP -> UP` channels, concatenation with a
/// `SKIP`-channel skip (center-cropped), DoubleConv3d to `COUT`.
#[derive(Module, Debug)]
pub struct UpBlock3d<
    B: Backend,
    const CDEEP: usize,
    const UP: usize,
    const SKIP: usize,
    const COUT: usize,
> {
    /// The 2x up-sampling.
    pub up: UpSample3d<B, CDEEP, UP>,
    /// The attention gate on the skip ([`Attention::Gate`]).
    pub gate: Option<AttentionGate3d<B, UP, SKIP>>,
    /// The two 3x3x3 convolutions over the concatenation.
    pub conv: MergeConv3d<B, UP, SKIP, COUT>,
    /// scSE on the block's output ([`Attention::Scse`]).
    pub scse: Option<Scse3d<B, COUT>>,
}

impl<B: Backend, const CDEEP: usize, const UP: usize, const SKIP: usize, const COUT: usize>
    UpBlock3d<B, CDEEP, UP, SKIP, COUT>
{
    /// Up-samples `x`, center-crops the skip to its size, gates it, concatenates
    /// `[up, skip]`, convolves (, recalibrates).
    pub fn forward<L: Level>(
        &self,
        x: Feature3d<B, CDEEP, Down<L>>,
        skip: Feature3d<B, SKIP, L>,
    ) -> Feature3d<B, COUT, L> {
        let up = self.up.forward(x);
        let skip = match &self.gate {
            Some(gate) => {
                let [_, _, d, h, w] = up.dims();
                let cropped = Feature3d::trusted(center_crop3d(skip.into_tensor(), [d, h, w]));
                gate.forward(&up, cropped)
            }
            None => skip,
        };
        let out = self.conv.forward(Concat3d::new(up, skip));
        match &self.scse {
            Some(scse) => scse.forward(out),
            None => out,
        }
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
    pub fn forward<L: Level>(&self, x: Feature3d<B, CIN, L>) -> Feature3d<B, CLASSES, L> {
        Feature3d::trusted(self.conv.forward(x.into_tensor()))
    }
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::interpolate::{Interpolate2dConfig, InterpolateMode};
    use burn::tensor::{Distribution, TensorData};
    use unet_vocab::{params, ActKind, NormKind};

    type B = Flex;

    #[test]
    fn blocks_allocate_the_vocabulary_count_in_3d() {
        let device = Default::default();
        let base = BlockOptions::new(PaddingKind::Same);
        for o in [
            base,
            BlockOptions {
                norm: NormKind::Group(2),
                act: ActKind::PRelu,
                residual: true,
                ..base
            },
        ] {
            let block: DoubleConv3d<B, 2, 4> = DoubleConv3dConfig::new(o).init(&device);
            assert_eq!(
                Some(block.num_params()),
                params::double_conv(&o, 2, 4, 3),
                "{o:?}"
            );
        }
        for mode in [
            UpMode::Transposed,
            UpMode::Bilinear,
            UpMode::Nearest,
            UpMode::PixelShuffle,
        ] {
            let up: UpSample3d<B, 8, 4> = UpSample3dConfig::new(mode).init(&device);
            assert_eq!(Some(up.num_params()), params::up(mode, 8, 4, 3), "{mode:?}");
        }
    }

    #[test]
    fn trilinear_of_a_single_slice_is_bilinear_on_each_output_slice() {
        let device = Default::default();
        let image = Tensor::<B, 4>::random([1, 2, 4, 5], Distribution::Normal(0.0, 1.0), &device);
        let bilinear = Interpolate2dConfig::new()
            .with_scale_factor(Some([2.0, 2.0]))
            .with_mode(InterpolateMode::Linear)
            .with_align_corners(false)
            .init()
            .forward(image.clone());
        let volume = upsample_trilinear3d_2x(image.unsqueeze_dim::<5>(2));
        assert_eq!(volume.dims(), [1, 2, 2, 8, 10]);
        for slice in 0..2 {
            let got = volume.clone().narrow(2, slice, 1).squeeze_dim::<4>(2);
            let diff = (got - bilinear.clone()).abs().max().into_scalar();
            assert!(diff < 1e-5, "slice {slice}: {diff}");
        }
    }

    #[test]
    fn voxel_shuffle_sends_channel_8c_4i_2j_k_to_offset_i_j_k() {
        let device = Default::default();
        let x = Tensor::<B, 1, burn::tensor::Int>::arange(0..8, &device)
            .float()
            .reshape([1, 8, 1, 1, 1]);
        let y = voxel_shuffle(x);
        assert_eq!(y.dims(), [1, 1, 2, 2, 2]);
        let values = y.into_data().convert::<f32>().to_vec::<f32>().unwrap();
        assert_eq!(
            values,
            TensorData::from([0.0f32, 1., 2., 3., 4., 5., 6., 7.])
                .to_vec::<f32>()
                .unwrap()
        );
    }
}
