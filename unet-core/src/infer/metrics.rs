//! Segmentation metrics: a confusion matrix over class indices, pixel
//! accuracy, per-class Dice and IoU (Jaccard), and a JSON evaluation report.
//!
//! # Conventions
//!
//! - Means ([`Confusion::mean_dice`], [`Confusion::mean_iou`]) are taken over
//!   **all** classes, background (class 0) included.
//! - A class that appears neither in the prediction nor in the ground truth
//!   scores **1.0** for both Dice and IoU: there was nothing to find and
//!   nothing was found. (Without this rule the score would be 0/0.)
//! - With no pixel counted at all, [`Confusion::pixel_accuracy`] is 1.0 for
//!   the same reason.
//! - A multi-label network's matrix ([`Confusion::for_labels`]) is one 2-class
//!   matrix per label: its scores per class are each label's foreground scores,
//!   and its pixel accuracy is the mean of the labels'.

use super::scores::ImageScores;
use crate::data::{label_plane, Targets, IGNORE};

/// Errors of [`Confusion::add`] and [`Confusion::merge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    /// The prediction and the ground truth have different pixel counts.
    #[error("prediction has {pred} pixels but ground truth has {truth}")]
    LengthMismatch {
        /// Number of predicted pixels.
        pred: usize,
        /// Number of ground-truth pixels.
        truth: usize,
    },
    /// A pixel holds a class index that is not below the number of classes.
    #[error("class index {class} out of range for {classes} classes")]
    ClassOutOfRange {
        /// The offending class index.
        class: u8,
        /// Number of classes of the confusion matrix.
        classes: usize,
    },
    /// Two confusion matrices with different class counts were merged.
    #[error("cannot merge a {other}-class confusion matrix into a {this}-class one")]
    ClassCountMismatch {
        /// Class count of the receiving matrix.
        this: usize,
        /// Class count of the matrix being merged in.
        other: usize,
    },
}

/// A `classes x classes` confusion matrix of pixel counts.
///
/// Entry `(t, p)` counts the pixels whose ground truth is class `t` and whose
/// prediction is class `p`. Rows are ground truth, columns are prediction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confusion {
    /// Classes (rows and columns), or labels.
    classes: usize,
    /// Row-major `classes * classes` counts, `counts[t * classes + p]` (empty for labels).
    counts: Vec<u64>,
    /// A multi-label network's one 2-class matrix per label; `None` for classes.
    labels: Option<Vec<Confusion>>,
}

impl Confusion {
    /// An all-zero confusion matrix for `classes` classes (background included).
    pub fn new(classes: usize) -> Self {
        Self {
            classes,
            counts: vec![0; classes * classes],
            labels: None,
        }
    }

    /// All-zero counts for a multi-label network of `labels` labels ([`Targets::Labels`]):
    /// [`Confusion::add`] takes masks of label bits.
    pub fn for_labels(labels: usize) -> Self {
        Self {
            classes: labels,
            counts: Vec::new(),
            labels: Some(vec![Confusion::new(2); labels]),
        }
    }

    /// All-zero counts for a network of `channels` outputs that mean `targets` (2 classes
    /// for a 1-channel sigmoid output).
    pub fn for_targets(channels: usize, targets: Targets) -> Self {
        match targets {
            Targets::Classes => Self::new(channels.max(2)),
            Targets::Labels => Self::for_labels(channels),
        }
    }

    /// Number of classes (rows and columns), or of labels.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Label `k`'s own 2-class matrix (0: label absent, 1: present); `None` for a class
    /// matrix or past the labels.
    pub fn label(&self, k: usize) -> Option<&Confusion> {
        self.labels.as_ref()?.get(k)
    }

    /// Number of pixels whose ground truth is `truth` and prediction is `pred` (for labels:
    /// absent 0 or present 1, pooled over the labels).
    ///
    /// # Panics
    /// If either index is not below [`Confusion::classes`] (below 2 for labels).
    pub fn get(&self, truth: usize, pred: usize) -> u64 {
        if let Some(labels) = &self.labels {
            return labels.iter().map(|l| l.get(truth, pred)).sum();
        }
        assert!(truth < self.classes && pred < self.classes);
        self.counts[truth * self.classes + pred]
    }

