//! Segmentation losses on logits.

use burn::tensor::activation::{log_sigmoid, log_softmax, sigmoid, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};

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
    /// Cross-entropy (binary or multi-class) plus soft Dice.
    BceDice,
}

impl LossKind {
    /// The spelling in configurations and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            LossKind::Bce => "bce",
            LossKind::Ce => "ce",
            LossKind::Dice => "dice",
            LossKind::BceDice => "bce+dice",
        }
    }

    /// Parses [`LossKind::name`]'s spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "bce" => Some(LossKind::Bce),
            "ce" => Some(LossKind::Ce),
            "dice" => Some(LossKind::Dice),
            "bce+dice" => Some(LossKind::BceDice),
            _ => None,
        }
    }

    /// Checks that the loss fits a network with `classes` outputs.
    ///
    /// # Errors
    /// The loss needs another number of classes.
    pub fn check(self, classes: usize) -> Result<(), LossError> {
        match (self, classes) {
            (LossKind::Bce, c) if c != 1 => Err(LossError::NeedsOneClass { classes: c }),
            (LossKind::Ce, 1) => Err(LossError::NeedsClasses),
            _ => Ok(()),
        }
    }

    /// The default loss for a network with `classes` outputs.
    pub fn default_for(classes: usize) -> Self {
        if classes == 1 {
            LossKind::Bce
        } else {
            LossKind::Ce
        }
    }
}

/// A loss that does not fit the network's outputs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
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

/// Cross-entropy: binary on a 1-channel output, multi-class otherwise. Mean over pixels.
fn cross_entropy<B: Backend, const D: usize>(
    logits: Tensor<B, D>,
    targets: Tensor<B, D, Int>,
) -> Tensor<B, 1> {
    let classes = logits.dims()[1];
    if classes == 1 {
        let y = targets.float();
        // -(y log s(x) + (1 - y) log(1 - s(x))), with log(1 - s(x)) = log s(-x).
        let pos = log_sigmoid(logits.clone()) * y.clone();
        let neg = log_sigmoid(logits.neg()) * y.neg().add_scalar(1.0);
        (pos + neg).mean().neg().reshape([1])
    } else {
        let logp = log_softmax(logits, 1);
        (logp * one_hot(targets, classes))
            .sum_dim(1)
            .mean()
            .neg()
            .reshape([1])
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

/// Soft Dice loss, `1 - mean over classes of 2|P.T| / (|P| + |T|)`, over the whole batch.
fn dice<B: Backend, const D: usize>(
    logits: Tensor<B, D>,
    targets: Tensor<B, D, Int>,
) -> Tensor<B, 1> {
    let p = probabilities(logits);
    let k = p.dims()[1];
    let t = one_hot(targets, k);
    let inter = class_sums(p.clone() * t.clone());
    let total = class_sums(p + t);
    let score = (inter * 2.0 + 1.0) / (total + 1.0);
    score.mean().neg().add_scalar(1.0).reshape([1])
}

/// The loss of `logits` `[N, C, spatial...]` against class indices `[N, 1, spatial...]`.
pub fn segmentation_loss<B: Backend, const D: usize>(
    kind: LossKind,
    logits: Tensor<B, D>,
    targets: Tensor<B, D, Int>,
) -> Tensor<B, 1> {
    match kind {
        LossKind::Bce | LossKind::Ce => cross_entropy(logits, targets),
        LossKind::Dice => dice(logits, targets),
        LossKind::BceDice => cross_entropy(logits.clone(), targets.clone()) + dice(logits, targets),
    }
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
