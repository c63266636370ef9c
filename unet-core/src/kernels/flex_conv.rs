//! 2D convolutions and the U-Net's transposed 2x2 up-sampling on flex through the host GEMM
//! kernels of [`super::cpu_conv`] and [`super::cpu_up`], forward and backward.
//!
//! The blocks are generic over `B: Backend`; a trait bound for the fast path would reach every
//! generated type and every user's code. So the blocks ask [`try_conv2d`] and
//! [`try_conv_transpose2d`], which check by `TypeId` whether `B` is `Flex` (inference) or
//! `Autodiff<Flex>` (training) and move the tensors across with a safe `Any` downcast (the
//! same type, named two ways). Every other backend keeps burn's own ops, and so does every
//! case the kernels do not cover (other dtypes, groups, uneven padding): each pass falls back
//! to flex's op on its own.

use std::any::{Any, TypeId};
use std::fmt::Debug;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::pool::MaxPool2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{
    ConvOptions, ConvTransposeOptions, FloatTensor, FloatTensorOps, ModuleOps,
};
use burn::tensor::{DType, Tensor, TensorData, TensorMetadata, TensorPrimitive};

use super::cpu_conv::{conv2d_forward, conv2d_input_grad, conv2d_weight_grad, ConvGeometry};
use super::cpu_pool::max_pool_2x2;
use super::cpu_up::{up_backward, up_forward, UpGeometry};

type Ad = Autodiff<Flex>;

/// `value` as `U`, where the caller has checked that `T` and `U` are the same type (a
/// `TypeId` comparison): a move through `Any`, no transmute.
fn same<T: 'static, U: 'static>(value: T) -> U {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .unwrap_or_else(|| unreachable!("the caller compared the TypeIds"))
}

/// Symmetric padding `[ph, pw]` of a conv, or `None` where the fast path does not apply.
fn symmetric_padding<B: Backend>(conv: &Conv2d<B>) -> Option<[usize; 2]> {
    match conv.padding {
        PaddingConfig2d::Valid => Some([0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => {
            (top == bottom && left == right).then_some([top, left])
        }
        PaddingConfig2d::Same => {
            let side = |i: usize| {
                let span = conv.dilation[i] * (conv.kernel_size[i] - 1);
                (conv.stride[i] == 1 && span.is_multiple_of(2)).then_some(span / 2)
            };
            Some([side(0)?, side(1)?])
        }
    }
}

/// `conv.forward(x)` through the host kernels when `B` is `Flex` or `Autodiff<Flex>` and the
/// conv has one group and symmetric padding; `Err(x)` untouched otherwise.
pub(super) fn try_conv2d<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if !on_flex::<B>() || conv.groups != 1 {
        return Err(x);
    }
    let Some(padding) = symmetric_padding(conv) else {
        return Err(x);
    };
    let layer = Conv(ConvOptions::new(conv.stride, padding, conv.dilation, 1));
    Ok(run(
        layer,
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
    ))
}

/// `up.forward(x)` through the host kernels when `B` is `Flex` or `Autodiff<Flex>` and the
/// transposed conv's kernel equals its stride (no padding, dilation or groups): the U-Net's
/// 2x2 stride-2 up-sampling. `Err(x)` untouched otherwise.
pub(super) fn try_conv_transpose2d<B: Backend>(
    up: &ConvTranspose2d<B>,
    x: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let plain = up.groups == 1
        && up.kernel_size == up.stride
        && up.padding == [0, 0]
        && up.padding_out == [0, 0]
        && up.dilation == [1, 1];
    if !on_flex::<B>() || !plain {
        return Err(x);
    }
    let layer = Up(ConvTransposeOptions::new(
        up.stride,
        [0, 0],
        [0, 0],
        [1, 1],
        1,
    ));
    Ok(run(
        layer,
        x,
        up.weight.val(),
        up.bias.as_ref().map(|b| b.val()),
    ))
}

/// `pool.forward(x)` through [`max_pool_2x2`] when `B` is `Flex` (inference: no argmax is
/// needed) and the pool is the U-Net's 2x2 stride-2 one with no padding or dilation; `Err(x)`
/// untouched otherwise, training included.
pub(super) fn try_max_pool2d<B: Backend>(
    pool: &MaxPool2d,
    x: Tensor<B, 4>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let plain = pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && matches!(pool.padding, PaddingConfig2d::Valid);
    if TypeId::of::<B>() != TypeId::of::<Flex>() || !plain {
        return Err(x);
    }
    let x: Tensor<Flex, 4> = same(x);
    let primitive = x.clone().into_primitive().tensor();
    let shape: [usize; 4] = primitive.shape().dims();
    let pooled = f32_contiguous(&primitive)
        .and_then(|t| max_pool_2x2(t.as_slice()?, shape))
        .map(|y| from_vec(y, [shape[0], shape[1], shape[2] / 2, shape[3] / 2]));
    match pooled {
        Some(y) => Ok(same(Tensor::<Flex, 4>::from_primitive(
            TensorPrimitive::Float(y),
        ))),
        None => Err(same(x)),
    }
}

/// Whether `B` is one of the two backends the kernels serve.
fn on_flex<B: Backend>() -> bool {
    let b = TypeId::of::<B>();
    b == TypeId::of::<Flex>() || b == TypeId::of::<Ad>()
}

/// Runs `layer` on `B` = `Flex` (forward only) or `Autodiff<Flex>` (tracked, with
/// [`FastBackward`]); the caller has checked [`on_flex`].
fn run<B: Backend, L: HostLayer>(
    layer: L,
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 4> {
    if TypeId::of::<B>() == TypeId::of::<Flex>() {
        let primitive = |t: Tensor<Flex, 4>| t.into_primitive().tensor();
        let y = layer.forward(
            primitive(same(x)),
            primitive(same(weight)),
            bias.map(|b| same::<_, Tensor<Flex, 1>>(b).into_primitive().tensor()),
        );
        return same(Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(y)));
    }
    let primitive = |t: Tensor<Ad, 4>| t.into_primitive().tensor();
    let (x, weight) = (primitive(same(x)), primitive(same(weight)));
    let y = match bias.map(|b| same::<_, Tensor<Ad, 1>>(b).into_primitive().tensor()) {
        Some(bias) => track(layer, [&x, &weight, &bias]),
        None => track(layer, [&x, &weight]),
    };
    same(Tensor::<Ad, 4>::from_primitive(TensorPrimitive::Float(y)))
}

/// A layer with host kernels: its forward pass and the gradients of its input and weight.
/// Each returns flex's own result where the kernels do not apply.
trait HostLayer: Clone + Send + Debug + 'static {
    /// The output.
    fn forward(&self, x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>) -> FlexTensor;

    /// `(dx, dW)`, each computed only when asked for.
    fn backward(
        &self,
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        wanted: [bool; 2],
    ) -> [Option<FlexTensor>; 2];
}