    /// Total number of pixels counted.
    pub fn total(&self) -> u64 {
        match &self.labels {
            Some(labels) => labels.first().map_or(0, Confusion::total),
            None => self.counts.iter().sum(),
        }
    }

    /// [`Confusion::add`] for labels: each label's bit into its matrix.
    fn add_labels(&mut self, pred: &[u8], truth: &[u8]) -> Result<(), MetricsError> {
        let bits = 1usize << self.classes;
        let out_of_range = |c: u8| usize::from(c) >= bits;
        if let Some(&class) = pred
            .iter()
            .find(|&&c| out_of_range(c))
            .or_else(|| truth.iter().find(|&&t| out_of_range(t) && t != IGNORE))
        {
            return Err(MetricsError::ClassOutOfRange {
                class,
                classes: bits,
            });
        }
        for (k, label) in self.labels.iter_mut().flatten().enumerate() {
            label.add(&label_plane(pred, k), &label_plane(truth, k))?;
        }
        Ok(())
    }

    /// Counts one image (or any batch of pixels): `pred[i]` against `truth[i]`.
    ///
    /// The inputs are checked before anything is counted, so on error the
    /// matrix is left unchanged. Pixels whose truth is [`IGNORE`] are not
    /// counted when it is not one of the classes (fewer than 256).
    ///
    /// # Errors
    /// [`MetricsError::LengthMismatch`] if the slices differ in length,
    /// [`MetricsError::ClassOutOfRange`] if a value is not below
    /// [`Confusion::classes`] (for labels, below `2^labels`).
    pub fn add(&mut self, pred: &[u8], truth: &[u8]) -> Result<(), MetricsError> {
        if pred.len() != truth.len() {
            return Err(MetricsError::LengthMismatch {
                pred: pred.len(),
                truth: truth.len(),
            });
        }
        if self.labels.is_some() {
            return self.add_labels(pred, truth);
        }
        let ignored = |t: u8| t == IGNORE && self.classes <= usize::from(IGNORE);
        let out_of_range = |c: u8| usize::from(c) >= self.classes;
        if let Some(&class) = pred
            .iter()
            .find(|&&c| out_of_range(c))
            .or_else(|| truth.iter().find(|&&t| out_of_range(t) && !ignored(t)))
        {
            return Err(MetricsError::ClassOutOfRange {
                class,
                classes: self.classes,
            });
        }
        for (&p, &t) in pred.iter().zip(truth) {
            if !ignored(t) {
                self.counts[usize::from(t) * self.classes + usize::from(p)] += 1;
            }
        }
        Ok(())
    }

    /// Adds the counts of `other` (e.g. from another worker or batch).
    ///
    /// # Errors
    /// [`MetricsError::ClassCountMismatch`] if the class counts differ.
    pub fn merge(&mut self, other: &Confusion) -> Result<(), MetricsError> {
        if other.classes != self.classes || other.labels.is_some() != self.labels.is_some() {
            return Err(MetricsError::ClassCountMismatch {
                this: self.classes,
                other: other.classes,
            });
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        let theirs = other.labels.iter().flatten();
        for (a, b) in self.labels.iter_mut().flatten().zip(theirs) {
            a.merge(b)?;
        }
        Ok(())
    }

    /// Fraction of pixels whose prediction equals the ground truth.
    ///
    /// 1.0 when no pixel has been counted.
    pub fn pixel_accuracy(&self) -> f64 {
        if let Some(labels) = &self.labels {
            return mean(labels.iter().map(Confusion::pixel_accuracy));
        }
        let total = self.total();
        if total == 0 {
            return 1.0;
        }
        let correct: u64 = (0..self.classes).map(|k| self.get(k, k)).sum();
        correct as f64 / total as f64
    }

    /// `(true positives, false positives, false negatives)` of class `k`.
    fn tp_fp_fn(&self, k: usize) -> (u64, u64, u64) {
        let tp = self.get(k, k);
        let predicted: u64 = (0..self.classes).map(|t| self.get(t, k)).sum();
        let actual: u64 = (0..self.classes).map(|p| self.get(k, p)).sum();
        (tp, predicted - tp, actual - tp)
    }

    /// Dice coefficient `2 TP / (2 TP + FP + FN)` of every class, background
    /// first (for labels: of every label). A class absent from both prediction
    /// and truth scores 1.0.
    pub fn dice_per_class(&self) -> Vec<f64> {
        if let Some(labels) = &self.labels {
            return labels.iter().map(|l| l.dice_per_class()[1]).collect();
        }
        (0..self.classes)
            .map(|k| {
                let (tp, fp, fn_) = self.tp_fp_fn(k);
                let denom = 2 * tp + fp + fn_;
                if denom == 0 {
                    1.0
                } else {
                    (2 * tp) as f64 / denom as f64
                }
            })
            .collect()
    }

    /// IoU (Jaccard index) `TP / (TP + FP + FN)` of every class, background
    /// first (for labels: of every label). A class absent from both prediction
    /// and truth scores 1.0.
    pub fn iou_per_class(&self) -> Vec<f64> {
        if let Some(labels) = &self.labels {
            return labels.iter().map(|l| l.iou_per_class()[1]).collect();
        }
        (0..self.classes)
            .map(|k| {
                let (tp, fp, fn_) = self.tp_fp_fn(k);
                let denom = tp + fp + fn_;
                if denom == 0 {
                    1.0
                } else {
                    tp as f64 / denom as f64
                }
            })
            .collect()
    }

    /// Mean of [`Confusion::dice_per_class`] over all classes, background
    /// included (1.0 for a 0-class matrix).
    pub fn mean_dice(&self) -> f64 {
        mean(self.dice_per_class())
    }

    /// Mean of [`Confusion::iou_per_class`] over all classes, background
    /// included (1.0 for a 0-class matrix).
    pub fn mean_iou(&self) -> f64 {
        mean(self.iou_per_class())
    }
}

/// The mean of `values`; 1 for none (nothing to find, nothing missed), the rule of the
/// module's conventions. The per-image scores average by it too.
pub(super) fn mean(values: impl IntoIterator<Item = f64>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        1.0
    } else {
        sum / n as f64
    }
}

