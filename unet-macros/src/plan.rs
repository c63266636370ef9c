//! The validated plan: every number the expansion writes, computed once, overflow-checked.

use syn::{Attribute, Ident, Visibility};

use crate::geometry::PaddingKind;

/// Up-sampling method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Up {
    Transposed,
    Bilinear,
    Nearest,
    /// Interpolation only: the decoder conv sees `C(k+1) + C(k)` channels.
    BilinearConcat,
    NearestConcat,
    /// Sub-pixel convolution: 3x3 conv to `4 * out` channels, then pixel shuffle.
    PixelShuffle,
}

impl Up {
    /// In declaration order, so `NAMES[up as usize]` is `up`'s name.
    pub const NAMES: &'static [&'static str] = &[
        "transposed",
        "bilinear",
        "nearest",
        "bilinear_concat",
        "nearest_concat",
        "pixelshuffle",
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "transposed" => Some(Up::Transposed),
            "bilinear" => Some(Up::Bilinear),
            "nearest" => Some(Up::Nearest),
            "bilinear_concat" => Some(Up::BilinearConcat),
            "nearest_concat" => Some(Up::NearestConcat),
            "pixelshuffle" => Some(Up::PixelShuffle),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Whether up-sampling keeps the deep map's channels (interpolation with no conv).
    pub fn keeps_channels(self) -> bool {
        matches!(self, Up::BilinearConcat | Up::NearestConcat)
    }

    /// Channels out of the up-sampling of a `deep`-channel map at a level of width `out`.
    pub fn channels(self, deep: usize, out: usize) -> usize {
        if self.keeps_channels() {
            deep
        } else {
            out
        }
    }

    /// Parameters of one up-sampling step `cin -> cout`.
    fn params(self, cin: usize, cout: usize, dims: usize) -> Option<usize> {
        let (k, cout): (usize, usize) = match self {
            Up::Transposed => (1 << dims, cout),
            Up::Bilinear | Up::Nearest => (1, cout),
            Up::PixelShuffle => (9, cout.checked_mul(4)?),
            Up::BilinearConcat | Up::NearestConcat => return Some(0),
        };
        k.checked_mul(cin)?.checked_mul(cout)?.checked_add(cout)
    }

    fn kind(self) -> &'static str {
        match self {
            Up::Transposed => "ConvTranspose 2x2, stride 2",
            Up::Bilinear => "Upsample bilinear x2 + Conv 1x1",
            Up::Nearest => "Upsample nearest x2 + Conv 1x1",
            Up::BilinearConcat => "Upsample bilinear x2",
            Up::NearestConcat => "Upsample nearest x2",
            Up::PixelShuffle => "Conv 3x3 + PixelShuffle x2",
        }
    }
}

pub const PADDING_NAMES: &[&str] = &["same", "valid"];

pub fn padding_from_name(name: &str) -> Option<PaddingKind> {
    match name {
        "same" => Some(PaddingKind::Same),
        "valid" => Some(PaddingKind::Valid),
        _ => None,
    }
}

/// Normalization after each 3x3 conv.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Norm {
    None,
    Batch,
    Instance,
    Group(usize),
    Layer,
}

impl Norm {
    /// The words `norm` accepts (`group` takes an argument).
    pub const NAMES: &'static [&'static str] = &["none", "batch", "instance", "group", "layer"];

    /// Trainable parameters of the norm on `c` channels: an affine scale and shift.
    fn params(self, c: usize) -> Option<usize> {
        match self {
            Norm::None => Some(0),
            _ => c.checked_mul(2),
        }
    }

    fn label(self) -> String {
        match self {
            Norm::None => String::new(),
            Norm::Batch => " + BatchNorm".into(),
            Norm::Instance => " + InstanceNorm".into(),
            Norm::Group(g) => format!(" + GroupNorm({g})"),
            Norm::Layer => " + LayerNorm".into(),
        }
    }
}

/// Activation after each norm.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    Relu,
    LeakyRelu(f64),
    Gelu,
    Silu,
    PRelu,
}