/// A 2D convolution with one group and symmetric padding.
#[derive(Clone, Debug)]
struct Conv(ConvOptions<2>);

impl HostLayer for Conv {
    fn forward(&self, x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>) -> FlexTensor {
        let host = || {
            let g = conv_geometry(&x, &weight, &self.0);
            let y = with_f32(&x, &weight, bias.as_ref(), |x, w, b| {
                conv2d_forward(x, w, b, g)
            })?;
            let [ho, wo] = g.output()?;
            Some(from_vec(y, [g.input[0], g.channels_out, ho, wo]))
        };
        host().unwrap_or_else(|| Flex::conv2d(x, weight, bias, self.0.clone()))
    }

    fn backward(
        &self,
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        [want_x, want_w]: [bool; 2],
    ) -> [Option<FlexTensor>; 2] {
        let g = conv_geometry(&x, &weight, &self.0);
        let dw = want_w.then(|| {
            let host = || {
                let (xs, gs) = (f32_contiguous(&x)?, f32_contiguous(&grad)?);
                let dw = conv2d_weight_grad(xs.as_slice()?, gs.as_slice()?, g)?;
                Some(from_vec(dw, weight.shape().dims()))
            };
            host().unwrap_or_else(|| {
                Flex::conv2d_weight_backward(
                    x.clone(),
                    weight.clone(),
                    grad.clone(),
                    self.0.clone(),
                )
            })
        });
        let dx = want_x.then(|| {
            let host = || {
                let (gs, ws) = (f32_contiguous(&grad)?, f32_contiguous(&weight)?);
                let dx = conv2d_input_grad(gs.as_slice()?, ws.as_slice()?, g)?;
                Some(from_vec(dx, x.shape().dims()))
            };
            host().unwrap_or_else(|| {
                Flex::conv2d_x_backward(x.clone(), weight.clone(), grad.clone(), self.0.clone())
            })
        });
        [dx, dw]
    }
}

