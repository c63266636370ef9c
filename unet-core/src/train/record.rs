//! Checkpoints: an atomic wrapper around burn's file recorders, and the run's metadata.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use burn::record::{FileRecorder, Recorder, RecorderError};
use burn::tensor::backend::Backend;
use serde::{de::DeserializeOwned, Serialize};

/// Wraps a burn [`FileRecorder`] so every save goes to a temporary file in the target's folder
/// and is renamed over the target only when complete: an interrupted write never damages the
/// previous checkpoint, and a checkpoint file that exists is whole.
#[derive(Clone, Debug, Default)]
pub struct AtomicRecorder<R> {
    inner: R,
}

impl<R> AtomicRecorder<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Self { inner }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// `dir/stem_partial_<pid>_<n>`: no dot, so the wrapped recorder's `set_extension` appends.
fn temp_stem(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!("{stem}_partial_{}_{n}", std::process::id()))
}

impl<B: Backend, R: FileRecorder<B>> Recorder<B> for AtomicRecorder<R> {
    type Settings = R::Settings;
    type RecordArgs = PathBuf;
    type RecordOutput = ();
    type LoadArgs = PathBuf;

    fn save_item<I: Serialize>(&self, item: I, file: PathBuf) -> Result<(), RecorderError> {
        let ext = <R as FileRecorder<B>>::file_extension();
        let target = file.with_extension(ext);
        let temp = temp_stem(&target);
        let written = temp.with_extension(ext);
        let result = self.inner.save_item(item, temp).and_then(|()| {
            fs::rename(&written, &target).map_err(|e| {
                RecorderError::Unknown(format!(
                    "renaming {} to {}: {e}",
                    written.display(),
                    target.display()
                ))
            })
        });
        if result.is_err() {
            fs::remove_file(&written).ok();
        }
        result
    }

    fn load_item<I: DeserializeOwned>(&self, file: &mut PathBuf) -> Result<I, RecorderError> {
        self.inner.load_item(file)
    }
}

impl<B: Backend, R: FileRecorder<B>> FileRecorder<B> for AtomicRecorder<R> {
    fn file_extension() -> &'static str {
        R::file_extension()
    }
}

/// The recorder for every checkpoint this crate writes: named MessagePack, full precision.
pub type CheckpointRecorder =
    AtomicRecorder<burn::record::NamedMpkFileRecorder<burn::record::FullPrecisionSettings>>;

/// Puts `source` at `target` atomically: a hard link (or, across file systems, a copy) to a
/// temporary name, then a rename over `target`.
pub fn promote(source: &Path, target: &Path) -> std::io::Result<()> {
    let temp = temp_stem(target).with_extension("promote");
    if fs::hard_link(source, &temp).is_err() {
        fs::copy(source, &temp)?;
    }
    fs::rename(&temp, target).inspect_err(|_| {
        fs::remove_file(&temp).ok();
    })
}
