//! The ten U-Net variants of `examples/variants`, written out by hand from the public blocks,
//! the way a user would write them without `unet!`. `cargo run --release --example variants_by_hand`
//!
//! Each network has the structure the macro emits: `Name`, `NameEncoder`, `NameSkips`,
//! `NameDecoder` (and `NameOutputs` with deep supervision), `new`, the typed `forward`s,
//! `forward_typed`, the checked `forward`, the same consts and the same `impl unet::Network<B>`.
//! The numbers the macro computes (channel widths in the types, `PARAMS`, `MARGIN`, `OUTPUT`)
//! are written here as literals, `PARAMS` taken from the macro version's summary.
//!
//! What is left out, because a user writing a network by hand would not write it: burn-train's
//! `TrainStep`/`InferenceStep` impls, `load_pytorch`/`save_safetensors`, and the per-layer
//! summary table (`summary()` returns only the name and configuration line, with no rows). The
//! macro version gets all of these for free, so a comparison of the two (`scripts/check_time.sh`
//! times their `cargo check`) favours this hand-written side: it has less code to check.
use std::time::Instant;

use unet::backend::Cpu;
use unet::blocks::{
    self, ActKind, BlockOptions, DoubleConv, DoubleConvConfig, DownBlock, DownBlockConfig, Head,
    HeadConfig, NormKind, UpBlock, UpBlockConfig, UpMode,
};
// The derive's generated code names `burn::...`: bring burn into scope under that name.
use unet::burn;
use unet::burn::module::Module;
use unet::prelude::*;
use unet::{Network, PaddingKind, Summary, L1, L2, L3, L4};

// ---------------------------------------------------------------------------------------------
// Classic: depth 4, base 16, transposed up-sampling.

/// The classic U-Net of the tutorials: padding 1, transposed-conv up-sampling.
#[derive(Module, Debug)]
pub struct Classic<B: Backend> {
    /// The contracting path.
    pub encoder: ClassicEncoder<B>,
    /// The expanding path and head.
    pub decoder: ClassicDecoder<B>,
}

/// Contracting path of [`Classic`].
#[derive(Module, Debug)]
pub struct ClassicEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 16>,
    pub down2: DownBlock<B, 16, 32>,
    pub down3: DownBlock<B, 32, 64>,
    pub down4: DownBlock<B, 64, 128>,
    pub bottleneck: DoubleConv<B, 128, 256>,
}

/// The skips of [`Classic`], one per level.
#[derive(Debug, Clone)]
pub struct ClassicSkips<B: Backend> {
    pub level0: Feature<B, 16, L0>,
    pub level1: Feature<B, 32, L1>,
    pub level2: Feature<B, 64, L2>,
    pub level3: Feature<B, 128, L3>,
}

/// Expanding path of [`Classic`].
#[derive(Module, Debug)]
pub struct ClassicDecoder<B: Backend> {
    pub up1: UpBlock<B, 256, 128, 128, 128>,
    pub up2: UpBlock<B, 128, 64, 64, 64>,
    pub up3: UpBlock<B, 64, 32, 32, 32>,
    pub up4: UpBlock<B, 32, 16, 16, 16>,
    pub out: Head<B, 16, 1>,
}

const CLASSIC_OPTIONS: BlockOptions = BlockOptions::new(PaddingKind::Same);

