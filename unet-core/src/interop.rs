//! PyTorch interop: load weights saved by PyTorch into a generated network, and write a
//! network's weights back under PyTorch's names, so outputs match and round trips are exact.
//!
//! Key convention (the down/up layout, [`Convention::DownUp`]: a `DoubleConv.net =
//! Sequential(Conv2d, ReLU, Conv2d, ReLU)` per level, `Down` = `conv` then max-pool, `Up` = `up`
//! then concat then `conv`):
//!
//! | PyTorch | module path |
//! |---|---|
//! | `down{k}.conv.net.{0,2}.{weight,bias}` | `encoder.down{k}.conv.conv{1,2}` |
//! | `bottleneck.net.{0,2}` | `encoder.bottleneck.conv{1,2}` |
//! | `up{k}.up.{weight,bias}` (ConvTranspose2d; `up1` is the deepest) | `decoder.up{k}.up.transposed` |
//! | `up{k}.up.1.{weight,bias}` (`Sequential(Upsample, Conv2d 1x1)`) | `decoder.up{k}.up.project` |
//! | `up{k}.conv.net.{0,2}` | `decoder.up{k}.conv.conv{1,2}` |
//! | `out.{weight,bias}` | `decoder.out.conv` |
//!
//! Indices are read as PyTorch writes them (`nn.Sequential` numbers its ReLUs too, so the
//! convolutions are `0` and `2`): burn-store's renumbering of `.pt` files is turned off, so
//! `.pt` and `.safetensors` files share one table.
//!
//! milesial/Pytorch-UNet's convention (`UNet(n_channels, n_classes, bilinear=False)`:
//! `DoubleConv.double_conv = Sequential(Conv2d(bias=False), BatchNorm2d, ReLU, Conv2d, BatchNorm2d,
//! ReLU)`) loads into a network with `norm: batch` and `up: transposed`; its table depends on the
//! depth, since `down{depth}` is the bottleneck:
//!
//! | PyTorch | module path |
//! |---|---|
//! | `inc.double_conv.{0,3}.weight` | `encoder.down1.conv.conv{1,2}` |
//! | `inc.double_conv.{1,4}.{weight,bias,running_mean,running_var}` | `encoder.down1.conv.norm{1,2}` |
//! | `down{k}.maxpool_conv.1.double_conv.*` (k < depth) | `encoder.down{k+1}.conv.*` |
//! | `down{depth}.maxpool_conv.1.double_conv.*` | `encoder.bottleneck.*` |
//! | `up{k}.up.{weight,bias}` | `decoder.up{k}.up.transposed` |
//! | `up{k}.conv.double_conv.*` | `decoder.up{k}.conv.*` |
//! | `outc.conv.{weight,bias}` | `decoder.out.conv` |

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::LazyLock;

