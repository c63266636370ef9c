//! Loading and saving a network's weights, with clear errors for missing, corrupt or foreign
//! checkpoints.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder, RecorderError};
use burn::tensor::backend::Backend;

use super::TrainConfig;
use crate::fsio::atomic_write;
use crate::network::Network;

/// The encoding of every record this crate writes: named MessagePack at full precision (the
/// format of burn's `NamedMpkFileRecorder`, so those files load too).
pub type CheckpointRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// A record (a module's or an optimizer's) as the bytes of a `.mpk` file.
///
/// # Errors
/// The record cannot be encoded.
pub fn encode<B: Backend, R: Record<B>>(record: R) -> Result<Vec<u8>, RecorderError> {
    Recorder::<B>::record(&CheckpointRecorder::default(), record, ())
}

/// A record back from the bytes of a `.mpk` file, its tensors on `device`.
///
/// # Errors
/// The bytes are not such a record.
pub fn decode<B: Backend, R: Record<B>>(
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<R, RecorderError> {
    Recorder::<B>::load(&CheckpointRecorder::default(), bytes, device)
}

/// A module's weights as the bytes of a `.mpk` file.
///
/// # Errors
/// The record cannot be encoded.
pub fn module_bytes<B: Backend, M: Module<B>>(module: &M) -> Result<Vec<u8>, RecorderError> {
    encode::<B, _>(module.clone().into_record())
}

/// Why a checkpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// No file at the path (with or without `.mpk`).
    #[error("checkpoint {path} not found")]
    Missing {
        /// The path asked for.
        path: String,
    },
    /// The file is not a readable burn record.
    #[error("checkpoint {path} is corrupt or not a unet checkpoint: {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// The decoder's message, first line.
        message: String,
    },
    /// The file's layers are not the model's.
    #[error(
        "checkpoint {path} does not fit model {model} ({detail}): it was saved from another model"
    )]
    Structure {
        /// The file.
        path: String,
        /// The model asked for.
        model: String,
        /// What the decoder missed, e.g. "missing field `down3`".
        detail: String,
    },
    /// The file holds weights of another architecture.
    #[error("checkpoint {path} holds {found} parameters, but model {model} has {expected}: it was saved from another model")]
    WrongModel {
        /// The file.
        path: String,
        /// The model asked for.
        model: String,
        /// Its parameter count.
        expected: usize,
        /// What the file holds.
        found: usize,
    },
    /// The run folder's `config.json` names another model.
    #[error("checkpoint {path} was trained as model `{trained}`, not `{asked}`")]
    ModelMismatch {
        /// The file.
        path: String,
        /// The model in `config.json`.
        trained: String,
        /// The model asked for.
        asked: String,
    },
    /// The file could not be read.
    #[error("reading checkpoint {path}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The weights could not be encoded.
    #[error("encoding the weights for {path}")]
    Encode {
        /// The file.
        path: String,
        /// The recorder's error.
        #[source]
        source: RecorderError,
    },
    /// Writing failed.
    #[error("writing checkpoint {path}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// `runs/x/best` or `runs/x/best.mpk` -> the `.mpk` file, which must exist.
pub fn resolve(path: &Path) -> Result<PathBuf, CheckpointError> {
    let candidates = [path.to_path_buf(), path.with_extension("mpk")];
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| CheckpointError::Missing {
            path: path.display().to_string(),
        })
}

/// The `config.json` of the run a checkpoint belongs to, if there is one.
pub fn run_config(checkpoint: &Path) -> Option<TrainConfig> {
    let dir = checkpoint.parent()?;
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    TrainConfig::from_json(&text).ok()
}

/// Loads `N`'s weights from `path` (see [`resolve`]), checking they are `N`'s.
pub fn load_network<B: Backend, N: Network<B, D>, const D: usize>(
    path: &Path,
    device: &B::Device,
) -> Result<N, CheckpointError> {
    let file = resolve(path)?;
    let shown = file.display().to_string();
    let bytes = std::fs::read(&file).map_err(|source| CheckpointError::Read {
        path: shown.clone(),
        source,
    })?;
    let record = decode::<B, N::Record>(bytes, device).map_err(|e| {
        let message = decoder_message(&e.to_string());
        if message.starts_with("missing field") || message.starts_with("unknown field") {
            CheckpointError::Structure {
                path: shown.clone(),
                model: N::NAME.to_string(),
                detail: message,
            }
        } else {
            CheckpointError::Corrupt {
                path: shown.clone(),
                message,
            }
        }
    })?;
    load_same_shape(N::init(device), record).map_err(|(expected, found)| {
        CheckpointError::WrongModel {
            path: shown,
            model: N::NAME.to_string(),
            expected,
            found,
        }
    })
}

/// `fresh` with `record` loaded, if the record holds as many values as `fresh` does; else
/// `(expected, found)`. burn loads tensors of any shape into a module, so this is what tells
/// another architecture with the same layer names (and counts BatchNorm's running statistics,
/// unlike `PARAMS`, PyTorch's trainable count).
pub fn load_same_shape<B: Backend, M: Module<B>>(
    fresh: M,
    record: M::Record,
) -> Result<M, (usize, usize)> {
    let expected = fresh.num_params();
    let loaded = fresh.load_record(record);
    let found = loaded.num_params();
    if found == expected {
        Ok(loaded)
    } else {
        Err((expected, found))
    }
}

/// The innermost message of a burn recorder error, on one line. burn nests `Debug`-formatted
/// `Unknown("...")` wrappers, so the text holds escaped quotes and `\n` sequences.
pub fn decoder_message(text: &str) -> String {
    const WRAPPER: &str = "Unknown(";
    let inner = text
        .rfind(WRAPPER)
        .map_or(text, |i| &text[i + WRAPPER.len()..]);
    let inner = inner
        .trim_start_matches(['\\', '"'])
        .trim_end_matches(['"', ')', '\\']);
    let inner = inner
        .replace("\\\"", "\"")
        .replace("\\n", " ")
        .replace('\n', " ");
    let message = inner.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.is_empty() {
        "unreadable".to_string()
    } else {
        message
    }
}

/// Saves `net`'s weights to `path` (`.mpk` added), atomically and durably.
///
/// # Errors
/// The weights cannot be encoded or the file written.
pub fn save_network<B: Backend, N: Network<B, D>, const D: usize>(
    net: &N,
    path: &Path,
) -> Result<PathBuf, CheckpointError> {
    let file = path.with_extension("mpk");
    let shown = file.display().to_string();
    let bytes = module_bytes::<B, N>(net).map_err(|source| CheckpointError::Encode {
        path: shown.clone(),
        source,
    })?;
    atomic_write(&file, &bytes).map_err(|source| CheckpointError::Write {
        path: shown,
        source,
    })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::decoder_message;

    #[test]
    fn nested_recorder_errors_are_flattened_to_their_cause() {
        let text =
            r#"Unknown("Unable to load record.\nError: Unknown(\"missing field `down3`\")")"#;
        assert_eq!(decoder_message(text), "missing field `down3`");
        assert_eq!(
            decoder_message(r#"Unknown("invalid type: integer")"#),
            "invalid type: integer"
        );
        assert_eq!(
            decoder_message("io error\nsecond line"),
            "io error second line"
        );
    }
}