impl<B: Backend> ClassicEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(CLASSIC_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            down4: down.init(device),
            bottleneck: DoubleConvConfig::new(CLASSIC_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 256, L4>, ClassicSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let (level3, x) = self.down4.forward(x);
        let skips = ClassicSkips {
            level0,
            level1,
            level2,
            level3,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> ClassicDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, CLASSIC_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            up4: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 256, L4>,
        skips: ClassicSkips<B>,
    ) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level3);
        let x = self.up2.forward(x, skips.level2);
        let x = self.up3.forward(x, skips.level1);
        let x = self.up4.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> Classic<B> {
    pub const DEPTH: usize = 4;
    pub const CHANNELS: [usize; 5] = [16, 32, 64, 128, 256];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 1_940_817;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: ClassicEncoder::new(device),
            decoder: ClassicDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 1, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "Classic",
            config: "U-Net depth 4, channels [16, 32, 64, 128, 256], up transposed, padding same, \
                     in_channels 1, classes 1",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for Classic<B> {
    const NAME: &'static str = "Classic";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// Paper: depth 2, base 8, valid convolutions, two classes, declared input 92x92.

/// The paper's wiring: valid convolutions, center-cropped skips, two classes.
#[derive(Module, Debug)]
pub struct Paper<B: Backend> {
    pub encoder: PaperEncoder<B>,
    pub decoder: PaperDecoder<B>,
}

/// Contracting path of [`Paper`].
#[derive(Module, Debug)]
pub struct PaperEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub bottleneck: DoubleConv<B, 16, 32>,
}

/// The skips of [`Paper`].
#[derive(Debug, Clone)]
pub struct PaperSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
}

/// Expanding path of [`Paper`].
#[derive(Module, Debug)]
pub struct PaperDecoder<B: Backend> {
    pub up1: UpBlock<B, 32, 16, 16, 16>,
    pub up2: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 2>,
}

const PAPER_OPTIONS: BlockOptions = BlockOptions::new(PaddingKind::Valid);

impl<B: Backend> PaperEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(PAPER_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            bottleneck: DoubleConvConfig::new(PAPER_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 32, L2>, PaperSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        (self.bottleneck.forward(x), PaperSkips { level0, level1 })
    }
}

impl<B: Backend> PaperDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, PAPER_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(&self, bottom: Feature<B, 32, L2>, skips: PaperSkips<B>) -> Feature<B, 2, L0> {
        let x = self.up1.forward(bottom, skips.level1);
        let x = self.up2.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> Paper<B> {
    pub const DEPTH: usize = 2;
    pub const CHANNELS: [usize; 3] = [8, 16, 32];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 2;
    pub const PARAMS: usize = 29_330;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Valid;
    pub const INPUT: Option<[usize; 2]> = Some([92, 92]);
    pub const OUTPUT: Option<[usize; 2]> = Some([52, 52]);
    /// Valid padding loses `12 * 2^depth - 8` pixels per axis.
    pub const MARGIN: usize = 40;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: PaperEncoder::new(device),
            decoder: PaperDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height - Self::MARGIN, width - Self::MARGIN])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 2, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "Paper",
            config: "U-Net depth 2, channels [8, 16, 32], up transposed, padding valid, \
                     in_channels 1, classes 2, input 92x92",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for Paper<B> {
    const NAME: &'static str = "Paper";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// Batch: depth 3, base 8, BatchNorm.

/// BatchNorm after every convolution (milesial/Pytorch-UNet's block).
#[derive(Module, Debug)]
pub struct Batch<B: Backend> {
    pub encoder: BatchEncoder<B>,
    pub decoder: BatchDecoder<B>,
}

/// Contracting path of [`Batch`].
#[derive(Module, Debug)]
pub struct BatchEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub bottleneck: DoubleConv<B, 32, 64>,
}

/// The skips of [`Batch`].
#[derive(Debug, Clone)]
pub struct BatchSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
}

/// Expanding path of [`Batch`].
#[derive(Module, Debug)]
pub struct BatchDecoder<B: Backend> {
    pub up1: UpBlock<B, 64, 32, 32, 32>,
    pub up2: UpBlock<B, 32, 16, 16, 16>,
    pub up3: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 1>,
}

const BATCH_OPTIONS: BlockOptions = BlockOptions {
    padding: PaddingKind::Same,
    norm: NormKind::Batch,
    act: ActKind::Relu,
    residual: false,
    dropout: 0.0,
};