/// A transposed convolution whose kernel equals its stride.
#[derive(Clone, Debug)]
struct Up(ConvTransposeOptions<2>);

impl Up {
    fn geometry(x: &FlexTensor, weight: &FlexTensor) -> UpGeometry {
        let w: [usize; 4] = weight.shape().dims();
        UpGeometry {
            input: x.shape().dims(),
            channels_out: w[1],
            kernel: [w[2], w[3]],
        }
    }
}

impl HostLayer for Up {
    fn forward(&self, x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>) -> FlexTensor {
        let host = || {
            let g = Self::geometry(&x, &weight);
            let y = with_f32(&x, &weight, bias.as_ref(), |x, w, b| up_forward(x, w, b, g))?;
            Some(from_vec(y, g.output()))
        };
        host().unwrap_or_else(|| Flex::conv_transpose2d(x, weight, bias, self.0.clone()))
    }

    fn backward(
        &self,
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        [want_x, want_w]: [bool; 2],
    ) -> [Option<FlexTensor>; 2] {
        let host = || {
            let g = Self::geometry(&x, &weight);
            let (xs, ws, gs) = (
                f32_contiguous(&x)?,
                f32_contiguous(&weight)?,
                f32_contiguous(&grad)?,
            );
            let (dx, dw) = up_backward(xs.as_slice()?, ws.as_slice()?, gs.as_slice()?, g)?;
            Some([
                want_x.then(|| from_vec(dx, x.shape().dims())),
                want_w.then(|| from_vec(dw, weight.shape().dims())),
            ])
        };
        host().unwrap_or_else(|| {
            let o = &self.0;
            [
                want_x.then(|| {
                    Flex::conv_transpose2d_x_backward(weight.clone(), grad.clone(), o.clone())
                }),
                want_w.then(|| {
                    Flex::conv_transpose2d_weight_backward(
                        x.clone(),
                        weight.clone(),
                        grad.clone(),
                        o.clone(),
                    )
                }),
            ]
        })
    }
}

/// Runs `layer`'s forward pass on `parents` (`[x, weight]` or `[x, weight, bias]`) and records
/// [`FastBackward`] as its backward step. The primitives are `Arc`s: cloning them is cheap.
fn track<L: HostLayer, const N: usize>(layer: L, parents: [&FloatTensor<Ad>; N]) -> FloatTensor<Ad>
where
    FastBackward<L>: Backward<Flex, N, State = (NodeId, NodeId, L)>,
{
    let (x, weight) = (parents[0], parents[1]);
    let bias = parents.get(2).map(|b| b.primitive.clone());
    let forward = |layer: &L| layer.forward(x.primitive.clone(), weight.primitive.clone(), bias);
    match FastBackward(std::marker::PhantomData::<L>)
        .prepare::<NoCheckpointing>(parents.map(|t| t.node.clone()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let y = forward(&layer);
            let state = (prep.checkpoint(x), prep.checkpoint(weight), layer);
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(&layer)),
    }
}

/// The backward step of a [`HostLayer`] over the parents `[x, weight]` or
/// `[x, weight, bias]`; it keeps the checkpointed input and weight, and the layer.
#[derive(Debug)]
struct FastBackward<L>(std::marker::PhantomData<L>);

impl<L: HostLayer, const N: usize> Backward<Flex, N> for FastBackward<L> {
    type State = (NodeId, NodeId, L);

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let mut parents = ops.parents.into_iter();
        let (node_x, node_weight) = (parents.next().flatten(), parents.next().flatten());
        let node_bias = parents.next().flatten();
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_state, weight_state, layer) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<Flex>>(x_state);
        let weight = checkpointer.retrieve_node_output::<FloatTensor<Flex>>(weight_state);

        if let Some(node) = node_bias {
            // The sum of the gradient over batch and positions, as burn computes it.
            let bias_grad = Flex::float_sum_dim(
                Flex::float_sum_dim(Flex::float_sum_dim(grad.clone(), 0), 2),
                3,
            );
            let channels = bias_grad.shape().num_elements();
            grads.register::<Flex>(node.id, Flex::float_reshape(bias_grad, [channels].into()));
        }
        let [dx, dw] = layer.backward(x, weight, grad, [node_x.is_some(), node_weight.is_some()]);
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, dx);
        }
        if let (Some(node), Some(dw)) = (node_weight, dw) {
            grads.register::<Flex>(node.id, dw);
        }
    }
}

