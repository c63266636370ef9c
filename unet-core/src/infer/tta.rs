//! Test-time augmentation by mirroring, nnU-Net's: the network sees the input mirrored along
//! every subset of its spatial axes (4 passes for images, 8 for volumes), each output is
//! mirrored back, and the logits are averaged.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::ShapeError;
use crate::network::Network;

/// Whether inference averages over mirrored inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tta {
    /// One forward pass.
    #[default]
    Off,
    /// The mean of the logits over every mirroring of the spatial axes.
    Mirror,
}

impl Tta {
    /// [`Tta::Mirror`] when `mirror` is true.
    pub fn mirror_if(mirror: bool) -> Self {
        if mirror {
            Tta::Mirror
        } else {
            Tta::Off
        }
    }

    /// Forward passes per input: 1, or `2^spatial axes` when mirroring.
    pub fn passes(self, dims: usize) -> usize {
        match self {
            Tta::Off => 1,
            Tta::Mirror => 1 << dims,
        }
    }

    /// The network's logits for `x` `[N, C, spatial...]`, averaged over the mirrorings.
    ///
    /// # Errors
    /// `x` does not fit the network.
    pub fn forward<B: Backend, N: Network<B, D>, const D: usize>(
        self,
        net: &N,
        x: Tensor<B, D>,
    ) -> Result<Tensor<B, D>, ShapeError> {
        let plain = net.forward_checked(x.clone())?;
        self.average_with(net, x, plain)
    }

    /// `plain` (the network's logits for `x`) averaged with those of the other mirrorings;
    /// `plain` itself with [`Tta::Off`].
    ///
    /// # Errors
    /// `x` does not fit the network.
    pub fn average_with<B: Backend, N: Network<B, D>, const D: usize>(
        self,
        net: &N,
        x: Tensor<B, D>,
        plain: Tensor<B, D>,
    ) -> Result<Tensor<B, D>, ShapeError> {
        if self == Tta::Off {
            return Ok(plain);
        }
        let spatial = D - 2;
        let mut sum = plain;
        for set in 1..(1usize << spatial) {
            let y = net.forward_checked(mirrored(x.clone(), set))?;
            sum = sum + mirrored(y, set);
        }
        Ok(sum / (1usize << spatial) as f64)
    }
}

/// `x` mirrored along spatial axis `a` (tensor axis `a + 2`) for every bit `a` set in `set`;
/// its own inverse.
fn mirrored<B: Backend, const D: usize>(x: Tensor<B, D>, set: usize) -> Tensor<B, D> {
    (0..D - 2)
        .filter(|a| set >> a & 1 == 1)
        .fold(x, |x, a| x.flip([a as isize + 2]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    #[test]
    fn mirroring_twice_gives_the_input_back_and_once_reverses_an_axis() {
        let device = Default::default();
        let x = Tensor::<Cpu, 4>::from_data(
            TensorData::new((0..12).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 3, 4]),
            &device,
        );
        for set in 0..4 {
            let back = mirrored(mirrored(x.clone(), set), set);
            assert_eq!(back.into_data(), x.clone().into_data());
        }
        // Bit 0 is the height axis, bit 1 the width.
        let rows = mirrored(x.clone(), 1).into_data().to_vec::<f32>().unwrap();
        assert_eq!(&rows[..4], &[8.0, 9.0, 10.0, 11.0]);
        let columns = mirrored(x, 2).into_data().to_vec::<f32>().unwrap();
        assert_eq!(&columns[..4], &[3.0, 2.0, 1.0, 0.0]);
    }

    #[test]
    fn passes_are_one_or_two_to_the_spatial_axes() {
        assert_eq!(Tta::Off.passes(2), 1);
        assert_eq!(Tta::Mirror.passes(2), 4);
        assert_eq!(Tta::Mirror.passes(3), 8);
    }
}
