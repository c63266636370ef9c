//! The learning rate over a run and the optimizer that applies it.
//!
//! The schedule is a function of the run's progress (a fraction in [0, 1]) rather than of a
//! step count, as burn-optim's schedulers are: with a time budget nobody knows the number of
//! steps in advance, and the fraction of the budget spent is the progress.

use burn::module::AutodiffModule;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, Optimizer, SgdConfig};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

/// A setting chosen by name from a fixed list (as on the command line and in `config.json`).
pub trait Choice: Copy + PartialEq + 'static {
    /// What the setting is, for messages: `schedule`.
    const WHAT: &'static str;
    /// Every value, in the order of [`Choice::NAMES`].
    const ALL: &'static [Self];
    /// The names [`Choice::parse`] reads.
    const NAMES: &'static [&'static str];

    /// The value called `text`.
    fn parse(text: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == text)
            .map(|i| Self::ALL[i])
    }

    /// Its name.
    fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|s| *s == self).unwrap_or(0)]
    }
}

/// How the learning rate moves over the run, after the optional linear warm-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// The configured rate throughout.
    #[default]
    Constant,
    /// Half a cosine from the rate down to 0.
    Cosine,
    /// nnU-Net's polynomial decay, `lr * (1 - progress)^0.9`.
    Poly,
}

impl Choice for Schedule {
    const WHAT: &'static str = "schedule";
    const ALL: &'static [Self] = &[Schedule::Constant, Schedule::Cosine, Schedule::Poly];
    const NAMES: &'static [&'static str] = &["constant", "cosine", "poly"];
}

impl Schedule {
    /// The rate at `progress` (0 at the first step, 1 at the end) for a peak rate `lr`, the
    /// first `warmup` of the run rising linearly from 0 (as Hugging Face's warm-up does) and
    /// the schedule spanning the rest.
    pub fn rate(self, lr: f64, warmup: f64, progress: f64) -> f64 {
        let progress = progress.clamp(0.0, 1.0);
        if progress < warmup {
            return lr * progress / warmup;
        }
        let rest = if warmup < 1.0 {
            (progress - warmup) / (1.0 - warmup)
        } else {
            1.0
        };
        lr * match self {
            Schedule::Constant => 1.0,
            Schedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * rest).cos()),
            Schedule::Poly => (1.0 - rest).powf(0.9),
        }
    }
}

/// The optimizer of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (betas 0.9, 0.999, epsilon 1e-8 as PyTorch), weight decay added to the gradient.
    #[default]
    Adam,
    /// AdamW: weight decay applied to the weights, apart from the gradient's moments.
    #[serde(rename = "adamw")]
    AdamW,
    /// SGD with Nesterov momentum 0.99, no dampening: nnU-Net's optimizer.
    Sgd,
}

impl Choice for OptimizerKind {
    const WHAT: &'static str = "optimizer";
    const ALL: &'static [Self] = &[
        OptimizerKind::Adam,
        OptimizerKind::AdamW,
        OptimizerKind::Sgd,
    ];
    const NAMES: &'static [&'static str] = &["adam", "adamw", "sgd"];
}

impl OptimizerKind {
    /// The peak learning rate a run gets without one: 1e-3 for Adam and AdamW, nnU-Net's
    /// 1e-2 for SGD.
    pub fn default_lr(self) -> f64 {
        match self {
            OptimizerKind::Adam | OptimizerKind::AdamW => 1e-3,
            OptimizerKind::Sgd => 1e-2,
        }
    }

    /// PyTorch's default weight decay: 0.01 for AdamW, none otherwise.
    pub fn default_weight_decay(self) -> f64 {
        match self {
            OptimizerKind::AdamW => 1e-2,
            OptimizerKind::Adam | OptimizerKind::Sgd => 0.0,
        }
    }
}

/// The L2 penalty `decay` as burn configures it (none for 0).
fn penalty(decay: f64) -> Option<WeightDecayConfig> {
    (decay > 0.0).then(|| WeightDecayConfig::new(decay as f32))
}

/// Adam with PyTorch's epsilon.
pub(crate) fn adam<B: AutodiffBackend, N: AutodiffModule<B>>(decay: f64) -> impl Optimizer<N, B> {
    AdamConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(penalty(decay))
        .init::<B, N>()
}

/// AdamW with PyTorch's epsilon.
pub(crate) fn adamw<B: AutodiffBackend, N: AutodiffModule<B>>(decay: f64) -> impl Optimizer<N, B> {
    AdamWConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(decay as f32)
        .init::<B, N>()
}

/// SGD with Nesterov momentum 0.99 and no dampening, as nnU-Net.
pub(crate) fn sgd<B: AutodiffBackend, N: AutodiffModule<B>>(decay: f64) -> impl Optimizer<N, B> {
    let momentum = MomentumConfig {
        momentum: 0.99,
        dampening: 0.0,
        nesterov: true,
    };
    SgdConfig::new()
        .with_momentum(Some(momentum))
        .with_weight_decay(penalty(decay))
        .init::<B, N>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn poly_is_nnunets_formula() {
        for (progress, expected) in [(0.0, 1e-2), (0.5, 1e-2 * 0.5f64.powf(0.9)), (1.0, 0.0)] {
            assert!(close(Schedule::Poly.rate(1e-2, 0.0, progress), expected));
        }
        // Epoch 250 of nnU-Net's 1000: 0.01 * 0.75^0.9 = 0.0077188...
        assert!((Schedule::Poly.rate(0.01, 0.0, 0.25) - 0.007_718_9).abs() < 1e-7);
    }

    #[test]
    fn cosine_halves_the_rate_half_way_and_ends_at_zero() {
        assert!(close(Schedule::Cosine.rate(1e-3, 0.0, 0.0), 1e-3));
        assert!(close(Schedule::Cosine.rate(1e-3, 0.0, 0.5), 5e-4));
        assert!(Schedule::Cosine.rate(1e-3, 0.0, 1.0).abs() < 1e-18);
    }

    #[test]
    fn warmup_rises_linearly_then_the_schedule_spans_the_rest() {
        let rate = |p| Schedule::Cosine.rate(1e-3, 0.2, p);
        assert_eq!(rate(0.0), 0.0);
        assert!(close(rate(0.1), 5e-4));
        assert!(close(rate(0.2), 1e-3));
        // Half-way through the cosine part: 0.2 + 0.8 / 2.
        assert!(close(rate(0.6), 5e-4));
        assert!(close(Schedule::Constant.rate(1e-3, 0.2, 0.9), 1e-3));
    }

    #[test]
    fn names_read_back() {
        for &s in Schedule::ALL {
            assert_eq!(Schedule::parse(s.name()), Some(s));
        }
        for &o in OptimizerKind::ALL {
            assert_eq!(OptimizerKind::parse(o.name()), Some(o));
        }
        assert_eq!(Schedule::parse("step"), None);
    }
}
