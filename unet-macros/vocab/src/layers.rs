//! Every layer's output as torchsummary sees a network: one output per PyTorch module (conv,
//! norm, activation, dropout, pool, up-sampling), none for functional steps (concat, crop,
//! the residual sum, an attention product). The layer table's sizes and its memory figures
//! come from here: at expansion for a declared input, at run time for any input.

use crate::geometry::PaddingKind;
use crate::options::{Attention, BlockOptions, NormKind, UpMode};
use crate::params::{gate_inner, scse_squeeze};

/// The spatial extent of a feature map along each axis, as a function of the input's side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Extent {
    /// `(P - offset) / 2^level`, `P` the input side after `pad_input`'s padding. Exact (no
    /// rounding) for every input the network accepts.
    Map {
        /// Pixels lost to valid convolutions, in input pixels.
        offset: usize,
        /// Resolution level: the map is `2^level` times coarser than the input.
        level: usize,
    },
    /// The input's own side, before `pad_input`'s padding: the crop back.
    Input,
    /// One element per axis: a global average pool.
    Pooled,
}

impl Extent {
    /// The input's extent (after `pad_input`'s padding).
    pub const FULL: Extent = Extent::Map {
        offset: 0,
        level: 0,
    };

    /// The side of this extent for an input of side `input`, `padded` after `pad_input`
    /// (equal to `input` without it); 0 where the input is too small to reach it.
    pub fn side(self, padded: usize, input: usize) -> usize {
        match self {
            Extent::Map { offset, level } => padded.saturating_sub(offset) >> level.min(63),
            Extent::Input => input,
            Extent::Pooled => 1,
        }
    }

    /// `H`, `H/4`, `H-4` or `(H-12)/2` for the axis called `axis`; `1` once pooled.
    pub fn symbol(self, axis: &str) -> String {
        match self {
            Extent::Map {
                offset: 0,
                level: 0,
            } => axis.to_string(),
            Extent::Map { offset: 0, level } => format!("{axis}/{}", 1u128 << level.min(127)),
            Extent::Map { offset, level: 0 } => format!("{axis}-{offset}"),
            Extent::Map { offset, level } => {
                format!("({axis}-{offset})/{}", 1u128 << level.min(127))
            }
            Extent::Input => axis.trim_end_matches('\'').to_string(),
            Extent::Pooled => "1".into(),
        }
    }

    /// After a 3x3 convolution: a valid one loses a pixel on each side at this level.
    pub fn conv3x3(self, padding: PaddingKind) -> Extent {
        match (self, padding) {
            (Extent::Map { offset, level }, PaddingKind::Valid) => Extent::Map {
                offset: offset.saturating_add(2usize.checked_shl(level as u32).unwrap_or(0)),
                level,
            },
            (other, _) => other,
        }
    }

    /// After a 2x down-sampling (max-pool).
    pub fn down(self) -> Extent {
        match self {
            Extent::Map { offset, level } => Extent::Map {
                offset,
                level: level + 1,
            },
            other => other,
        }
    }

    /// After a 2x up-sampling.
    pub fn up(self) -> Extent {
        match self {
            Extent::Map { offset, level } => Extent::Map {
                offset,
                level: level.saturating_sub(1),
            },
            other => other,
        }
    }
}

/// One module's output: its name inside the row's block, what it is (PyTorch's class name),
/// its channels and spatial extent (the same along every axis). `K` is the kind's text: a
/// `String` while the macro builds the table, `&'static str` in the generated constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LayerOutput<K = &'static str> {
    /// The module's field path in its block, e.g. `conv1` or `shortcut.project`.
    pub name: &'static str,
    /// PyTorch's name for the module, e.g. `Conv2d` or `BatchNorm2d`.
    pub kind: K,
    /// Output channels.
    pub channels: usize,
    /// Output extent along each spatial axis.
    pub extent: Extent,
}

/// A layer being listed.
type Layer = LayerOutput<String>;