impl Act {
    pub const NAMES: &'static [&'static str] = &["relu", "leaky_relu", "gelu", "silu", "prelu"];

    fn label(self) -> String {
        match self {
            Act::Relu => "ReLU".into(),
            Act::LeakyRelu(s) => format!("LeakyReLU({s})"),
            Act::Gelu => "GELU".into(),
            Act::Silu => "SiLU".into(),
            Act::PRelu => "PReLU".into(),
        }
    }
}

/// Attention in the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attention {
    None,
    Gate,
    Scse,
}

impl Attention {
    pub const NAMES: &'static [&'static str] = &["none", "gate", "scse"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Attention::None),
            "gate" => Some(Attention::Gate),
            "scse" => Some(Attention::Scse),
            _ => None,
        }
    }
}

/// The block options and decoder extras of a configuration; `Default` is the classic U-Net.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    pub norm: Norm,
    pub act: Act,
    pub residual: bool,
    /// Dropout on the bottleneck's output (the paper's "end of the contracting path").
    pub dropout_bottleneck: f64,
    /// Dropout at the end of every other DoubleConv.
    pub dropout_blocks: f64,
    pub attention: Attention,
    /// Extra 1x1 heads on decoder levels 1..=k.
    pub deep_supervision: usize,
    /// Reflect-pad any input to a multiple of 2^depth and crop the output back.
    pub pad_input: bool,
    /// Spatial dimensions: 2, or 3 for a volumetric U-Net.
    pub dims: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            norm: Norm::None,
            act: Act::Relu,
            residual: false,
            dropout_bottleneck: 0.0,
            dropout_blocks: 0.0,
            attention: Attention::None,
            deep_supervision: 0,
            pad_input: false,
            dims: 2,
        }
    }
}

/// Width of an attention gate's intermediate map (unet-core's `AttentionGateConfig::inner`).
fn gate_inner(skip: usize) -> usize {
    (skip / 2).max(1)
}

/// Width of an scSE channel squeeze (unet-core's `ScseConfig::squeeze`).
fn scse_squeeze(channels: usize) -> usize {
    (channels / 16).max(1)
}

/// Parameters of a 1x1 convolution with bias.
fn conv1x1(cin: usize, cout: usize) -> Option<usize> {
    cin.checked_mul(cout)?.checked_add(cout)
}

/// One line of the generated `summary()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub kind: String,
    pub channels: usize,
    pub level: usize,
    pub size: Option<[usize; 2]>,
    pub params: usize,
}

/// Everything the expansion needs, all checked.
pub struct Plan {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub depth: usize,
    /// `depth + 1` widths, level 0 first.
    pub channels: Vec<usize>,
    pub in_channels: usize,
    pub classes: usize,
    pub up: Up,
    pub padding: PaddingKind,
    pub input: Option<[usize; 2]>,
    /// The declared `(depth, height, width)` of a `dims: 3` network.
    pub volume: Option<[usize; 3]>,
    pub options: Options,
    pub rows: Vec<Row>,
    pub params: usize,
}

/// The numbers of a configuration before the layer table is derived.
pub struct Shape {
    pub depth: usize,
    pub channels: Vec<usize>,
    pub in_channels: usize,
    pub classes: usize,
    pub up: Up,
    pub padding: PaddingKind,
    pub input: Option<[usize; 2]>,
    /// The declared `(depth, height, width)` of a `dims: 3` network.
    pub volume: Option<[usize; 3]>,
    pub options: Options,
}

/// Output size of each stage along one axis; only called for inputs that fit.
struct Trace {
    /// After the two convs of encoder level k.
    enc: Vec<usize>,
    /// After the bottleneck.
    bottom: usize,
    /// After the up-sampling of decoder level k (index = level).
    up: Vec<usize>,
    /// After the two convs of decoder level k (index = level).
    dec: Vec<usize>,
}

