//! Every option a network can take, defined once: the words the macro accepts, the Rust
//! value the generated code writes, the PyTorch layer it stands for.
//!
//! Adding a variant here (and its layer in `unet-core`'s blocks) is all a new option needs:
//! the macro parses, describes and counts it through these methods.

use crate::geometry::PaddingKind;

/// How generated code spells a value: `ActKind::LeakyRelu(0.01)` is `("LeakyRelu", Float(0.01))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arg {
    /// A unit variant.
    None,
    /// A variant holding a count (`NormKind::Group(8)`).
    Count(usize),
    /// A variant holding a number (`ActKind::LeakyRelu(0.01)`).
    Number(f64),
}

/// An option value the macro reads as a word (or `word(arg)`) and writes as a variant.
pub trait Word: Copy + Sized + 'static {
    /// The enum's name, as generated code names it (`"ActKind"`).
    const ENUM: &'static str;
    /// Every word the key accepts, in the README's order (words taking an argument too).
    const NAMES: &'static [&'static str];
    /// The word for this value (`"leaky_relu"`).
    fn name(self) -> &'static str;
    /// The variant's Rust name and argument.
    fn variant(self) -> (&'static str, Arg);
    /// The value a bare word stands for, or `None` for an unknown word or one that needs an
    /// argument.
    fn from_name(name: &str) -> Option<Self>;
}

/// `3x3` in 2D, `3x3x3` in 3D: a kernel's size as the layer table writes it.
pub fn kernel(size: usize, dims: usize) -> String {
    vec![size.to_string(); dims].join("x")
}

impl Word for PaddingKind {
    const ENUM: &'static str = "PaddingKind";
    const NAMES: &'static [&'static str] = &["same", "valid"];

    fn name(self) -> &'static str {
        match self {
            PaddingKind::Same => "same",
            PaddingKind::Valid => "valid",
        }
    }

    fn variant(self) -> (&'static str, Arg) {
        match self {
            PaddingKind::Same => ("Same", Arg::None),
            PaddingKind::Valid => ("Valid", Arg::None),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| [PaddingKind::Same, PaddingKind::Valid][i])
    }
}

/// How a decoder level doubles the resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpMode {
    /// Transposed convolution, kernel 2, stride 2, `CIN -> COUT`.
    Transposed,
    /// Linear 2x interpolation (bilinear, trilinear in 3D; align_corners false, as PyTorch's
    /// default), then a 1x1 convolution.
    Bilinear,
    /// Nearest 2x interpolation, then a 1x1 convolution.
    Nearest,
    /// Linear 2x interpolation only, channels kept: `CIN == COUT`, so the decoder convolution
    /// sees `CIN + SKIP` channels (the down/up layout's bilinear `Up`).
    BilinearConcat,
    /// Nearest 2x interpolation only, channels kept: `CIN == COUT`.
    NearestConcat,
    /// Sub-pixel convolution: 3x3 conv (padding 1) `CIN -> 4 * COUT`, then PyTorch's
    /// `PixelShuffle(2)`.
    PixelShuffle,
}

const UP_MODES: [UpMode; 6] = [
    UpMode::Transposed,
    UpMode::Bilinear,
    UpMode::Nearest,
    UpMode::BilinearConcat,
    UpMode::NearestConcat,
    UpMode::PixelShuffle,
];

impl Word for UpMode {
    const ENUM: &'static str = "UpMode";
    const NAMES: &'static [&'static str] = &[
        "transposed",
        "bilinear",
        "nearest",
        "bilinear_concat",
        "nearest_concat",
        "pixelshuffle",
    ];

    fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn variant(self) -> (&'static str, Arg) {
        let name = match self {
            UpMode::Transposed => "Transposed",
            UpMode::Bilinear => "Bilinear",
            UpMode::Nearest => "Nearest",
            UpMode::BilinearConcat => "BilinearConcat",
            UpMode::NearestConcat => "NearestConcat",
            UpMode::PixelShuffle => "PixelShuffle",
        };
        (name, Arg::None)
    }

    fn from_name(name: &str) -> Option<Self> {
        UP_MODES.into_iter().find(|m| m.name() == name)
    }
}

impl UpMode {
    /// Whether the mode keeps the deep map's channels (interpolation with no convolution).
    pub fn keeps_channels(self) -> bool {
        matches!(self, UpMode::BilinearConcat | UpMode::NearestConcat)
    }

    /// Channels out of the up-sampling of a `deep`-channel map at a level of width `out`.
    pub fn channels(self, deep: usize, out: usize) -> usize {
        if self.keeps_channels() {
            deep
        } else {
            out
        }
    }