use burn::module::{ModuleMapper, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use burn_store::{
    ApplyError, ApplyResult, BurnToPyTorchAdapter, KeyRemapper, ModuleSnapshot, ModuleStore,
    PyTorchToBurnAdapter, PytorchStore, SafetensorsStore,
};
use regex::Regex;

use crate::fsio::atomic_write;
use crate::network::Network;

/// The down/up layout's PyTorch names -> module paths (regex, replacement), anchored.
const DOWN_UP_TO_MODULE: &[(&str, &str)] = &[
    (
        r"^down(\d+)\.conv\.net\.0\.(weight|bias)$",
        "encoder.down$1.conv.conv1.$2",
    ),
    (
        r"^down(\d+)\.conv\.net\.2\.(weight|bias)$",
        "encoder.down$1.conv.conv2.$2",
    ),
    (
        r"^bottleneck\.net\.0\.(weight|bias)$",
        "encoder.bottleneck.conv1.$1",
    ),
    (
        r"^bottleneck\.net\.2\.(weight|bias)$",
        "encoder.bottleneck.conv2.$1",
    ),
    (
        r"^up(\d+)\.up\.(weight|bias)$",
        "decoder.up$1.up.transposed.$2",
    ),
    (
        r"^up(\d+)\.up\.1\.(weight|bias)$",
        "decoder.up$1.up.project.$2",
    ),
    (
        r"^up(\d+)\.conv\.net\.0\.(weight|bias)$",
        "decoder.up$1.conv.conv1.$2",
    ),
    (
        r"^up(\d+)\.conv\.net\.2\.(weight|bias)$",
        "decoder.up$1.conv.conv2.$2",
    ),
    (r"^out\.(weight|bias)$", "decoder.out.conv.$1"),
];

/// Module paths -> the down/up layout's PyTorch names: the inverse of [`DOWN_UP_TO_MODULE`].
const MODULE_TO_DOWN_UP: &[(&str, &str)] = &[
    (
        r"^encoder\.down(\d+)\.conv\.conv1\.(weight|bias)$",
        "down$1.conv.net.0.$2",
    ),
    (
        r"^encoder\.down(\d+)\.conv\.conv2\.(weight|bias)$",
        "down$1.conv.net.2.$2",
    ),
    (
        r"^encoder\.bottleneck\.conv1\.(weight|bias)$",
        "bottleneck.net.0.$1",
    ),
    (
        r"^encoder\.bottleneck\.conv2\.(weight|bias)$",
        "bottleneck.net.2.$1",
    ),
    (
        r"^decoder\.up(\d+)\.up\.transposed\.(weight|bias)$",
        "up$1.up.$2",
    ),
    (
        r"^decoder\.up(\d+)\.up\.project\.(weight|bias)$",
        "up$1.up.1.$2",
    ),
    (
        r"^decoder\.up(\d+)\.conv\.conv1\.(weight|bias)$",
        "up$1.conv.net.0.$2",
    ),
    (
        r"^decoder\.up(\d+)\.conv\.conv2\.(weight|bias)$",
        "up$1.conv.net.2.$2",
    ),
    (r"^decoder\.out\.conv\.(weight|bias)$", "out.$1"),
];

fn compile(table: &[(&str, &str)]) -> Vec<(Regex, String)> {
    table
        .iter()
        .map(|(from, to)| {
            (
                Regex::new(from).expect("the key tables are valid regexes"),
                to.to_string(),
            )
        })
        .collect()
}

static TO_MODULE: LazyLock<Vec<(Regex, String)>> = LazyLock::new(|| compile(DOWN_UP_TO_MODULE));
static TO_DOWN_UP: LazyLock<Vec<(Regex, String)>> = LazyLock::new(|| compile(MODULE_TO_DOWN_UP));

fn rename(table: &[(Regex, String)], name: &str) -> Option<String> {
    table
        .iter()
        .find(|(from, _)| from.is_match(name))
        .map(|(from, to)| from.replace(name, to.as_str()).into_owned())
}

/// The module path of a tensor named `name` in the down/up layout's PyTorch convention, e.g.
/// `down1.conv.net.2.weight` -> `encoder.down1.conv.conv2.weight`; `None` if it is not one.
pub fn module_path(name: &str) -> Option<String> {
    rename(&TO_MODULE, name)
}

/// The down/up layout's PyTorch name of the tensor at module path `path`, e.g.
/// `decoder.out.conv.bias` -> `out.bias`; `None` for a path outside a generated network.
pub fn pytorch_name(path: &str) -> Option<String> {
    rename(&TO_DOWN_UP, path)
}

/// A key naming convention of PyTorch U-Net weight files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convention {
    /// The down/up layout, a DoubleConv `Sequential` named `net` per level:
    /// `down{k}.conv.net.0.weight`, ..., `bottleneck.net.0.weight`, `up{k}.up.weight`,
    /// `up{k}.conv.net.0.weight`, ..., `out.weight`.
    DownUp,
    /// milesial/Pytorch-UNet: `inc.double_conv.0.weight`, ..., `outc.conv.weight`, for
    /// networks with `norm: batch, up: transposed`.
    Milesial,
}

impl Convention {
    /// Recognises the convention from a file's tensor names.
    pub fn detect<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut down_up = false;
        for name in names {
            if name.starts_with("inc.double_conv.") || name.contains(".double_conv.") {
                return Some(Convention::Milesial);
            }
            down_up |= module_path(name).is_some();
        }
        down_up.then_some(Convention::DownUp)
    }
}