fn trace(depth: usize, padding: PaddingKind, input: usize) -> Trace {
    let loss = if padding == PaddingKind::Valid { 4 } else { 0 };
    let mut enc = Vec::with_capacity(depth);
    let mut s = input;
    for _ in 0..depth {
        let c = s.saturating_sub(loss);
        enc.push(c);
        s = c / 2;
    }
    let bottom = s.saturating_sub(loss);
    let (mut up, mut dec) = (vec![0; depth], vec![0; depth]);
    let mut x = bottom;
    for level in (0..depth).rev() {
        up[level] = x * 2;
        dec[level] = (x * 2).saturating_sub(loss);
        x = dec[level];
    }
    Trace {
        enc,
        bottom,
        up,
        dec,
    }
}

/// Parameters of a DoubleConv `cin -> cout` with the given options: two 3x3 convs (no bias
/// before a norm), two norms, two activations (PReLU: one slope each), and a 1x1 projection
/// for a residual block whose widths differ.
fn double_conv(o: &Options, cin: usize, cout: usize) -> Option<usize> {
    let bias = if o.norm == Norm::None { cout } else { 0 };
    let kernel = 3usize.pow(o.dims as u32);
    let conv = |i: usize| kernel.checked_mul(i)?.checked_mul(cout)?.checked_add(bias);
    let norm = o.norm.params(cout)?;
    let act = usize::from(o.act == Act::PRelu);
    let project = if o.residual && cin != cout {
        conv1x1(cin, cout)?
    } else {
        0
    };
    [conv(cin)?, conv(cout)?, norm, norm, act, act, project]
        .into_iter()
        .try_fold(0usize, |a, b| a.checked_add(b))
}

/// The summary's description of a DoubleConv with dropout `p`.
fn double_conv_kind(o: &Options, p: f64) -> String {
    let mut kind = format!(
        "{}DoubleConv (2x Conv 3x3{} + {})",
        if o.residual { "Residual " } else { "" },
        o.norm.label(),
        o.act.label()
    );
    if p > 0.0 {
        kind.push_str(&format!(", Dropout {p}"));
    }
    kind
}

