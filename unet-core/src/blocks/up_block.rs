//! A decoder level: up-sample, (gate the skip,) concatenate with the skip, DoubleConv
//! (, scSE).

use burn::module::Module;
use burn::tensor::backend::Backend;

use super::attention::{AttentionGate, AttentionGateConfig, Scse, ScseConfig};
use super::double_conv::{DoubleConvConfig, MergeConv};
use super::options::BlockOptions;
use super::up::{UpMode, UpSample, UpSampleConfig};
use crate::feature::{center_crop, Concat, Feature};
use crate::level::{Down, Level};

pub use unet_vocab::Attention;

/// Configuration of [`UpBlock`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UpBlockConfig {
    /// The up-sampling method.
    pub mode: UpMode,
    /// Options of the DoubleConv.
    pub options: BlockOptions,
    /// Attention on the skip or the block's output.
    pub attention: Attention,
}

impl UpBlockConfig {
    /// A configuration with the given up-sampling and a padding (the classic block) or full
    /// [`BlockOptions`]; no attention.
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

    /// An [`UpBlock`]; channel counts come from the type.
    pub fn init<
        B: Backend,
        const CDEEP: usize,
        const UP: usize,
        const SKIP: usize,
        const COUT: usize,
    >(
        &self,
        device: &B::Device,
    ) -> UpBlock<B, CDEEP, UP, SKIP, COUT> {
        UpBlock {
            up: UpSampleConfig::new(self.mode).init(device),
            gate: (self.attention == Attention::Gate)
                .then(|| AttentionGateConfig::new().init(device)),
            conv: DoubleConvConfig::new(self.options).init_merge(device),
            scse: (self.attention == Attention::Scse).then(|| ScseConfig::new().init(device)),
        }
    }
}

/// One decoder level (the tutorials' `Up`): `CDEEP` channels one level down are up-sampled to
/// `UP` channels (`UP == CDEEP` for the `*_concat` modes), concatenated with a `SKIP`-channel
/// skip of this level (up-sampled first), and convolved to `COUT` channels.
#[derive(Module, Debug)]
pub struct UpBlock<
    B: Backend,
    const CDEEP: usize,
    const UP: usize,
    const SKIP: usize,
    const COUT: usize,
> {
    /// The 2x up-sampling.
    pub up: UpSample<B, CDEEP, UP>,
    /// The attention gate on the skip ([`Attention::Gate`]).
    pub gate: Option<AttentionGate<B, UP, SKIP>>,
    /// The two 3x3 convolutions over the concatenation.
    pub conv: MergeConv<B, UP, SKIP, COUT>,
    /// scSE on the block's output ([`Attention::Scse`]).
    pub scse: Option<Scse<B, COUT>>,
}

impl<B: Backend, const CDEEP: usize, const UP: usize, const SKIP: usize, const COUT: usize>
    UpBlock<B, CDEEP, UP, SKIP, COUT>
{
    /// Up-samples `x`, center-crops the skip to its size, gates it, concatenates
    /// `[up, skip]`, convolves.
    pub fn forward<L: Level>(
        &self,
        x: Feature<B, CDEEP, Down<L>>,
        skip: Feature<B, SKIP, L>,
    ) -> Feature<B, COUT, L> {
        let up = self.up.forward(x);
        let skip = match &self.gate {
            Some(gate) => {
                let [_, _, h, w] = up.dims();
                let cropped = Feature::trusted(center_crop(skip.into_tensor(), h, w));
                gate.forward(&up, cropped)
            }
            None => skip,
        };
        let out = self.conv.forward(Concat::new(up, skip));
        match &self.scse {
            Some(scse) => scse.forward(out),
            None => out,
        }
    }
}
