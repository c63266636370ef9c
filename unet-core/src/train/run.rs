//! The run folder: `config.json`, `metrics.csv`, `curves.png`, `samples/`, `checkpoint/`,
//! `last.mpk` and `best.mpk`, each written atomically and durably at a defined point of the
//! epoch.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::events::Saved;
use super::fit::TrainError;
use super::step::Preview;
use crate::fsio::{atomic_write, create_dir_durable};
use crate::infer::imaging::{curve_png, grid_png};

/// One line of `metrics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
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
    /// Mean over validation images of each image's own mean Dice (2D runs).
    #[serde(default)]
    pub image_dice: Option<f64>,
    /// Mean validation boundary F1 (2D runs).
    #[serde(default)]
    pub boundary_f1: Option<f64>,
    /// Mean validation HD95 in pixels, over the images where it is defined (2D runs).
    #[serde(default)]
    pub hd95: Option<f64>,
    /// Mean validation foreground-restricted Rand score (2D runs).
    #[serde(default)]
    pub v_rand: Option<f64>,
    /// Mean validation foreground-restricted information score (2D runs).
    #[serde(default)]
    pub v_info: Option<f64>,
}

/// The row with the best validation Dice, the first of equals (as `best.mpk` holds).
pub fn best_row(rows: &[EpochRow]) -> Option<&EpochRow> {
    rows.iter().rev().max_by(|a, b| a.dice.total_cmp(&b.dice))
}

/// Checkpoints kept in `checkpoint/` for resuming: the last two epochs.
const KEEP_CHECKPOINTS: usize = 2;

/// Reads `metrics.csv` (empty if absent), keeping rows up to epoch `up_to` (a resumed run
/// continues from its last checkpoint).
///
/// # Errors
/// The file exists but cannot be read or is not a metrics table.
pub fn read_rows(path: &Path, up_to: usize) -> Result<Vec<EpochRow>, TrainError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let csv_error = |source| TrainError::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = csv::Reader::from_path(path).map_err(csv_error)?;
    let mut rows = Vec::new();
    for row in reader.deserialize::<EpochRow>() {
        let row = row.map_err(csv_error)?;
        if row.epoch <= up_to {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// The epochs whose model and optimizer checkpoints both exist in `run_dir`, newest first.
pub fn complete_checkpoints(run_dir: &Path) -> Vec<usize> {
    let dir = run_dir.join("checkpoint");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut epochs: Vec<usize> = entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("model-")?
                .strip_suffix(".mpk")?
                .parse::<usize>()
                .ok()
        })
        .filter(|e| dir.join(format!("optim-{e}.mpk")).is_file())
        .collect();
    epochs.sort_unstable_by(|a, b| b.cmp(a));
    epochs
}

/// The newest epoch whose model and optimizer checkpoints both exist in `run_dir`.
pub fn last_complete_checkpoint(run_dir: &Path) -> Option<usize> {
    complete_checkpoints(run_dir).first().copied()
}

/// The entries of a run folder: its files and folders (see the module docs).
pub const RUN_ENTRIES: [&str; 7] = [
    "config.json",
    "metrics.csv",
    "curves.png",
    "last.mpk",
    "best.mpk",
    "samples",
    "checkpoint",
];

/// What a folder holds before a run is written into it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Occupant {
    /// Nothing: it does not exist, or is empty.
    Nothing,
    /// A run: only the entries of a run folder (and temporaries of their writes).
    Run,
    /// Something else: the first entry that is not a run's, or the path itself if it is not
    /// a folder.
    Other(PathBuf),
}

/// Whether `name` is an entry of a run folder, or the temporary file of one's atomic write
/// (`.NAME.XXXXXX.partial`, left by a crash).
fn is_run_entry(name: &str) -> bool {
    let temporary = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(".partial"))
        .and_then(|n| n.rsplit_once('.'))
        .map(|(entry, _)| entry);
    RUN_ENTRIES.contains(&temporary.unwrap_or(name))
}

