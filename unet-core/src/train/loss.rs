//! Segmentation losses on logits.

use burn::tensor::activation::{log_sigmoid, log_softmax, sigmoid, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

use crate::data::{Targets, IGNORE, MAX_LABELS};

/// The training loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Binary cross-entropy on a 1-class (sigmoid) output.
    Bce,
    /// Cross-entropy on a multi-class (softmax) output.
    Ce,
    /// Soft Dice, mean over classes.
    Dice,
    /// Cross-entropy (binary or multi-class) plus soft Dice, nnU-Net's default.
    BceDice,
    /// Focal loss (Lin et al., 2017), `-(1 - p_t)^2 log p_t`: cross-entropy that weighs
    /// pixels already classified well less.
    Focal,
    /// Tversky loss (Salehi et al., 2017), `1 - TP / (TP + 0.3 FP + 0.7 FN)`, mean over
    /// classes: soft Dice that penalises missed pixels more than false alarms.
    Tversky,
}

/// The focusing exponent of [`LossKind::Focal`] (the paper's best, 2).
pub const FOCAL_GAMMA: f64 = 2.0;
/// The weights of false positives and false negatives in [`LossKind::Tversky`] (the paper's
/// 0.3 and 0.7).
pub const TVERSKY_ALPHA_BETA: (f64, f64) = (0.3, 0.7);

impl LossKind {
    /// The spelling in configurations and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Bce => "bce",
            LossKind::Ce => "ce",
            LossKind::Dice => "dice",
            LossKind::BceDice => "bce+dice",
            LossKind::Focal => "focal",
            LossKind::Tversky => "tversky",
        }
    }

    /// Every loss, in the order of [`LossKind::NAMES`].
    pub const ALL: [LossKind; 6] = [
        LossKind::Bce,
        LossKind::Ce,
        LossKind::Dice,
        LossKind::BceDice,
        LossKind::Focal,
        LossKind::Tversky,
    ];

    /// The names [`LossKind::parse`] takes (`dice+ce` too, for [`LossKind::BceDice`]).
    pub const NAMES: [&'static str; 6] = ["bce", "ce", "dice", "bce+dice", "focal", "tversky"];

    /// Parses [`LossKind::name`]'s spelling.
    pub fn parse(text: &str) -> Option<Self> {
        if matches!(text, "dice+ce" | "ce+dice" | "dice+bce") {
            return Some(LossKind::BceDice);
        }
        Self::ALL.into_iter().find(|k| k.name() == text)
    }

    /// Checks that the loss fits a network with `classes` outputs.
    ///
    /// # Errors
    /// The loss needs another number of classes.
    pub fn check(self, classes: usize) -> Result<(), LossError> {
        self.check_for(classes, Targets::Classes)
    }

    /// Checks that the loss fits a network with `channels` outputs that mean `targets`: a
    /// multi-label network takes every loss but the softmax's cross-entropy, `ce`.
    ///
    /// # Errors
    /// The loss needs another number of classes, or a softmax on a multi-label network.
    pub fn check_for(self, channels: usize, targets: Targets) -> Result<(), LossError> {
        if targets == Targets::Labels {
            return match self {
                LossKind::Ce => Err(LossError::SoftmaxOnLabels),
                _ => Ok(()),
            };
        }
        match (self, channels) {
            (LossKind::Bce, c) if c != 1 => Err(LossError::NeedsOneClass { classes: c }),
            (LossKind::Ce, 1) => Err(LossError::NeedsClasses),
            _ => Ok(()),
        }
    }

    /// The loss of this kind from its two parts, for class and label outputs alike: `ce(gamma)`,
    /// a cross-entropy of focusing exponent `gamma` (0: plain), and `overlap((alpha, beta))`, a
    /// Tversky score's loss (`(1, 1)`: soft Dice).
    fn combine<T: std::ops::Add<Output = T>>(
        self,
        ce: impl Fn(f64) -> T,
        overlap: impl Fn((f64, f64)) -> T,
    ) -> T {
        match self {
            LossKind::Bce | LossKind::Ce => ce(0.0),
            LossKind::Focal => ce(FOCAL_GAMMA),
            LossKind::Dice => overlap((1.0, 1.0)),
            LossKind::Tversky => overlap(TVERSKY_ALPHA_BETA),
            LossKind::BceDice => ce(0.0) + overlap((1.0, 1.0)),
        }
    }

    /// The default loss for a network with `classes` outputs.
    pub fn default_for(classes: usize) -> Self {
        Self::default_for_targets(classes, Targets::Classes)
    }

    /// The default loss for a network with `channels` outputs that mean `targets`: binary
    /// cross-entropy for one sigmoid per channel (one class, or labels), cross-entropy for a
    /// softmax.
    pub fn default_for_targets(channels: usize, targets: Targets) -> Self {
        if channels == 1 || targets == Targets::Labels {
            LossKind::Bce
        } else {
            LossKind::Ce
        }
    }
}

