//! Scores of one image's segmentation beyond pixel counts: the image's own mean Dice, boundary
//! F1, the 95th-percentile Hausdorff distance, and the ISBI 2012 challenge's
//! foreground-restricted Rand and information-theoretic scores.
//!
//! # Conventions
//!
//! - Class 0 is the background: boundary F1 and HD95 are means over the classes from 1 up,
//!   and the segments of the Rand and information scores are the 4-connected regions of one
//!   class other than 0 (for ISBI 2012, class 0 is the membrane and the segments are cells).
//! - A boundary pixel of class `k` is a pixel of class `k` with a 4-neighbour of another class.
//! - Boundary F1 counts a boundary pixel as matched within [`BOUNDARY_TOLERANCE`] pixels of
//!   the other mask's boundary; a class with no boundary in either mask scores 1, with a
//!   boundary in one only, 0.
//! - HD95 is MONAI's: the larger of the two directed 95th percentiles (linear interpolation,
//!   NumPy's default) of the distances from one boundary to the other; `None` where a class
//!   has a boundary in one mask only or in neither.
//! - Rand and information scores follow Arganda-Carreras et al. (2015): only pixels of the
//!   truth's segments count, and predicted background pixels among them are segments of one
//!   pixel each. Each score is the harmonic mean of its split and merge parts; 1 is perfect.

use std::collections::HashMap;

use imageproc::distance_transform::euclidean_squared_distance_transform;
use imageproc::image::{GrayImage, Luma};
use imageproc::region_labelling::{connected_components, Connectivity};
use serde::Serialize;

use super::metrics::{mean, Confusion};
use crate::data::{label_plane, Targets, IGNORE};

/// Pixels within which a boundary pixel counts as matched by the other mask's boundary.
pub const BOUNDARY_TOLERANCE: f64 = 2.0;

/// A score that is the harmonic mean of a split part and a merge part.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SplitMerge {
    /// The harmonic mean of `split` and `merge`.
    pub score: f64,
    /// 1 when no truth segment is split among predicted ones.
    pub split: f64,
    /// 1 when no predicted segment merges truth segments.
    pub merge: f64,
}

impl SplitMerge {
    fn new(split: f64, merge: f64) -> Self {
        let score = if split + merge > 0.0 {
            2.0 * split * merge / (split + merge)
        } else {
            0.0
        };
        Self {
            score,
            split,
            merge,
        }
    }

    fn mean(all: &[SplitMerge]) -> Self {
        let avg = |f: fn(&SplitMerge) -> f64| mean(all.iter().map(f));
        Self {
            score: avg(|s| s.score),
            split: avg(|s| s.split),
            merge: avg(|s| s.merge),
        }
    }
}

/// The scores of one image (or their means over images, see [`ImageScores::mean`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ImageScores {
    /// Mean Dice over the classes of this image alone (background included).
    pub dice: f64,
    /// Boundary F1 at [`BOUNDARY_TOLERANCE`], mean over the classes from 1.
    pub boundary_f1: f64,
    /// 95th-percentile Hausdorff distance in pixels, mean over the classes where it is defined.
    pub hd95: Option<f64>,
    /// Foreground-restricted Rand score, V_rand.
    pub rand: SplitMerge,
    /// Foreground-restricted information-theoretic score, V_info.
    pub info: SplitMerge,
}

impl ImageScores {
    /// The scores of `pred` against `truth`, two `height x width` masks of class indices below
    /// `classes`. Pixels whose truth is [`IGNORE`] count in none: the confusion matrix leaves
    /// them out, and for the distances and segments they are background in both masks.
    ///
    /// # Panics
    /// If either mask does not hold `height * width` pixels.
    pub fn of(pred: &[u8], truth: &[u8], height: usize, width: usize, classes: usize) -> Self {
        assert!(pred.len() == height * width && truth.len() == height * width);
        let mut confusion = Confusion::new(classes.max(2));
        let dice = match confusion.add(pred, truth) {
            Ok(()) => confusion.mean_dice(),
            Err(_) => 0.0,
        };
        let cleaned;
        let (pred, truth) = if classes <= usize::from(IGNORE) && truth.contains(&IGNORE) {
            cleaned = without_ignored(pred, truth);
            (cleaned.0.as_slice(), cleaned.1.as_slice())
        } else {
            (pred, truth)
        };
        let (mut f1, mut hd) = (Vec::new(), Vec::new());
        for k in 1..classes.max(2) as u8 {
            let p = boundary(pred, height, width, k);
            let t = boundary(truth, height, width, k);
            match (p.contains(&true), t.contains(&true)) {
                (false, false) => f1.push(1.0),
                (true, false) | (false, true) => f1.push(0.0),
                (true, true) => {
                    let p_to_t = distances(&p, &t, height, width);
                    let t_to_p = distances(&t, &p, height, width);
                    f1.push(boundary_f1(&p_to_t, &t_to_p));
                    hd.push(percentile(p_to_t, 95.0).max(percentile(t_to_p, 95.0)));
                }
            }
        }
        let (rand, info) = split_merge(pred, truth, height, width);
        Self {
            dice,
            boundary_f1: mean(f1),
            hd95: (!hd.is_empty()).then(|| mean(hd)),
            rand,
            info,
        }
    }