fn out(name: &'static str, kind: impl Into<String>, channels: usize, extent: Extent) -> Layer {
    LayerOutput {
        name,
        kind: kind.into(),
        channels,
        extent,
    }
}

/// `Conv2d`, `MaxPool3d`: a PyTorch class name for `dims` dimensions.
fn nd(class: &str, dims: usize) -> String {
    format!("{class}{dims}d")
}

/// `pad_input`'s reflection pad of the `channels`-channel input, in `dims` dimensions.
pub fn pad(channels: usize, dims: usize) -> Vec<Layer> {
    vec![out(
        "pad",
        nd("ReflectionPad", dims),
        channels,
        Extent::FULL,
    )]
}

/// A 2x max-pool of a `channels`-channel map at extent `at` (its output is coarser).
pub fn pool(channels: usize, dims: usize, at: Extent) -> Vec<Layer> {
    vec![out("pool", nd("MaxPool", dims), channels, at.down())]
}

/// A 1x1 convolution head to `classes` logits at extent `at`.
pub fn head(classes: usize, dims: usize, at: Extent) -> Vec<Layer> {
    vec![out("conv", nd("Conv", dims), classes, at)]
}

/// The outputs of a DoubleConv `cin -> cout` on a map of extent `at`, in `dims` dimensions:
/// conv, norm, activation twice (the residual projection before the second activation),
/// then dropout.
pub fn double_conv(
    o: &BlockOptions,
    cin: usize,
    cout: usize,
    dims: usize,
    at: Extent,
) -> Vec<Layer> {
    let (first, second) = (
        at.conv3x3(o.padding),
        at.conv3x3(o.padding).conv3x3(o.padding),
    );
    let (conv, act) = (nd("Conv", dims), o.act.pytorch_name());
    let norm = |name, extent| {
        o.norm
            .pytorch_name(dims)
            .filter(|_| o.norm != NormKind::None)
            .map(|n| out(name, n, cout, extent))
    };
    let mut layers = vec![out("conv1", conv.clone(), cout, first)];
    layers.extend(norm("norm1", first));
    layers.extend([
        out("act1", act.clone(), cout, first),
        out("conv2", conv.clone(), cout, second),
    ]);
    layers.extend(norm("norm2", second));
    if o.residual && cin != cout {
        layers.push(out("shortcut.project", conv, cout, second));
    }
    layers.push(out("act2", act, cout, second));
    if o.dropout > 0.0 {
        layers.push(out("dropout", "Dropout", cout, second));
    }
    layers
}

/// The outputs of one 2x up-sampling `cin -> cout` of a map of extent `at`, in `dims`
/// dimensions.
pub fn up(mode: UpMode, cin: usize, cout: usize, dims: usize, at: Extent) -> Vec<Layer> {
    let doubled = at.up();
    let conv = nd("Conv", dims);
    let upsample = || out("interpolate", "Upsample", cin, doubled);
    match mode {
        UpMode::Transposed => vec![out("transposed", nd("ConvTranspose", dims), cout, doubled)],
        UpMode::Bilinear | UpMode::Nearest => vec![upsample(), out("project", conv, cout, doubled)],
        UpMode::BilinearConcat | UpMode::NearestConcat => vec![upsample()],
        UpMode::PixelShuffle => {
            let shuffled = cout.saturating_mul(1 << dims.min(8));
            vec![
                out("subpixel", conv, shuffled, at),
                out("shuffle", "PixelShuffle", cout, doubled),
            ]
        }
    }
}