impl<B: Backend> BatchEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(BATCH_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(BATCH_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 64, L3>, BatchSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = BatchSkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> BatchDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, BATCH_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(&self, bottom: Feature<B, 64, L3>, skips: BatchSkips<B>) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> Batch<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [8, 16, 32, 64];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 121_033;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: BatchEncoder::new(device),
            decoder: BatchDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 1, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "Batch",
            config: "U-Net depth 3, channels [8, 16, 32, 64], up transposed, padding same, \
                     in_channels 1, classes 1, norm BatchNorm",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for Batch<B> {
    const NAME: &'static str = "Batch";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// GroupGelu: depth 3, base 8, GroupNorm(4), GELU.

/// GroupNorm(4) and GELU.
#[derive(Module, Debug)]
pub struct GroupGelu<B: Backend> {
    pub encoder: GroupGeluEncoder<B>,
    pub decoder: GroupGeluDecoder<B>,
}

/// Contracting path of [`GroupGelu`].
#[derive(Module, Debug)]
pub struct GroupGeluEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub bottleneck: DoubleConv<B, 32, 64>,
}

/// The skips of [`GroupGelu`].
#[derive(Debug, Clone)]
pub struct GroupGeluSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
}

/// Expanding path of [`GroupGelu`].
#[derive(Module, Debug)]
pub struct GroupGeluDecoder<B: Backend> {
    pub up1: UpBlock<B, 64, 32, 32, 32>,
    pub up2: UpBlock<B, 32, 16, 16, 16>,
    pub up3: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 1>,
}

const GROUP_GELU_OPTIONS: BlockOptions = BlockOptions {
    padding: PaddingKind::Same,
    norm: NormKind::Group(4),
    act: ActKind::Gelu,
    residual: false,
    dropout: 0.0,
};

impl<B: Backend> GroupGeluEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(GROUP_GELU_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(GROUP_GELU_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 64, L3>, GroupGeluSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = GroupGeluSkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> GroupGeluDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, GROUP_GELU_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 64, L3>,
        skips: GroupGeluSkips<B>,
    ) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> GroupGelu<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [8, 16, 32, 64];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 121_033;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: GroupGeluEncoder::new(device),
            decoder: GroupGeluDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 1, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "GroupGelu",
            config: "U-Net depth 3, channels [8, 16, 32, 64], up transposed, padding same, \
                     in_channels 1, classes 1, norm GroupNorm(4), act GELU",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for GroupGelu<B> {
    const NAME: &'static str = "GroupGelu";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// InstanceLeaky: depth 3, base 8, InstanceNorm, leaky ReLU, three input channels.

/// InstanceNorm and leaky ReLU, nnU-Net's block.
#[derive(Module, Debug)]
pub struct InstanceLeaky<B: Backend> {
    pub encoder: InstanceLeakyEncoder<B>,
    pub decoder: InstanceLeakyDecoder<B>,
}

/// Contracting path of [`InstanceLeaky`].
#[derive(Module, Debug)]
pub struct InstanceLeakyEncoder<B: Backend> {
    pub down1: DownBlock<B, 3, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub bottleneck: DoubleConv<B, 32, 64>,
}

/// The skips of [`InstanceLeaky`].
#[derive(Debug, Clone)]
pub struct InstanceLeakySkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
}

/// Expanding path of [`InstanceLeaky`].
#[derive(Module, Debug)]
pub struct InstanceLeakyDecoder<B: Backend> {
    pub up1: UpBlock<B, 64, 32, 32, 32>,
    pub up2: UpBlock<B, 32, 16, 16, 16>,
    pub up3: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 1>,
}

const INSTANCE_LEAKY_OPTIONS: BlockOptions = BlockOptions {
    padding: PaddingKind::Same,
    norm: NormKind::Instance,
    act: ActKind::LeakyRelu(0.01),
    residual: false,
    dropout: 0.0,
};

impl<B: Backend> InstanceLeakyEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(INSTANCE_LEAKY_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(INSTANCE_LEAKY_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 3, L0>) -> (Feature<B, 64, L3>, InstanceLeakySkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = InstanceLeakySkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> InstanceLeakyDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, INSTANCE_LEAKY_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 64, L3>,
        skips: InstanceLeakySkips<B>,
    ) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> InstanceLeaky<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [8, 16, 32, 64];
    pub const IN_CHANNELS: usize = 3;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 121_177;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: InstanceLeakyEncoder::new(device),
            decoder: InstanceLeakyDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 3, L0>) -> Feature<B, 1, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "InstanceLeaky",
            config: "U-Net depth 3, channels [8, 16, 32, 64], up transposed, padding same, \
                     in_channels 3, classes 1, norm InstanceNorm, act LeakyReLU(0.01)",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for InstanceLeaky<B> {
    const NAME: &'static str = "InstanceLeaky";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// Residual: depth 3, base 8, residual DoubleConvs, BatchNorm, SiLU.

/// Residual DoubleConvs with BatchNorm and SiLU.
#[derive(Module, Debug)]
pub struct Residual<B: Backend> {
    pub encoder: ResidualEncoder<B>,
    pub decoder: ResidualDecoder<B>,
}

/// Contracting path of [`Residual`].
#[derive(Module, Debug)]
pub struct ResidualEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub bottleneck: DoubleConv<B, 32, 64>,
}

/// The skips of [`Residual`].
#[derive(Debug, Clone)]
pub struct ResidualSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
}

/// Expanding path of [`Residual`].
#[derive(Module, Debug)]
pub struct ResidualDecoder<B: Backend> {
    pub up1: UpBlock<B, 64, 32, 32, 32>,
    pub up2: UpBlock<B, 32, 16, 16, 16>,
    pub up3: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 1>,
}

const RESIDUAL_OPTIONS: BlockOptions = BlockOptions {
    padding: PaddingKind::Same,
    norm: NormKind::Batch,
    act: ActKind::Silu,
    residual: true,
    dropout: 0.0,
};

impl<B: Backend> ResidualEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(RESIDUAL_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(RESIDUAL_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 64, L3>, ResidualSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = ResidualSkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> ResidualDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, RESIDUAL_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 64, L3>,
        skips: ResidualSkips<B>,
    ) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> Residual<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [8, 16, 32, 64];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 126_593;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: ResidualEncoder::new(device),
            decoder: ResidualDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 1, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "Residual",
            config: "U-Net depth 3, channels [8, 16, 32, 64], up transposed, padding same, \
                     in_channels 1, classes 1, norm BatchNorm, act SiLU, residual",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for Residual<B> {
    const NAME: &'static str = "Residual";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// Attention: depth 3, base 8, attention gates, bilinear up-sampling. (The network is named
// `Attention`, so the blocks' `Attention` enum is written as `blocks::Attention`.)

/// Attention U-Net: gates on the skips, bilinear up-sampling.
#[derive(Module, Debug)]
pub struct Attention<B: Backend> {
    pub encoder: AttentionEncoder<B>,
    pub decoder: AttentionDecoder<B>,
}

/// Contracting path of [`Attention`].
#[derive(Module, Debug)]
pub struct AttentionEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub bottleneck: DoubleConv<B, 32, 64>,
}

/// The skips of [`Attention`].
#[derive(Debug, Clone)]
pub struct AttentionSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
}

/// Expanding path of [`Attention`].
#[derive(Module, Debug)]
pub struct AttentionDecoder<B: Backend> {
    pub up1: UpBlock<B, 64, 32, 32, 32>,
    pub up2: UpBlock<B, 32, 16, 16, 16>,
    pub up3: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 1>,
}

const ATTENTION_OPTIONS: BlockOptions = BlockOptions::new(PaddingKind::Same);

impl<B: Backend> AttentionEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(ATTENTION_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(ATTENTION_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 64, L3>, AttentionSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = AttentionSkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> AttentionDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Bilinear, ATTENTION_OPTIONS)
            .with_attention(blocks::Attention::Gate);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 64, L3>,
        skips: AttentionSkips<B>,
    ) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> Attention<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [8, 16, 32, 64];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 114_048;
    pub const UP: UpMode = UpMode::Bilinear;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: AttentionEncoder::new(device),
            decoder: AttentionDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 1, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "Attention",
            config: "U-Net depth 3, channels [8, 16, 32, 64], up bilinear, padding same, \
                     in_channels 1, classes 1, attention gates",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for Attention<B> {
    const NAME: &'static str = "Attention";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// ScseShuffle: depth 3, base 16, scSE on the decoder blocks, sub-pixel up-sampling, 3 classes.

/// scSE on decoder blocks and sub-pixel up-sampling.
#[derive(Module, Debug)]
pub struct ScseShuffle<B: Backend> {
    pub encoder: ScseShuffleEncoder<B>,
    pub decoder: ScseShuffleDecoder<B>,
}

/// Contracting path of [`ScseShuffle`].
#[derive(Module, Debug)]
pub struct ScseShuffleEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 16>,
    pub down2: DownBlock<B, 16, 32>,
    pub down3: DownBlock<B, 32, 64>,
    pub bottleneck: DoubleConv<B, 64, 128>,
}

/// The skips of [`ScseShuffle`].
#[derive(Debug, Clone)]
pub struct ScseShuffleSkips<B: Backend> {
    pub level0: Feature<B, 16, L0>,
    pub level1: Feature<B, 32, L1>,
    pub level2: Feature<B, 64, L2>,
}

/// Expanding path of [`ScseShuffle`].
#[derive(Module, Debug)]
pub struct ScseShuffleDecoder<B: Backend> {
    pub up1: UpBlock<B, 128, 64, 64, 64>,
    pub up2: UpBlock<B, 64, 32, 32, 32>,
    pub up3: UpBlock<B, 32, 16, 16, 16>,
    pub out: Head<B, 16, 3>,
}

const SCSE_SHUFFLE_OPTIONS: BlockOptions = BlockOptions::new(PaddingKind::Same);

impl<B: Backend> ScseShuffleEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(SCSE_SHUFFLE_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(SCSE_SHUFFLE_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 128, L3>, ScseShuffleSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = ScseShuffleSkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> ScseShuffleDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::PixelShuffle, SCSE_SHUFFLE_OPTIONS)
            .with_attention(blocks::Attention::Scse);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 128, L3>,
        skips: ScseShuffleSkips<B>,
    ) -> Feature<B, 3, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> ScseShuffle<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [16, 32, 64, 128];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 3;
    pub const PARAMS: usize = 827_085;
    pub const UP: UpMode = UpMode::PixelShuffle;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: ScseShuffleEncoder::new(device),
            decoder: ScseShuffleDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 3, L0> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "ScseShuffle",
            config: "U-Net depth 3, channels [16, 32, 64, 128], up pixelshuffle, padding same, \
                     in_channels 1, classes 3, scSE",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for ScseShuffle<B> {
    const NAME: &'static str = "ScseShuffle";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// DeepSup: depth 4, base 8, deep-supervision heads on decoder levels 1 and 2, dropout.

/// Deep supervision on two decoder levels, and the paper's dropout.
#[derive(Module, Debug)]
pub struct DeepSup<B: Backend> {
    pub encoder: DeepSupEncoder<B>,
    pub decoder: DeepSupDecoder<B>,
}

/// Contracting path of [`DeepSup`].
#[derive(Module, Debug)]
pub struct DeepSupEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub down4: DownBlock<B, 32, 64>,
    pub bottleneck: DoubleConv<B, 64, 128>,
}

/// The skips of [`DeepSup`].
#[derive(Debug, Clone)]
pub struct DeepSupSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
    pub level3: Feature<B, 64, L3>,
}