/// One way a weight file does not fit a network, named by PyTorch tensor name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The network has this tensor, the file does not.
    Missing {
        /// PyTorch name.
        name: String,
        /// The network's shape.
        expected: Vec<usize>,
    },
    /// The file has this tensor, the network does not.
    Unexpected {
        /// PyTorch name.
        name: String,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// Both have it, with different shapes.
    Shape {
        /// PyTorch name.
        name: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// The tensor could not be converted or read.
    Other {
        /// PyTorch name.
        name: String,
        /// What went wrong.
        message: String,
    },
}

impl Problem {
    /// The PyTorch name the problem is about.
    pub fn name(&self) -> &str {
        match self {
            Problem::Missing { name, .. }
            | Problem::Unexpected { name, .. }
            | Problem::Shape { name, .. }
            | Problem::Other { name, .. } => name,
        }
    }

    /// Wrong shapes first, then missing, unexpected, other; each in network order
    /// (`down1` .. `bottleneck` .. `up1` .. `out`, indices compared as numbers, weight
    /// before bias).
    fn sort_key(&self) -> (u8, String) {
        let kind = match self {
            Problem::Shape { .. } => 0,
            Problem::Missing { .. } => 1,
            Problem::Unexpected { .. } => 2,
            Problem::Other { .. } => 3,
        };
        let name = self.name();
        // PyTorch's order within a layer: weight, then bias.
        let name = match (name.strip_suffix("weight"), name.strip_suffix("bias")) {
            (Some(stem), _) => format!("{stem}0"),
            (_, Some(stem)) => format!("{stem}1"),
            _ => name.to_string(),
        };
        let part = ["down", "bottleneck", "up", "out"]
            .iter()
            .position(|p| name.starts_with(p))
            .unwrap_or(4);
        let mut key = part.to_string();
        let mut digits = String::new();
        for c in name.chars().chain(std::iter::once('.')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                key.push_str(&format!("{digits:0>8}"));
                digits.clear();
            }
            key.push(c);
        }
        (kind, key)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { name, expected } => {
                write!(f, "missing `{name}` (the network expects {expected:?})")
            }
            Problem::Unexpected { name, found } => {
                write!(f, "unexpected `{name}` {found:?} (not in the network)")
            }
            Problem::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "wrong shape `{name}`: the file has {found:?}, the network expects {expected:?}"
            ),
            Problem::Other { name, message } => write!(f, "`{name}`: {message}"),
        }
    }
}

/// Why PyTorch weights could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum InteropError {
    /// The extension is not one of `.pt`, `.pth`, `.safetensors`.
    #[error("{path}: unknown weight file type `{extension}` (expected .pt, .pth or .safetensors)")]
    UnknownFormat {
        /// The file.
        path: String,
        /// Its extension (empty if none).
        extension: String,
    },
    /// No file at the path.
    #[error("{path}: no such file")]
    NotFound {
        /// The file.
        path: String,
    },
    /// The file could not be parsed.
    #[error("{path}: cannot read the weights: {message}")]
    Read {
        /// The file.
        path: String,
        /// The reader's message, first line.
        message: String,
    },
    /// No tensor name follows a known convention.
    #[error("{path}: no tensor follows a known key convention (expected the down/up layout's `down1.conv.net.0.weight`, ..., `out.weight`, or milesial/Pytorch-UNet's `inc.double_conv.0.weight`, ..., `outc.conv.weight`); the file has {keys}")]
    UnknownConvention {
        /// The file.
        path: String,
        /// The first few tensor names.
        keys: String,
    },
    /// The file's tensors are not the network's: every problem, one per line.
    #[error("{path} does not fit network {model} ({} problem{}){}:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, holds(file_holds), list(problems))]
    Mismatch {
        /// The file.
        path: String,
        /// The network's type name.
        model: String,
        /// The `unet!` configuration the file's shapes show (padding cannot be told), if any.
        file_holds: Option<String>,
        /// Each missing, unexpected or wrongly shaped tensor.
        problems: Vec<Problem>,
    },
    /// Writing failed.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

fn holds(config: &Option<String>) -> String {
    config
        .as_ref()
        .map(|c| format!("; the file holds `{c}`"))
        .unwrap_or_default()
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The weight file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `torch.save(model.state_dict())`: `.pt` / `.pth`.
    Pytorch,
    /// `safetensors.torch.save_file`: `.safetensors`.
    Safetensors,
}

impl Format {
    fn of(path: &Path) -> Result<Self, InteropError> {
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match extension.as_str() {
            "pt" | "pth" => Ok(Format::Pytorch),
            "safetensors" => Ok(Format::Safetensors),
            _ => Err(InteropError::UnknownFormat {
                path: path.display().to_string(),
                extension,
            }),
        }
    }
}

fn first_line(message: impl fmt::Display) -> String {
    let text = message.to_string();
    let line = text.lines().map(str::trim).find(|l| !l.is_empty());
    line.unwrap_or("unreadable").to_string()
}

/// A store over `path` with the given key remapping; burn-store's index renumbering off.
enum Store {
    Pytorch(PytorchStore),
    Safetensors(SafetensorsStore),
}

impl Store {
    fn open(format: Format, path: &Path, remap: Option<KeyRemapper>) -> Self {
        match format {
            Format::Pytorch => {
                let store = PytorchStore::from_file(path)
                    .map_indices_contiguous(false)
                    .allow_partial(true)
                    .validate(false);
                Store::Pytorch(match remap {
                    Some(r) => store.remap(r),
                    None => store,
                })
            }
            Format::Safetensors => {
                let store = SafetensorsStore::from_file(path)
                    .map_indices_contiguous(false)
                    .with_from_adapter(PyTorchToBurnAdapter)
                    // As PyTorch's reader: `norm1.gamma`, not `norm1.Batch.gamma`.
                    .skip_enum_variants(true)
                    .allow_partial(true)
                    .validate(false);
                Store::Safetensors(match remap {
                    Some(r) => store.remap(r),
                    None => store,
                })
            }
        }
    }

