//! Faster kernels for the ops where burn's CPU backend is slow, used only where they apply
//! and tested against burn's own results.
//!
//! On flex (`Flex` for inference, `Autodiff<Flex>` for training), 2D convolutions and the
//! U-Net's 2x2 stride-2 transposed convolutions run as im2col / plain GEMMs on the host
//! ([`cpu_conv`], [`cpu_up`]), forward and backward; stride-1 3x3 convolutions with 64
//! channels or more on maps of 64x64 outputs or more take Winograd's F(2x2, 3x3)
//! ([`winograd`]) for the forward pass and the input gradient. burn computes the weight
//! gradients with a generic formulation that costs 2-14x the forward pass there (see
//! BENCHMARKS.md).
//! For inference, the encoder's 2x2 max-pool is one pass with no argmax ([`cpu_pool`]).
//! [`conv2d`], [`conv_transpose2d`] and [`max_pool2d`] are what the blocks call instead of
//! `forward`; on every
//! other backend, or with [`set_fast_conv`]`(false)`, they are exactly the layers' `forward`.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::pool::MaxPool2d;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

#[cfg(feature = "cpu")]
pub mod cpu_conv;
#[cfg(feature = "cpu")]
pub mod cpu_pool;
#[cfg(feature = "cpu")]
pub mod cpu_up;
#[cfg(feature = "cpu")]
mod flex_conv;
#[cfg(feature = "cpu")]
mod matmul;
#[cfg(feature = "cpu")]
mod tiling;
#[cfg(feature = "cpu")]
pub mod winograd;

static FAST_CONV: AtomicBool = AtomicBool::new(true);

/// Turns the host convolution kernels on or off for the whole process (on by default).
/// For A/B benchmarks and checks: both settings compute the same gradients.
pub fn set_fast_conv(enabled: bool) {
    FAST_CONV.store(enabled, Ordering::Relaxed);
}

/// Whether [`conv2d`] and [`conv_transpose2d`] use the host kernels where they apply.
pub fn fast_conv() -> bool {
    FAST_CONV.load(Ordering::Relaxed)
}

/// `conv.forward(x)`; on flex, through the im2col GEMM kernels of [`cpu_conv`] (forward and
/// both gradients) when the conv has one group and symmetric padding.
pub fn conv2d<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "cpu")]
    let x = match fast(x, |x| flex_conv::try_conv2d(conv, x)) {
        Ok(y) => return y,
        Err(x) => x,
    };
    conv.forward(x)
}

/// `up.forward(x)`; on flex, through the host GEMM kernels of [`cpu_up`] (forward and both
/// gradients) when the kernel equals the stride, as in the U-Net's 2x2 stride-2 up-sampling.
pub fn conv_transpose2d<B: Backend>(up: &ConvTranspose2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "cpu")]
    let x = match fast(x, |x| flex_conv::try_conv_transpose2d(up, x)) {
        Ok(y) => return y,
        Err(x) => x,
    };
    up.forward(x)
}

/// `pool.forward(x)`; on flex without autodiff (inference), the 2x2 stride-2 pool of the
/// U-Net's encoder through [`cpu_pool`], which computes no argmax.
pub fn max_pool2d<B: Backend>(pool: &MaxPool2d, x: Tensor<B, 4>) -> Tensor<B, 4> {
    #[cfg(feature = "cpu")]
    let x = match fast(x, |x| flex_conv::try_max_pool2d(pool, x)) {
        Ok(y) => return y,
        Err(x) => x,
    };
    pool.forward(x)
}

/// `kernel(x)` while the kernels are on ([`set_fast_conv`]); `Err(x)` (burn's op then) otherwise
/// or where `kernel` does not apply.
#[cfg(feature = "cpu")]
fn fast<B: Backend>(
    x: Tensor<B, 4>,
    kernel: impl FnOnce(Tensor<B, 4>) -> Result<Tensor<B, 4>, Tensor<B, 4>>,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if fast_conv() {
        kernel(x)
    } else {
        Err(x)
    }
}