    /// [`ImageScores::of`] for a network of `channels` outputs that mean `targets`: for a
    /// multi-label network ([`Targets::Labels`]), the mean over its labels of each label's
    /// scores as a binary mask.
    ///
    /// # Panics
    /// If either mask does not hold `height * width` pixels.
    pub fn of_targets(
        pred: &[u8],
        truth: &[u8],
        (height, width): (usize, usize),
        channels: usize,
        targets: Targets,
    ) -> Self {
        if targets == Targets::Classes {
            return Self::of(pred, truth, height, width, channels);
        }
        let label = |k: usize| {
            let (p, t) = (label_plane(pred, k), label_plane(truth, k));
            Self::of(&p, &t, height, width, 1)
        };
        let per_label: Vec<Self> = (1..channels).map(label).collect();
        let first = label(0);
        Self::mean(&[&[first], per_label.as_slice()].concat()).unwrap_or(first)
    }

    /// The mean of each score over `all` (HD95 over the images where it is defined); `None`
    /// for no image.
    pub fn mean(all: &[ImageScores]) -> Option<Self> {
        if all.is_empty() {
            return None;
        }
        let hd: Vec<f64> = all.iter().filter_map(|s| s.hd95).collect();
        let rand: Vec<SplitMerge> = all.iter().map(|s| s.rand).collect();
        let info: Vec<SplitMerge> = all.iter().map(|s| s.info).collect();
        Some(Self {
            dice: mean(all.iter().map(|s| s.dice)),
            boundary_f1: mean(all.iter().map(|s| s.boundary_f1)),
            hd95: (!hd.is_empty()).then(|| mean(hd)),
            rand: SplitMerge::mean(&rand),
            info: SplitMerge::mean(&info),
        })
    }
}

/// The masks with the pixels of an [`IGNORE`] truth made background in both: no class, no
/// boundary and no segment there, so they change no score.
fn without_ignored(pred: &[u8], truth: &[u8]) -> (Vec<u8>, Vec<u8>) {
    pred.iter()
        .zip(truth)
        .map(|(&p, &t)| if t == IGNORE { (0, 0) } else { (p, t) })
        .unzip()
}

/// Whether each pixel is a boundary pixel of class `k`.
fn boundary(mask: &[u8], height: usize, width: usize, k: u8) -> Vec<bool> {
    let at = |y: usize, x: usize| mask[y * width + x];
    (0..height * width)
        .map(|i| {
            let (y, x) = (i / width, i % width);
            at(y, x) == k
                && ((y > 0 && at(y - 1, x) != k)
                    || (y + 1 < height && at(y + 1, x) != k)
                    || (x > 0 && at(y, x - 1) != k)
                    || (x + 1 < width && at(y, x + 1) != k))
        })
        .collect()
}

/// The Euclidean distance from each pixel set in `from` to the nearest pixel set in `to`
/// (which has one).
fn distances(from: &[bool], to: &[bool], height: usize, width: usize) -> Vec<f64> {
    let targets = GrayImage::from_fn(width as u32, height as u32, |x, y| {
        Luma([u8::from(to[y as usize * width + x as usize])])
    });
    let squared = euclidean_squared_distance_transform(&targets);
    from.iter()
        .zip(squared.as_raw())
        .filter(|(&b, _)| b)
        .map(|(_, d)| d.sqrt())
        .collect()
}