    /// Every tensor's name and shape.
    fn shapes(&mut self) -> Result<BTreeMap<String, Vec<usize>>, String> {
        fn collect<S: ModuleStore>(store: &mut S) -> Result<BTreeMap<String, Vec<usize>>, String> {
            let all = store.get_all_snapshots().map_err(first_line)?;
            Ok(all
                .iter()
                .map(|(name, s)| (name.clone(), s.shape.to_vec()))
                .collect())
        }
        match self {
            Store::Pytorch(s) => collect(s),
            Store::Safetensors(s) => collect(s),
        }
    }

    fn load_into<B: Backend, N: Network<B, D>, const D: usize>(
        &mut self,
        net: &mut N,
    ) -> Result<ApplyResult, String> {
        match self {
            Store::Pytorch(s) => net.load_from(s).map_err(first_line),
            Store::Safetensors(s) => net.load_from(s).map_err(first_line),
        }
    }
}

/// The `unet!` configuration (`depth: 2, base: 8, up: transposed, ...`) that a file in the
/// down/up layout holds, as far as its shapes tell: padding cannot be told (same and valid
/// convolutions have the same weights), nor bilinear from nearest. `None` if it is incomplete.
pub fn describe(shapes: &BTreeMap<String, Vec<usize>>) -> Option<String> {
    let dim = |name: &str, i: usize| shapes.get(name).and_then(|s| s.get(i).copied());
    let depth = (1..)
        .take_while(|k| shapes.contains_key(&format!("down{k}.conv.net.0.weight")))
        .count();
    if depth == 0 {
        return None;
    }
    let mut channels: Vec<usize> = (1..=depth)
        .map(|k| dim(&format!("down{k}.conv.net.0.weight"), 0))
        .collect::<Option<_>>()?;
    channels.push(dim("bottleneck.net.0.weight", 0)?);
    let in_channels = dim("down1.conv.net.0.weight", 1)?;
    let classes = dim("out.weight", 0)?;
    let up = if shapes.contains_key("up1.up.weight") {
        "transposed"
    } else if shapes.contains_key("up1.up.1.weight") {
        "bilinear or nearest"
    } else {
        "bilinear_concat or nearest_concat"
    };
    let doubling = channels.iter().enumerate().all(|(k, c)| {
        2usize
            .checked_pow(k as u32)
            .and_then(|f| channels[0].checked_mul(f))
            == Some(*c)
    });
    let widths = if doubling {
        format!("base: {}", channels[0])
    } else {
        format!("channels: {channels:?}")
    };
    Some(format!(
        "depth: {depth}, {widths}, up: {up}, in_channels: {in_channels}, classes: {classes}"
    ))
}

/// The `unet!` configuration a milesial/Pytorch-UNet file holds (`bilinear=False`), or `None`.
pub fn describe_milesial(shapes: &BTreeMap<String, Vec<usize>>) -> Option<String> {
    let dim = |name: &str, i: usize| shapes.get(name).and_then(|s| s.get(i).copied());
    let depth = (1..)
        .take_while(|k| {
            shapes.contains_key(&format!("down{k}.maxpool_conv.1.double_conv.0.weight"))
        })
        .count();
    let base = dim("inc.double_conv.0.weight", 0)?;
    let in_channels = dim("inc.double_conv.0.weight", 1)?;
    let classes = dim("outc.conv.weight", 0)?;
    (depth > 0).then(|| {
        format!("depth: {depth}, base: {base}, norm: batch, up: transposed, in_channels: {in_channels}, classes: {classes}")
    })
}

/// `(regex, replacement)` pairs as text.
pub type Patterns = Vec<(String, String)>;

