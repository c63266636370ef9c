//! Gradients as one flat vector to sum across nodes, and fingerprints of what every node must
//! share: the weights and the training set.

use std::hash::Hasher;

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use fnv::FnvHasher;

use crate::data::Example;

/// Appends the gradient of each of `model`'s parameters, in the module's order, to `values`,
/// each after a presence slot (1 when this node has the gradient; a node that had no samples
/// this step has none): a parameter whose slots sum to 0 over the nodes keeps no gradient.
pub(crate) fn flatten_grads<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    mut grads: GradientsParams,
    values: &mut Vec<f32>,
) {
    struct Flatten<'a> {
        grads: &'a mut GradientsParams,
        values: &'a mut Vec<f32>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Flatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let count = param.val().shape().num_elements();
            match self.grads.remove::<B::InnerBackend, D>(param.id) {
                Some(grad) => {
                    self.values.push(1.0);
                    self.values.extend(grad.into_data().iter::<f32>());
                }
                None => self.values.extend(std::iter::repeat_n(0.0, count + 1)),
            }
        }
    }
    model.visit(&mut Flatten {
        grads: &mut grads,
        values,
    });
}

/// The gradients [`flatten_grads`] laid out (summed), on the device of each parameter.
pub(crate) fn unflatten_grads<B: AutodiffBackend, M: AutodiffModule<B>>(
    model: &M,
    values: &[f32],
) -> GradientsParams {
    struct Unflatten<'a> {
        grads: GradientsParams,
        values: &'a [f32],
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Unflatten<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            let value = param.val();
            let shape = value.shape();
            let count = shape.num_elements();
            let Some((present, rest)) = self.values.split_first() else {
                return;
            };
            let (grad, rest) = rest.split_at(count.min(rest.len()));
            self.values = rest;
            if *present > 0.0 && grad.len() == count {
                let data = TensorData::new(grad.to_vec(), shape);
                let grad = Tensor::<B::InnerBackend, D>::from_data(data, &value.device());
                self.grads.register(param.id, grad);
            }
        }
    }
    let mut unflatten = Unflatten {
        grads: GradientsParams::new(),
        values,
    };
    model.visit(&mut unflatten);
    unflatten.grads
}

/// A fingerprint of `model`'s parameters (not its running statistics, which each node keeps
/// from its own batches, as PyTorch's DDP does without `broadcast_buffers`).
pub(crate) fn model_fingerprint<B: Backend, M: Module<B>>(model: &M) -> u64 {
    struct Fingerprint(FnvHasher);
    impl<B: Backend> ModuleVisitor<B> for Fingerprint {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            for value in param.val().into_data().iter::<f32>() {
                self.0.write_u32(value.to_bits());
            }
        }
    }
    let mut fingerprint = Fingerprint(FnvHasher::default());
    model.visit(&mut fingerprint);
    fingerprint.0.finish()
}

/// A fingerprint of bytes (a configuration's text).
pub(crate) fn bytes_fingerprint(bytes: &[u8]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// A fingerprint of a training set: every sample's shape, values, classes and weights, in order.
pub(crate) fn samples_fingerprint<S: Example<D>, const D: usize>(samples: &[S]) -> u64 {
    let mut hasher = FnvHasher::default();
    hasher.write_usize(samples.len());
    for sample in samples {
        for side in sample.shape() {
            hasher.write_usize(side);
        }
        for value in sample.values() {
            hasher.write_u32(value.to_bits());
        }
        hasher.write(sample.classes());
        for weight in sample.pixel_weights().unwrap_or_default() {
            hasher.write_u32(weight.to_bits());
        }
    }
    hasher.finish()
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use crate::backend::CpuAutodiff;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Distribution;

    type B = CpuAutodiff;

    fn gradients(linear: &Linear<B>, seed: u64) -> GradientsParams {
        let device = Default::default();
        B::seed(&device, seed);
        let input = Tensor::<B, 2>::random([3, 4], Distribution::Default, &device);
        let grads = linear.forward(input).sum().backward();
        GradientsParams::from_grads(grads, linear)
    }

    #[test]
    fn gradients_come_back_from_their_flat_form_unchanged() {
        let linear = LinearConfig::new(4, 2).init::<B>(&Default::default());
        let grads = gradients(&linear, 1);
        let weight = grads
            .get::<<B as AutodiffBackend>::InnerBackend, 2>(linear.weight.id)
            .unwrap();
        let mut values = Vec::new();
        flatten_grads(&linear, grads, &mut values);
        // A presence slot and the values of each of weight (4x2) and bias (2).
        assert_eq!(values.len(), 1 + 8 + 1 + 2);
        let back = unflatten_grads(&linear, &values);
        let restored = back
            .get::<<B as AutodiffBackend>::InnerBackend, 2>(linear.weight.id)
            .unwrap();
        assert_eq!(restored.into_data(), weight.into_data());
        assert_eq!(back.len(), 2);
    }

    #[test]
    fn a_parameter_no_node_has_a_gradient_for_stays_without_one() {
        let linear = LinearConfig::new(4, 2).init::<B>(&Default::default());
        let mut values = Vec::new();
        flatten_grads(&linear, GradientsParams::new(), &mut values);
        assert_eq!(values, vec![0.0; 12]);
        assert!(unflatten_grads(&linear, &values).is_empty());
    }

    #[test]
    fn the_fingerprint_tells_weights_apart() {
        let device = Default::default();
        let a = LinearConfig::new(4, 2).init::<B>(&device);
        let b = LinearConfig::new(4, 2).init::<B>(&device);
        assert_eq!(model_fingerprint(&a), model_fingerprint(&a.clone()));
        assert_ne!(model_fingerprint(&a), model_fingerprint(&b));
    }
}