/// A loss with its class weights: what a batch is scored with.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    /// The loss.
    pub kind: LossKind,
    /// One weight per class (2 for a 1-class sigmoid output: background, foreground). The
    /// cross-entropies weigh each pixel by its true class's weight and divide by the sum of
    /// the weights, as PyTorch's `weight`; Dice and Tversky take the weighted mean over
    /// classes. `None`: every class weighs 1.
    pub class_weights: Option<Vec<f64>>,
    /// Leave out the pixels whose target is [`IGNORE`] (masks read with an ignore label):
    /// they weigh 0 in the cross-entropies and count in no Dice or Tversky sum. Needs a
    /// network of at most 255 classes, where that index is no class.
    pub ignore: bool,
    /// What the network's channels mean. With [`Targets::Labels`] every channel is its own
    /// sigmoid, the targets hold label bits, the cross-entropies are binary per label and
    /// per pixel, Dice and Tversky are per label, and the class weights are one per label.
    pub targets: Targets,
}

impl From<LossKind> for Loss {
    fn from(kind: LossKind) -> Self {
        Self {
            kind,
            class_weights: None,
            ignore: false,
            targets: Targets::Classes,
        }
    }
}

/// A loss that does not fit the network's outputs.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LossError {
    /// Binary cross-entropy on a multi-class output.
    #[error("loss bce needs a 1-class (sigmoid) model, this one has {classes} classes: use ce")]
    NeedsOneClass {
        /// The network's classes.
        classes: usize,
    },
    /// Cross-entropy on a 1-class output.
    #[error("loss ce needs a model with 2 or more classes, this one has 1: use bce")]
    NeedsClasses,
    /// Class weights of another count than the classes.
    #[error("class_weights has {weights} values, the model scores {classes} classes")]
    WeightCount {
        /// Values given.
        weights: usize,
        /// Classes scored (2 for a 1-class sigmoid output).
        classes: usize,
    },
    /// An ignore label on a network whose classes use every index, [`IGNORE`] too.
    #[error("ignore_label needs a model of at most 255 classes (index 255 marks the pixels left out), this one has {classes}")]
    IgnoreWithoutRoom {
        /// The network's classes.
        classes: usize,
    },
    /// The softmax's cross-entropy on a multi-label network.
    #[error("loss ce is a softmax over classes, and this model's outputs are labels, one sigmoid each: use bce, bce+dice, dice, focal or tversky")]
    SoftmaxOnLabels,
    /// A multi-label network of more labels than mask bits.
    #[error("labels: a multi-label model has at most {MAX_LABELS} labels, this one has {labels}")]
    TooManyLabels {
        /// The network's labels.
        labels: usize,
    },
    /// A class weight that is negative, not finite, or all of them zero.
    #[error("class_weights {weights:?} must be finite, at least 0, and not all 0")]
    BadWeight {
        /// The weights.
        weights: Vec<f64>,
    },
}

impl Loss {
    /// Checks that the loss and its weights fit a network with `classes` outputs.
    ///
    /// # Errors
    /// The loss needs another number of classes, or the weights do not fit.
    pub fn check(&self, classes: usize) -> Result<(), LossError> {
        self.kind.check_for(classes, self.targets)?;
        let labels = self.targets == Targets::Labels;
        if labels && classes > MAX_LABELS {
            return Err(LossError::TooManyLabels { labels: classes });
        }
        if self.ignore && classes > usize::from(IGNORE) {
            return Err(LossError::IgnoreWithoutRoom { classes });
        }
        let Some(weights) = &self.class_weights else {
            return Ok(());
        };
        let scored = if labels { classes } else { classes.max(2) };
        if weights.len() != scored {
            return Err(LossError::WeightCount {
                weights: weights.len(),
                classes: scored,
            });
        }
        let fine = weights.iter().all(|w| w.is_finite() && *w >= 0.0);
        if !fine || weights.iter().all(|&w| w == 0.0) {
            return Err(LossError::BadWeight {
                weights: weights.clone(),
            });
        }
        Ok(())
    }

    /// The loss of `logits` `[N, C, spatial...]` against class indices `[N, 1, spatial...]`.
    pub fn compute<B: Backend, const D: usize>(
        &self,
        logits: Tensor<B, D>,
        targets: Tensor<B, D, Int>,
    ) -> Tensor<B, 1> {
        self.compute_weighted(logits, targets, None)
    }