/// milesial/Pytorch-UNet's names -> module paths, and back, for a network of `depth` levels.
pub fn milesial_tables(depth: usize) -> (Patterns, Patterns) {
    let mut blocks = vec![("inc".to_string(), "encoder.down1.conv".to_string())];
    for k in 1..depth {
        blocks.push((
            format!("down{k}.maxpool_conv.1"),
            format!("encoder.down{}.conv", k + 1),
        ));
    }
    blocks.push((
        format!("down{depth}.maxpool_conv.1"),
        "encoder.bottleneck".to_string(),
    ));
    for i in 1..=depth {
        blocks.push((format!("up{i}.conv"), format!("decoder.up{i}.conv")));
    }
    let (mut to_module, mut to_pytorch) = (Vec::new(), Vec::new());
    for (p, m) in &blocks {
        let (pe, me) = (regex::escape(p), regex::escape(m));
        // `double_conv`: 0 conv, 1 norm, 2 ReLU, 3 conv, 4 norm, 5 ReLU.
        for (conv_name, conv_index, norm_index) in [(1, 0, 1), (2, 3, 4)] {
            to_module.push((
                format!(r"^{pe}\.double_conv\.{conv_index}\.weight$"),
                format!("{m}.conv{conv_name}.weight"),
            ));
            to_module.push((
                format!(
                    r"^{pe}\.double_conv\.{norm_index}\.(weight|bias|running_mean|running_var)$"
                ),
                format!("{m}.norm{conv_name}.$1"),
            ));
            to_pytorch.push((
                format!(r"^{me}\.conv{conv_name}\.weight$"),
                format!("{p}.double_conv.{conv_index}.weight"),
            ));
            for (burn, torch) in [
                ("(?:gamma|weight)", "weight"),
                ("(?:beta|bias)", "bias"),
                ("running_mean", "running_mean"),
                ("running_var", "running_var"),
            ] {
                to_pytorch.push((
                    format!(r"^{me}\.norm{conv_name}\.(?:Batch\.)?{burn}$"),
                    format!("{p}.double_conv.{norm_index}.{torch}"),
                ));
            }
        }
    }
    to_module.push((
        r"^up(\d+)\.up\.(weight|bias)$".to_string(),
        "decoder.up$1.up.transposed.$2".into(),
    ));
    to_module.push((
        r"^outc\.conv\.(weight|bias)$".to_string(),
        "decoder.out.conv.$1".into(),
    ));
    to_pytorch.push((
        r"^decoder\.up(\d+)\.up\.transposed\.(weight|bias)$".to_string(),
        "up$1.up.$2".into(),
    ));
    to_pytorch.push((
        r"^decoder\.out\.conv\.(weight|bias)$".to_string(),
        "outc.conv.$1".into(),
    ));
    (to_module, to_pytorch)
}

/// The tables of a convention for a network of `depth` levels: (to module, to PyTorch).
/// Compiled `(pattern, replacement)` pairs, tried in order.
type Table = Vec<(Regex, String)>;

fn tables(convention: Convention, depth: usize) -> (Table, Table) {
    let owned = |t: &[(&str, &str)]| {
        t.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    let (to_module, to_pytorch) = match convention {
        Convention::DownUp => (owned(DOWN_UP_TO_MODULE), owned(MODULE_TO_DOWN_UP)),
        Convention::Milesial => milesial_tables(depth),
    };
    let compile = |t: Vec<(String, String)>| {
        t.into_iter()
            .map(|(from, to)| {
                (
                    Regex::new(&from).expect("the key tables are valid regexes"),
                    to,
                )
            })
            .collect()
    };
    (compile(to_module), compile(to_pytorch))
}

/// milesial's `Up` concatenates `[skip, up]` where unet concatenates `[up, skip]`, so the
/// decoder's first convolution sees the two halves of its input channels swapped. Swapping
/// the halves of that weight along its input axis converts either way (its own inverse).
#[derive(Default)]
struct SwapMergeHalves {
    path: Vec<String>,
}

impl SwapMergeHalves {
    /// `decoder.up{i}.conv.conv1.weight`: the first convolution of a decoder level.
    fn at_merge_conv(&self) -> bool {
        matches!(self.path.as_slice(), [.., decoder, up, conv, conv1, weight]
            if decoder == "decoder" && up.starts_with("up") && conv == "conv" && conv1 == "conv1" && weight == "weight")
    }
}

impl<B: Backend> ModuleMapper<B> for SwapMergeHalves {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let (id, tensor, mapper) = param.consume();
        // The weight `[out, in, 3, 3]` (`at_merge_conv` leaves the bias alone).
        let tensor = if self.at_merge_conv() {
            let channels = tensor.dims()[1];
            let half = channels / 2;
            Tensor::cat(
                vec![
                    tensor.clone().narrow(1, half, channels - half),
                    tensor.narrow(1, 0, half),
                ],
                1,
            )
        } else {
            tensor
        };
        Param::from_mapped_value(id, tensor, mapper)
    }
}

/// burn names the tensors of a norm or activation through its enum variant
/// (`norm1.Instance.beta`, `act1.PRelu.alpha`); PyTorch, and the loader
/// (`skip_enum_variants`), without it. Applied before a table when saving.
fn without_variants() -> (Regex, String) {
    let variant = Regex::new(r"\.(norm|act)([12])\.[A-Z][A-Za-z]*\.").expect("a valid regex");
    (variant, ".$1$2.".to_string())
}

