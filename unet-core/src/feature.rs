//! `Feature`: a tensor whose channel count and resolution level are in its type.

use core::marker::PhantomData;

use burn::tensor::{backend::Backend, ops::PadMode, Tensor};

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
                shape: shape.to_vec(),
            });
        }
        if shape[0] == 0 {
            return Err(ShapeError::EmptyBatch {
                shape: shape.to_vec(),
            });
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

    /// Pads H and W up to multiples of `multiple` (see [`pad_to_multiple`]); returns the
    /// padded map and the `[top, left]` offset of the original in it.
    pub fn padded_to_multiple(self, multiple: usize) -> (Self, [usize; 2]) {
        let (tensor, at) = pad_to_multiple(self.tensor, multiple);
        (Self::trusted(tensor), at)
    }

    /// The `h` x `w` window at `[top, left]` (see [`crop_at`]).
    pub fn cropped(self, at: [usize; 2], h: usize, w: usize) -> Self {
        Self::trusted(crop_at(self.tensor, at, h, w))
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

/// Pads H and W of `x` up to multiples of `multiple`, splitting each pad evenly before and
/// after: by reflection, or by repeating the edge where the map is too small to reflect.
/// Returns the padded map and the `[top, left]` offset of the original inside it.
pub fn pad_to_multiple<B: Backend>(x: Tensor<B, 4>, multiple: usize) -> (Tensor<B, 4>, [usize; 2]) {
    let [_, _, h, w] = x.dims();
    let split = |size: usize| {
        let total = size.div_ceil(multiple) * multiple - size;
        (total / 2, total - total / 2)
    };
    let ((top, bottom), (left, right)) = (split(h), split(w));
    if top + bottom + left + right == 0 {
        return (x, [0, 0]);
    }
    let mode = if bottom < h && right < w {
        PadMode::Reflect
    } else {
        PadMode::Edge
    };
    (
        x.pad([(0, 0), (0, 0), (top, bottom), (left, right)], mode),
        [top, left],
    )
}

/// Crops the `h` x `w` window at `[top, left]`: the inverse of [`pad_to_multiple`].
pub fn crop_at<B: Backend>(
    x: Tensor<B, 4>,
    [top, left]: [usize; 2],
    h: usize,
    w: usize,
) -> Tensor<B, 4> {
    let [n, c, xh, xw] = x.dims();
    if (xh, xw) == (h, w) {
        return x;
    }
    x.slice([0..n, 0..c, top..top + h, left..left + w])
}

/// A `[N, C, D, H, W]` volume with `C` channels at resolution level `L`: the 3D counterpart of
/// [`Feature`], for `dims: 3` networks. D, H and W stay dynamic.
#[derive(Debug)]
pub struct Feature3<B: Backend, const C: usize, L> {
    tensor: Tensor<B, 5>,
    level: PhantomData<L>,
}

impl<B: Backend, const C: usize, L: Level> Clone for Feature3<B, C, L> {
    fn clone(&self) -> Self {
        Self::trusted(self.tensor.clone())
    }
}

impl<B: Backend, const C: usize, L: Level> Feature3<B, C, L> {
    /// Wraps `tensor`, checking that its channel axis has `C` entries and its batch is not empty.
    pub fn try_new(tensor: Tensor<B, 5>) -> Result<Self, ShapeError> {
        let shape = tensor.dims();
        if shape[1] != C {
            return Err(ShapeError::Channels {
                expected: C,
                actual: shape[1],
                shape: shape.to_vec(),
            });
        }
        if shape[0] == 0 {
            return Err(ShapeError::EmptyBatch {
                shape: shape.to_vec(),
            });
        }
        Ok(Self::trusted(tensor))
    }

    /// For blocks whose own weights guarantee `C` output channels.
    pub(crate) fn trusted(tensor: Tensor<B, 5>) -> Self {
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
    pub fn tensor(&self) -> &Tensor<B, 5> {
        &self.tensor
    }

    /// The tensor, unwrapped.
    pub fn into_tensor(self) -> Tensor<B, 5> {
        self.tensor
    }

    /// `[N, C, D, H, W]`.
    pub fn dims(&self) -> [usize; 5] {
        self.tensor.dims()
    }

    /// The level index (0 = input resolution).
    pub fn level(&self) -> usize {
        L::INDEX
    }
}

/// The 3D [`Concat`]: `[up, skip]` along channels at level `L`, the skip center-cropped.
#[derive(Debug)]
pub struct Concat3<B: Backend, const UP: usize, const SKIP: usize, L> {
    tensor: Tensor<B, 5>,
    level: PhantomData<L>,
}

impl<B: Backend, const UP: usize, const SKIP: usize, L: Level> Concat3<B, UP, SKIP, L> {
    /// Concatenates `[up, skip]` along channels, center-cropping the skip to `up`'s size.
    pub fn new(up: Feature3<B, UP, L>, skip: Feature3<B, SKIP, L>) -> Self {
        let [_, _, d, h, w] = up.dims();
        let skip = center_crop3(skip.into_tensor(), [d, h, w]);
        Self {
            tensor: Tensor::cat(vec![up.into_tensor(), skip], 1),
            level: PhantomData,
        }
    }

    /// The concatenated tensor, `UP + SKIP` channels.
    pub fn into_tensor(self) -> Tensor<B, 5> {
        self.tensor
    }
}

/// Crops the center `[d, h, w]` window of a volume; `x` must be at least that large.
pub fn center_crop3<B: Backend>(x: Tensor<B, 5>, [d, h, w]: [usize; 3]) -> Tensor<B, 5> {
    let [n, c, xd, xh, xw] = x.dims();
    if [xd, xh, xw] == [d, h, w] {
        return x;
    }
    assert!(
        xd >= d && xh >= h && xw >= w,
        "center_crop3: {xd}x{xh}x{xw} is smaller than the {d}x{h}x{w} window"
    );
    let (front, top, left) = ((xd - d) / 2, (xh - h) / 2, (xw - w) / 2);
    x.slice([0..n, 0..c, front..front + d, top..top + h, left..left + w])
}