    /// [`Loss::compute`] with per-pixel weights `[N, 1, spatial...]` (the U-Net paper's weight
    /// map), which multiply the class weights in the cross-entropies' weighted mean; Dice and
    /// Tversky, sums over whole classes, do not use them.
    pub fn compute_weighted<B: Backend, const D: usize>(
        &self,
        logits: Tensor<B, D>,
        targets: Tensor<B, D, Int>,
        pixel_weights: Option<Tensor<B, D>>,
    ) -> Tensor<B, 1> {
        if !self.ignore {
            return self.compute_kept(logits, targets, pixel_weights, None);
        }
        let kept = targets.clone().not_equal_elem(i64::from(IGNORE)).float();
        let pixel_weights = Some(match pixel_weights {
            Some(p) => p * kept.clone(),
            None => kept.clone(),
        });
        self.compute_kept(logits, targets, pixel_weights, Some(kept))
    }

    /// The loss over the pixels where `kept` (`[N, 1, spatial...]`, 1 or 0) is 1; `None`: all.
    fn compute_kept<B: Backend, const D: usize>(
        &self,
        logits: Tensor<B, D>,
        targets: Tensor<B, D, Int>,
        pixel_weights: Option<Tensor<B, D>>,
        kept: Option<Tensor<B, D>>,
    ) -> Tensor<B, 1> {
        let w = self.class_weights.as_deref();
        if self.targets == Targets::Labels {
            let (hot, p) = label_parts(targets, &logits, kept);
            let bce = |gamma| {
                sigmoid_cross_entropy(gamma, logits.clone(), hot.clone(), w, pixel_weights.clone())
            };
            let overlap = |alpha_beta| soft_overlap(p.clone(), hot.clone(), alpha_beta, w);
            return self.kind.combine(bce, overlap);
        }
        let ce = |gamma| {
            Weighted {
                gamma,
                classes: w,
                pixels: pixel_weights.clone(),
            }
            .cross_entropy(logits.clone(), targets.clone())
        };
        let overlap =
            |alpha_beta| overlap(logits.clone(), targets.clone(), kept.clone(), alpha_beta, w);
        self.kind.combine(ce, overlap)
    }

    /// The network's decision per pixel, `[N, 1, spatial...]` of `[N, C, spatial...]` logits:
    /// [`predict_classes`], or [`predict_labels`] for a multi-label network.
    pub fn decide<B: Backend, const D: usize>(&self, logits: Tensor<B, D>) -> Tensor<B, D, Int> {
        match self.targets {
            Targets::Classes => predict_classes(logits),
            Targets::Labels => predict_labels(logits),
        }
    }
}

/// A multi-label network's truths `[N, L, spatial...]` (each label's bit) and probabilities
/// (each channel's sigmoid), both 0 where `kept` is 0.
fn label_parts<B: Backend, const D: usize>(
    targets: Tensor<B, D, Int>,
    logits: &Tensor<B, D>,
    kept: Option<Tensor<B, D>>,
) -> (Tensor<B, D>, Tensor<B, D>) {
    let hot = label_planes(targets, logits.dims()[1]);
    let p = sigmoid(logits.clone());
    match kept {
        // An ignored pixel's bits are all 1: no label's sum may see them.
        Some(kept) => (hot * kept.clone(), p * kept),
        None => (hot, p),
    }
}

/// Label `k`'s bit of `[N, 1, spatial...]` label-bit targets for each of `labels` labels:
/// `[N, labels, spatial...]` of 0 and 1.
fn label_planes<B: Backend, const D: usize>(
    targets: Tensor<B, D, Int>,
    labels: usize,
) -> Tensor<B, D> {
    let planes = (0..labels)
        .map(|k| {
            targets
                .clone()
                .div_scalar(1i64 << k)
                .remainder_scalar(2)
                .float()
        })
        .collect();
    Tensor::cat(planes, 1)
}