fn remapper(table: &[(Regex, String)]) -> KeyRemapper {
    KeyRemapper::from_compiled_patterns(table.to_vec())
}

/// Loads PyTorch weights (`.pt`/`.pth` from `torch.save(model.state_dict())`, or
/// `.safetensors`) saved under the down/up layout's or milesial/Pytorch-UNet's key names
/// ([`Convention`], told from the file's keys) into a new `N` on `device`.
///
/// Every missing, unexpected (other than `num_batches_tracked`) or wrongly shaped tensor is
/// listed, by PyTorch name, in one [`InteropError::Mismatch`].
pub fn load_pytorch<B: Backend, N: Network<B, D>, const D: usize>(
    path: impl AsRef<Path>,
    device: &B::Device,
) -> Result<N, InteropError> {
    let path = path.as_ref();
    let shown = path.display().to_string();
    let format = Format::of(path)?;
    if !path.is_file() {
        return Err(InteropError::NotFound { path: shown });
    }
    let read_error = |message| InteropError::Read {
        path: shown.clone(),
        message,
    };
    let file = Store::open(format, path, None)
        .shapes()
        .map_err(read_error)?;
    let convention = match Convention::detect(file.keys().map(String::as_str)) {
        Some(c) => c,
        None => {
            let mut keys: Vec<String> = file.keys().take(4).map(|k| format!("`{k}`")).collect();
            if file.len() > keys.len() {
                keys.push(format!("... ({} tensors)", file.len()));
            }
            if keys.is_empty() {
                keys.push("no tensors".into());
            }
            return Err(InteropError::UnknownConvention {
                path: shown,
                keys: keys.join(", "),
            });
        }
    };
    let (to_module, to_pytorch) = tables(convention, N::DEPTH);
    let module_path = |name: &str| rename(&to_module, name);
    let pytorch_name = |path: &str| rename(&to_pytorch, path);
    // Module path -> PyTorch name, for the file's tensors (unmatched ones keep their name).
    let original: HashMap<String, String> = file
        .keys()
        .map(|k| (module_path(k).unwrap_or_else(|| k.clone()), k.clone()))
        .collect();
    let file_name = |p: &str| original.get(p).cloned().unwrap_or_else(|| p.to_string());

    let mut net = N::init(device);
    // Paths as the stores load them: without enum variants (`norm1.gamma`, not
    // `norm1.Batch.gamma`), so missing tensors find their shapes here.
    let expected: HashMap<String, Vec<usize>> =
        ModuleSnapshot::<B>::collect(&net, None, None, true)
            .into_iter()
            .map(|s| (s.full_path(), s.shape.to_vec()))
            .collect();
    let result = Store::open(format, path, Some(remapper(&to_module)))
        .load_into(&mut net)
        .map_err(read_error)?;
    if convention == Convention::Milesial {
        net = net.map(&mut SwapMergeHalves::default());
    }

    let mut problems = Vec::new();
    for (p, _) in &result.missing {
        problems.push(Problem::Missing {
            name: pytorch_name(p).unwrap_or_else(|| p.clone()),
            expected: expected.get(p).cloned().unwrap_or_default(),
        });
    }
    for error in &result.errors {
        problems.push(match error {
            ApplyError::ShapeMismatch {
                path,
                expected,
                found,
            } => Problem::Shape {
                name: file_name(path),
                expected: expected.to_vec(),
                found: found.to_vec(),
            },
            ApplyError::DTypeMismatch { path, .. }
            | ApplyError::AdapterError { path, .. }
            | ApplyError::LoadError { path, .. } => Problem::Other {
                name: file_name(path),
                message: first_line(error),
            },
        });
    }
    // burn-store loads a norm's `gamma`/`beta` from PyTorch's `weight`/`bias` but still lists
    // those as unused: they are not, when the network has the norm parameter and got it.
    let missing: Vec<&String> = result.missing.iter().map(|(p, _)| p).collect();
    let loaded_as_norm = |p: &str| {
        let alt = match (p.strip_suffix(".weight"), p.strip_suffix(".bias")) {
            (Some(stem), _) => format!("{stem}.gamma"),
            (_, Some(stem)) => format!("{stem}.beta"),
            _ => return false,
        };
        expected.contains_key(&alt) && !missing.iter().any(|m| **m == alt)
    };
    for p in &result.unused {
        let name = file_name(p);
        if name.ends_with("num_batches_tracked") || loaded_as_norm(p) {
            continue;
        }
        let found = file.get(&name).cloned().unwrap_or_default();
        problems.push(Problem::Unexpected { name, found });
    }
    if problems.is_empty() {
        Ok(net)
    } else {
        problems.sort_by_cached_key(Problem::sort_key);
        Err(InteropError::Mismatch {
            path: shown,
            model: N::NAME.to_string(),
            file_holds: match convention {
                Convention::DownUp => describe(&file),
                Convention::Milesial => describe_milesial(&file),
            },
            problems,
        })
    }
}

