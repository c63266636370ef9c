//! Moves every float of a module (weights, biases, norm scales, BatchNorm's running
//! statistics) off its initial value, so an export that dropped a scale or a statistic shows:
//! shared by `tests/onnx.rs` and `examples/onnx_fixtures.rs`.

use unet::burn::module::{ModuleMapper, Param};
use unet::burn::tensor::backend::Backend;
use unet::burn::tensor::{Distribution, Tensor};

/// Scales every float by U(0.5, 1.5) and shifts it by U(-0.1, 0.1): a running variance of 1
/// stays positive.
pub struct Jitter;

impl<B: Backend> ModuleMapper<B> for Jitter {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, t, mapper) = param.consume();
        let (shape, device) = (t.shape(), t.device());
        let scale = Tensor::random(shape.clone(), Distribution::Uniform(0.5, 1.5), &device);
        let shift = Tensor::random(shape, Distribution::Uniform(-0.1, 0.1), &device);
        Param::from_mapped_value(id, t * scale + shift, mapper)
    }
}