/// The binary cross-entropy of every channel of `logits` against `hot` (0 or 1, the same
/// shape), focal with exponent `gamma > 0`: the mean over pixels and labels of
/// `-(1 - p_t)^gamma log p_t`, each term weighted by its label's weight times its pixel's, the
/// sum divided by the weights' sum.
fn sigmoid_cross_entropy<B: Backend, const D: usize>(
    gamma: f64,
    logits: Tensor<B, D>,
    hot: Tensor<B, D>,
    labels: Option<&[f64]>,
    pixels: Option<Tensor<B, D>>,
) -> Tensor<B, 1> {
    let device = logits.device();
    // log p_t = log s(x) where the label is set, log s(-x) where it is not.
    let sign = hot.mul_scalar(2.0).sub_scalar(1.0);
    let logp_t = log_sigmoid(logits * sign);
    let mut per_term = logp_t.clone().neg();
    if gamma > 0.0 {
        per_term = per_term * logp_t.exp().neg().add_scalar(1.0).powf_scalar(gamma);
    }
    let mut weight = match labels {
        None => per_term.ones_like(),
        Some(w) => per_term.ones_like() * class_weight_tensor::<B, D>(w, &device),
    };
    match pixels {
        Some(p) => weight = weight * p,
        None if labels.is_none() => return per_term.mean().reshape([1]),
        None => {}
    }
    let total = weight.clone().sum().clamp_min(1e-12);
    ((per_term * weight).sum() / total).reshape([1])
}

/// Per-pixel class probabilities `[N, K, spatial...]` (K = 2 for a 1-class sigmoid output).
fn probabilities<B: Backend, const D: usize>(logits: Tensor<B, D>) -> Tensor<B, D> {
    if logits.dims()[1] == 1 {
        let p = sigmoid(logits);
        Tensor::cat(vec![p.clone().neg().add_scalar(1.0), p], 1)
    } else {
        softmax(logits, 1)
    }
}

/// One-hot `[N, K, spatial...]` of `[N, 1, spatial...]` class indices.
fn one_hot<B: Backend, const D: usize>(targets: Tensor<B, D, Int>, classes: usize) -> Tensor<B, D> {
    let planes = (0..classes)
        .map(|k| targets.clone().equal_elem(k as i64).float())
        .collect();
    Tensor::cat(planes, 1)
}

/// Per-pixel log-probability of every class `[N, K, spatial...]` (K = 2 for a 1-class
/// sigmoid output, from `log s(x)` and `log(1 - s(x)) = log s(-x)`).
fn log_probabilities<B: Backend, const D: usize>(logits: Tensor<B, D>) -> Tensor<B, D> {
    if logits.dims()[1] == 1 {
        Tensor::cat(
            vec![log_sigmoid(logits.clone().neg()), log_sigmoid(logits)],
            1,
        )
    } else {
        log_softmax(logits, 1)
    }
}

/// `[K]` weights as a tensor.
fn weight_vector<B: Backend>(weights: &[f64], device: &B::Device) -> Tensor<B, 1> {
    let values: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    Tensor::from_floats(values.as_slice(), device)
}

/// `[K]` weights shaped to broadcast over `[N, K, spatial...]`.
fn class_weight_tensor<B: Backend, const D: usize>(
    weights: &[f64],
    device: &B::Device,
) -> Tensor<B, D> {
    let mut shape = [1; D];
    shape[1] = weights.len();
    weight_vector::<B>(weights, device).reshape(shape)
}

/// How a cross-entropy weighs its pixels: focusing exponent, class and pixel weights.
struct Weighted<'w, B: Backend, const D: usize> {
    /// 0: plain cross-entropy; above: focal.
    gamma: f64,
    classes: Option<&'w [f64]>,
    pixels: Option<Tensor<B, D>>,
}

impl<B: Backend, const D: usize> Weighted<'_, B, D> {
    /// Cross-entropy (binary on a 1-channel output, multi-class otherwise), focal with
    /// exponent `gamma > 0`: the mean over pixels of `-(1 - p_t)^gamma log p_t`, each pixel
    /// weighted by its class's weight times its own, the sum divided by the weights' sum
    /// (PyTorch's weighted mean).
    fn cross_entropy(self, logits: Tensor<B, D>, targets: Tensor<B, D, Int>) -> Tensor<B, 1> {
        let device = logits.device();
        let logp = log_probabilities(logits);
        let hot = one_hot(targets, logp.dims()[1]);
        let logp_t = (logp * hot.clone()).sum_dim(1);
        let mut per_pixel = logp_t.clone().neg();
        if self.gamma > 0.0 {
            let focus = logp_t.exp().neg().add_scalar(1.0).powf_scalar(self.gamma);
            per_pixel = per_pixel * focus;
        }
        let class_weight = self
            .classes
            .map(|w| (hot * class_weight_tensor::<B, D>(w, &device)).sum_dim(1));
        let weight = match (class_weight, self.pixels) {
            (None, None) => return per_pixel.mean().reshape([1]),
            (Some(c), None) => c,
            (None, Some(p)) => p,
            (Some(c), Some(p)) => c * p,
        };
        // A batch whose every pixel weighs 0 has loss 0, not 0 / 0.
        let total = weight.clone().sum().clamp_min(1e-12);
        ((per_pixel * weight).sum() / total).reshape([1])
    }
}

