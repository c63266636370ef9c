//! Two 3x3 conv (+ norm) + activation: the body of every U-Net level, optionally residual
//! and followed by dropout.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::norm::Normalization;
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::conv3x3;
use super::options::{norm_layer, Act, BlockOptions};
use crate::feature::{center_crop, Concat, Feature};
use crate::kernels::conv2d;
use crate::level::Level;

/// Configuration of [`DoubleConv`] and [`MergeConv`]; channel counts come from the type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DoubleConvConfig {
    /// Padding, norm, activation, residual wiring and dropout.
    pub options: BlockOptions,
}

/// The layers of a double convolution, shared by [`DoubleConv`] and [`MergeConv`].
struct Parts<B: Backend> {
    conv1: Conv2d<B>,
    norm1: Option<Normalization<B>>,
    act1: Act<B>,
    conv2: Conv2d<B>,
    norm2: Option<Normalization<B>>,
    act2: Act<B>,
    shortcut: Option<Shortcut<B>>,
    dropout: Option<Dropout>,
}

impl DoubleConvConfig {
    /// A configuration from a padding (the classic block) or full [`BlockOptions`].
    pub fn new(options: impl Into<BlockOptions>) -> Self {
        Self {
            options: options.into(),
        }
    }

    fn parts<B: Backend>(&self, cin: usize, cout: usize, device: &B::Device) -> Parts<B> {
        let o = self.options;
        let bias = o.norm.conv_bias();
        Parts {
            conv1: conv3x3(cin, cout, o.padding, bias, device),
            norm1: norm_layer(o.norm, cout, device),
            act1: Act::new(o.act, device),
            conv2: conv3x3(cout, cout, o.padding, bias, device),
            norm2: norm_layer(o.norm, cout, device),
            act2: Act::new(o.act, device),
            shortcut: o.residual.then(|| Shortcut {
                project: (cin != cout).then(|| Conv2dConfig::new([cin, cout], [1, 1]).init(device)),
            }),
            dropout: (o.dropout > 0.0).then(|| DropoutConfig::new(o.dropout).init()),
        }
    }