/// Expanding path of [`DeepSup`], with a 1x1 head on decoder levels 1 and 2.
#[derive(Module, Debug)]
pub struct DeepSupDecoder<B: Backend> {
    pub up1: UpBlock<B, 128, 64, 64, 64>,
    pub up2: UpBlock<B, 64, 32, 32, 32>,
    pub up3: UpBlock<B, 32, 16, 16, 16>,
    pub up4: UpBlock<B, 16, 8, 8, 8>,
    pub aux1: Head<B, 16, 1>,
    pub aux2: Head<B, 32, 1>,
    pub out: Head<B, 8, 1>,
}

/// Every output of [`DeepSup`]: the main logits and two deep-supervision heads.
#[derive(Debug, Clone)]
pub struct DeepSupOutputs<B: Backend> {
    /// The main logits, at the input's resolution.
    pub out: Feature<B, 1, L0>,
    /// Logits of decoder level 1 (1/2 resolution).
    pub aux1: Feature<B, 1, L1>,
    /// Logits of decoder level 2 (1/4 resolution).
    pub aux2: Feature<B, 1, L2>,
}

/// Every DoubleConv but the bottleneck's: dropout 0.1.
const DEEP_SUP_OPTIONS: BlockOptions = BlockOptions::new(PaddingKind::Same).with_dropout(0.1);
/// The bottleneck's DoubleConv: dropout 0.5.
const DEEP_SUP_BOTTLENECK: BlockOptions = BlockOptions::new(PaddingKind::Same).with_dropout(0.5);