    /// Why the mode has no `dims`-dimensional form, if it has none.
    pub fn unsupported(self, dims: usize) -> Option<&'static str> {
        match (self, dims) {
            (UpMode::PixelShuffle, 3) => Some(
                "PyTorch has no 3D pixel shuffle, so such weights could not move to or from it",
            ),
            _ => None,
        }
    }

    /// The layer table's description of the step in `dims` dimensions.
    pub fn describe(self, dims: usize) -> String {
        let linear = if dims == 3 { "trilinear" } else { "bilinear" };
        let one = kernel(1, dims);
        match self {
            UpMode::Transposed => format!("ConvTranspose {}, stride 2", kernel(2, dims)),
            UpMode::Bilinear => format!("Upsample {linear} x2 + Conv {one}"),
            UpMode::Nearest => format!("Upsample nearest x2 + Conv {one}"),
            UpMode::BilinearConcat => format!("Upsample {linear} x2"),
            UpMode::NearestConcat => "Upsample nearest x2".into(),
            UpMode::PixelShuffle => format!("Conv {} + PixelShuffle x2", kernel(3, dims)),
        }
    }
}

/// Normalization after each 3x3 convolution.
///
/// Every norm is affine (a scale and a shift per channel, `2 * C` parameters), and the
/// convolution before a norm has no bias, since the norm's shift makes it redundant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NormKind {
    /// No normalization; the convolutions keep their bias.
    None,
    /// `BatchNorm2d` / `BatchNorm3d` (momentum 0.1, eps 1e-5, as PyTorch).
    Batch,
    /// `InstanceNorm2d(affine=True)`, as nnU-Net.
    Instance,
    /// `GroupNorm(G, C)`; `G` divides every width (checked at expansion).
    Group(usize),
    /// Layer norm over `(C, H, W)` per sample: `GroupNorm(1, C)`, PyTorch's equivalent for
    /// feature maps.
    Layer,
}

impl Word for NormKind {
    const ENUM: &'static str = "NormKind";
    const NAMES: &'static [&'static str] = &["none", "batch", "instance", "group", "layer"];

    fn name(self) -> &'static str {
        match self {
            NormKind::None => "none",
            NormKind::Batch => "batch",
            NormKind::Instance => "instance",
            NormKind::Group(_) => "group",
            NormKind::Layer => "layer",
        }
    }

    fn variant(self) -> (&'static str, Arg) {
        match self {
            NormKind::None => ("None", Arg::None),
            NormKind::Batch => ("Batch", Arg::None),
            NormKind::Instance => ("Instance", Arg::None),
            NormKind::Group(g) => ("Group", Arg::Count(g)),
            NormKind::Layer => ("Layer", Arg::None),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            NormKind::None,
            NormKind::Batch,
            NormKind::Instance,
            NormKind::Layer,
        ]
        .into_iter()
        .find(|n| n.name() == name)
    }
}

impl NormKind {
    /// The word with its argument, as the macro's messages list it (`group(G)`).
    pub const FORMS: &'static str = "`none`, `batch`, `instance`, `group(G)`, `layer`";

    /// Whether a convolution followed by this norm carries a bias.
    pub fn conv_bias(self) -> bool {
        self == NormKind::None
    }

    /// The PyTorch layer, `None` for no norm.
    pub fn pytorch_name(self, dims: usize) -> Option<String> {
        match self {
            NormKind::None => None,
            NormKind::Batch => Some(format!("BatchNorm{dims}d")),
            NormKind::Instance => Some(format!("InstanceNorm{dims}d")),
            NormKind::Group(g) => Some(format!("GroupNorm({g})")),
            NormKind::Layer => Some("LayerNorm".into()),
        }
    }
}

/// The activation after each norm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ActKind {
    /// `max(x, 0)`.
    Relu,
    /// `max(x, slope * x)`.
    LeakyRelu(f64),
    /// Exact (erf) GELU, PyTorch's default.
    Gelu,
    /// `x * sigmoid(x)`.
    Silu,
    /// PReLU with one learned slope per layer (PyTorch's default, initialised to 0.25).
    PRelu,
    /// `x * tanh(softplus(x))` (Misra 2019).
    Mish,
}

