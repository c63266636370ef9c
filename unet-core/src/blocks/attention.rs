//! Attention on the decoder: additive attention gates on the skips (Attention U-Net, Oktay et
//! al. 2018) and concurrent spatial and channel squeeze-and-excitation (scSE, Roy et al. 2018).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;

use crate::feature::Feature;
use crate::kernels::conv2d;
use crate::level::Level;

fn conv1x1<B: Backend>(cin: usize, cout: usize, device: &B::Device) -> Conv2d<B> {
    Conv2dConfig::new([cin, cout], [1, 1]).init(device)
}

/// Configuration of [`AttentionGate`]; channel counts come from the type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttentionGateConfig;

impl AttentionGateConfig {
    /// The (only) configuration.
    pub fn new() -> Self {
        Self
    }

    /// Width of the gate's intermediate map for a `skip`-channel skip (`unet-vocab`'s rule).
    pub const fn inner(skip: usize) -> usize {
        unet_vocab::params::gate_inner(skip)
    }

    /// A gate on an `X`-channel skip, driven by a `G`-channel gating map of the same level.
    pub fn init<B: Backend, const G: usize, const X: usize>(
        &self,
        device: &B::Device,
    ) -> AttentionGate<B, G, X> {
        let inner = Self::inner(X);
        AttentionGate {
            gate: conv1x1(G, inner, device),
            skip: conv1x1(X, inner, device),
            psi: conv1x1(inner, 1, device),
        }
    }
}

/// Additive attention gate: `skip * sigmoid(psi(relu(W_g g + W_x skip)))`, one weight per
/// pixel. The gating map `g` is the decoder's up-sampled map at the skip's level.
#[derive(Module, Debug)]
pub struct AttentionGate<B: Backend, const G: usize, const X: usize> {
    /// `W_g`: 1x1 conv of the gating map, `G -> X/2`.
    pub gate: Conv2d<B>,
    /// `W_x`: 1x1 conv of the skip, `X -> X/2`.
    pub skip: Conv2d<B>,
    /// `psi`: 1x1 conv to one attention logit per pixel.
    pub psi: Conv2d<B>,
}

impl<B: Backend, const G: usize, const X: usize> AttentionGate<B, G, X> {
    /// The skip, weighted per pixel; `g` and `skip` have the same size.
    pub fn forward<L: Level>(
        &self,
        g: &Feature<B, G, L>,
        skip: Feature<B, X, L>,
    ) -> Feature<B, X, L> {
        let skip = skip.into_tensor();
        let a = relu(conv2d(&self.gate, g.tensor().clone()) + conv2d(&self.skip, skip.clone()));
        let alpha = sigmoid(conv2d(&self.psi, a));
        Feature::trusted(skip * alpha)
    }
}

/// Configuration of [`Scse`]; the channel count comes from the type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScseConfig;

impl ScseConfig {
    /// The (only) configuration.
    pub fn new() -> Self {
        Self
    }

    /// Width of the channel squeeze for `channels` channels (`unet-vocab`'s rule).
    pub const fn squeeze(channels: usize) -> usize {
        unet_vocab::params::scse_squeeze(channels)
    }

    /// An scSE block on `C` channels.
    pub fn init<B: Backend, const C: usize>(&self, device: &B::Device) -> Scse<B, C> {
        let r = Self::squeeze(C);
        Scse {
            squeeze: conv1x1(C, r, device),
            excite: conv1x1(r, C, device),
            spatial: conv1x1(C, 1, device),
        }
    }
}

/// `x * sigmoid(excite(relu(squeeze(mean_hw(x))))) + x * sigmoid(spatial(x))`.
#[derive(Module, Debug)]
pub struct Scse<B: Backend, const C: usize> {
    /// Channel squeeze, `C -> C/16`, on the spatial mean.
    pub squeeze: Conv2d<B>,
    /// Channel excitation, `C/16 -> C`.
    pub excite: Conv2d<B>,
    /// Spatial excitation, 1x1 conv `C -> 1`.
    pub spatial: Conv2d<B>,
}

impl<B: Backend, const C: usize> Scse<B, C> {
    /// Recalibrates `x` by channel and by pixel.
    pub fn forward<L: Level>(&self, x: Feature<B, C, L>) -> Feature<B, C, L> {
        let x = x.into_tensor();
        let pooled = x.clone().mean_dim(2).mean_dim(3);
        let channel = sigmoid(conv2d(&self.excite, relu(conv2d(&self.squeeze, pooled))));
        let spatial = sigmoid(conv2d(&self.spatial, x.clone()));
        Feature::trusted(x.clone() * channel + x * spatial)
    }
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use unet_vocab::params;

    type B = Flex;

    #[test]
    fn gates_and_scse_allocate_the_vocabulary_count() {
        let device = Default::default();
        let gate: AttentionGate<B, 16, 8> = AttentionGateConfig::new().init(&device);
        assert_eq!(Some(gate.num_params()), params::gate(16, 8));
        let tiny: AttentionGate<B, 4, 1> = AttentionGateConfig::new().init(&device);
        assert_eq!(Some(tiny.num_params()), params::gate(4, 1));
        let scse: Scse<B, 64> = ScseConfig::new().init(&device);
        assert_eq!(Some(scse.num_params()), params::scse(64));
    }
}
