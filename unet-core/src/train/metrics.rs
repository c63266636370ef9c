//! Segmentation metrics for burn's Learner, and the per-epoch recorder that feeds the CSV,
//! the curves and the validation picture.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::{
    Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry,
};

use super::step::{Preview, SegStats};
use crate::infer::metrics::Confusion;

/// Which score a [`SegMetric`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Score {
    /// Mean Dice over classes, background included.
    Dice,
    /// Mean IoU over classes, background included.
    Iou,
    /// Fraction of pixels classified correctly.
    PixelAccuracy,
}

/// A batch-wise segmentation score shown by burn's renderer (the epoch value is burn's
/// batch-weighted mean; the exact epoch figures go to the CSV through [`EpochRecorder`]).
#[derive(Clone)]
pub struct SegMetric {
    score: Score,
    name: MetricName,
    state: NumericMetricState,
}

impl SegMetric {
    /// A metric showing `score`.
    pub fn new(score: Score) -> Self {
        let name = match score {
            Score::Dice => "Dice",
            Score::Iou => "IoU",
            Score::PixelAccuracy => "Pixel accuracy",
        };
        Self {
            score,
            name: Arc::new(name.to_string()),
            state: NumericMetricState::default(),
        }
    }
}

impl Metric for SegMetric {
    type Input = SegStats;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(&mut self, item: &SegStats, _metadata: &MetricMetadata) -> SerializedEntry {
        let value = match self.score {
            Score::Dice => item.confusion.mean_dice(),
            Score::Iou => item.confusion.mean_iou(),
            Score::PixelAccuracy => item.confusion.pixel_accuracy(),
        };
        self.state.update(
            value,
            item.images,
            FormatOptions::new(self.name.clone()).precision(4),
        )
    }

    fn clear(&mut self) {
        self.state.reset();
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes {
            unit: None,
            higher_is_better: true,
        }
        .into()
    }
}

impl Numeric for SegMetric {
    fn value(&self) -> NumericEntry {
        self.state.current_value()
    }

    fn running_value(&self) -> NumericEntry {
        self.state.running_value()
    }
}

/// Exact statistics of one finished epoch of one split.
#[derive(Clone, Debug)]
pub struct EpochStats {
    /// Mean loss over images.
    pub loss: f64,
    /// Images seen.
    pub images: usize,
    /// Pixel confusion matrix over the epoch.
    pub confusion: Confusion,
    /// Validation samples for the picture.
    pub preview: Preview,
}

#[derive(Default)]
struct Published {
    train: Vec<EpochStats>,
    valid: Vec<EpochStats>,
}

/// Where the recorders publish finished epochs and the epoch hook waits for them.
#[derive(Clone, Default)]
pub struct EpochBoard {
    inner: Arc<(Mutex<Published>, Condvar)>,
}

impl EpochBoard {
    fn publish(&self, valid: bool, stats: EpochStats) {
        let (lock, cvar) = &*self.inner;
        let mut published = lock.lock().unwrap_or_else(|p| p.into_inner());
        if valid {
            published.valid.push(stats);
        } else {
            published.train.push(stats);
        }
        cvar.notify_all();
    }

    /// Waits until `count` validation epochs are published, then returns the last train and
    /// validation statistics (the train split may be missing if it was interrupted).
    pub fn wait_valid(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Option<(Option<EpochStats>, EpochStats)> {
        let (lock, cvar) = &*self.inner;
        let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = cvar
            .wait_timeout_while(guard, timeout, |p| p.valid.len() < count)
            .unwrap_or_else(|p| p.into_inner());
        let valid = guard.valid.get(count.checked_sub(1)?)?.clone();
        Some((guard.train.get(count - 1).cloned(), valid))
    }
}

/// Accumulates exact per-epoch statistics and publishes them when burn clears its metrics at
/// the end of each epoch (on the metric processor's thread, after the epoch's last item).
#[derive(Clone)]
pub struct EpochRecorder {
    board: EpochBoard,
    valid: bool,
    keep_preview: usize,
    current: Option<EpochStats>,
    name: MetricName,
}

impl EpochRecorder {
    /// A recorder for the validation (`valid`) or training split, keeping up to
    /// `keep_preview` samples for the picture.
    pub fn new(board: EpochBoard, valid: bool, keep_preview: usize) -> Self {
        Self {
            board,
            valid,
            keep_preview,
            current: None,
            name: Arc::new("Images".to_string()),
        }
    }
}

impl Metric for EpochRecorder {
    type Input = SegStats;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(&mut self, item: &SegStats, _metadata: &MetricMetadata) -> SerializedEntry {
        let keep = self.keep_preview;
        let current = self.current.get_or_insert_with(|| EpochStats {
            loss: 0.0,
            images: 0,
            confusion: Confusion::new(item.confusion.classes()),
            preview: Vec::new(),
        });
        current.loss += item.loss * item.images as f64;
        current.images += item.images;
        // Same class count within a run, so merging cannot fail.
        current.confusion.merge(&item.confusion).ok();
        let room = keep.saturating_sub(current.preview.len());
        current
            .preview
            .extend(item.preview.iter().take(room).cloned());
        let images = current.images.to_string();
        SerializedEntry::new(images.clone(), images)
    }

    fn clear(&mut self) {
        if let Some(mut stats) = self.current.take() {
            stats.loss /= stats.images.max(1) as f64;
            self.board.publish(self.valid, stats);
        }
    }
}