/// The conv's geometry from its input and weight (one group: [`try_conv2d`] checked it).
fn conv_geometry(x: &FlexTensor, weight: &FlexTensor, options: &ConvOptions<2>) -> ConvGeometry {
    let w: [usize; 4] = weight.shape().dims();
    ConvGeometry {
        input: x.shape().dims(),
        channels_out: w[0],
        kernel: [w[2], w[3]],
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
    }
}

/// Runs `kernel` on the contiguous f32 data of a layer's input, weight and bias; `None` for
/// other dtypes.
fn with_f32<R>(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    kernel: impl FnOnce(&[f32], &[f32], Option<&[f32]>) -> Option<R>,
) -> Option<R> {
    let (x, weight) = (f32_contiguous(x)?, f32_contiguous(weight)?);
    let bias = match bias {
        Some(b) => Some(f32_contiguous(b)?),
        None => None,
    };
    let bias = match &bias {
        Some(b) => Some(b.as_slice::<f32>()?),
        None => None,
    };
    kernel(x.as_slice()?, weight.as_slice()?, bias)
}

/// A contiguous copy (or the tensor itself) of an f32 tensor; `None` for other dtypes.
fn f32_contiguous(t: &FlexTensor) -> Option<FlexTensor> {
    (t.dtype() == DType::F32).then(|| t.to_contiguous())
}