/// Dice and IoU of one class.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct ClassScore {
    /// Dice coefficient of the class.
    pub dice: f64,
    /// IoU (Jaccard index) of the class.
    pub iou: f64,
}

/// Summary of an evaluation run, serialisable with [`EvalReport::to_json`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EvalReport {
    /// Fraction of correctly classified pixels.
    pub pixel_accuracy: f64,
    /// Mean Dice over all classes, background included.
    pub dice: f64,
    /// Mean IoU over all classes, background included.
    pub iou: f64,
    /// Per-class scores, index = class (0 = background).
    pub per_class: Vec<ClassScore>,
    /// Number of images evaluated.
    pub images: usize,
    /// The means over images of each image's own scores, where they were computed.
    pub per_image: Option<ImageScores>,
}

impl EvalReport {
    /// Builds the report from an accumulated confusion matrix and the number
    /// of images that went into it.
    pub fn from_confusion(confusion: &Confusion, images: usize) -> Self {
        let per_class = confusion
            .dice_per_class()
            .into_iter()
            .zip(confusion.iou_per_class())
            .map(|(dice, iou)| ClassScore { dice, iou })
            .collect();
        Self {
            pixel_accuracy: confusion.pixel_accuracy(),
            dice: confusion.mean_dice(),
            iou: confusion.mean_iou(),
            per_class,
            images,
            per_image: None,
        }
    }

    /// The report with the means of `scores`, one per image.
    pub fn with_image_scores(mut self, scores: &[ImageScores]) -> Self {
        self.per_image = ImageScores::mean(scores);
        self
    }

    /// One JSON object on one line, keys in field order:
    /// `{"pixel_accuracy":0.975,"dice":0.9,"iou":0.83,"per_class":[{"dice":0.99,"iou":0.98},...],"images":12,"per_image":{"dice":0.91,"boundary_f1":0.8,"hd95":3.2,"rand":{"score":0.9,"split":0.95,"merge":0.86},"info":{...}}}`.
    /// A non-finite value (only possible when the fields were set by hand) is `null`.
    pub fn to_json(&self) -> String {
        // Numbers, vectors and structs of them always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn pixels_of_the_ignore_label_are_not_counted_unless_it_is_a_class() {
        let mut c = Confusion::new(2);
        c.add(&[1, 0, 1], &[1, IGNORE, IGNORE]).unwrap();
        assert_eq!((c.total(), c.get(1, 1)), (1, 1));
        // A prediction is never ignored.
        assert!(c.add(&[IGNORE], &[0]).is_err());
        // With 256 classes the value is a class.
        let mut all = Confusion::new(256);
        all.add(&[0], &[IGNORE]).unwrap();
        assert_eq!(all.get(usize::from(IGNORE), 0), 1);
    }