/// The outputs of a decoder level's attention block at extent `at`: a gate on the
/// `skip`-channel skip (its two 1x1 projections, ReLU, 1x1 to one channel, sigmoid), or
/// scSE on the `c`-channel result (channel squeeze, ReLU, excitation, sigmoid; spatial
/// 1x1, sigmoid).
pub fn attention(kind: Attention, skip: usize, c: usize, dims: usize, at: Extent) -> Vec<Layer> {
    let conv = || nd("Conv", dims);
    match kind {
        Attention::None => Vec::new(),
        Attention::Gate => {
            let inner = gate_inner(skip);
            vec![
                out("gate", conv(), inner, at),
                out("skip", conv(), inner, at),
                out("relu", "ReLU", inner, at),
                out("psi", conv(), 1, at),
                out("sigmoid", "Sigmoid", 1, at),
            ]
        }
        Attention::Scse => {
            let (r, p) = (scse_squeeze(c), Extent::Pooled);
            vec![
                out("pool", nd("AdaptiveAvgPool", dims), c, p),
                out("squeeze", conv(), r, p),
                out("relu", "ReLU", r, p),
                out("excite", conv(), c, p),
                out("sigmoid", "Sigmoid", c, p),
                out("spatial", conv(), 1, at),
                out("spatial_sigmoid", "Sigmoid", 1, at),
            ]
        }
    }
}

/// Elements of `layers` for one sample of spatial sides `input` (`padded` after
/// `pad_input`), as torchsummary sums `output_shape`s; saturates instead of overflowing.
pub fn elements<K>(layers: &[LayerOutput<K>], padded: &[usize], input: &[usize]) -> u128 {
    layers.iter().fold(0u128, |acc, l| {
        let map = padded
            .iter()
            .zip(input)
            .fold(l.channels as u128, |n, (&p, &i)| {
                n.saturating_mul(l.extent.side(p, i) as u128)
            });
        acc.saturating_add(map)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_extents_give_the_papers_sizes_for_572() {
        let mut at = Extent::FULL;
        let mut sides = Vec::new();
        for _ in 0..4 {
            at = at.conv3x3(PaddingKind::Valid);
            sides.push(at.side(572, 572));
            at = at.conv3x3(PaddingKind::Valid);
            sides.push(at.side(572, 572));
            at = at.down();
        }
        assert_eq!(sides, [570, 568, 282, 280, 138, 136, 66, 64]);
        let bottom = at.conv3x3(PaddingKind::Valid).conv3x3(PaddingKind::Valid);
        assert_eq!(bottom.side(572, 572), 28);
        assert_eq!(bottom.up().side(572, 572), 56);
        assert_eq!(bottom.symbol("H"), "(H-124)/16");
    }

    #[test]
    fn symbols_name_the_reduction() {
        let at = |offset, level| Extent::Map { offset, level };
        assert_eq!(at(0, 0).symbol("H"), "H");
        assert_eq!(at(0, 2).symbol("W"), "W/4");
        assert_eq!(at(4, 0).symbol("H"), "H-4");
        assert_eq!(at(12, 1).symbol("D"), "(D-12)/2");
        assert_eq!(Extent::Input.symbol("H'"), "H");
        assert_eq!(Extent::Pooled.symbol("H"), "1");
    }

    #[test]
    fn a_batch_norm_dropout_double_conv_has_seven_outputs() {
        let o = BlockOptions {
            norm: NormKind::Batch,
            dropout: 0.5,
            ..BlockOptions::new(PaddingKind::Same)
        };
        let layers = double_conv(&o, 1, 8, 2, Extent::FULL);
        let names: Vec<&str> = layers.iter().map(|l| l.name).collect();
        assert_eq!(
            names,
            ["conv1", "norm1", "act1", "conv2", "norm2", "act2", "dropout"]
        );
        assert_eq!(layers[1].kind, "BatchNorm2d");
        assert_eq!(elements(&layers, &[4, 4], &[4, 4]), 7 * 8 * 16);
        let plain = double_conv(&BlockOptions::new(PaddingKind::Same), 1, 8, 3, Extent::FULL);
        assert_eq!(plain.len(), 4);
        assert_eq!(plain[0].kind, "Conv3d");
    }

    #[test]
    fn pixel_shuffle_convolves_at_the_coarse_size_then_doubles() {
        let at = Extent::Map {
            offset: 0,
            level: 1,
        };
        let layers = up(UpMode::PixelShuffle, 16, 8, 2, at);
        assert_eq!(elements(&layers, &[8, 8], &[8, 8]), 32 * 16 + 8 * 64);
    }
}