/// Per-class sums over the batch and every spatial axis: `[K]` of `[N, K, spatial...]`.
fn class_sums<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, 1> {
    let k = x.dims()[1];
    x.swap_dims(0, 1)
        .reshape([k as i32, -1])
        .sum_dim(1)
        .reshape([k])
}

/// The Tversky loss over the whole batch, `1 - mean over classes of (TP + 1) / (TP + alpha
/// FP + beta FN + 1)` on soft counts; `alpha = beta = 1` is soft Dice, `2TP / (2TP + FP +
/// FN)`, with the smoothing term 1 on numerator and denominator alike. With weights, the
/// mean over classes is weighted. Only the pixels where `kept` is 1 count (`None`: all; the
/// targets' one-hot is already 0 elsewhere).
fn overlap<B: Backend, const D: usize>(
    logits: Tensor<B, D>,
    targets: Tensor<B, D, Int>,
    kept: Option<Tensor<B, D>>,
    alpha_beta: (f64, f64),
    weights: Option<&[f64]>,
) -> Tensor<B, 1> {
    let p = match kept {
        Some(kept) => probabilities(logits) * kept,
        None => probabilities(logits),
    };
    let k = p.dims()[1];
    soft_overlap(p, one_hot(targets, k), alpha_beta, weights)
}

/// [`overlap`]'s formula on probabilities `p` and 0/1 truths `t` of one shape, `[N, K,
/// spatial...]`, whose left-out pixels are already 0 in both.
fn soft_overlap<B: Backend, const D: usize>(
    p: Tensor<B, D>,
    t: Tensor<B, D>,
    (alpha, beta): (f64, f64),
    weights: Option<&[f64]>,
) -> Tensor<B, 1> {
    let tp = class_sums(p.clone() * t.clone());
    let fp = class_sums(p.clone()) - tp.clone();
    let fn_ = class_sums(t) - tp.clone();
    let score = if alpha == 1.0 && beta == 1.0 {
        (tp.clone() * 2.0 + 1.0) / (tp * 2.0 + fp + fn_ + 1.0)
    } else {
        (tp.clone() + 1.0) / (tp + fp * alpha + fn_ * beta + 1.0)
    };
    let mean = match weights {
        None => score.mean(),
        Some(w) => {
            let total: f64 = w.iter().sum();
            (score * weight_vector::<B>(w, &p.device())).sum() / total
        }
    };
    mean.neg().add_scalar(1.0).reshape([1])
}

/// The loss of `logits` `[N, C, spatial...]` against class indices `[N, 1, spatial...]`.
pub fn segmentation_loss<B: Backend, const D: usize>(
    loss: impl Into<Loss>,
    logits: Tensor<B, D>,
    targets: Tensor<B, D, Int>,
) -> Tensor<B, 1> {
    loss.into().compute(logits, targets)
}

/// Label bits `[N, 1, spatial...]` predicted from the logits `[N, L, spatial...]` of a
/// multi-label network: bit `k` set where channel `k`'s logit is above 0 (probability above
/// 1/2).
pub fn predict_labels<B: Backend, const D: usize>(logits: Tensor<B, D>) -> Tensor<B, D, Int> {
    let labels = logits.dims()[1];
    let mut bits = logits.clone().narrow(1, 0, 1).greater_elem(0.0).int();
    for k in 1..labels {
        let set = logits.clone().narrow(1, k, 1).greater_elem(0.0).int();
        bits = bits + set.mul_scalar(1i64 << k);
    }
    bits
}