    #[test]
    fn binary_hand_computed() {
        // truth: 0 0 0 0 1 1 1 1 1 1
        // pred:  0 0 0 1 1 1 1 1 0 0
        let truth = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let pred = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0];
        let mut c = Confusion::new(2);
        c.add(&pred, &truth).unwrap();
        // rows = truth, cols = pred
        assert_eq!(c.get(0, 0), 3);
        assert_eq!(c.get(0, 1), 1);
        assert_eq!(c.get(1, 0), 2);
        assert_eq!(c.get(1, 1), 4);
        assert_eq!(c.total(), 10);
        assert!(close(c.pixel_accuracy(), 0.7));
        // class 0: tp 3, fp 2, fn 1 -> dice 6/9, iou 3/6
        // class 1: tp 4, fp 1, fn 2 -> dice 8/11, iou 4/7
        let d = c.dice_per_class();
        let j = c.iou_per_class();
        assert!(close(d[0], 6.0 / 9.0) && close(d[1], 8.0 / 11.0));
        assert!(close(j[0], 0.5) && close(j[1], 4.0 / 7.0));
        assert!(close(c.mean_dice(), (6.0 / 9.0 + 8.0 / 11.0) / 2.0));
        assert!(close(c.mean_iou(), (0.5 + 4.0 / 7.0) / 2.0));
    }

    #[test]
    fn multi_label_counts_score_each_label_as_its_own_binary_mask() {
        // Bits per pixel: label 0 is bit 0, label 1 bit 1.
        let truth = [0b01, 0b11, 0b10, 0b00, IGNORE];
        let pred = [0b01, 0b01, 0b11, 0b00, 0b11];
        let mut c = Confusion::for_labels(2);
        c.add(&pred, &truth).unwrap();
        // Label 0: truth (1, 1, 0, 0), pred (1, 1, 1, 0): tp 2, fp 1, fn 0.
        // Label 1: truth (0, 1, 1, 0), pred (0, 0, 1, 0): tp 1, fp 0, fn 1.
        assert_eq!(c.total(), 4);
        assert_eq!(c.label(0).map(|l| l.get(0, 1)), Some(1));
        let d = c.dice_per_class();
        assert!(close(d[0], 4.0 / 5.0) && close(d[1], 2.0 / 3.0), "{d:?}");
        let j = c.iou_per_class();
        assert!(close(j[0], 2.0 / 3.0) && close(j[1], 0.5), "{j:?}");
        assert!(close(c.mean_dice(), (4.0 / 5.0 + 2.0 / 3.0) / 2.0));
        assert!(close(c.pixel_accuracy(), (3.0 / 4.0 + 3.0 / 4.0) / 2.0));
        // Pooled over labels: 3 + 3 right of 8.
        assert_eq!(c.get(0, 0) + c.get(1, 1), 6);
        // Bits past the labels are out of range; classes and labels do not merge.
        assert_eq!(
            c.add(&[4], &[0]),
            Err(MetricsError::ClassOutOfRange {
                class: 4,
                classes: 4
            })
        );
        assert!(c.merge(&Confusion::new(2)).is_err());
        let mut twice = c.clone();
        twice.merge(&c).unwrap();
        assert_eq!(twice.total(), 8);
        assert_eq!(twice.dice_per_class(), c.dice_per_class());
        assert_eq!(Confusion::for_targets(1, Targets::Classes).classes(), 2);
    }

    #[test]
    fn three_classes_with_absent_class() {
        // Class 2 appears nowhere -> dice = iou = 1.
        let truth = [0, 0, 1, 1, 1, 0];
        let pred = [0, 1, 1, 1, 0, 0];
        let mut c = Confusion::new(3);
        c.add(&pred, &truth).unwrap();
        // class 0: tp 2, fp 1, fn 1; class 1: tp 2, fp 1, fn 1
        let d = c.dice_per_class();
        let j = c.iou_per_class();
        assert!(close(d[0], 4.0 / 6.0) && close(d[1], 4.0 / 6.0) && close(d[2], 1.0));
        assert!(close(j[0], 0.5) && close(j[1], 0.5) && close(j[2], 1.0));
        assert!(close(c.mean_dice(), (4.0 / 6.0 * 2.0 + 1.0) / 3.0));
        assert!(close(c.mean_iou(), 2.0 / 3.0));
        assert!(close(c.pixel_accuracy(), 4.0 / 6.0));
    }

    #[test]
    fn class_only_in_prediction_scores_zero() {
        let truth = [0, 0, 0, 0];
        let pred = [0, 0, 0, 1];
        let mut c = Confusion::new(2);
        c.add(&pred, &truth).unwrap();
        assert_eq!(c.dice_per_class()[1], 0.0);
        assert_eq!(c.iou_per_class()[1], 0.0);
        assert!(close(c.dice_per_class()[0], 6.0 / 7.0));
        assert!(close(c.iou_per_class()[0], 0.75));
    }

    #[test]
    fn perfect_and_empty() {
        let mut c = Confusion::new(2);
        assert_eq!(c.pixel_accuracy(), 1.0);
        assert_eq!(c.mean_dice(), 1.0);
        c.add(&[1, 0, 1], &[1, 0, 1]).unwrap();
        assert_eq!(c.pixel_accuracy(), 1.0);
        assert_eq!(c.dice_per_class(), vec![1.0, 1.0]);
        assert_eq!(c.iou_per_class(), vec![1.0, 1.0]);
    }

    #[test]
    fn merge_equals_adding_both() {
        let (p1, t1) = ([0, 1, 1, 2], [0, 1, 2, 2]);
        let (p2, t2) = ([2, 2, 0], [1, 2, 0]);
        let mut a = Confusion::new(3);
        a.add(&p1, &t1).unwrap();
        let mut b = Confusion::new(3);
        b.add(&p2, &t2).unwrap();
        let mut both = Confusion::new(3);
        both.add(&p1, &t1).unwrap();
        both.add(&p2, &t2).unwrap();
        a.merge(&b).unwrap();
        assert_eq!(a, both);
        assert_eq!(
            a.merge(&Confusion::new(2)),
            Err(MetricsError::ClassCountMismatch { this: 3, other: 2 })
        );
    }

    #[test]
    fn add_errors_leave_matrix_unchanged() {
        let mut c = Confusion::new(2);
        assert_eq!(
            c.add(&[0, 1], &[0]),
            Err(MetricsError::LengthMismatch { pred: 2, truth: 1 })
        );
        assert_eq!(
            c.add(&[0, 1], &[0, 2]),
            Err(MetricsError::ClassOutOfRange {
                class: 2,
                classes: 2
            })
        );
        assert_eq!(c.total(), 0);
    }

    #[test]
    fn report_json() {
        let truth = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1];
        let pred = [0, 0, 0, 1, 1, 1, 1, 1, 0, 0];
        let mut c = Confusion::new(2);
        c.add(&pred, &truth).unwrap();
        let r = EvalReport::from_confusion(&c, 1);
        assert_eq!(r.per_class.len(), 2);
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        let close = |v: &serde_json::Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-6;
        assert!(close(&json["pixel_accuracy"], 0.7));
        assert!(close(&json["dice"], 0.696970));
        assert!(close(&json["iou"], 0.535714));
        assert!(close(&json["per_class"][0]["dice"], 0.666667));
        assert!(close(&json["per_class"][1]["iou"], 0.571429));
        assert_eq!(json["images"], 1);
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 6);
        assert!(json["per_image"].is_null());
        let odd = EvalReport {
            pixel_accuracy: f64::NAN,
            dice: 1.0,
            iou: 1.0,
            per_class: vec![],
            images: 0,
            per_image: None,
        };
        assert_eq!(
            odd.to_json(),
            "{\"pixel_accuracy\":null,\"dice\":1.0,\"iou\":1.0,\"per_class\":[],\"images\":0,\"per_image\":null}"
        );
        let mask = [0u8, 1, 1, 0];
        let scored = odd.with_image_scores(&[ImageScores::of(&mask, &mask, 2, 2, 2)]);
        let json: serde_json::Value = serde_json::from_str(&scored.to_json()).unwrap();
        assert_eq!(json["per_image"]["boundary_f1"], 1.0);
        assert_eq!(json["per_image"]["rand"]["score"], 1.0);
    }
}