impl<B: Backend> DeepSupEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(DEEP_SUP_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            down4: down.init(device),
            bottleneck: DoubleConvConfig::new(DEEP_SUP_BOTTLENECK).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 128, L4>, DeepSupSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let (level3, x) = self.down4.forward(x);
        let skips = DeepSupSkips {
            level0,
            level1,
            level2,
            level3,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> DeepSupDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, DEEP_SUP_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            up4: up.init(device),
            aux1: HeadConfig::new().init(device),
            aux2: HeadConfig::new().init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(
        &self,
        bottom: Feature<B, 128, L4>,
        skips: DeepSupSkips<B>,
    ) -> DeepSupOutputs<B> {
        let x = self.up1.forward(bottom, skips.level3);
        let x = self.up2.forward(x, skips.level2);
        let aux2 = self.aux2.forward(x.clone());
        let x = self.up3.forward(x, skips.level1);
        let aux1 = self.aux1.forward(x.clone());
        let x = self.up4.forward(x, skips.level0);
        DeepSupOutputs {
            out: self.out.forward(x),
            aux1,
            aux2,
        }
    }
}

impl<B: Backend> DeepSup<B> {
    pub const DEPTH: usize = 4;
    pub const CHANNELS: [usize; 5] = [8, 16, 32, 64, 128];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 485_723;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: DeepSupEncoder::new(device),
            decoder: DeepSupDecoder::new(device),
        }
    }

    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            false,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    /// The main logits only.
    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).out.into_tensor())
    }

    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> DeepSupOutputs<B> {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "DeepSup",
            config: "U-Net depth 4, channels [8, 16, 32, 64, 128], up transposed, padding same, \
                     in_channels 1, classes 1, dropout 0.5 (bottleneck), dropout 0.1 (blocks), \
                     deep supervision 2",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for DeepSup<B> {
    const NAME: &'static str = "DeepSup";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = false;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn forward_deep(
        &self,
        x: Tensor<B, 4>,
    ) -> Result<(Tensor<B, 4>, Vec<Tensor<B, 4>>), ShapeError> {
        Self::check_input(x.dims())?;
        let y = self.forward_typed(Feature::try_new(x)?);
        Ok((
            y.out.into_tensor(),
            vec![y.aux1.into_tensor(), y.aux2.into_tensor()],
        ))
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------
// AnySize: depth 3, base 8, reflect-pads any input, LayerNorm, PReLU.

/// Any input size (reflect-padded), LayerNorm and PReLU.
#[derive(Module, Debug)]
pub struct AnySize<B: Backend> {
    pub encoder: AnySizeEncoder<B>,
    pub decoder: AnySizeDecoder<B>,
}

/// Contracting path of [`AnySize`].
#[derive(Module, Debug)]
pub struct AnySizeEncoder<B: Backend> {
    pub down1: DownBlock<B, 1, 8>,
    pub down2: DownBlock<B, 8, 16>,
    pub down3: DownBlock<B, 16, 32>,
    pub bottleneck: DoubleConv<B, 32, 64>,
}

/// The skips of [`AnySize`].
#[derive(Debug, Clone)]
pub struct AnySizeSkips<B: Backend> {
    pub level0: Feature<B, 8, L0>,
    pub level1: Feature<B, 16, L1>,
    pub level2: Feature<B, 32, L2>,
}

/// Expanding path of [`AnySize`].
#[derive(Module, Debug)]
pub struct AnySizeDecoder<B: Backend> {
    pub up1: UpBlock<B, 64, 32, 32, 32>,
    pub up2: UpBlock<B, 32, 16, 16, 16>,
    pub up3: UpBlock<B, 16, 8, 8, 8>,
    pub out: Head<B, 8, 1>,
}

const ANY_SIZE_OPTIONS: BlockOptions = BlockOptions {
    padding: PaddingKind::Same,
    norm: NormKind::Layer,
    act: ActKind::PRelu,
    residual: false,
    dropout: 0.0,
};

impl<B: Backend> AnySizeEncoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let down = DownBlockConfig::new(ANY_SIZE_OPTIONS);
        Self {
            down1: down.init(device),
            down2: down.init(device),
            down3: down.init(device),
            bottleneck: DoubleConvConfig::new(ANY_SIZE_OPTIONS).init(device),
        }
    }

    pub fn forward(&self, x: Feature<B, 1, L0>) -> (Feature<B, 64, L3>, AnySizeSkips<B>) {
        let (level0, x) = self.down1.forward(x);
        let (level1, x) = self.down2.forward(x);
        let (level2, x) = self.down3.forward(x);
        let skips = AnySizeSkips {
            level0,
            level1,
            level2,
        };
        (self.bottleneck.forward(x), skips)
    }
}

