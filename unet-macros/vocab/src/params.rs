//! Trainable parameters of every block, as PyTorch counts them (a norm's running statistics
//! are buffers, not parameters). `PARAMS` is the sum of these, and each block in
//! `unet-core` is built from the same widths ([`gate_inner`], [`scse_squeeze`]) and tested
//! against burn's own count of what it allocated. `None` means the count overflows `usize`.

use crate::options::{Attention, BlockOptions, NormKind, UpMode};

/// A convolution with `taps` kernel elements (`9` for 3x3, `27` for 3x3x3), with or without bias.
pub fn conv(taps: usize, cin: usize, cout: usize, bias: bool) -> Option<usize> {
    taps.checked_mul(cin)?
        .checked_mul(cout)?
        .checked_add(if bias { cout } else { 0 })
}

/// Kernel elements of a cube of side `size` in `dims` dimensions.
pub fn taps(size: usize, dims: usize) -> usize {
    size.pow(dims as u32)
}

/// An affine norm on `channels` channels: a scale and a shift each.
pub fn norm(kind: NormKind, channels: usize) -> Option<usize> {
    match kind {
        NormKind::None => Some(0),
        _ => channels.checked_mul(2),
    }
}

fn sum(parts: &[Option<usize>]) -> Option<usize> {
    parts
        .iter()
        .try_fold(0usize, |acc, p| acc.checked_add((*p)?))
}

/// A DoubleConv `cin -> cout`: two 3x3 convs (no bias before a norm), two norms, two
/// activations, and a 1x1 projection for a residual block whose widths differ.
pub fn double_conv(o: &BlockOptions, cin: usize, cout: usize, dims: usize) -> Option<usize> {
    let (k, bias) = (taps(3, dims), o.norm.conv_bias());
    let project = if o.residual && cin != cout {
        conv(taps(1, dims), cin, cout, true)
    } else {
        Some(0)
    };
    sum(&[
        conv(k, cin, cout, bias),
        conv(k, cout, cout, bias),
        norm(o.norm, cout),
        norm(o.norm, cout),
        Some(2 * o.act.params()),
        project,
    ])
}

/// One 2x up-sampling step `cin -> cout` (`cout` is the level's width).
pub fn up(mode: UpMode, cin: usize, cout: usize, dims: usize) -> Option<usize> {
    match mode {
        UpMode::Transposed => conv(taps(2, dims), cin, cout, true),
        UpMode::Bilinear | UpMode::Nearest => conv(1, cin, cout, true),
        UpMode::PixelShuffle => conv(taps(3, dims), cin, cout.checked_mul(1 << dims)?, true),
        UpMode::BilinearConcat | UpMode::NearestConcat => Some(0),
    }
}

/// Width of an attention gate's intermediate map for a `skip`-channel skip: half, at least 1.
pub const fn gate_inner(skip: usize) -> usize {
    if skip / 2 == 0 {
        1
    } else {
        skip / 2
    }
}

/// Width of an scSE block's channel squeeze: a sixteenth, at least 1.
pub const fn scse_squeeze(channels: usize) -> usize {
    if channels / 16 == 0 {
        1
    } else {
        channels / 16
    }
}

/// An attention gate on an `x`-channel skip driven by a `g`-channel map: three 1x1 convs.
pub fn gate(g: usize, x: usize) -> Option<usize> {
    let inner = gate_inner(x);
    sum(&[
        conv(1, g, inner, true),
        conv(1, x, inner, true),
        conv(1, inner, 1, true),
    ])
}

/// An scSE block on `c` channels: a channel squeeze and excitation, and a spatial 1x1 conv.
pub fn scse(c: usize) -> Option<usize> {
    let r = scse_squeeze(c);
    sum(&[
        conv(1, c, r, true),
        conv(1, r, c, true),
        conv(1, c, 1, true),
    ])
}

/// The attention block of one decoder level of width `out` after an up-sampling to `up`
/// channels.
pub fn attention(kind: Attention, up: usize, out: usize) -> Option<usize> {
    match kind {
        Attention::None => Some(0),
        Attention::Gate => gate(up, out),
        Attention::Scse => scse(out),
    }
}

/// A 1x1 head `cin -> classes` with bias.
pub fn head(cin: usize, classes: usize) -> Option<usize> {
    conv(1, cin, classes, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::PaddingKind;

    #[test]
    fn a_plain_double_conv_counts_two_biased_convs() {
        let o = BlockOptions::new(PaddingKind::Same);
        assert_eq!(
            double_conv(&o, 1, 64, 2),
            Some(9 * 64 + 64 + 9 * 64 * 64 + 64)
        );
        assert_eq!(double_conv(&o, 1, 8, 3), Some(27 * 8 + 8 + 27 * 64 + 8));
    }

    #[test]
    fn a_normed_conv_drops_its_bias_and_the_norm_adds_scale_and_shift() {
        let o = BlockOptions {
            norm: NormKind::Batch,
            ..BlockOptions::new(PaddingKind::Same)
        };
        assert_eq!(double_conv(&o, 4, 8, 2), Some(9 * 4 * 8 + 9 * 64 + 4 * 8));
    }

    #[test]
    fn overflow_is_none_not_a_wrapped_count() {
        assert_eq!(conv(9, usize::MAX / 2, 4, true), None);
    }
}
