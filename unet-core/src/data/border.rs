//! The U-Net paper's weight map (Ronneberger et al., 2015, eq. 2), which makes the network
//! learn the thin background between touching objects:
//!
//! `w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))^2 / (2 sigma^2))`
//!
//! - objects are the 4-connected regions of one class other than 0 (cells, for ISBI 2012);
//! - `d1` and `d2` are the Euclidean distances to the nearest and the second-nearest object;
//! - the border term is added on background (class 0) pixels, as the common implementations
//!   of the paper do: inside an object `d1` is 0 and the term would weigh whole objects;
//! - `w_c` balances the classes of the mask: class `k` weighs `pixels / (classes * n_k)`, so
//!   the mean of `w_c` over the mask is 1.
//!
//! Objects farther than `3 sigma` from a pixel are left out of its `d1` and `d2`: with
//! `d2 >= d1 > 3 sigma` the term is below `w0 * e^-18`.

use imageproc::distance_transform::euclidean_squared_distance_transform;
use imageproc::image::{GrayImage, Luma};
use serde::{Deserialize, Serialize};

use super::{Mask, IGNORE};
use crate::infer::scores::segments;

/// The settings of the weight map.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BorderWeight {
    /// The weight of the border term at a pixel touching two objects (the paper: 10).
    pub w0: f32,
    /// How fast the term falls with the distances, in pixels (the paper: about 5).
    pub sigma: f32,
}

impl Default for BorderWeight {
    /// The paper's `w0 = 10`, `sigma = 5` pixels.
    fn default() -> Self {
        Self {
            w0: 10.0,
            sigma: 5.0,
        }
    }
}

impl BorderWeight {
    /// The weight of every pixel of `mask`, row-major: 0 on [`IGNORE`] pixels, which are no
    /// object and count in no class.
    pub fn weight_map(&self, mask: &Mask) -> Vec<f32> {
        let (h, w) = (mask.height, mask.width);
        let mut weights = class_balance(&mask.data);
        if h == 0 || w == 0 || self.w0 == 0.0 {
            return weights;
        }
        let objects = Mask::new(
            h,
            w,
            mask.data
                .iter()
                .map(|&k| if k == IGNORE { 0 } else { k })
                .collect(),
        );
        // A reach past the mask's side covers all of it (and a huge sigma cannot overflow).
        let reach = ((3.0 * self.sigma).ceil() as usize).min(h.max(w)) + 1;
        let nearest = two_nearest(&objects, reach);
        let two_sigma2 = 2.0 * self.sigma * self.sigma;
        for ((weight, &class), (d1, d2)) in weights.iter_mut().zip(&mask.data).zip(nearest) {
            if class == 0 && d2.is_finite() {
                *weight += self.w0 * (-(d1 + d2).powi(2) / two_sigma2).exp();
            }
        }
        weights
    }
}

/// `pixels / (classes present * n_k)` for each pixel's class `k`, over the pixels not
/// [`IGNORE`]d; 0 for those.
fn class_balance(classes: &[u8]) -> Vec<f32> {
    let mut counts = [0usize; 256];
    for &k in classes {
        counts[usize::from(k)] += 1;
    }
    let ignored = std::mem::take(&mut counts[usize::from(IGNORE)]);
    let present = counts.iter().filter(|&&n| n > 0).count().max(1);
    let total = (classes.len() - ignored) as f32;
    classes
        .iter()
        .map(|&k| match k {
            IGNORE => 0.0,
            k => total / (present as f32 * counts[usize::from(k)] as f32),
        })
        .collect()
}

/// For each pixel, the distances to its nearest and second-nearest object within `reach`
/// pixels (infinite where there are fewer).
fn two_nearest(mask: &Mask, reach: usize) -> Vec<(f32, f32)> {
    let (h, w) = (mask.height, mask.width);
    let labels = segments(&mask.data, h, w);
    let mut nearest = vec![(f32::INFINITY, f32::INFINITY); h * w];
    for (label, [top, left, bottom, right]) in bounding_boxes(&labels, w) {
        // The object's box grown by the reach, clipped to the mask.
        let (y0, x0) = (top.saturating_sub(reach), left.saturating_sub(reach));
        let (y1, x1) = ((bottom + reach + 1).min(h), (right + reach + 1).min(w));
        let (wh, ww) = (y1 - y0, x1 - x0);
        let window = GrayImage::from_fn(ww as u32, wh as u32, |x, y| {
            let i = (y0 + y as usize) * w + x0 + x as usize;
            Luma([u8::from(labels[i] == label)])
        });
        let squared = euclidean_squared_distance_transform(&window);
        for y in 0..wh {
            for x in 0..ww {
                let d = squared.as_raw()[y * ww + x].sqrt() as f32;
                let slot = &mut nearest[(y0 + y) * w + x0 + x];
                if d < slot.0 {
                    *slot = (d, slot.0);
                } else if d < slot.1 {
                    slot.1 = d;
                }
            }
        }
    }
    nearest
}