impl<B: Backend> AnySizeDecoder<B> {
    pub fn new(device: &B::Device) -> Self {
        let up = UpBlockConfig::new(UpMode::Transposed, ANY_SIZE_OPTIONS);
        Self {
            up1: up.init(device),
            up2: up.init(device),
            up3: up.init(device),
            out: HeadConfig::new().init(device),
        }
    }

    pub fn forward(&self, bottom: Feature<B, 64, L3>, skips: AnySizeSkips<B>) -> Feature<B, 1, L0> {
        let x = self.up1.forward(bottom, skips.level2);
        let x = self.up2.forward(x, skips.level1);
        let x = self.up3.forward(x, skips.level0);
        self.out.forward(x)
    }
}

impl<B: Backend> AnySize<B> {
    pub const DEPTH: usize = 3;
    pub const CHANNELS: [usize; 4] = [8, 16, 32, 64];
    pub const IN_CHANNELS: usize = 1;
    pub const CLASSES: usize = 1;
    pub const PARAMS: usize = 121_047;
    pub const UP: UpMode = UpMode::Transposed;
    pub const PADDING: PaddingKind = PaddingKind::Same;
    pub const INPUT: Option<[usize; 2]> = None;
    pub const OUTPUT: Option<[usize; 2]> = None;
    pub const MARGIN: usize = 0;