/// What `dir` holds: a run is only ever written into [`Occupant::Nothing`], or into an
/// [`Occupant::Run`] that it resumes or replaces.
///
/// # Errors
/// The folder exists but cannot be listed.
pub fn occupant(dir: &Path) -> Result<Occupant, TrainError> {
    if !dir.exists() {
        return Ok(Occupant::Nothing);
    }
    if !dir.is_dir() {
        return Ok(Occupant::Other(dir.to_path_buf()));
    }
    let read_error = |source| TrainError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        names.push(entry.map_err(read_error)?.file_name());
    }
    names.sort();
    if let Some(other) = names.iter().find(|n| !n.to_str().is_some_and(is_run_entry)) {
        return Ok(Occupant::Other(dir.join(other)));
    }
    Ok(if names.is_empty() {
        Occupant::Nothing
    } else {
        Occupant::Run
    })
}

/// Checks, before anything is written, that a run may go into `dir`: never into one that
/// holds anything but a run, and into a run only to `resume` or `replace` it. Returns what
/// `dir` holds.
///
/// # Errors
/// [`TrainError::NotARunFolder`], [`TrainError::RunExists`], or the folder cannot be listed.
pub fn claim(dir: &Path, resume: bool, replace: bool) -> Result<Occupant, TrainError> {
    match occupant(dir)? {
        Occupant::Other(found) => Err(TrainError::NotARunFolder {
            dir: dir.to_path_buf(),
            found,
        }),
        Occupant::Run if !resume && !replace => Err(TrainError::RunExists {
            dir: dir.to_path_buf(),
        }),
        held => Ok(held),
    }
}