/// Class indices `[N, 1, spatial...]` predicted from logits `[N, C, spatial...]` (threshold
/// 0 for a 1-class output).
pub fn predict_classes<B: Backend, const D: usize>(logits: Tensor<B, D>) -> Tensor<B, D, Int> {
    if logits.dims()[1] == 1 {
        logits.greater_elem(0.0).int()
    } else {
        logits.argmax(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    fn sigmoid(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// Two pixels of a 1-class output with these logits, and their classes.
    fn binary(logits: [f32; 2], classes: [i32; 2]) -> (Tensor<Cpu, 4>, Tensor<Cpu, 4, Int>) {
        let device = Default::default();
        (
            Tensor::from_data(TensorData::new(logits.to_vec(), [1, 1, 1, 2]), &device),
            Tensor::from_data(TensorData::new(classes.to_vec(), [1, 1, 1, 2]), &device),
        )
    }

    fn value(loss: &Loss, logits: [f32; 2], classes: [i32; 2]) -> f64 {
        let (x, t) = binary(logits, classes);
        f64::from(loss.compute(x, t).into_scalar())
    }

    fn weighted(kind: LossKind, weights: [f64; 2]) -> Loss {
        Loss {
            class_weights: Some(weights.to_vec()),
            ..Loss::from(kind)
        }
    }

    #[test]
    fn focal_loss_matches_its_formula_by_hand() {
        // Pixel 1: class 1, p_t = s(0) = 1/2. Pixel 2: class 0, p_t = 1 - s(2).
        let (p1, p2) = (0.5, 1.0 - sigmoid(2.0));
        let focal = |p: f64| -(1.0 - p).powi(2) * p.ln();
        let want = (focal(p1) + focal(p2)) / 2.0;
        let got = value(&LossKind::Focal.into(), [0.0, 2.0], [1, 0]);
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        assert!((want - 0.911_66).abs() < 1e-4);
        // Below the cross-entropy of the same pixels: well-classified pixels count less.
        assert!(got < value(&LossKind::Bce.into(), [0.0, 2.0], [1, 0]));
    }

    #[test]
    fn class_weights_make_the_cross_entropy_a_weighted_mean_as_in_pytorch() {
        // -ln(1/2) for the class-1 pixel (weight 3), -ln(1 - s(2)) for the class-0 one.
        let want = (3.0 * 2f64.ln() - (1.0 - sigmoid(2.0)).ln()) / 4.0;
        let got = value(&weighted(LossKind::Bce, [1.0, 3.0]), [0.0, 2.0], [1, 0]);
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        let even = value(&weighted(LossKind::Bce, [2.0, 2.0]), [0.0, 2.0], [1, 0]);
        assert!((even - value(&LossKind::Bce.into(), [0.0, 2.0], [1, 0])).abs() < 1e-6);
    }

    #[test]
    fn pixel_weights_multiply_the_class_weights_in_the_weighted_mean() {
        let device = Default::default();
        let (x, t) = binary([0.0, 2.0], [1, 0]);
        let pixels =
            Tensor::<Cpu, 4>::from_data(TensorData::new(vec![2.0f32, 0.5], [1, 1, 1, 2]), &device);
        let loss = weighted(LossKind::Bce, [1.0, 3.0]);
        let got = loss.compute_weighted(x.clone(), t.clone(), Some(pixels));
        // Weights 3 * 2 = 6 and 1 * 0.5 = 0.5.
        let want = (6.0 * 2f64.ln() - 0.5 * (1.0 - sigmoid(2.0)).ln()) / 6.5;
        assert!((f64::from(got.into_scalar()) - want).abs() < 1e-6);
        // Every pixel at weight 0: loss 0, not NaN.
        let zero = Tensor::<Cpu, 4>::zeros([1, 1, 1, 2], &device);
        let got = Loss::from(LossKind::Focal).compute_weighted(x, t, Some(zero));
        assert_eq!(got.into_scalar(), 0.0);
    }

    #[test]
    fn tversky_and_dice_match_their_soft_counts_by_hand() {
        // Both pixels s(2) foreground; truth (1, 0). Foreground: TP = p, FP = p, FN = 1 - p;
        // background: TP = 1 - p, FP = 1 - p, FN = p.
        let p = sigmoid(2.0);
        let tversky = |tp: f64, fp: f64, fn_: f64| (tp + 1.0) / (tp + 0.3 * fp + 0.7 * fn_ + 1.0);
        let (fg, bg) = (tversky(p, p, 1.0 - p), tversky(1.0 - p, 1.0 - p, p));
        let got = value(&LossKind::Tversky.into(), [2.0, 2.0], [1, 0]);
        assert!((got - (1.0 - (fg + bg) / 2.0)).abs() < 1e-6, "{got}");
        assert!((got - 0.262_12).abs() < 1e-4);
        let got = value(&weighted(LossKind::Tversky, [1.0, 3.0]), [2.0, 2.0], [1, 0]);
        assert!((got - (1.0 - (bg + 3.0 * fg) / 4.0)).abs() < 1e-6, "{got}");
        // Dice at logits 0: every soft count is 1/2, (2 * 1/2 + 1) / (2 * 1/2 + 1 + 1) = 2/3.
        let got = value(&LossKind::Dice.into(), [0.0, 0.0], [1, 0]);
        assert!((got - 1.0 / 3.0).abs() < 1e-6, "{got}");
    }

    #[test]
    fn multi_class_cross_entropy_and_focal_agree_with_log_softmax_by_hand() {
        let device = Default::default();
        // One pixel, three classes, logits (1, 2, 0), class 1.
        let x = Tensor::<Cpu, 4>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 0.0], [1, 3, 1, 1]),
            &device,
        );
        let t =
            Tensor::<Cpu, 4, Int>::from_data(TensorData::new(vec![1i32], [1, 1, 1, 1]), &device);
        let z = 1f64.exp() + 2f64.exp() + 1.0;
        let p = 2f64.exp() / z;
        let ce = f64::from(segmentation_loss(LossKind::Ce, x.clone(), t.clone()).into_scalar());
        assert!((ce + p.ln()).abs() < 1e-6);
        let focal = f64::from(segmentation_loss(LossKind::Focal, x, t).into_scalar());
        assert!((focal + (1.0 - p).powi(2) * p.ln()).abs() < 1e-6);
    }

    #[test]
    fn pixels_of_the_ignore_label_change_no_loss() {
        let device = Default::default();
        let floats = |v: Vec<f32>, w: usize| {
            Tensor::<Cpu, 4>::from_data(TensorData::new(v, [1, 1, 1, w]), &device)
        };
        let ints = |v: Vec<i32>, w: usize| {
            Tensor::<Cpu, 4, Int>::from_data(TensorData::new(v, [1, 1, 1, w]), &device)
        };
        let ignored = i32::from(IGNORE);
        for kind in LossKind::ALL.into_iter().filter(|&k| k != LossKind::Ce) {
            // Two pixels, the second ignored with a confident wrong logit, against the first
            // alone; with pixel weights too.
            let loss = Loss {
                ignore: true,
                ..Loss::from(kind)
            };
            let both =
                loss.compute_weighted(floats(vec![0.5, 9.0], 2), ints(vec![1, ignored], 2), None);
            let one = Loss::from(kind).compute(floats(vec![0.5], 1), ints(vec![1], 1));
            let (both, one) = (f64::from(both.into_scalar()), f64::from(one.into_scalar()));
            assert!((both - one).abs() < 1e-6, "{kind:?}: {both} vs {one}");
            let weighted = loss.compute_weighted(
                floats(vec![0.5, 9.0], 2),
                ints(vec![1, ignored], 2),
                Some(floats(vec![2.0, 3.0], 2)),
            );
            let weighted = f64::from(weighted.into_scalar());
            assert!(
                (weighted - one).abs() < 1e-6,
                "{kind:?}: {weighted} vs {one}"
            );
        }
        // Every pixel ignored: loss 0 for a cross-entropy, not 0 / 0.
        let loss = Loss {
            ignore: true,
            ..Loss::from(LossKind::Bce)
        };
        let got = loss.compute(floats(vec![3.0], 1), ints(vec![ignored], 1));
        assert_eq!(got.into_scalar(), 0.0);
        let many = Loss {
            ignore: true,
            ..Loss::from(LossKind::Ce)
        };
        assert!(many.check(255).is_ok());
        assert_eq!(
            many.check(256),
            Err(LossError::IgnoreWithoutRoom { classes: 256 })
        );
    }

    #[test]
    fn weights_of_the_wrong_count_or_sign_are_refused() {
        assert_eq!(
            weighted(LossKind::Ce, [1.0, 2.0]).check(3),
            Err(LossError::WeightCount {
                weights: 2,
                classes: 3
            })
        );
        assert!(weighted(LossKind::Bce, [1.0, 2.0]).check(1).is_ok());
        for bad in [[-1.0, 1.0], [0.0, 0.0], [f64::NAN, 1.0]] {
            assert!(matches!(
                weighted(LossKind::Dice, bad).check(2),
                Err(LossError::BadWeight { .. })
            ));
        }
    }

    /// Two pixels of a 2-label output: logits `[label][pixel]`, and the pixels' label bits.
    fn two_labels(logits: [[f32; 2]; 2], bits: [i32; 2]) -> (Tensor<Cpu, 4>, Tensor<Cpu, 4, Int>) {
        let device = Default::default();
        let flat: Vec<f32> = logits.iter().flatten().copied().collect();
        (
            Tensor::from_data(TensorData::new(flat, [1, 2, 1, 2]), &device),
            Tensor::from_data(TensorData::new(bits.to_vec(), [1, 1, 1, 2]), &device),
        )
    }

    fn labels(kind: LossKind) -> Loss {
        Loss {
            targets: Targets::Labels,
            ..Loss::from(kind)
        }
    }

    #[test]
    fn multi_label_losses_are_one_sigmoid_per_label_by_hand() {
        // Pixel 0 has both labels (bits 3), pixel 1 label 1 only (bits 2).
        let logits = [[0.0, 2.0], [1.0, -1.0]];
        let (x, t) = two_labels(logits, [3, 2]);
        // p_t per (label, pixel): s(0), 1 - s(2); s(1), s(-1).
        let p_t = [0.5, 1.0 - sigmoid(2.0), sigmoid(1.0), sigmoid(-1.0)];
        let bce: f64 = p_t.iter().map(|p| -p.ln()).sum::<f64>() / 4.0;
        let got = f64::from(
            labels(LossKind::Bce)
                .compute(x.clone(), t.clone())
                .into_scalar(),
        );
        assert!((got - bce).abs() < 1e-6, "{got} vs {bce}");
        let focal: f64 = p_t.iter().map(|p| -(1.0 - p).powi(2) * p.ln()).sum::<f64>() / 4.0;
        let got = f64::from(
            labels(LossKind::Focal)
                .compute(x.clone(), t.clone())
                .into_scalar(),
        );
        assert!((got - focal).abs() < 1e-6, "{got} vs {focal}");
        // Label weights (1, 3): label 1's terms count three times.
        let weighted = Loss {
            class_weights: Some(vec![1.0, 3.0]),
            ..labels(LossKind::Bce)
        };
        let want = (-(p_t[0] * p_t[1]).ln() - 3.0 * (p_t[2] * p_t[3]).ln()) / 8.0;
        let got = f64::from(weighted.compute(x.clone(), t.clone()).into_scalar());
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
        // Soft Dice per label, foreground only: label 0 has p (1/2, s(2)) and truth (1, 0);
        // label 1 has p (s(1), s(-1)) and truth (1, 1).
        let dice = |p: [f64; 2], t: [f64; 2]| {
            let tp = p[0] * t[0] + p[1] * t[1];
            (2.0 * tp + 1.0) / (p[0] + p[1] + t[0] + t[1] + 1.0)
        };
        let d0 = dice([0.5, sigmoid(2.0)], [1.0, 0.0]);
        let d1 = dice([sigmoid(1.0), sigmoid(-1.0)], [1.0, 1.0]);
        let got = f64::from(
            labels(LossKind::Dice)
                .compute(x.clone(), t.clone())
                .into_scalar(),
        );
        assert!((got - (1.0 - (d0 + d1) / 2.0)).abs() < 1e-6, "{got}");
        let got = f64::from(labels(LossKind::BceDice).compute(x, t).into_scalar());
        assert!((got - (bce + 1.0 - (d0 + d1) / 2.0)).abs() < 1e-6, "{got}");
    }

    #[test]
    fn ignored_pixels_change_no_multi_label_loss_and_decisions_are_label_bits() {
        let ignored = i32::from(IGNORE);
        for kind in LossKind::ALL.into_iter().filter(|&k| k != LossKind::Ce) {
            let loss = Loss {
                ignore: true,
                ..labels(kind)
            };
            let (x, t) = two_labels([[0.5, 9.0], [-0.5, 9.0]], [1, ignored]);
            let both = f64::from(loss.compute(x, t).into_scalar());
            let device = Default::default();
            let x = Tensor::<Cpu, 4>::from_data(
                TensorData::new(vec![0.5f32, -0.5], [1, 2, 1, 1]),
                &device,
            );
            let t =
                Tensor::<Cpu, 4, Int>::from_data(TensorData::new(vec![1], [1, 1, 1, 1]), &device);
            let alone = f64::from(labels(kind).compute(x, t).into_scalar());
            assert!((both - alone).abs() < 1e-6, "{kind:?}: {both} vs {alone}");
        }
        let (x, _) = two_labels([[0.5, -2.0], [3.0, -1.0]], [0, 0]);
        let bits = labels(LossKind::Bce)
            .decide(x)
            .into_data()
            .convert::<i64>()
            .to_vec::<i64>();
        assert_eq!(bits.unwrap_or_default(), [3, 0]);
        // The softmax's cross-entropy is no multi-label loss; label weights are one per label.
        assert_eq!(
            labels(LossKind::Ce).check(2),
            Err(LossError::SoftmaxOnLabels)
        );
        assert!(labels(LossKind::Bce).check(3).is_ok());
        let one_weight = Loss {
            class_weights: Some(vec![1.0]),
            ..labels(LossKind::Bce)
        };
        assert!(one_weight.check(1).is_ok());
        assert_eq!(
            labels(LossKind::Bce).check(8),
            Err(LossError::TooManyLabels { labels: 8 })
        );
    }

    #[test]
    fn every_name_parses_back_and_dice_plus_ce_is_bce_plus_dice() {
        for kind in LossKind::ALL {
            assert_eq!(LossKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(LossKind::parse("dice+ce"), Some(LossKind::BceDice));
        assert_eq!(LossKind::parse("hinge"), None);
    }
}