/// The layer table and parameter total, or `None` if a count overflows `usize`.
pub fn layers(shape: &Shape) -> Option<(Vec<Row>, usize)> {
    let Shape {
        depth,
        ref channels,
        in_channels,
        classes,
        up,
        padding,
        input,
        ref options,
        ..
    } = *shape;
    let o = options;
    let multiple = 1usize << depth;
    let padded = |s: usize| {
        if o.pad_input {
            s.div_ceil(multiple) * multiple
        } else {
            s
        }
    };
    let traces = input.map(|[h, w]| {
        (
            trace(depth, padding, padded(h)),
            trace(depth, padding, padded(w)),
        )
    });
    let size = |f: &dyn Fn(&Trace) -> usize| traces.as_ref().map(|(h, w)| [f(h), f(w)]);
    let mut rows = Vec::new();
    if o.pad_input {
        rows.push(Row {
            name: "pad".into(),
            kind: format!("Reflect pad to a multiple of {multiple}"),
            channels: in_channels,
            level: 0,
            size: input.map(|[h, w]| [padded(h), padded(w)]),
            params: 0,
        });
    }
    for k in 0..depth {
        let cin = if k == 0 { in_channels } else { channels[k - 1] };
        rows.push(Row {
            name: format!("encoder.down{}.conv", k + 1),
            kind: double_conv_kind(o, o.dropout_blocks),
            channels: channels[k],
            level: k,
            size: size(&|t| t.enc[k]),
            params: double_conv(o, cin, channels[k])?,
        });
        rows.push(Row {
            name: format!("encoder.down{}.pool", k + 1),
            kind: "MaxPool 2x2".into(),
            channels: channels[k],
            level: k + 1,
            size: size(&|t| t.enc[k] / 2),
            params: 0,
        });
    }
    rows.push(Row {
        name: "encoder.bottleneck".into(),
        kind: double_conv_kind(o, o.dropout_bottleneck),
        channels: channels[depth],
        level: depth,
        size: size(&|t| t.bottom),
        params: double_conv(o, channels[depth - 1], channels[depth])?,
    });
    for i in 1..=depth {
        let level = depth - i;
        let (deep, out) = (channels[level + 1], channels[level]);
        let up_channels = up.channels(deep, out);
        let merged = up_channels.checked_add(out)?;
        rows.push(Row {
            name: format!("decoder.up{i}.up"),
            kind: up.kind().into(),
            channels: up_channels,
            level,
            size: size(&|t| t.up[level]),
            params: up.params(deep, out, o.dims)?,
        });
        if o.attention == Attention::Gate {
            let inner = gate_inner(out);
            rows.push(Row {
                name: format!("decoder.up{i}.gate"),
                kind: "Attention gate (3x Conv 1x1)".into(),
                channels: out,
                level,
                size: size(&|t| t.up[level]),
                params: conv1x1(up_channels, inner)?
                    .checked_add(conv1x1(out, inner)?)?
                    .checked_add(conv1x1(inner, 1)?)?,
            });
        }
        rows.push(Row {
            name: format!("decoder.up{i}.concat"),
            kind: "Concat [up, skip]".into(),
            channels: merged,
            level,
            size: size(&|t| t.up[level]),
            params: 0,
        });
        rows.push(Row {
            name: format!("decoder.up{i}.conv"),
            kind: double_conv_kind(o, o.dropout_blocks),
            channels: out,
            level,
            size: size(&|t| t.dec[level]),
            params: double_conv(o, merged, out)?,
        });
        if o.attention == Attention::Scse {
            let r = scse_squeeze(out);
            rows.push(Row {
                name: format!("decoder.up{i}.scse"),
                kind: "scSE (3x Conv 1x1)".into(),
                channels: out,
                level,
                size: size(&|t| t.dec[level]),
                params: conv1x1(out, r)?
                    .checked_add(conv1x1(r, out)?)?
                    .checked_add(conv1x1(out, 1)?)?,
            });
        }
        if (1..=o.deep_supervision).contains(&level) {
            rows.push(Row {
                name: format!("decoder.aux{level}"),
                kind: "Conv 1x1 (deep supervision logits)".into(),
                channels: classes,
                level,
                size: size(&|t| t.dec[level]),
                params: conv1x1(channels[level], classes)?,
            });
        }
    }
    rows.push(Row {
        name: "decoder.out".into(),
        kind: "Conv 1x1 (logits)".into(),
        channels: classes,
        level: 0,
        size: size(&|t| t.dec[0]),
        params: conv1x1(channels[0], classes)?,
    });
    if o.pad_input {
        rows.push(Row {
            name: "crop".into(),
            kind: "Crop back to the input size".into(),
            channels: classes,
            level: 0,
            size: input,
            params: 0,
        });
    }
    if o.dims == 3 {
        for row in &mut rows {
            row.kind = row
                .kind
                .replace("3x3", "3x3x3")
                .replace("2x2", "2x2x2")
                .replace("1x1", "1x1x1");
        }
    }
    let total = rows
        .iter()
        .try_fold(0usize, |acc, r| acc.checked_add(r.params))?;
    Some((rows, total))
}

