//! ONNX export: every generated network writes its inference graph as an ONNX model
//! (opset 17), with no Python anywhere, for onnxruntime, TensorRT, OpenVINO or a browser.
//!
//! The graph:
//!
//! - **Input** `input`: float32 `[batch, IN_CHANNELS, height, width]` (`[batch, C, depth,
//!   height, width]` for `dims: 3`). The batch is dynamic. The spatial sizes are dynamic for
//!   `padding: same` (sides must then be multiples of `2^depth`, or anything with
//!   `pad_input`), and fixed for `padding: valid` and for a declared `input` or
//!   [`OnnxOptions::input`].
//! - **Output** `logits`: float32 `[batch, CLASSES, ...]`, the network's raw logits (apply a
//!   sigmoid for one class, a softmax over axis 1 otherwise). With `deep_supervision: k` and
//!   [`OnnxOptions::aux`], also `aux1` .. `auxk`, decoder level `j`'s logits at `1/2^j` size
//!   (dynamic sizes named `auxj_height`, `auxj_width`: not the input's).
//! - **Nodes and weights** are named by the down/up layout's PyTorch names where the layer
//!   has one (`down1.conv.net.0.weight`, `up2.up.weight`, `out.bias`) and by module path
//!   elsewhere (`encoder.down1.conv.norm1.running_mean`), so the graph reads like the model.
//!   BatchNorm keeps its running statistics (`BatchNormalization`); group and layer norm are
//!   instance norm over the groups; GELU, SiLU and Mish are their formulas; dropout is gone.
//!
//! With a dynamic size, `pad_input` pads by reflection in the graph, so a side too small to
//! reflect (at most half the multiple) is the runtime's error; the network itself repeats the
//! edge there, as a graph of that fixed size does.

mod blocks;
mod graph;
mod layers;
mod pad;

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use protobuf::Message;

/// The ONNX protobuf messages (`onnx-protobuf`), which [`model`] returns, to read or edit a
/// graph before [`encode`].
pub use onnx_protobuf as proto;

pub use graph::{Graph, Value, OPSET};
pub use pad::Window;

use crate::error::ShapeError;
use crate::geometry::PaddingKind;
use crate::network::Network;

/// Why a network could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The graph's sizes depend on the input's and none was given.
    #[error("a network with `{key}` has sizes that depend on its input's: set the input size (`input`) to export it")]
    NeedsInputSize {
        /// The setting that fixes the sizes.
        key: &'static str,
    },
    /// The input size given is not one the network accepts.
    #[error("the export's input size does not fit the network")]
    Input(#[from] ShapeError),
    /// An input side past [`MAX_SIDE`]: the graph's sizes would not fit ONNX's 64-bit
    /// dimensions with room for padding.
    #[error("the export's input side {side} is past the largest one exported ({MAX_SIDE})")]
    InputTooLarge {
        /// The side given.
        side: usize,
    },
    /// A layer has no faithful ONNX form.
    #[error("`{key}`: {what} has no ONNX export")]
    Unsupported {
        /// The network setting the layer comes from.
        key: &'static str,
        /// The layer.
        what: String,
    },
    /// A weight's values could not be read.
    #[error("cannot read weight `{name}`: {message}")]
    Weights {
        /// The weight's name in the graph.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The model could not be encoded.
    #[error("cannot encode the ONNX model")]
    Encode(#[source] protobuf::Error),
    /// The file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// How to export.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OnnxOptions {
    /// A fixed spatial input size (`[height, width]`, or `[depth, height, width]`); without
    /// one the network's declared `input` is used, and without that the spatial sizes are
    /// dynamic (which `padding: valid` does not allow).
    pub input: Option<Vec<usize>>,
    /// Also output the deep-supervision heads' logits, `aux1` .. `auxk`.
    pub aux: bool,
}

/// The outputs a network's graph ends in.
#[derive(Clone, Debug)]
pub struct Wired {
    /// The main logits.
    pub out: Value,
    /// The deep-supervision logits, levels 1..=k.
    pub aux: Vec<Value>,
}

/// A network that can write its inference graph; `unet!` implements it for every network.
pub trait Export<B: Backend, const D: usize = 4>: Network<B, D> {
    /// Adds the network's nodes from the input `x` to its outputs.
    fn wire(&self, g: &mut Graph, x: &Value) -> Result<Wired, OnnxError>;
}

/// The largest input side a fixed-size graph is exported for (2^32 pixels): far past any
/// image, and far below `i64::MAX`, where ONNX's dimensions end.
pub const MAX_SIDE: usize = 1 << 32;

/// The spatial size the graph is fixed to, if any, checked against the network.
fn fixed_input<B: Backend, N: Network<B, D>, const D: usize>(
    options: &OnnxOptions,
) -> Result<Option<Vec<usize>>, OnnxError> {
    let size = options.input.clone().or(N::INPUT.map(<[usize]>::to_vec));
    match &size {
        Some(size) => {
            if let Some(&side) = size.iter().find(|&&side| side > MAX_SIDE) {
                return Err(OnnxError::InputTooLarge { side });
            }
            let shape: Vec<usize> = [1, N::IN_CHANNELS].iter().chain(size).copied().collect();
            N::input_rules().check(&shape)?;
        }
        None if N::PADDING == PaddingKind::Valid => {
            return Err(OnnxError::NeedsInputSize {
                key: "padding: valid",
            })
        }
        None => {}
    }
    Ok(size)
}

/// The network's inference graph as an ONNX model.
pub fn model<B, N, const D: usize>(
    net: &N,
    options: &OnnxOptions,
) -> Result<onnx_protobuf::ModelProto, OnnxError>
where
    B: Backend,
    N: Export<B, D>,
{
    let spatial = fixed_input::<B, N, D>(options)?;
    let mut g = Graph::new(D);
    let x = g.input("input", N::IN_CHANNELS, spatial);
    let wired = net.wire(&mut g, &x)?;
    g.output("logits", &wired.out);
    if options.aux {
        for (j, aux) in wired.aux.iter().enumerate() {
            g.output_of_own_size(&format!("aux{}", j + 1), aux);
        }
    }
    Ok(g.into_model(N::NAME, N::DESCRIPTION))
}

/// The model's bytes.
pub fn to_bytes<B, N, const D: usize>(net: &N, options: &OnnxOptions) -> Result<Vec<u8>, OnnxError>
where
    B: Backend,
    N: Export<B, D>,
{
    encode(model::<B, N, D>(net, options)?)
}

/// A model's protobuf bytes.
pub fn encode(model: onnx_protobuf::ModelProto) -> Result<Vec<u8>, OnnxError> {
    model.write_to_bytes().map_err(OnnxError::Encode)
}

/// Writes the model to `path`, atomically and durably.
pub fn save_onnx<B, N, const D: usize>(
    net: &N,
    path: &Path,
    options: &OnnxOptions,
) -> Result<(), OnnxError>
where
    B: Backend,
    N: Export<B, D>,
{
    let bytes = to_bytes::<B, N, D>(net, options)?;
    crate::fsio::atomic_write(path, &bytes).map_err(|source| OnnxError::Write {
        path: path.to_path_buf(),
        source,
    })
}