/// F1 of the boundary matches within the tolerance, from both directions' distances (both
/// boundaries non-empty).
fn boundary_f1(p_to_t: &[f64], t_to_p: &[f64]) -> f64 {
    let matched = |d: &[f64]| d.iter().filter(|&&v| v <= BOUNDARY_TOLERANCE).count() as f64;
    let precision = matched(p_to_t) / p_to_t.len() as f64;
    let recall = matched(t_to_p) / t_to_p.len() as f64;
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// The `q`-th percentile of non-empty `values`, interpolated linearly (NumPy's default).
fn percentile(mut values: Vec<f64>, q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (rank - lo as f64)
}

/// The 4-connected regions of one class other than 0: a label per pixel (1, 2, ... in
/// scan order), 0 for class 0. The objects of the scores and of the border weight map.
pub(crate) fn segments(mask: &[u8], height: usize, width: usize) -> Vec<u32> {
    let image = GrayImage::from_raw(width as u32, height as u32, mask.to_vec())
        .unwrap_or_else(|| GrayImage::new(width as u32, height as u32));
    connected_components(&image, Connectivity::Four, Luma([0u8])).into_raw()
}

/// The foreground-restricted Rand and information scores (see the module's conventions).
fn split_merge(pred: &[u8], truth: &[u8], height: usize, width: usize) -> (SplitMerge, SplitMerge) {
    let (s, t) = (
        segments(pred, height, width),
        segments(truth, height, width),
    );
    let singleton = s.iter().copied().max().unwrap_or(0) + 1;
    let mut joint: HashMap<(u32, u32), u64> = HashMap::new();
    for (i, (&si, &tj)) in s.iter().zip(&t).enumerate() {
        if tj != 0 {
            let si = if si == 0 { singleton + i as u32 } else { si };
            *joint.entry((si, tj)).or_default() += 1;
        }
    }
    let n: u64 = joint.values().sum();
    if n == 0 {
        return (SplitMerge::new(1.0, 1.0), SplitMerge::new(1.0, 1.0));
    }
    let (mut rows, mut cols) = (HashMap::<u32, u64>::new(), HashMap::<u32, u64>::new());
    for (&(si, tj), &c) in &joint {
        *rows.entry(si).or_default() += c;
        *cols.entry(tj).or_default() += c;
    }
    let n = n as f64;
    let p = |c: u64| c as f64 / n;
    let squares = |m: &HashMap<_, u64>| m.values().map(|&c| p(c) * p(c)).sum::<f64>();
    let entropy = |m: &HashMap<_, u64>| -m.values().map(|&c| p(c) * p(c).ln()).sum::<f64>();
    let (sum_p2, sum_s2, sum_t2) = (
        joint.values().map(|&c| p(c) * p(c)).sum::<f64>(),
        squares(&rows),
        squares(&cols),
    );
    let mutual: f64 = joint
        .iter()
        .map(|(&(si, tj), &c)| p(c) * (p(c) / (p(rows[&si]) * p(cols[&tj]))).ln())
        .sum();
    let (h_s, h_t) = (entropy(&rows), entropy(&cols));
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            (a / b).clamp(0.0, 1.0)
        } else {
            1.0
        }
    };
    (
        SplitMerge::new(sum_p2 / sum_t2, sum_p2 / sum_s2),
        SplitMerge::new(ratio(mutual, h_s), ratio(mutual, h_t)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_perfect_segmentation_scores_one_everywhere_and_hd95_zero() {
        let mask: Vec<u8> = (0..64).map(|i| u8::from((i % 8) > 2)).collect();
        let s = ImageScores::of(&mask, &mask, 8, 8, 2);
        assert_eq!((s.dice, s.boundary_f1, s.hd95), (1.0, 1.0, Some(0.0)));
        assert!(
            close(s.rand.score, 1.0) && close(s.info.score, 1.0),
            "{s:?}"
        );
    }

    #[test]
    fn multi_label_image_scores_are_the_mean_of_each_labels_binary_scores() {
        // Label 0 right everywhere, label 1 predicted nowhere though present on 3 columns.
        let truth: Vec<u8> = (0..64)
            .map(|i| u8::from(i % 8 > 2) | (2 * u8::from(i % 8 > 4)))
            .collect();
        let pred: Vec<u8> = truth.iter().map(|&v| v & 1).collect();
        let zero: Vec<u8> = vec![0; 64];
        let label1 = label_plane(&truth, 1);
        let want = ImageScores::mean(&[
            ImageScores::of(&label_plane(&pred, 0), &label_plane(&truth, 0), 8, 8, 1),
            ImageScores::of(&zero, &label1, 8, 8, 1),
        ]);
        let got = ImageScores::of_targets(&pred, &truth, (8, 8), 2, Targets::Labels);
        assert_eq!(Some(got), want);
        assert!(got.dice < 1.0 && got.dice > 0.5, "{got:?}");
        let classes = ImageScores::of_targets(&pred, &pred, (8, 8), 2, Targets::Classes);
        assert_eq!(classes, ImageScores::of(&pred, &pred, 8, 8, 2));
    }

    #[test]
    fn wrong_predictions_under_the_ignore_label_change_no_score() {
        // Columns 0-1 are ignored; the prediction is foreground there, right elsewhere.
        let truth: Vec<u8> = (0..64)
            .map(|i| match i % 8 {
                0 | 1 => IGNORE,
                c => u8::from(c > 4),
            })
            .collect();
        let pred: Vec<u8> = (0..64).map(|i| u8::from(i % 8 < 2 || i % 8 > 4)).collect();
        let s = ImageScores::of(&pred, &truth, 8, 8, 2);
        assert_eq!((s.dice, s.boundary_f1, s.hd95), (1.0, 1.0, Some(0.0)));
        assert!(
            close(s.rand.score, 1.0) && close(s.info.score, 1.0),
            "{s:?}"
        );
    }

    #[test]
    fn a_boundary_shifted_by_three_pixels_is_unmatched_at_tolerance_two_and_hd95_is_three() {
        // Class 1 from column 3 (truth) or 6 (prediction) on: both boundaries are one column.
        let truth: Vec<u8> = (0..100).map(|i| u8::from(i % 10 >= 3)).collect();
        let pred: Vec<u8> = (0..100).map(|i| u8::from(i % 10 >= 6)).collect();
        let s = ImageScores::of(&pred, &truth, 10, 10, 2);
        assert_eq!(s.boundary_f1, 0.0);
        assert_eq!(s.hd95, Some(3.0));
        // Shifted by two, every boundary pixel is matched.
        let near: Vec<u8> = (0..100).map(|i| u8::from(i % 10 >= 5)).collect();
        assert_eq!(ImageScores::of(&near, &truth, 10, 10, 2).boundary_f1, 1.0);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // np.percentile([1, 2, 3, 4, 10], 95) = 4 + 0.8 * 6 = 8.8
        assert!(close(percentile(vec![10.0, 1.0, 3.0, 2.0, 4.0], 95.0), 8.8));
        assert_eq!(percentile(vec![5.0], 95.0), 5.0);
    }

    #[test]
    fn hd95_is_undefined_for_a_class_missing_from_one_mask() {
        let truth = vec![0u8; 16];
        let mut pred = vec![0u8; 16];
        pred[5] = 1;
        let s = ImageScores::of(&pred, &truth, 4, 4, 2);
        assert_eq!((s.hd95, s.boundary_f1), (None, 0.0));
    }

    #[test]
    fn merging_two_cells_halves_the_rand_merge_score_by_hand() {
        // Truth: two cells of 4 pixels, columns 0-1 and 3-4, split by a membrane column 2.
        // Prediction: one cell over all 5 columns (the membrane is missed).
        let truth: Vec<u8> = (0..10).map(|i| u8::from(i % 5 != 2)).collect();
        let pred = vec![1u8; 10];
        let s = ImageScores::of(&pred, &truth, 2, 5, 2);
        // Over the 8 truth-cell pixels: p = (1/2, 1/2) in one predicted segment.
        // sum p^2 = 1/2, sum t^2 = 1/2, sum s^2 = 1: split 1, merge 1/2, V_rand 2/3.
        assert!(close(s.rand.split, 1.0) && close(s.rand.merge, 0.5));
        assert!(close(s.rand.score, 2.0 / 3.0));
        // One predicted segment: H(S) = 0, so I = 0, and H(T) = ln 2: split 1 (nothing is
        // split), merge I / H(T) = 0.
        assert!(close(s.info.split, 1.0) && close(s.info.merge, 0.0));
    }

    #[test]
    fn predicted_membrane_inside_a_cell_is_one_pixel_segments_that_split_it() {
        // Truth: one 4-pixel cell. Prediction: two of its pixels are membrane (class 0).
        let truth = vec![1u8; 4];
        let pred = vec![1, 1, 0, 0];
        let s = ImageScores::of(&pred, &truth, 1, 4, 2);
        // Predicted segments: {0, 1}, {2}, {3}: p = (1/2, 1/4, 1/4), all in one truth cell.
        // sum p^2 = 1/4 + 1/16 + 1/16 = 3/8; sum t^2 = 1; sum s^2 = 3/8: split 3/8, merge 1.
        assert!(close(s.rand.split, 0.375) && close(s.rand.merge, 1.0));
        // H(S) = 1/2 ln 2 + 2 (1/4 ln 4) = 1.5 ln 2, H(T) = 0, I = 0: split 0, merge 1.
        assert!(close(s.info.split, 0.0) && close(s.info.merge, 1.0));
    }

    #[test]
    fn means_skip_undefined_hd95s() {
        let a = ImageScores::of(&[1, 1, 0, 0], &[1, 1, 0, 0], 1, 4, 2);
        let b = ImageScores::of(&[0, 0, 0, 0], &[1, 1, 0, 0], 1, 4, 2);
        assert_eq!(b.hd95, None);
        let m = ImageScores::mean(&[a, b]).unwrap();
        assert_eq!(m.hd95, Some(0.0));
        assert!(close(m.boundary_f1, 0.5));
        assert!(ImageScores::mean(&[]).is_none());
    }
}
