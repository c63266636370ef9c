//! A line-based progress renderer for runs whose output is not a terminal (CI logs, pipes).
//! On a terminal, burn's own TUI renderer is used instead.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use burn::data::dataloader::Progress;
use burn::train::metric::{MetricDefinition, MetricId};
use burn::train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};

/// Prints a progress line (split, epoch, percentage, ETA, latest metrics) at most every
/// `interval`, and always at the end of each split's epoch.
pub struct LineRenderer {
    interval: Duration,
    last_print: Option<Instant>,
    split_started: Option<(bool, usize, Instant)>,
    metrics: BTreeMap<String, String>,
    names: HashMap<MetricId, String>,
}

impl LineRenderer {
    /// A renderer printing at most every `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_print: None,
            split_started: None,
            metrics: BTreeMap::new(),
            names: HashMap::new(),
        }
    }

    fn record(&mut self, valid: bool, state: MetricState) {
        // Only numeric metrics; their text reads "epoch <running> - batch <current>".
        let MetricState::Numeric(entry, _) = state else {
            return;
        };
        let Some(name) = self.names.get(&entry.metric_id) else {
            return;
        };
        let text = &entry.serialized_entry.formatted;
        let running = text
            .strip_prefix("epoch ")
            .and_then(|rest| rest.split(" - ").next())
            .unwrap_or(text);
        let split = if valid { "valid" } else { "train" };
        self.metrics
            .insert(format!("{split} {name}"), running.trim().to_string());
    }

    fn render(&mut self, valid: bool, item: TrainingProgress) {
        let Some(Progress {
            items_processed,
            items_total,
        }) = item.progress
        else {
            return;
        };
        let epoch = item.global_progress.items_processed;
        let now = Instant::now();
        let started = match self.split_started {
            Some((v, e, t)) if v == valid && e == epoch => t,
            _ => {
                self.split_started = Some((valid, epoch, now));
                now
            }
        };
        let done = items_processed >= items_total;
        let due = self.last_print.is_none_or(|t| now - t >= self.interval);
        if !(done || due) {
            return;
        }
        self.last_print = Some(now);
        let fraction = items_processed as f64 / items_total.max(1) as f64;
        let elapsed = (now - started).as_secs_f64();
        let eta = if fraction > 0.0 {
            elapsed / fraction - elapsed
        } else {
            f64::NAN
        };
        let split = if valid { "valid" } else { "train" };
        let metrics: Vec<String> = self
            .metrics
            .iter()
            .filter(|(k, _)| k.starts_with(split))
            .map(|(k, v)| format!("{} {v}", &k[split.len() + 1..]))
            .collect();
        println!(
            "[{split}] epoch {epoch} {:>5.1}% ({items_processed}/{items_total}) elapsed {elapsed:.0}s eta {}  {}",
            100.0 * fraction,
            if eta.is_finite() { format!("{eta:.0}s") } else { "?".into() },
            metrics.join(" | ")
        );
    }
}

impl MetricsRendererTraining for LineRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.record(false, state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.record(true, state);
    }

    fn render_train(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.render(false, item);
    }

    fn render_valid(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.render(true, item);
    }
}

impl MetricsRendererEvaluation for LineRenderer {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}

    fn render_test(&mut self, _item: EvaluationProgress, _indicators: Vec<ProgressType>) {}
}

impl MetricsRenderer for LineRenderer {
    fn manual_close(&mut self) {}

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.insert(definition.metric_id, definition.name);
    }
}
