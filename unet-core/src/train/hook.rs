//! The per-epoch hook: burn calls it after each epoch's validation and checkpoint. It writes the
//! metrics CSV, the curves and the validation picture, promotes the epoch's checkpoint to
//! `last` (and `best`), and stops training when the time budget is spent.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::train::metric::store::EventStoreClient;
use burn::train::EarlyStoppingStrategy;

use super::metrics::{EpochBoard, EpochStats};
use super::record::promote;
use crate::infer::imaging::{atomic_write, curve_png, grid_png};

/// One line of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss (NaN if the epoch's training was interrupted).
    pub train_loss: f64,
    /// Mean validation loss.
    pub valid_loss: f64,
    /// Validation pixel accuracy.
    pub pixel_accuracy: f64,
    /// Validation mean Dice (classes incl. background).
    pub dice: f64,
    /// Validation mean IoU (classes incl. background).
    pub iou: f64,
    /// Seconds since this training process started.
    pub seconds: f64,
}

/// The CSV header.
pub const CSV_HEADER: &str = "epoch,train_loss,valid_loss,pixel_accuracy,dice,iou,seconds";

impl EpochRow {
    fn csv(&self) -> String {
        format!(
            "{},{:.6},{:.6},{:.6},{:.6},{:.6},{:.1}",
            self.epoch,
            self.train_loss,
            self.valid_loss,
            self.pixel_accuracy,
            self.dice,
            self.iou,
            self.seconds
        )
    }

    /// Parses a CSV line written by this module.
    pub fn parse(line: &str) -> Option<Self> {
        let f: Vec<&str> = line.trim().split(',').collect();
        if f.len() != 7 {
            return None;
        }
        let num = |i: usize| f[i].parse::<f64>().ok();
        Some(EpochRow {
            epoch: f[0].parse().ok()?,
            train_loss: num(1)?,
            valid_loss: num(2)?,
            pixel_accuracy: num(3)?,
            dice: num(4)?,
            iou: num(5)?,
            seconds: num(6)?,
        })
    }
}

/// Reads `metrics.csv` (empty if absent); rows beyond `up_to` are dropped (a resumed run
/// continues from its last checkpoint).
pub fn read_rows(path: &Path, up_to: usize) -> Vec<EpochRow> {
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .skip(1)
                .filter_map(EpochRow::parse)
                .filter(|r| r.epoch <= up_to)
                .collect()
        })
        .unwrap_or_default()
}

struct State {
    rows: Vec<EpochRow>,
    best_dice: f64,
    started: Instant,
    log: Vec<String>,
}

/// The hook; cloned by burn, all clones share one state.
#[derive(Clone)]
pub struct EpochHook {
    run_dir: PathBuf,
    board: EpochBoard,
    first_epoch: usize,
    deadline: Option<Instant>,
    classes: usize,
    state: Arc<Mutex<State>>,
}

impl EpochHook {
    /// A hook for a run in `run_dir` whose first epoch this process trains is `first_epoch`,
    /// continuing `previous` rows; training stops after the epoch that ends past `deadline`.
    pub fn new(
        run_dir: &Path,
        board: EpochBoard,
        first_epoch: usize,
        previous: Vec<EpochRow>,
        deadline: Option<Instant>,
        classes: usize,
    ) -> Self {
        let started = Instant::now();
        let best_dice = previous
            .iter()
            .map(|r| r.dice)
            .fold(f64::NEG_INFINITY, f64::max);
        Self {
            run_dir: run_dir.to_path_buf(),
            board,
            first_epoch,
            deadline,
            classes,
            state: Arc::new(Mutex::new(State {
                rows: previous,
                best_dice,
                started,
                log: Vec::new(),
            })),
        }
    }

    /// All rows so far, and any problems met while writing outputs.
    pub fn finish(&self) -> (Vec<EpochRow>, Vec<String>) {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        (state.rows.clone(), state.log.clone())
    }

    fn checkpoint_path(&self, epoch: usize) -> PathBuf {
        self.run_dir
            .join("checkpoint")
            .join(format!("model-{epoch}.mpk"))
    }

    /// Everything but the decision to stop; errors are collected, never fatal to training.
    fn record_epoch(
        &self,
        epoch: usize,
        train: Option<EpochStats>,
        valid: EpochStats,
    ) -> Result<(), String> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let row = EpochRow {
            epoch,
            train_loss: train.as_ref().map_or(f64::NAN, |t| t.loss),
            valid_loss: valid.loss,
            pixel_accuracy: valid.confusion.pixel_accuracy(),
            dice: valid.confusion.mean_dice(),
            iou: valid.confusion.mean_iou(),
            seconds: state.started.elapsed().as_secs_f64(),
        };
        state.rows.retain(|r| r.epoch < epoch);
        state.rows.push(row.clone());
        let mut csv = String::from(CSV_HEADER);
        for r in &state.rows {
            let _ = write!(csv, "\n{}", r.csv());
        }
        csv.push('\n');
        atomic_write(&self.run_dir.join("metrics.csv"), csv.as_bytes())
            .map_err(|e| format!("metrics.csv: {e}"))?;

        let column = |f: fn(&EpochRow) -> f64| state.rows.iter().map(f).collect::<Vec<f64>>();
        let series = [
            ("train loss", column(|r| r.train_loss)),
            ("valid loss", column(|r| r.valid_loss)),
            ("valid Dice", column(|r| r.dice)),
            ("valid IoU", column(|r| r.iou)),
            ("valid pixel accuracy", column(|r| r.pixel_accuracy)),
        ];
        let series: Vec<(&str, Vec<f64>)> = series.into_iter().collect();
        match curve_png("Training curves", &series, 900, 500) {
            Ok(png) => atomic_write(&self.run_dir.join("curves.png"), &png)
                .map_err(|e| format!("curves.png: {e}"))?,
            Err(e) => state.log.push(format!("curves.png: {e}")),
        }
        if !valid.preview.is_empty() {
            let png = grid_png(&valid.preview, self.classes.max(2));
            let dir = self.run_dir.join("samples");
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            atomic_write(&dir.join(format!("epoch-{epoch:03}.png")), &png)
                .map_err(|e| format!("sample grid: {e}"))?;
        }

        // The checkpointer writes asynchronously; the atomic recorder renames only complete files.
        let source = self.checkpoint_path(epoch);
        let waited = Instant::now();
        while !source.exists() && waited.elapsed() < Duration::from_secs(600) {
            std::thread::sleep(Duration::from_millis(50));
        }
        promote(&source, &self.run_dir.join("last.mpk"))
            .map_err(|e| format!("last checkpoint from {}: {e}", source.display()))?;
        if row.dice > state.best_dice || !self.run_dir.join("best.mpk").exists() {
            state.best_dice = row.dice.max(state.best_dice);
            promote(&source, &self.run_dir.join("best.mpk"))
                .map_err(|e| format!("best checkpoint: {e}"))?;
        }
        Ok(())
    }
}

impl EarlyStoppingStrategy for EpochHook {
    fn should_stop(&mut self, epoch: usize, _store: &EventStoreClient) -> bool {
        let count = epoch + 1 - self.first_epoch;
        match self.board.wait_valid(count, Duration::from_secs(600)) {
            Some((train, valid)) => {
                if let Err(e) = self.record_epoch(epoch, train, valid) {
                    self.state
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .log
                        .push(e);
                }
            }
            None => self
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .log
                .push(format!(
                    "epoch {epoch}: validation statistics never arrived"
                )),
        }
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}
