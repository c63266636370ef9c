//! Stacking samples into flat batch buffers.

use super::{DataError, Example};

/// A stacked batch: `[N, C, spatial...]` image values, the class indices (one per pixel or
/// voxel, N-major), and the image shape `[n, c, spatial...]`.
pub type Batch<const D: usize = 4> = (Vec<f32>, Vec<u8>, [usize; D]);

/// Stacks `samples` into NCHW (NCDHW) image values and their class indices, with the shape.
///
/// Every sample must have the same `[channels, spatial...]` as the first
/// ([`DataError::BatchMismatch`] otherwise) and a mask of its image's size
/// ([`DataError::SampleMaskMismatch`]); an empty slice is [`DataError::EmptyBatch`].
pub fn to_batch<S: Example<D>, const D: usize>(samples: &[S]) -> Result<Batch<D>, DataError> {
    let first = samples.first().ok_or(DataError::EmptyBatch)?;
    let expected = first.shape();
    for (index, s) in samples.iter().enumerate() {
        s.consistent()?;
        let found = s.shape();
        if found != expected {
            return Err(DataError::BatchMismatch {
                index,
                name: s.name().to_string(),
                found,
                first_name: first.name().to_string(),
                expected,
            });
        }
    }
    let n = samples.len();
    let mut shape = [n; D];
    shape[1..].copy_from_slice(&expected);
    let mut images = Vec::with_capacity(n * first.values().len());
    let mut masks = Vec::with_capacity(n * first.classes().len());
    for s in samples {
        images.extend_from_slice(s.values());
        masks.extend_from_slice(s.classes());
    }
    Ok((images, masks, shape))
}

#[cfg(test)]
mod tests {
    use super::super::{Image, Mask, Sample};
    use super::*;

    fn sample(name: &str, c: usize, h: usize, w: usize, base: f32) -> Sample {
        let image = Image::from_fn(c, h, w, |c, y, x| base + (c * 100 + y * 10 + x) as f32);
        let mask = Mask::from_fn(h, w, |y, x| ((y + x) % 2) as u8);
        Sample::new(name, image, mask)
    }

    #[test]
    fn batch_is_stacked_in_nchw_order() {
        let a = sample("a", 2, 2, 3, 0.0);
        let b = sample("b", 2, 2, 3, 1000.0);
        let (images, masks, shape) = to_batch(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(shape, [2, 2, 2, 3]);
        assert_eq!(images.len(), 24);
        assert_eq!(masks.len(), 12);
        let [_, c, h, w] = shape;
        let at = |n: usize, ci: usize, y: usize, x: usize| images[((n * c + ci) * h + y) * w + x];
        assert_eq!(at(0, 1, 1, 2), a.image.get(1, 1, 2));
        assert_eq!(at(1, 0, 1, 0), b.image.get(0, 1, 0));
        assert_eq!(masks[6 + 4], b.mask.get(1, 1));
    }

    #[test]
    fn batch_of_different_sizes_is_an_error_naming_both_sizes() {
        let err = to_batch(&[
            sample("a", 1, 4, 4, 0.0),
            sample("b", 1, 4, 4, 0.0),
            sample("odd", 1, 4, 5, 0.0),
        ])
        .unwrap_err();
        assert!(matches!(err, DataError::BatchMismatch { index: 2, .. }));
        assert!(
            matches!(&err, DataError::BatchMismatch { found, expected, .. }
            if found == &[1, 4, 5] && expected == &[1, 4, 4])
        );
        let msg = err.to_string();
        assert!(
            msg.contains("1x4x5") && msg.contains("1x4x4") && msg.contains("odd"),
            "{msg}"
        );
    }

    #[test]
    fn batch_of_different_channel_counts_is_an_error() {
        let err = to_batch(&[sample("a", 1, 4, 4, 0.0), sample("b", 3, 4, 4, 0.0)]).unwrap_err();
        assert!(matches!(err, DataError::BatchMismatch { index: 1, .. }));
    }

    #[test]
    fn sample_with_mask_of_another_size_is_an_error() {
        let mut bad = sample("bad", 1, 4, 4, 0.0);
        bad.mask = Mask::zeros(4, 3);
        let err = to_batch(&[bad]).unwrap_err();
        assert!(matches!(err, DataError::SampleMaskMismatch { .. }));
        assert!(err.to_string().contains("bad"));
    }

    #[test]
    fn empty_batch_is_an_error() {
        assert_eq!(
            to_batch::<crate::data::Sample, 4>(&[]).unwrap_err(),
            DataError::EmptyBatch
        );
    }
}