/// Removes every entry of the run in `dir` (which [`occupant`] found to be a run), so a new
/// run starts there from nothing.
///
/// # Errors
/// An entry cannot be removed, or `dir` holds something that is not a run's.
pub fn clear_run(dir: &Path) -> Result<(), TrainError> {
    match occupant(dir)? {
        Occupant::Nothing => return Ok(()),
        Occupant::Other(path) => {
            return Err(TrainError::NotARunFolder {
                dir: dir.to_path_buf(),
                found: path,
            })
        }
        Occupant::Run => {}
    }
    let entries = std::fs::read_dir(dir).map_err(|source| TrainError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.map_err(|source| TrainError::Write { path, source })?;
    }
    crate::fsio::sync_folder(dir).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// Creates a folder of the run durably, naming it on failure.
fn make_dir(dir: &Path) -> Result<(), TrainError> {
    create_dir_durable(dir).map_err(|source| TrainError::Write {
        path: dir.to_path_buf(),
        source,
    })
}

/// A file [`RunFolder::record_epoch`] wrote: a model record (`Some`) or another file.
pub type Written = (Option<Saved>, PathBuf);

/// A run folder being written by the epoch loop.
#[derive(Debug)]
pub struct RunFolder {
    dir: PathBuf,
    classes: usize,
    rows: Vec<EpochRow>,
    best_dice: f64,
    stale_best: bool,
}

impl RunFolder {
    /// Opens `dir` (created if missing) for a run whose earlier epochs are `previous`, and
    /// writes `config.json`. Returns the folder and the path written.
    ///
    /// # Errors
    /// The folder or `config.json` cannot be written.
    pub fn open(
        dir: &Path,
        config: &TrainConfig,
        classes: usize,
        previous: Vec<EpochRow>,
    ) -> Result<(Self, PathBuf), TrainError> {
        make_dir(dir)?;
        let best_dice = previous
            .iter()
            .map(|r| r.dice)
            .fold(f64::NEG_INFINITY, f64::max);
        let folder = Self {
            dir: dir.to_path_buf(),
            classes,
            rows: previous,
            best_dice,
            stale_best: false,
        };
        let path = dir.join("config.json");
        folder.write(&path, config.to_json().as_bytes())?;
        Ok((folder, path))
    }

    /// Makes the next recorded epoch `best.mpk` whatever its Dice: for a resumed run whose
    /// `best.mpk` may come from an epoch it discarded.
    pub fn forget_best(&mut self) {
        self.best_dice = f64::NEG_INFINITY;
        self.stale_best = true;
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every row so far, earlier runs' included.
    pub fn rows(&self) -> &[EpochRow] {
        &self.rows
    }

    /// Epochs from the one with the best validation Dice to `epoch` (0 when it is the best):
    /// what early stopping's patience counts.
    pub fn stale_for(&self, epoch: usize) -> usize {
        best_row(&self.rows).map_or(0, |best| epoch.saturating_sub(best.epoch))
    }

    fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
        atomic_write(path, bytes).map_err(|source| TrainError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Writes `checkpoint/model-N.mpk` and `checkpoint/optim-N.mpk` (in that order, so a
    /// model file without its optimizer file is never taken for complete) and removes the
    /// checkpoints older than the last two. Returns the model file.
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn save_checkpoint(
        &self,
        epoch: usize,
        model: &[u8],
        optim: &[u8],
    ) -> Result<PathBuf, TrainError> {
        let dir = self.dir.join("checkpoint");
        make_dir(&dir)?;
        let model_path = dir.join(format!("model-{epoch}.mpk"));
        self.write(&model_path, model)?;
        self.write(&dir.join(format!("optim-{epoch}.mpk")), optim)?;
        if let Some(old) = epoch.checked_sub(KEEP_CHECKPOINTS) {
            for kind in ["optim", "model"] {
                let path = dir.join(format!("{kind}-{old}.mpk"));
                if path.exists() {
                    std::fs::remove_file(&path)
                        .map_err(|source| TrainError::Write { path, source })?;
                }
            }
        }
        Ok(model_path)
    }

    /// Records a finished epoch: `metrics.csv`, `curves.png`, the sample grid, then the
    /// model bytes as `last.mpk` and, if its Dice is the best so far, `best.mpk`. Returns the
    /// files written in order, and whether the epoch is the best.
    ///
    /// # Errors
    /// A file cannot be written or encoded.
    pub fn record_epoch(
        &mut self,
        row: EpochRow,
        preview: &Preview,
        model: &[u8],
    ) -> Result<(Vec<Written>, bool), TrainError> {
        let epoch = row.epoch;
        let best =
            row.dice > self.best_dice || self.stale_best || !self.dir.join("best.mpk").exists();
        self.stale_best = false;
        self.best_dice = self.best_dice.max(row.dice);
        self.rows.retain(|r| r.epoch < epoch);
        self.rows.push(row);
        let mut written = Vec::new();

        let path = self.dir.join("metrics.csv");
        self.write(&path, &self.metrics_csv(&path)?)?;
        written.push((None, path));

        let path = self.dir.join("curves.png");
        let png = curve_png("Training curves", &self.series(), 900, 500).map_err(|source| {
            TrainError::Image {
                path: path.clone(),
                source,
            }
        })?;
        self.write(&path, &png)?;
        written.push((None, path));

        if !preview.is_empty() {
            let dir = self.dir.join("samples");
            make_dir(&dir)?;
            let path = dir.join(format!("epoch-{epoch:03}.png"));
            self.write(&path, &grid_png(preview, self.classes.max(2)))?;
            written.push((None, path));
        }

        let path = self.dir.join("last.mpk");
        self.write(&path, model)?;
        written.push((Some(Saved::Last), path));
        if best {
            let path = self.dir.join("best.mpk");
            self.write(&path, model)?;
            written.push((Some(Saved::Best), path));
        }
        Ok((written, best))
    }

    fn metrics_csv(&self, path: &Path) -> Result<Vec<u8>, TrainError> {
        let csv_error = |source| TrainError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        for row in &self.rows {
            writer.serialize(row).map_err(csv_error)?;
        }
        writer
            .into_inner()
            .map_err(|e| csv_error(csv::Error::from(e.into_error())))
    }

    fn series(&self) -> Vec<(&'static str, Vec<f64>)> {
        let column = |f: fn(&EpochRow) -> f64| self.rows.iter().map(f).collect::<Vec<f64>>();
        vec![
            ("train loss", column(|r| r.train_loss)),
            ("valid loss", column(|r| r.valid_loss)),
            ("valid Dice", column(|r| r.dice)),
            ("valid IoU", column(|r| r.iou)),
            ("valid pixel accuracy", column(|r| r.pixel_accuracy)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, dice: f64) -> EpochRow {
        EpochRow {
            epoch,
            train_loss: 0.5,
            valid_loss: f64::NAN,
            pixel_accuracy: 0.9,
            dice,
            iou: 0.7,
            image_dice: Some(0.8),
            boundary_f1: None,
            hd95: Some(2.5),
            v_rand: Some(0.9),
            v_info: Some(0.85),
            seconds: 1.5,
        }
    }

    #[test]
    fn a_metrics_file_without_the_per_image_columns_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metrics.csv");
        let old = "epoch,train_loss,valid_loss,pixel_accuracy,dice,iou,seconds\n1,0.5,0.4,0.9,0.8,0.7,3.0\n";
        std::fs::write(&path, old).unwrap();
        let rows = read_rows(&path, 9).unwrap();
        assert_eq!(
            (rows[0].dice, rows[0].seconds, rows[0].v_rand),
            (0.8, 3.0, None)
        );
    }

    #[test]
    fn metrics_round_trip_through_the_csv_file_with_its_header() {
        let dir = tempfile::tempdir().unwrap();
        let config = TrainConfig::new("tiny");
        let (mut run, _) = RunFolder::open(dir.path(), &config, 1, Vec::new()).unwrap();
        run.record_epoch(row(1, 0.5), &Vec::new(), b"one").unwrap();
        let (_, best) = run.record_epoch(row(2, 0.4), &Vec::new(), b"two").unwrap();
        assert!(!best);
        let text = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            "epoch,train_loss,valid_loss,pixel_accuracy,dice,iou,seconds,image_dice,boundary_f1,hd95,v_rand,v_info"
        );
        let rows = read_rows(&dir.path().join("metrics.csv"), 9).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].dice, 0.4);
        assert!(rows[0].valid_loss.is_nan());
        assert_eq!(
            read_rows(&dir.path().join("metrics.csv"), 1).unwrap().len(),
            1
        );
        assert_eq!((rows[1].hd95, rows[1].boundary_f1), (Some(2.5), None));
        assert_eq!(std::fs::read(dir.path().join("best.mpk")).unwrap(), b"one");
        assert_eq!(std::fs::read(dir.path().join("last.mpk")).unwrap(), b"two");
    }

    #[test]
    fn only_the_last_two_checkpoints_are_kept_and_complete_ones_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let (run, _) = RunFolder::open(dir.path(), &TrainConfig::new("t"), 1, Vec::new()).unwrap();
        for epoch in 1..=3 {
            run.save_checkpoint(epoch, b"m", b"o").unwrap();
        }
        assert!(!dir.path().join("checkpoint/model-1.mpk").exists());
        assert_eq!(last_complete_checkpoint(dir.path()), Some(3));
        std::fs::remove_file(dir.path().join("checkpoint/optim-3.mpk")).unwrap();
        assert_eq!(last_complete_checkpoint(dir.path()), Some(2));
    }

    #[test]
    fn a_folder_is_a_run_only_if_every_entry_is_a_run_files_or_its_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        assert_eq!(occupant(&run).unwrap(), Occupant::Nothing);
        std::fs::create_dir(&run).unwrap();
        assert_eq!(occupant(&run).unwrap(), Occupant::Nothing);
        std::fs::write(run.join("metrics.csv"), b"x").unwrap();
        std::fs::write(run.join(".best.mpk.a1b2c3.partial"), b"x").unwrap();
        std::fs::create_dir(run.join("checkpoint")).unwrap();
        assert_eq!(occupant(&run).unwrap(), Occupant::Run);
        std::fs::write(run.join("notes.txt"), b"mine").unwrap();
        assert_eq!(
            occupant(&run).unwrap(),
            Occupant::Other(run.join("notes.txt"))
        );
        let err = clear_run(&run).unwrap_err();
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert!(run.join("metrics.csv").exists());
        std::fs::remove_file(run.join("notes.txt")).unwrap();
        clear_run(&run).unwrap();
        assert_eq!(occupant(&run).unwrap(), Occupant::Nothing);
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(occupant(&file).unwrap(), Occupant::Other(file));
    }

    #[test]
    fn a_checkpoint_folder_that_cannot_be_written_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let (run, _) = RunFolder::open(dir.path(), &TrainConfig::new("t"), 1, Vec::new()).unwrap();
        std::fs::write(dir.path().join("checkpoint"), b"a file in the way").unwrap();
        let err = run.save_checkpoint(1, b"m", b"o").unwrap_err();
        assert!(err.to_string().contains("checkpoint"), "{err}");
    }
}
