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

/// Per-pixel class probabilities `[N, K, H, W]` (K = 2 for a 1-class sigmoid output).
fn probabilities<B: Backend>(logits: Tensor<B, 4>) -> Tensor<B, 4> {
    if logits.dims()[1] == 1 {
        let p = sigmoid(logits);
        Tensor::cat(vec![p.clone().neg().add_scalar(1.0), p], 1)
    } else {
        softmax(logits, 1)
    }
}

/// One-hot `[N, K, H, W]` of `[N, H, W]` class indices.
fn one_hot<B: Backend>(targets: Tensor<B, 3, Int>, classes: usize) -> Tensor<B, 4> {
    let [n, h, w] = targets.dims();
    let flat = targets.reshape([n * h * w]).one_hot::<2>(classes).float();
    flat.reshape([n, h, w, classes]).permute([0, 3, 1, 2])
}

/// Cross-entropy: binary on a 1-channel output, multi-class otherwise. Mean over pixels.
fn cross_entropy<B: Backend>(logits: Tensor<B, 4>, targets: Tensor<B, 3, Int>) -> Tensor<B, 1> {
    let classes = logits.dims()[1];
    if classes == 1 {
        let y = targets.float().unsqueeze_dim::<4>(1);
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

/// Soft Dice loss, `1 - mean over classes of 2|P.T| / (|P| + |T|)`, over the whole batch.
fn dice<B: Backend>(logits: Tensor<B, 4>, targets: Tensor<B, 3, Int>) -> Tensor<B, 1> {
    let p = probabilities(logits);
    let k = p.dims()[1];
    let t = one_hot(targets, k);
    let inter = (p.clone() * t.clone())
        .sum_dim(0)
        .sum_dim(2)
        .sum_dim(3)
        .reshape([k]);
    let total = (p + t).sum_dim(0).sum_dim(2).sum_dim(3).reshape([k]);
    let score = (inter * 2.0 + 1.0) / (total + 1.0);
    score.mean().neg().add_scalar(1.0).reshape([1])
}

/// The loss of `logits` `[N, C, H, W]` against class indices `[N, H, W]`.
pub fn segmentation_loss<B: Backend>(
    kind: LossKind,
    logits: Tensor<B, 4>,
    targets: Tensor<B, 3, Int>,
) -> Tensor<B, 1> {
    match kind {
        LossKind::Bce | LossKind::Ce => cross_entropy(logits, targets),
        LossKind::Dice => dice(logits, targets),
        LossKind::BceDice => cross_entropy(logits.clone(), targets.clone()) + dice(logits, targets),
    }
}

/// Class indices `[N, H, W]` predicted from logits (threshold 0 for a 1-class output).
pub fn predict_classes<B: Backend>(logits: Tensor<B, 4>) -> Tensor<B, 3, Int> {
    let [n, c, h, w] = logits.dims();
    if c == 1 {
        logits.greater_elem(0.0).int().reshape([n, h, w])
    } else {
        logits.argmax(1).reshape([n, h, w])
    }
}