impl Plan {
    /// The one-line configuration shown at the top of `summary()`.
    pub fn config_line(&self) -> String {
        let padding = match self.padding {
            PaddingKind::Same => "same",
            PaddingKind::Valid => "valid",
        };
        let mut line = format!(
            "{}U-Net depth {}, channels {:?}, up {}, padding {}, in_channels {}, classes {}",
            if self.options.dims == 3 { "3D " } else { "" },
            self.depth,
            self.channels,
            self.up.name(),
            padding,
            self.in_channels,
            self.classes
        );
        if let Some([h, w]) = self.input {
            line.push_str(&format!(", input {h}x{w}"));
        }
        if let Some([d, h, w]) = self.volume {
            line.push_str(&format!(", input {d}x{h}x{w}"));
        }
        let o = &self.options;
        let d = Options::default();
        if o.norm != d.norm {
            line.push_str(&format!(
                ", norm{}",
                o.norm.label().trim_start_matches(" +")
            ));
        }
        if o.act != d.act {
            line.push_str(&format!(", act {}", o.act.label()));
        }
        if o.residual {
            line.push_str(", residual");
        }
        if o.dropout_bottleneck > 0.0 {
            line.push_str(&format!(", dropout {} (bottleneck)", o.dropout_bottleneck));
        }
        if o.dropout_blocks > 0.0 {
            line.push_str(&format!(", dropout {} (blocks)", o.dropout_blocks));
        }
        match o.attention {
            Attention::None => {}
            Attention::Gate => line.push_str(", attention gates"),
            Attention::Scse => line.push_str(", scSE"),
        }
        if o.deep_supervision > 0 {
            line.push_str(&format!(", deep supervision {}", o.deep_supervision));
        }
        if o.pad_input {
            line.push_str(", pad_input");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic() -> Shape {
        Shape {
            depth: 4,
            channels: vec![64, 128, 256, 512, 1024],
            in_channels: 1,
            classes: 1,
            up: Up::Transposed,
            padding: PaddingKind::Same,
            input: None,
            volume: None,
            options: Options::default(),
        }
    }

    #[test]
    fn classic_unet_has_the_pytorch_parameter_count() {
        let (_, total) = layers(&classic()).unwrap();
        assert_eq!(total, 31_030_593);
    }

    #[test]
    fn paper_sizes_run_572_to_388() {
        let shape = Shape {
            padding: PaddingKind::Valid,
            classes: 2,
            input: Some([572, 572]),
            ..classic()
        };
        let (rows, _) = layers(&shape).unwrap();
        assert_eq!(rows[0].size, Some([568, 568]));
        assert_eq!(
            rows.iter()
                .find(|r| r.name == "encoder.bottleneck")
                .unwrap()
                .size,
            Some([28, 28])
        );
        assert_eq!(rows.last().unwrap().size, Some([388, 388]));
    }

    #[test]
    fn every_up_name_round_trips_through_from_name() {
        for name in Up::NAMES {
            assert_eq!(Up::from_name(name).map(Up::name), Some(*name));
        }
    }

    #[test]
    fn concat_modes_widen_the_decoder_conv_and_add_no_up_params() {
        // The seeds' bilinear U-Net at depth 4, base 64: Upsample then concat 1024 + 512, etc.
        let dc = |i: usize, o: usize| 9 * i * o + o + 9 * o * o + o;
        for up in [Up::BilinearConcat, Up::NearestConcat] {
            let (rows, total) = layers(&Shape { up, ..classic() }).unwrap();
            let row = |name: &str| rows.iter().find(|r| r.name == name).unwrap().clone();
            assert_eq!(
                (row("decoder.up1.up").channels, row("decoder.up1.up").params),
                (1024, 0)
            );
            assert_eq!(row("decoder.up1.concat").channels, 1536);
            assert_eq!(row("decoder.up1.conv").params, dc(1536, 512));
            assert_eq!(row("decoder.up4.concat").channels, 128 + 64);
            let encoder = dc(1, 64) + dc(64, 128) + dc(128, 256) + dc(256, 512) + dc(512, 1024);
            let decoder = dc(1536, 512) + dc(768, 256) + dc(384, 128) + dc(192, 64);
            assert_eq!(total, encoder + decoder + 64 + 1);
        }
    }

    #[test]
    fn projecting_modes_keep_the_level_width_after_up_sampling() {
        for up in [Up::Transposed, Up::Bilinear, Up::Nearest] {
            let (rows, _) = layers(&Shape { up, ..classic() }).unwrap();
            let concat = rows
                .iter()
                .find(|r| r.name == "decoder.up1.concat")
                .unwrap();
            assert_eq!(concat.channels, 1024, "{up:?}");
        }
    }

    #[test]
    fn overflowing_widths_are_reported_not_wrapped() {
        let shape = Shape {
            channels: vec![usize::MAX / 2; 5],
            ..classic()
        };
        assert!(layers(&shape).is_none());
    }
}