/// A contiguous f32 flex tensor of `shape` from `data`.
fn from_vec(data: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::Distribution;

    /// Asserts `a` is within 1e-4 of `b`, relative to the largest of `b` (at least 1).
    fn close(a: Tensor<Flex, 4>, b: Tensor<Flex, 4>, what: &str) {
        let scale = b.clone().abs().max().into_scalar().max(1.0);
        let diff = (a - b).abs().max().into_scalar() / scale;
        assert!(diff < 1e-4, "{what} differs by {diff} (relative)");
    }

    #[test]
    fn inference_max_pool_matches_burns_and_training_keeps_burns_own() {
        use burn::nn::pool::MaxPool2dConfig;
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let normal = Distribution::Normal(0.0, 1.0);
        for shape in [[2, 3, 8, 6], [1, 4, 7, 9]] {
            let x = Tensor::<Flex, 4>::random(shape, normal, &Default::default());
            let fast = try_max_pool2d(&pool, x.clone()).expect("the fast path applies");
            let reference = pool.forward(x);
            assert_eq!(fast.dims(), reference.dims());
            assert_eq!(fast.into_data(), reference.into_data());
        }
        let x = Tensor::<Ad, 4>::zeros([1, 1, 4, 4], &Default::default());
        assert!(try_max_pool2d(&pool, x).is_err());
        let three = MaxPool2dConfig::new([3, 3]).init();
        let x = Tensor::<Flex, 4>::zeros([1, 1, 6, 6], &Default::default());
        assert!(try_max_pool2d(&three, x).is_err());
    }

    /// [`compare_grads`] for a conv of `config` on an input of shape `input`.
    fn compare(config: Conv2dConfig, input: [usize; 4]) {
        let conv = config.init::<Ad>(&Default::default());
        compare_grads(
            input,
            &conv.weight,
            conv.bias.as_ref(),
            |x| conv.forward(x),
            |x| try_conv2d(&conv, x).expect("the fast path applies"),
        );
    }

    /// Output and gradients of `sum(layer(x) * r)` for x, weight and bias, through burn's
    /// `reference` and the `fast` path: they must agree (f32 sums in different orders).
    fn compare_grads(
        input: [usize; 4],
        weight: &Param<Tensor<Ad, 4>>,
        bias: Option<&Param<Tensor<Ad, 1>>>,
        reference: impl Fn(Tensor<Ad, 4>) -> Tensor<Ad, 4>,
        fast: impl Fn(Tensor<Ad, 4>) -> Tensor<Ad, 4>,
    ) {
        let device = Default::default();
        let normal = Distribution::Normal(0.0, 1.0);
        let x = Tensor::<Ad, 4>::random(input, normal, &device).require_grad();
        let reference = reference(x.clone());
        let r = Tensor::<Ad, 4>::random(reference.dims(), normal, &device);
        let fast = fast(x.clone());
        close(
            fast.clone().inner(),
            reference.clone().inner(),
            "the output",
        );
        let grads_ref = (reference * r.clone()).sum().backward();
        let grads_fast = (fast * r).sum().backward();
        let [a, b] = [&grads_fast, &grads_ref].map(|g| x.grad(g).unwrap());
        close(a, b, "the input gradient");
        let [a, b] = [&grads_fast, &grads_ref].map(|g| weight.grad(g).unwrap());
        close(a, b, "the weight gradient");
        if let Some(bias) = bias {
            let [a, b] = [&grads_fast, &grads_ref].map(|g| bias.grad(g).unwrap().unsqueeze::<4>());
            close(a, b, "the bias gradient");
        }
    }

    #[test]
    fn fast_conv_gradients_equal_burns_for_padded_3x3_with_bias() {
        let config =
            Conv2dConfig::new([5, 7], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
        compare(config, [2, 5, 12, 10]);
    }

    #[test]
    fn fast_conv_gradients_equal_burns_for_valid_convs_without_bias() {
        let config = Conv2dConfig::new([4, 3], [3, 3]).with_bias(false);
        compare(config, [3, 4, 11, 9]);
        compare(Conv2dConfig::new([6, 2], [1, 1]), [1, 6, 5, 7]);
    }

    #[test]
    fn fast_conv_gradients_equal_burns_with_stride_and_same_padding() {
        let strided = Conv2dConfig::new([3, 4], [3, 3])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
        compare(strided, [2, 3, 9, 8]);
        let same = Conv2dConfig::new([3, 4], [5, 5]).with_padding(PaddingConfig2d::Same);
        compare(same, [1, 3, 8, 8]);
    }

    #[test]
    fn fast_conv_forward_on_flex_inference_equals_burns() {
        let device = Default::default();
        let conv = Conv2dConfig::new([3, 5], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init::<Flex>(&device);
        let x = Tensor::<Flex, 4>::random([2, 3, 9, 6], Distribution::Normal(0.0, 1.0), &device);
        let fast = try_conv2d(&conv, x.clone()).expect("the fast path applies");
        let reference = conv.forward(x);
        let diff = (fast - reference).abs().max().into_scalar();
        assert!(diff < 1e-4, "the outputs differ by {diff}");
    }

    #[test]
    fn fast_up_gradients_equal_burns_for_2x2_stride_2_with_and_without_bias() {
        for bias in [true, false] {
            let up = ConvTranspose2dConfig::new([6, 3], [2, 2])
                .with_stride([2, 2])
                .with_bias(bias)
                .init::<Ad>(&Default::default());
            compare_grads(
                [2, 6, 5, 7],
                &up.weight,
                up.bias.as_ref(),
                |x| up.forward(x),
                |x| try_conv_transpose2d(&up, x).expect("the fast path applies"),
            );
        }
    }

    #[test]
    fn fast_up_forward_on_flex_equals_burns_and_leaves_overlapping_kernels_to_burn() {
        let device = Default::default();
        let up = ConvTranspose2dConfig::new([4, 2], [2, 2])
            .with_stride([2, 2])
            .init::<Flex>(&device);
        let x = Tensor::<Flex, 4>::random([1, 4, 3, 5], Distribution::Normal(0.0, 1.0), &device);
        let fast = try_conv_transpose2d(&up, x.clone()).expect("the fast path applies");
        close(fast, up.forward(x.clone()), "the output");
        let overlapping = ConvTranspose2dConfig::new([4, 2], [3, 3])
            .with_stride([2, 2])
            .init::<Flex>(&device);
        assert!(try_conv_transpose2d(&overlapping, x).is_err());
    }

    #[test]
    fn fast_conv_leaves_grouped_and_uneven_convs_to_burn() {
        let device = Default::default();
        let grouped = Conv2dConfig::new([4, 4], [3, 3])
            .with_groups(2)
            .init::<Ad>(&device);
        assert!(try_conv2d(&grouped, Tensor::zeros([1, 4, 4, 4], &device)).is_err());
        let uneven = Conv2dConfig::new([2, 2], [2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 0, 0))
            .init::<Flex>(&device);
        assert!(try_conv2d(&uneven, Tensor::zeros([1, 2, 4, 4], &device)).is_err());
    }
}