impl Word for ActKind {
    const ENUM: &'static str = "ActKind";
    const NAMES: &'static [&'static str] = &["relu", "leaky_relu", "gelu", "silu", "prelu", "mish"];

    fn name(self) -> &'static str {
        match self {
            ActKind::Relu => "relu",
            ActKind::LeakyRelu(_) => "leaky_relu",
            ActKind::Gelu => "gelu",
            ActKind::Silu => "silu",
            ActKind::PRelu => "prelu",
            ActKind::Mish => "mish",
        }
    }

    fn variant(self) -> (&'static str, Arg) {
        match self {
            ActKind::Relu => ("Relu", Arg::None),
            ActKind::LeakyRelu(slope) => ("LeakyRelu", Arg::Number(slope)),
            ActKind::Gelu => ("Gelu", Arg::None),
            ActKind::Silu => ("Silu", Arg::None),
            ActKind::PRelu => ("PRelu", Arg::None),
            ActKind::Mish => ("Mish", Arg::None),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [
            ActKind::Relu,
            ActKind::LeakyRelu(Self::LEAKY_SLOPE),
            ActKind::Gelu,
            ActKind::Silu,
            ActKind::PRelu,
            ActKind::Mish,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }
}

impl ActKind {
    /// The slope of a bare `leaky_relu` (PyTorch's default).
    pub const LEAKY_SLOPE: f64 = 0.01;

    /// The word with its argument, as the macro's messages list it.
    pub const FORMS: &'static str = "`relu`, `leaky_relu(slope)`, `gelu`, `silu`, `prelu`, `mish`";

    /// The PyTorch layer (`LeakyReLU(0.01)`).
    pub fn pytorch_name(self) -> String {
        match self {
            ActKind::Relu => "ReLU".into(),
            ActKind::LeakyRelu(s) => format!("LeakyReLU({s})"),
            ActKind::Gelu => "GELU".into(),
            ActKind::Silu => "SiLU".into(),
            ActKind::PRelu => "PReLU".into(),
            ActKind::Mish => "Mish".into(),
        }
    }

    /// Learned parameters of one activation layer.
    pub fn params(self) -> usize {
        usize::from(self == ActKind::PRelu)
    }
}

/// Attention in the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attention {
    /// None: the classic U-Net.
    None,
    /// An additive attention gate on each skip, driven by the up-sampled map.
    Gate,
    /// Concurrent spatial and channel squeeze-and-excitation after each decoder DoubleConv.
    Scse,
}

impl Word for Attention {
    const ENUM: &'static str = "Attention";
    const NAMES: &'static [&'static str] = &["none", "gate", "scse"];

    fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    fn variant(self) -> (&'static str, Arg) {
        match self {
            Attention::None => ("None", Arg::None),
            Attention::Gate => ("Gate", Arg::None),
            Attention::Scse => ("Scse", Arg::None),
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Attention::None, Attention::Gate, Attention::Scse]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

/// Options shared by every convolution block of a network.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockOptions {
    /// Border handling of the 3x3 convolutions.
    pub padding: PaddingKind,
    /// Normalization after each 3x3 convolution.
    pub norm: NormKind,
    /// Activation after each norm.
    pub act: ActKind,
    /// Residual DoubleConv: adds the input (through a 1x1 projection when widths differ)
    /// before the second activation.
    pub residual: bool,
    /// Dropout probability at the end of the block (0 = none).
    pub dropout: f64,
}

impl BlockOptions {
    /// The classic block: the given padding, no norm, ReLU, plain, no dropout.
    pub const fn new(padding: PaddingKind) -> Self {
        Self {
            padding,
            norm: NormKind::None,
            act: ActKind::Relu,
            residual: false,
            dropout: 0.0,
        }
    }

    /// The same options with another dropout probability.
    pub const fn with_dropout(self, dropout: f64) -> Self {
        Self { dropout, ..self }
    }

    /// The layer table's description of a DoubleConv with these options.
    pub fn describe(&self, dims: usize) -> String {
        let norm = self
            .norm
            .pytorch_name(dims)
            .map_or(String::new(), |n| format!(" + {n}"));
        let mut text = format!(
            "{}DoubleConv (2x Conv {}{norm} + {})",
            if self.residual { "Residual " } else { "" },
            kernel(3, dims),
            self.act.pytorch_name()
        );
        if self.dropout > 0.0 {
            text.push_str(&format!(", Dropout {}", self.dropout));
        }
        text
    }
}

impl From<PaddingKind> for BlockOptions {
    fn from(padding: PaddingKind) -> Self {
        Self::new(padding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<W: Word + PartialEq + std::fmt::Debug>(values: &[W]) {
        for v in values {
            assert!(W::NAMES.contains(&v.name()), "{v:?}");
            if matches!(v.variant().1, Arg::None) {
                assert_eq!(W::from_name(v.name()), Some(*v));
            }
        }
    }

    #[test]
    fn every_word_names_its_value_and_reads_back() {
        round_trips(&UP_MODES);
        round_trips(&[PaddingKind::Same, PaddingKind::Valid]);
        round_trips(&[NormKind::None, NormKind::Batch, NormKind::Group(4)]);
        round_trips(&[ActKind::Relu, ActKind::Gelu, ActKind::PRelu, ActKind::Mish]);
        round_trips(&[Attention::None, Attention::Gate, Attention::Scse]);
    }

    #[test]
    fn words_that_need_an_argument_are_not_read_bare() {
        assert_eq!(NormKind::from_name("group"), None);
        assert_eq!(
            ActKind::from_name("leaky_relu"),
            Some(ActKind::LeakyRelu(0.01))
        );
    }

    #[test]
    fn three_dimensional_layers_name_three_axes() {
        assert_eq!(kernel(3, 3), "3x3x3");
        assert_eq!(
            UpMode::Transposed.describe(3),
            "ConvTranspose 2x2x2, stride 2"
        );
        let o = BlockOptions {
            norm: NormKind::Batch,
            ..BlockOptions::new(PaddingKind::Same)
        };
        assert_eq!(
            o.describe(3),
            "DoubleConv (2x Conv 3x3x3 + BatchNorm3d + ReLU)"
        );
    }
}
