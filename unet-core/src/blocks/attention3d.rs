//! The decoder's attention blocks on volumes: the 2D [`AttentionGate`](super::AttentionGate)
//! and [`Scse`](super::Scse) with 1x1x1 convolutions, the same widths and field names.

use burn::module::Module;
use burn::nn::conv::{Conv3d, Conv3dConfig};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;

use crate::feature::Feature3d;
use crate::level::Level;

fn conv1x1x1<B: Backend>(cin: usize, cout: usize, device: &B::Device) -> Conv3d<B> {
    Conv3dConfig::new([cin, cout], [1, 1, 1]).init(device)
}

/// Configuration of [`AttentionGate3d`]; channel counts come from the type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AttentionGate3dConfig;

impl AttentionGate3dConfig {
    /// The (only) configuration.
    pub fn new() -> Self {
        Self
    }

    /// A gate on an `X`-channel skip, driven by a `G`-channel gating volume of the same level.
    pub fn init<B: Backend, const G: usize, const X: usize>(
        &self,
        device: &B::Device,
    ) -> AttentionGate3d<B, G, X> {
        let inner = unet_vocab::params::gate_inner(X);
        AttentionGate3d {
            gate: conv1x1x1(G, inner, device),
            skip: conv1x1x1(X, inner, device),
            psi: conv1x1x1(inner, 1, device),
        }
    }
}

/// Additive attention gate on a volume: `skip * sigmoid(psi(relu(W_g g + W_x skip)))`, one
/// weight per voxel.
#[derive(Module, Debug)]
pub struct AttentionGate3d<B: Backend, const G: usize, const X: usize> {
    /// `W_g`: 1x1x1 conv of the gating map, `G -> X/2`.
    pub gate: Conv3d<B>,
    /// `W_x`: 1x1x1 conv of the skip, `X -> X/2`.
    pub skip: Conv3d<B>,
    /// `psi`: 1x1x1 conv to one attention logit per voxel.
    pub psi: Conv3d<B>,
}

impl<B: Backend, const G: usize, const X: usize> AttentionGate3d<B, G, X> {
    /// The skip, weighted per voxel; `g` and `skip` have the same size.
    pub fn forward<L: Level>(
        &self,
        g: &Feature3d<B, G, L>,
        skip: Feature3d<B, X, L>,
    ) -> Feature3d<B, X, L> {
        let skip = skip.into_tensor();
        let a = relu(self.gate.forward(g.tensor().clone()) + self.skip.forward(skip.clone()));
        Feature3d::trusted(skip * sigmoid(self.psi.forward(a)))
    }
}

/// Configuration of [`Scse3d`]; the channel count comes from the type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Scse3dConfig;

impl Scse3dConfig {
    /// The (only) configuration.
    pub fn new() -> Self {
        Self
    }

    /// An scSE block on `C` channels.
    pub fn init<B: Backend, const C: usize>(&self, device: &B::Device) -> Scse3d<B, C> {
        let r = unet_vocab::params::scse_squeeze(C);
        Scse3d {
            squeeze: conv1x1x1(C, r, device),
            excite: conv1x1x1(r, C, device),
            spatial: conv1x1x1(C, 1, device),
        }
    }
}

/// `x * sigmoid(excite(relu(squeeze(mean_dhw(x))))) + x * sigmoid(spatial(x))`.
#[derive(Module, Debug)]
pub struct Scse3d<B: Backend, const C: usize> {
    /// Channel squeeze, `C -> C/16`, on the spatial mean.
    pub squeeze: Conv3d<B>,
    /// Channel excitation, `C/16 -> C`.
    pub excite: Conv3d<B>,
    /// Spatial excitation, 1x1x1 conv `C -> 1`.
    pub spatial: Conv3d<B>,
}

impl<B: Backend, const C: usize> Scse3d<B, C> {
    /// Recalibrates `x` by channel and by voxel.
    pub fn forward<L: Level>(&self, x: Feature3d<B, C, L>) -> Feature3d<B, C, L> {
        let x = x.into_tensor();
        let pooled = x.clone().mean_dim(2).mean_dim(3).mean_dim(4);
        let channel = sigmoid(self.excite.forward(relu(self.squeeze.forward(pooled))));
        let spatial = sigmoid(self.spatial.forward(x.clone()));
        Feature3d::trusted(x.clone() * channel + x * spatial)
    }
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{Distribution, Tensor};
    use unet_vocab::params;

    type B = Flex;

    #[test]
    fn volume_attention_allocates_the_vocabulary_count_and_keeps_shapes() {
        let device = Default::default();
        let gate: AttentionGate3d<B, 16, 8> = AttentionGate3dConfig::new().init(&device);
        assert_eq!(Some(gate.num_params()), params::gate(16, 8));
        let scse: Scse3d<B, 32> = Scse3dConfig::new().init(&device);
        assert_eq!(Some(scse.num_params()), params::scse(32));
        let x = Tensor::<B, 5>::random([1, 32, 2, 3, 4], Distribution::Normal(0.0, 1.0), &device);
        let y = scse.forward(Feature3d::<B, 32, crate::L0>::trusted(x));
        assert_eq!(y.dims(), [1, 32, 2, 3, 4]);
    }
}
