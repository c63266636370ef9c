//! `Feature`: a tensor whose channel count and resolution level are in its type.

use core::marker::PhantomData;

use burn::tensor::{backend::Backend, ops::PadMode, BasicOps, Tensor};

use crate::error::ShapeError;
use crate::level::Level;

/// A `[N, C, H, W]` feature map (rank `D = 4`, the default) or `[N, C, D, H, W]` volume
/// (`D = 5`, [`Feature3d`]) with `C` channels at resolution level `L`.
///
/// The spatial sizes stay dynamic. The only public way in from an untyped tensor is
/// [`Feature::try_new`], which checks `C`; blocks of this crate produce the rest.
#[derive(Debug)]
pub struct Feature<B: Backend, const C: usize, L, const D: usize = 4> {
    tensor: Tensor<B, D>,
    level: PhantomData<L>,
}

/// A `[N, C, D, H, W]` volume with `C` channels at level `L`, for `dims: 3` networks.
pub type Feature3d<B, const C: usize, L> = Feature<B, C, L, 5>;

impl<B: Backend, const C: usize, L: Level, const D: usize> Clone for Feature<B, C, L, D> {
    fn clone(&self) -> Self {
        Self::trusted(self.tensor.clone())
    }
}

impl<B: Backend, const C: usize, L: Level, const D: usize> Feature<B, C, L, D> {
    /// Wraps `tensor`, checking that its channel axis has `C` entries and its batch is not empty.
    pub fn try_new(tensor: Tensor<B, D>) -> Result<Self, ShapeError> {
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
    pub(crate) fn trusted(tensor: Tensor<B, D>) -> Self {
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
    pub fn tensor(&self) -> &Tensor<B, D> {
        &self.tensor
    }

    /// The tensor, unwrapped.
    pub fn into_tensor(self) -> Tensor<B, D> {
        self.tensor
    }

    /// `[N, C, H, W]` (or `[N, C, D, H, W]`).
    pub fn dims(&self) -> [usize; D] {
        self.tensor.dims()
    }

    /// The level index (0 = input resolution).
    pub fn level(&self) -> usize {
        L::INDEX
    }
}

impl<B: Backend, const C: usize, L: Level, const D: usize> Feature<B, C, L, D> {
    /// Pads every spatial axis up to a multiple of `multiple` (see
    /// [`pad_spatial_to_multiple`]); returns the padded map and the offset of the original in
    /// it, one entry per axis.
    pub fn padded_to_multiple(self, multiple: usize) -> (Self, Vec<usize>) {
        let (tensor, at) = pad_spatial_to_multiple(self.tensor, multiple);
        (Self::trusted(tensor), at)
    }

    /// The window of spatial `size` at offset `at`, both given at full resolution and scaled
    /// to this map's `level` (offsets halve, sizes halve rounding up, per level): the inverse
    /// of [`Feature::padded_to_multiple`] for an output of any decoder level.
    pub fn cropped(self, at: &[usize], size: &[usize], level: usize) -> Self {
        let (at, size) = window_at_level(at, size, level);
        Self::trusted(crop_window(self.tensor, &at, &size))
    }
}

/// The channel-wise concatenation of an up-sampled map (`UP` channels, first) and a skip
/// (`SKIP` channels, second) at the same level `L`: the only input a decoder's convolutions
/// accept. Rank `D` as [`Feature`]'s ([`Concat3d`] for volumes).
#[derive(Debug)]
pub struct Concat<B: Backend, const UP: usize, const SKIP: usize, L, const D: usize = 4> {
    tensor: Tensor<B, D>,
    level: PhantomData<L>,
}

/// The concatenation of two volumes, for `dims: 3` networks.
pub type Concat3d<B, const UP: usize, const SKIP: usize, L> = Concat<B, UP, SKIP, L, 5>;

impl<B: Backend, const UP: usize, const SKIP: usize, L: Level, const D: usize>
    Concat<B, UP, SKIP, L, D>
{
    /// The concatenated tensor, `UP + SKIP` channels.
    pub fn into_tensor(self) -> Tensor<B, D> {
        self.tensor
    }

    /// `[N, UP + SKIP, H, W]` (or `[N, UP + SKIP, D, H, W]`).
    pub fn dims(&self) -> [usize; D] {
        self.tensor.dims()
    }
}

impl<B: Backend, const UP: usize, const SKIP: usize, L: Level, const D: usize>
    Concat<B, UP, SKIP, L, D>
{
    /// Concatenates `[up, skip]` along channels, center-cropping the skip to the up-sampled
    /// map's size (a no-op with same padding, the paper's crop with valid padding).
    pub fn new(up: Feature<B, UP, L, D>, skip: Feature<B, SKIP, L, D>) -> Self {
        let size = up.dims();
        let skip = center_crop_to(skip.into_tensor(), &size[2..]);
        Self {
            tensor: Tensor::cat(vec![up.into_tensor(), skip], 1),
            level: PhantomData,
        }
    }
}

/// Crops the center `h` x `w` window of `x`; `x` must be at least that large.
pub fn center_crop<B: Backend>(x: Tensor<B, 4>, h: usize, w: usize) -> Tensor<B, 4> {
    center_crop_to(x, &[h, w])
}

/// Crops the center window of spatial `size` (the axes after N and C) out of `x`, which must
/// be at least that large along each: for maps `[h, w]`, for volumes `[d, h, w]`.
pub fn center_crop_to<B: Backend, const D: usize, K: BasicOps<B>>(
    x: Tensor<B, D, K>,
    size: &[usize],
) -> Tensor<B, D, K> {
    let dims = x.dims();
    assert!(
        dims[2..].iter().zip(size).all(|(have, want)| have >= want),
        "center_crop: {:?} is smaller than the {size:?} window",
        &dims[2..]
    );
    let at: Vec<usize> = dims[2..]
        .iter()
        .zip(size)
        .map(|(have, want)| (have - want) / 2)
        .collect();
    crop_window(x, &at, size)
}

/// The `(before, after)` pad of each side in `sizes` up to a multiple of `multiple`, split
/// evenly (the extra pixel after), and whether every side can be reflected (its after-pad is
/// below its size): the rule of `pad_input`, in the forward pass and in an exported graph.
pub fn pads_to_multiple(sizes: &[usize], multiple: usize) -> (Vec<(usize, usize)>, bool) {
    let pads: Vec<(usize, usize)> = sizes
        .iter()
        .map(|&size| {
            let total = size.div_ceil(multiple) * multiple - size;
            (total / 2, total - total / 2)
        })
        .collect();
    let reflectable = pads
        .iter()
        .zip(sizes)
        .all(|(&(_, after), &size)| after < size);
    (pads, reflectable)
}

/// The window `(at, size)` of the original at decoder `level`: offsets halve and sizes halve
/// rounding up, per level.
pub fn window_at_level(at: &[usize], size: &[usize], level: usize) -> (Vec<usize>, Vec<usize>) {
    let at = at.iter().map(|a| a >> level).collect();
    let size = size.iter().map(|s| s.div_ceil(1 << level)).collect();
    (at, size)
}

/// Pads every spatial axis of `x` (those after N and C) up to a multiple of `multiple`,
/// splitting each pad evenly before and after: by reflection, or by repeating the edge where
/// the map is too small to reflect. Returns the padded map and the offset of the original
/// inside it, one entry per axis.
pub fn pad_spatial_to_multiple<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    multiple: usize,
) -> (Tensor<B, D>, Vec<usize>) {
    let dims = x.dims();
    let (spatial, reflectable) = pads_to_multiple(&dims[2..], multiple);
    let at: Vec<usize> = spatial.iter().map(|(before, _)| *before).collect();
    if spatial.iter().all(|&(a, b)| a + b == 0) {
        return (x, at);
    }
    let pads: Vec<(usize, usize)> = [(0, 0), (0, 0)].into_iter().chain(spatial).collect();
    let mode = if reflectable {
        PadMode::Reflect
    } else {
        PadMode::Edge
    };
    (x.pad(pads, mode), at)
}

/// The spatial window of `size` at offset `at` (one entry per axis after N and C): the
/// inverse of [`pad_spatial_to_multiple`].
pub fn crop_window<B: Backend, const D: usize, K: BasicOps<B>>(
    x: Tensor<B, D, K>,
    at: &[usize],
    size: &[usize],
) -> Tensor<B, D, K> {
    let dims = x.dims();
    if dims[2..] == *size {
        return x;
    }
    let ranges: Vec<core::ops::Range<usize>> = dims
        .iter()
        .enumerate()
        .map(|(axis, &have)| match axis.checked_sub(2) {
            None => 0..have,
            Some(i) => at[i]..at[i] + size[i],
        })
        .collect();
    x.slice(ranges.as_slice())
}

/// [`pad_spatial_to_multiple`] of an `[N, C, H, W]` map: the `[top, left]` offset.
pub fn pad_to_multiple<B: Backend>(x: Tensor<B, 4>, multiple: usize) -> (Tensor<B, 4>, [usize; 2]) {
    let (x, at) = pad_spatial_to_multiple(x, multiple);
    (x, [at[0], at[1]])
}

/// Crops the `h` x `w` window at `[top, left]`: the inverse of [`pad_to_multiple`].
pub fn crop_at<B: Backend>(x: Tensor<B, 4>, at: [usize; 2], h: usize, w: usize) -> Tensor<B, 4> {
    crop_window(x, &at, &[h, w])
}

/// Crops the center `[d, h, w]` window of a volume; `x` must be at least that large.
pub fn center_crop3d<B: Backend>(x: Tensor<B, 5>, size: [usize; 3]) -> Tensor<B, 5> {
    center_crop_to(x, &size)
}
