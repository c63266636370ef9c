//! `Feature`: a tensor whose channel count and resolution level are in its type.

use core::marker::PhantomData;

use burn::tensor::{backend::Backend, Tensor};

use crate::error::ShapeError;
use crate::level::Level;

/// A `[N, C, H, W]` feature map with `C` channels at resolution level `L`.
///
/// H and W stay dynamic. The only public way in from an untyped tensor is
/// [`Feature::try_new`], which checks `C`; blocks of this crate produce the rest.
#[derive(Debug)]
pub struct Feature<B: Backend, const C: usize, L> {
    tensor: Tensor<B, 4>,
    level: PhantomData<L>,
}

impl<B: Backend, const C: usize, L: Level> Clone for Feature<B, C, L> {
    fn clone(&self) -> Self {
        Self::trusted(self.tensor.clone())
    }
}

impl<B: Backend, const C: usize, L: Level> Feature<B, C, L> {
    /// Wraps `tensor`, checking that its channel axis has `C` entries and its batch is not empty.
    pub fn try_new(tensor: Tensor<B, 4>) -> Result<Self, ShapeError> {
        let shape = tensor.dims();
        if shape[1] != C {
            return Err(ShapeError::Channels {
                expected: C,
                actual: shape[1],
                shape,
            });
        }
        if shape[0] == 0 {
            return Err(ShapeError::EmptyBatch { shape });
        }
        Ok(Self::trusted(tensor))
    }

    /// For blocks whose own weights guarantee `C` output channels.
    pub(crate) fn trusted(tensor: Tensor<B, 4>) -> Self {
        debug_assert_eq!(
            tensor.dims()[1],
            C,
            "block produced the wrong channel count"
        );
        Self {
            tensor,
            level: PhantomData,
        }
    }

    /// The channel count, `C`.
    pub const CHANNELS: usize = C;

    /// The tensor, borrowed.
    pub fn tensor(&self) -> &Tensor<B, 4> {
        &self.tensor
    }

    /// The tensor, unwrapped.
    pub fn into_tensor(self) -> Tensor<B, 4> {
        self.tensor
    }

    /// `[N, C, H, W]`.
    pub fn dims(&self) -> [usize; 4] {
        self.tensor.dims()
    }

    /// The level index (0 = input resolution).
    pub fn level(&self) -> usize {
        L::INDEX
    }
}

/// The channel-wise concatenation of an up-sampled map (`UP` channels, first) and a skip
/// (`SKIP` channels, second) at the same level `L`: the only input a decoder's convolutions accept.
#[derive(Debug)]
pub struct Concat<B: Backend, const UP: usize, const SKIP: usize, L> {
    tensor: Tensor<B, 4>,
    level: PhantomData<L>,
}

impl<B: Backend, const UP: usize, const SKIP: usize, L: Level> Concat<B, UP, SKIP, L> {
    /// Concatenates `[up, skip]` along channels, center-cropping the skip to the up-sampled
    /// map's size (a no-op with same padding, the paper's crop with valid padding).
    pub fn new(up: Feature<B, UP, L>, skip: Feature<B, SKIP, L>) -> Self {
        let [_, _, h, w] = up.dims();
        let skip = center_crop(skip.into_tensor(), h, w);
        Self {
            tensor: Tensor::cat(vec![up.into_tensor(), skip], 1),
            level: PhantomData,
        }
    }

    /// The concatenated tensor, `UP + SKIP` channels.
    pub fn into_tensor(self) -> Tensor<B, 4> {
        self.tensor
    }

    /// `[N, UP + SKIP, H, W]`.
    pub fn dims(&self) -> [usize; 4] {
        self.tensor.dims()
    }
}

/// Crops the center `h` x `w` window of `x`; `x` must be at least that large.
pub fn center_crop<B: Backend>(x: Tensor<B, 4>, h: usize, w: usize) -> Tensor<B, 4> {
    let [n, c, xh, xw] = x.dims();
    if xh == h && xw == w {
        return x;
    }
    assert!(
        xh >= h && xw >= w,
        "center_crop: {xh}x{xw} is smaller than the {h}x{w} window"
    );
    let top = (xh - h) / 2;
    let left = (xw - w) / 2;
    x.slice([0..n, 0..c, top..top + h, left..left + w])
}