    /// A [`DoubleConv`] taking `CIN` channels to `COUT`.
    pub fn init<B: Backend, const CIN: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> DoubleConv<B, CIN, COUT> {
        let p = self.parts(CIN, COUT, device);
        DoubleConv {
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

    /// A [`MergeConv`] taking a `[UP, SKIP]` concatenation to `COUT` channels.
    pub fn init_merge<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>(
        &self,
        device: &B::Device,
    ) -> MergeConv<B, UP, SKIP, COUT> {
        let p = self.parts(UP + SKIP, COUT, device);
        MergeConv {
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

/// The residual path of a DoubleConv: identity, or a 1x1 projection when widths differ.
#[derive(Module, Debug)]
pub struct Shortcut<B: Backend> {
    /// 1x1 convolution `CIN -> COUT`, present when the widths differ.
    pub project: Option<Conv2d<B>>,
}

impl<B: Backend> Shortcut<B> {
    /// The input, projected and center-cropped to `[h, w]` (valid padding shrinks the body).
    fn forward(&self, x: Tensor<B, 4>, h: usize, w: usize) -> Tensor<B, 4> {
        let x = center_crop(x, h, w);
        match &self.project {
            Some(p) => conv2d(p, x),
            None => x,
        }
    }
}

/// conv -> norm -> act -> conv -> norm (-> + shortcut) -> act (-> dropout).
#[allow(clippy::too_many_arguments)]
fn run<B: Backend>(
    conv1: &Conv2d<B>,
    norm1: &Option<Normalization<B>>,
    act1: &Act<B>,
    conv2: &Conv2d<B>,
    norm2: &Option<Normalization<B>>,
    act2: &Act<B>,
    shortcut: &Option<Shortcut<B>>,
    dropout: &Option<Dropout>,
    x: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let norm = |n: &Option<Normalization<B>>, t: Tensor<B, 4>| match n {
        Some(n) => n.forward(t),
        None => t,
    };
    let residual = shortcut.as_ref().map(|s| (s, x.clone()));
    let h = act1.forward(norm(norm1, conv2d(conv1, x)));
    let mut y = norm(norm2, conv2d(conv2, h));
    if let Some((s, x)) = residual {
        let [_, _, h, w] = y.dims();
        y = y + s.forward(x, h, w);
    }
    let y = act2.forward(y);
    match dropout {
        Some(d) => d.forward(y),
        None => y,
    }
}

/// Two 3x3 convolutions `CIN -> COUT -> COUT`, each followed by the norm and the activation,
/// at any level.
#[derive(Module, Debug)]
pub struct DoubleConv<B: Backend, const CIN: usize, const COUT: usize> {
    /// First convolution, `CIN -> COUT`.
    pub conv1: Conv2d<B>,
    /// Norm after the first convolution.
    pub norm1: Option<Normalization<B>>,
    /// First activation.
    pub act1: Act<B>,
    /// Second convolution, `COUT -> COUT`.
    pub conv2: Conv2d<B>,
    /// Norm after the second convolution.
    pub norm2: Option<Normalization<B>>,
    /// Second activation (after the residual sum).
    pub act2: Act<B>,
    /// The residual path, for residual blocks.
    pub shortcut: Option<Shortcut<B>>,
    /// Dropout on the block's output.
    pub dropout: Option<Dropout>,
}

impl<B: Backend, const CIN: usize, const COUT: usize> DoubleConv<B, CIN, COUT> {
    /// Applies the block; the level is unchanged.
    pub fn forward<L: Level>(&self, x: Feature<B, CIN, L>) -> Feature<B, COUT, L> {
        Feature::trusted(run(
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

/// A [`DoubleConv`] whose input is a decoder concatenation: it accepts only a
/// [`Concat`] of an up-sampled map (`UP` channels) and a skip (`SKIP` channels).
#[derive(Module, Debug)]
pub struct MergeConv<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize> {
    /// First convolution, `UP + SKIP -> COUT`.
    pub conv1: Conv2d<B>,
    /// Norm after the first convolution.
    pub norm1: Option<Normalization<B>>,
    /// First activation.
    pub act1: Act<B>,
    /// Second convolution, `COUT -> COUT`.
    pub conv2: Conv2d<B>,
    /// Norm after the second convolution.
    pub norm2: Option<Normalization<B>>,
    /// Second activation (after the residual sum).
    pub act2: Act<B>,
    /// The residual path, for residual blocks.
    pub shortcut: Option<Shortcut<B>>,
    /// Dropout on the block's output.
    pub dropout: Option<Dropout>,
}

impl<B: Backend, const UP: usize, const SKIP: usize, const COUT: usize>
    MergeConv<B, UP, SKIP, COUT>
{
    /// Applies the block to the concatenation.
    pub fn forward<L: Level>(&self, x: Concat<B, UP, SKIP, L>) -> Feature<B, COUT, L> {
        Feature::trusted(run(
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

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use crate::geometry::PaddingKind;
    use burn::backend::Flex;
    use unet_vocab::{params, ActKind, NormKind};

    type B = Flex;

    /// Options whose norms keep no running statistics, so burn's count is PyTorch's.
    fn variants() -> Vec<BlockOptions> {
        let base = BlockOptions::new(PaddingKind::Same);
        vec![
            base,
            BlockOptions {
                norm: NormKind::Group(2),
                act: ActKind::PRelu,
                ..base
            },
            BlockOptions {
                norm: NormKind::Instance,
                residual: true,
                ..base
            },
            BlockOptions {
                norm: NormKind::Layer,
                act: ActKind::Gelu,
                residual: true,
                ..base
            },
        ]
    }

    #[test]
    fn allocated_parameters_are_the_vocabulary_count() {
        let device = Default::default();
        for o in variants() {
            let block: DoubleConv<B, 3, 8> = DoubleConvConfig::new(o).init(&device);
            assert_eq!(
                Some(block.num_params()),
                params::double_conv(&o, 3, 8, 2),
                "{o:?}"
            );
            let merge: MergeConv<B, 8, 4, 4> = DoubleConvConfig::new(o).init_merge(&device);
            assert_eq!(
                Some(merge.num_params()),
                params::double_conv(&o, 12, 4, 2),
                "{o:?}"
            );
        }
    }

    #[test]
    fn batch_norm_adds_only_running_statistics_beyond_the_vocabulary_count() {
        let o = BlockOptions {
            norm: NormKind::Batch,
            ..BlockOptions::new(PaddingKind::Same)
        };
        let block: DoubleConv<B, 3, 8> = DoubleConvConfig::new(o).init(&Default::default());
        // burn counts each BatchNorm's running mean and variance; PyTorch calls them buffers.
        let running = 2 * 2 * 8;
        assert_eq!(
            Some(block.num_params() - running),
            params::double_conv(&o, 3, 8, 2)
        );
    }
}