    pub fn new(device: &B::Device) -> Self {
        Self {
            encoder: AnySizeEncoder::new(device),
            decoder: AnySizeDecoder::new(device),
        }
    }

    /// Any height and width fit: the network pads them itself.
    pub fn check_input(shape: [usize; 4]) -> Result<(), ShapeError> {
        unet::check_input(
            shape,
            Self::IN_CHANNELS,
            Self::DEPTH,
            Self::PADDING,
            Self::INPUT,
            true,
        )
    }

    pub fn output_size(height: usize, width: usize) -> Result<[usize; 2], ShapeError> {
        Self::check_input([1, Self::IN_CHANNELS, height, width])?;
        Ok([height, width])
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        Self::check_input(x.dims())?;
        Ok(self.forward_typed(Feature::try_new(x)?).into_tensor())
    }

    /// Reflect-pads to a multiple of 2^3, runs the network, crops the logits back.
    pub fn forward_typed(&self, x: Feature<B, 1, L0>) -> Feature<B, 1, L0> {
        let [_, _, h, w] = x.dims();
        let (x, at) = x.padded_to_multiple(8);
        let (bottom, skips) = self.encoder.forward(x);
        let y = self.decoder.forward(bottom, skips);
        y.cropped(&at, &[h, w], 0)
    }