/// Each object's label and `[top, left, bottom, right]` (inclusive), in label order.
fn bounding_boxes(labels: &[u32], width: usize) -> Vec<(u32, [usize; 4])> {
    let mut boxes: Vec<Option<[usize; 4]>> = Vec::new();
    for (i, &label) in labels.iter().enumerate() {
        if label == 0 {
            continue;
        }
        let (y, x) = (i / width, i % width);
        let k = label as usize - 1;
        if boxes.len() <= k {
            boxes.resize(k + 1, None);
        }
        let b = boxes[k].get_or_insert([y, x, y, x]);
        *b = [b[0].min(y), b[1].min(x), b[2].max(y), b[3].max(x)];
    }
    boxes
        .into_iter()
        .enumerate()
        .filter_map(|(k, b)| b.map(|b| (k as u32 + 1, b)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-5
    }

    #[test]
    fn class_balance_makes_the_mean_weight_one() {
        let w = class_balance(&[0, 0, 0, 1]);
        // 4 pixels, 2 classes: background 4 / (2 * 3), foreground 4 / (2 * 1).
        assert!(close(w[0], 2.0 / 3.0) && close(w[3], 2.0));
        assert!(close(w.iter().sum::<f32>() / 4.0, 1.0));
    }

    #[test]
    fn a_gap_between_two_objects_weighs_w0_exp_of_the_summed_distances_by_hand() {
        // One row: object, three background pixels, object. Pixel 2 (the middle) is 2 from
        // both objects, pixel 1 is 1 and 3 away.
        let mask = Mask::new(1, 5, vec![1, 0, 0, 0, 1]);
        let border = BorderWeight {
            w0: 10.0,
            sigma: 2.0,
        };
        let w = border.weight_map(&mask);
        let wc_background = 5.0 / (2.0 * 3.0);
        let term = |d1: f32, d2: f32| 10.0 * (-(d1 + d2).powi(2) / 8.0).exp();
        assert!(close(w[2], wc_background + term(2.0, 2.0)), "{w:?}");
        assert!(close(w[1], wc_background + term(1.0, 3.0)), "{w:?}");
        // Object pixels get their class weight alone.
        assert!(close(w[0], 5.0 / (2.0 * 2.0)) && close(w[4], w[0]));
    }

    #[test]
    fn a_sigma_far_past_the_mask_reaches_every_pixel_at_full_weight() {
        // 3 sigma beyond usize::MAX: the reach is the mask's side, and exp(-d^2 / 2 sigma^2)
        // is 1 for the gap.
        let mask = Mask::new(1, 5, vec![1, 0, 0, 0, 1]);
        let border = BorderWeight {
            w0: 10.0,
            sigma: 1e30,
        };
        let w = border.weight_map(&mask);
        let wc_background = 5.0 / (2.0 * 3.0);
        for &gap in &w[1..4] {
            assert!(close(gap, wc_background + 10.0), "{w:?}");
        }
    }

    #[test]
    fn ignored_pixels_weigh_nothing_and_are_no_object() {
        // The gap of the test above, with the right-hand object ignored: no second object,
        // no border term, and the class weights count the four other pixels.
        let mask = Mask::new(1, 5, vec![1, 0, 0, 0, IGNORE]);
        let w = BorderWeight {
            w0: 10.0,
            sigma: 2.0,
        }
        .weight_map(&mask);
        let want = [4.0 / 2.0, 4.0 / 6.0, 4.0 / 6.0, 4.0 / 6.0, 0.0];
        assert!(w.iter().zip(want).all(|(&a, b)| close(a, b)), "{w:?}");
    }

    #[test]
    fn background_near_a_single_object_gets_no_border_term() {
        let mut data = vec![0u8; 100];
        data[44] = 1;
        data[45] = 1;
        let w = BorderWeight::default().weight_map(&Mask::new(10, 10, data.clone()));
        let wc = class_balance(&data);
        assert_eq!(w, wc);
    }

    #[test]
    fn diagonal_distances_are_euclidean_and_far_objects_are_out_of_reach() {
        // Objects at (0, 0) and (2, 2) of a 3x3 mask: the centre is sqrt(2) from both.
        let mut data = vec![0u8; 9];
        data[0] = 1;
        data[8] = 1;
        let border = BorderWeight {
            w0: 1.0,
            sigma: 3.0,
        };
        let w = border.weight_map(&Mask::new(3, 3, data.clone()));
        let d = 2f32.sqrt();
        let want = class_balance(&data)[4] + (-(2.0 * d).powi(2) / 18.0).exp();
        assert!(close(w[4], want), "{w:?}");
        // Two objects 40 pixels apart with sigma 1: out of each other's reach, no term.
        let mut row = vec![0u8; 41];
        row[0] = 1;
        row[40] = 1;
        let w = BorderWeight {
            w0: 10.0,
            sigma: 1.0,
        }
        .weight_map(&Mask::new(1, 41, row.clone()));
        assert_eq!(w, class_balance(&row));
    }
}