/// Writes `net`'s weights to `path` as `.safetensors` under PyTorch names
/// (`safetensors.torch.load_file` + `load_state_dict` read it back), atomically: milesial's
/// for a network with BatchNorm (`norm: batch`), the down/up layout's otherwise.
pub fn save_safetensors<B: Backend, N: Network<B, D>, const D: usize>(
    net: &N,
    path: impl AsRef<Path>,
) -> Result<(), InteropError> {
    let path = path.as_ref();
    let write_error = |message: String| InteropError::Write {
        path: path.display().to_string(),
        message,
    };
    let batch_norm = ModuleSnapshot::<B>::collect(net, None, None, false)
        .iter()
        .any(|s| {
            s.container_stack
                .as_ref()
                .is_some_and(|stack| stack.iter().any(|c| c == "Struct:BatchNorm"))
        });
    let convention = if batch_norm {
        Convention::Milesial
    } else {
        Convention::DownUp
    };
    let to_pytorch = tables(convention, N::DEPTH).1;
    let remap = remapper(&[vec![without_variants()], to_pytorch].concat());
    let swapped;
    let net = if convention == Convention::Milesial {
        swapped = net.clone().map(&mut SwapMergeHalves::default());
        &swapped
    } else {
        net
    };
    let mut store = SafetensorsStore::from_bytes(None)
        .remap(remap)
        .with_to_adapter(BurnToPyTorchAdapter)
        // What `safetensors.torch.save_file` writes; some PyTorch loaders check it.
        .metadata("format", "pt");
    net.save_into(&mut store)
        .map_err(|e| write_error(first_line(e)))?;
    let bytes = store.get_bytes().map_err(|e| write_error(first_line(e)))?;
    atomic_write(path, &bytes).map_err(|e| write_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_milesial_name_maps_to_a_module_path_and_back_at_depth_four() {
        let (to_module, to_pytorch) = tables(Convention::Milesial, 4);
        for (name, path) in [
            (
                "inc.double_conv.0.weight",
                "encoder.down1.conv.conv1.weight",
            ),
            (
                "inc.double_conv.1.running_var",
                "encoder.down1.conv.norm1.running_var",
            ),
            ("inc.double_conv.4.bias", "encoder.down1.conv.norm2.bias"),
            (
                "down3.maxpool_conv.1.double_conv.3.weight",
                "encoder.down4.conv.conv2.weight",
            ),
            (
                "down4.maxpool_conv.1.double_conv.0.weight",
                "encoder.bottleneck.conv1.weight",
            ),
            ("up1.up.weight", "decoder.up1.up.transposed.weight"),
            (
                "up4.conv.double_conv.1.weight",
                "decoder.up4.conv.norm1.weight",
            ),
            ("outc.conv.bias", "decoder.out.conv.bias"),
        ] {
            assert_eq!(rename(&to_module, name).as_deref(), Some(path), "{name}");
            assert_eq!(rename(&to_pytorch, path).as_deref(), Some(name), "{path}");
        }
        // burn's own names for a BatchNorm's scale and shift save under PyTorch's.
        assert_eq!(
            rename(&to_pytorch, "encoder.down2.conv.norm2.Batch.gamma").as_deref(),
            Some("down1.maxpool_conv.1.double_conv.4.weight")
        );
        assert_eq!(
            rename(&to_module, "down5.maxpool_conv.1.double_conv.0.weight"),
            None
        );
    }

    #[test]
    fn every_down_up_name_maps_to_a_module_path_and_back() {
        for (name, path) in [
            ("down1.conv.net.0.weight", "encoder.down1.conv.conv1.weight"),
            ("down3.conv.net.2.bias", "encoder.down3.conv.conv2.bias"),
            ("bottleneck.net.0.weight", "encoder.bottleneck.conv1.weight"),
            ("bottleneck.net.2.bias", "encoder.bottleneck.conv2.bias"),
            ("up1.up.weight", "decoder.up1.up.transposed.weight"),
            ("up2.up.1.bias", "decoder.up2.up.project.bias"),
            ("up4.conv.net.0.weight", "decoder.up4.conv.conv1.weight"),
            ("up4.conv.net.2.weight", "decoder.up4.conv.conv2.weight"),
            ("out.weight", "decoder.out.conv.weight"),
            ("out.bias", "decoder.out.conv.bias"),
        ] {
            assert_eq!(module_path(name).as_deref(), Some(path), "{name}");
            assert_eq!(pytorch_name(path).as_deref(), Some(name), "{path}");
        }
    }

    #[test]
    fn relu_slots_and_foreign_names_map_to_nothing() {
        for name in [
            "down1.conv.net.1.weight",
            "up1.up.0.weight",
            "inc.double_conv.0.weight",
            "down1.conv.net.0.running_mean",
            "xdown1.conv.net.0.weight",
        ] {
            assert_eq!(module_path(name), None, "{name}");
        }
    }

    #[test]
    fn conventions_are_told_apart_by_their_keys() {
        assert_eq!(
            Convention::detect(["down1.conv.net.0.weight", "out.bias"]),
            Some(Convention::DownUp)
        );
        assert_eq!(
            Convention::detect([
                "inc.double_conv.0.weight",
                "inc.double_conv.1.num_batches_tracked"
            ]),
            Some(Convention::Milesial)
        );
        assert_eq!(Convention::detect(["fc.weight"]), None);
        assert_eq!(Convention::detect([]), None);
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::of(Path::new("a.pt")).unwrap(), Format::Pytorch);
        assert_eq!(Format::of(Path::new("a.PTH")).unwrap(), Format::Pytorch);
        assert_eq!(
            Format::of(Path::new("a.safetensors")).unwrap(),
            Format::Safetensors
        );
        let err = Format::of(Path::new("model.onnx")).unwrap_err().to_string();
        assert!(err.contains("unknown weight file type `onnx`"), "{err}");
    }

    #[test]
    fn problems_sort_by_kind_then_network_order() {
        let missing = |name: &str| Problem::Missing {
            name: name.into(),
            expected: vec![],
        };
        let mut problems = [
            missing("out.bias"),
            missing("out.weight"),
            missing("up10.up.weight"),
            missing("up2.up.weight"),
            Problem::Unexpected {
                name: "down1.conv.net.0.weight".into(),
                found: vec![],
            },
            missing("bottleneck.net.0.bias"),
            missing("down3.conv.net.2.weight"),
        ];
        problems.sort_by_cached_key(Problem::sort_key);
        let names: Vec<&str> = problems.iter().map(Problem::name).collect();
        assert_eq!(
            names,
            [
                "down3.conv.net.2.weight",
                "bottleneck.net.0.bias",
                "up2.up.weight",
                "up10.up.weight",
                "out.weight",
                "out.bias",
                "down1.conv.net.0.weight"
            ]
        );
    }

    fn shapes(entries: &[(&str, &[usize])]) -> BTreeMap<String, Vec<usize>> {
        entries
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_vec()))
            .collect()
    }

    #[test]
    fn describe_reads_the_configuration_off_the_shapes() {
        let file = shapes(&[
            ("down1.conv.net.0.weight", &[8, 3, 3, 3]),
            ("down2.conv.net.0.weight", &[16, 8, 3, 3]),
            ("bottleneck.net.0.weight", &[32, 16, 3, 3]),
            ("up1.up.weight", &[32, 16, 2, 2]),
            ("out.weight", &[2, 8, 1, 1]),
        ]);
        assert_eq!(
            describe(&file).as_deref(),
            Some("depth: 2, base: 8, up: transposed, in_channels: 3, classes: 2")
        );
        let file = shapes(&[
            ("down1.conv.net.0.weight", &[4, 1, 3, 3]),
            ("bottleneck.net.0.weight", &[6, 4, 3, 3]),
            ("out.weight", &[1, 4, 1, 1]),
        ]);
        assert_eq!(
            describe(&file).as_deref(),
            Some("depth: 1, channels: [4, 6], up: bilinear_concat or nearest_concat, in_channels: 1, classes: 1")
        );
        assert_eq!(describe(&shapes(&[("out.weight", &[1, 4, 1, 1])])), None);
    }

    #[test]
    fn mismatch_lists_one_problem_per_line() {
        let e = InteropError::Mismatch {
            path: "w.pt".into(),
            model: "Net".into(),
            file_holds: None,
            problems: vec![
                Problem::Missing {
                    name: "out.bias".into(),
                    expected: vec![1],
                },
                Problem::Shape {
                    name: "out.weight".into(),
                    expected: vec![1, 8, 1, 1],
                    found: vec![1, 16, 1, 1],
                },
            ],
        };
        let text = e.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "w.pt does not fit network Net (2 problems):");
        assert_eq!(lines[1], "  missing `out.bias` (the network expects [1])");
        assert_eq!(
            lines[2],
            "  wrong shape `out.weight`: the file has [1, 16, 1, 1], the network expects [1, 8, 1, 1]"
        );
    }
}