    /// Name and configuration only: no per-layer rows (`rows: &[]`), written by hand.
    pub fn summary() -> Summary {
        Summary {
            name: "AnySize",
            config: "U-Net depth 3, channels [8, 16, 32, 64], up transposed, padding same, \
                     in_channels 1, classes 1, norm LayerNorm, act PReLU, pad_input",
            dims: 2,
            in_channels: Self::IN_CHANNELS,
            input: None,
            pad_to: None,
            rows: &[],
        }
    }
}

impl<B: Backend> Network<B> for AnySize<B> {
    const NAME: &'static str = "AnySize";
    const DEPTH: usize = Self::DEPTH;
    const IN_CHANNELS: usize = Self::IN_CHANNELS;
    const CLASSES: usize = Self::CLASSES;
    const PARAMS: usize = Self::PARAMS;
    const PADDING: PaddingKind = Self::PADDING;
    const MARGIN: usize = Self::MARGIN;
    const INPUT: Option<&'static [usize]> = unet::sizes(&Self::INPUT);
    const PAD_INPUT: bool = true;

    fn init(device: &B::Device) -> Self {
        Self::new(device)
    }

    fn forward_checked(&self, x: Tensor<B, 4>) -> Result<Tensor<B, 4>, ShapeError> {
        self.forward(x)
    }

    fn layer_summary() -> Summary {
        Self::summary()
    }
}

// ---------------------------------------------------------------------------------------------

/// Prints a network's summary line, then runs it once on a random `[1, C, h, w]` input.
///
/// The hand-written summaries have no layer rows, so this prints their name and configuration
/// with the `PARAMS` const instead of the table (whose total would read 0).
fn run<N: Network<Cpu>>(h: usize, w: usize) -> Result<(), ShapeError> {
    let device = Default::default();
    let net = N::init(&device);
    let summary = N::layer_summary();
    println!(
        "{}: {}\nTotal params: {}\n",
        summary.name,
        summary.config,
        unet::group_thousands(N::PARAMS)
    );
    let shape = [1, N::IN_CHANNELS, h, w];
    let x = Tensor::<Cpu, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let start = Instant::now();
    let (y, aux) = net.forward_deep(x)?;
    let aux: Vec<_> = aux.iter().map(|t| t.dims()).collect();
    println!(
        "{}: input {shape:?} -> output {:?}{} in {:.2?}\n",
        N::NAME,
        y.dims(),
        if aux.is_empty() {
            String::new()
        } else {
            format!(" and deep-supervision outputs {aux:?}")
        },
        start.elapsed()
    );
    Ok(())
}

fn main() -> Result<(), ShapeError> {
    run::<Classic<Cpu>>(128, 128)?;
    run::<Paper<Cpu>>(92, 92)?;
    run::<Batch<Cpu>>(64, 64)?;
    run::<GroupGelu<Cpu>>(64, 64)?;
    run::<InstanceLeaky<Cpu>>(64, 64)?;
    run::<Residual<Cpu>>(64, 64)?;
    run::<Attention<Cpu>>(64, 64)?;
    run::<ScseShuffle<Cpu>>(64, 64)?;
    run::<DeepSup<Cpu>>(64, 64)?;
    run::<AnySize<Cpu>>(61, 37)?;

    // A shape a network cannot take is an error, not a panic.
    let device = Default::default();
    let bad = Tensor::<Cpu, 4>::zeros([1, 1, 100, 100], &device);
    match Classic::<Cpu>::new(&device).forward(bad) {
        Err(e) => println!("Classic on 100x100: {e}"),
        Ok(_) => unreachable!("100 is not a multiple of 16"),
    }
    Ok(())
}
