//! The validated plan: every number the expansion writes, computed once, overflow-checked,
//! from `unet-vocab`'s options and parameter formulas.

use syn::ext::IdentExt;
use syn::{Attribute, Ident, Visibility};
use unet_vocab::{
    kernel, layers, params, ActKind, Attention, BlockOptions, Extent, LayerOutput, NormKind,
    PaddingKind, UpMode, Word,
};

use crate::ast::Header;

/// The block options and decoder extras of a configuration; `Default` is the classic U-Net.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    pub norm: NormKind,
    pub act: ActKind,
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
            norm: NormKind::None,
            act: ActKind::Relu,
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

/// One line of the generated `summary()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub kind: String,
    pub channels: usize,
    /// The output's spatial extent along each axis.
    pub extent: Extent,
    pub params: usize,
    /// The row's module outputs, as torchsummary counts them.
    pub outputs: Vec<LayerOutput<String>>,
}

/// The numbers of a configuration before the layer table is derived.
pub struct Shape {
    pub depth: usize,
    pub channels: Vec<usize>,
    pub in_channels: usize,
    pub classes: usize,
    pub up: UpMode,
    pub padding: PaddingKind,
    /// The declared spatial input size, one entry per axis.
    pub input: Option<Vec<usize>>,
    pub options: Options,
}

/// Everything the expansion needs, all checked.
pub struct Plan {
    /// The path generated code reaches the `unet` crate by (`::unet` unless re-exported).
    pub krate: syn::Path,
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub shape: Shape,
    pub rows: Vec<Row>,
    pub params: usize,
}

impl std::ops::Deref for Plan {
    type Target = Shape;

    fn deref(&self) -> &Shape {
        &self.shape
    }
}

impl Shape {
    /// The options of every DoubleConv but the bottleneck's.
    pub fn block_options(&self) -> BlockOptions {
        self.block_options_with(self.options.dropout_blocks)
    }

    /// The options of the bottleneck's DoubleConv.
    pub fn bottleneck_options(&self) -> BlockOptions {
        self.block_options_with(self.options.dropout_bottleneck)
    }

    fn block_options_with(&self, dropout: f64) -> BlockOptions {
        let o = &self.options;
        BlockOptions {
            padding: self.padding,
            norm: o.norm,
            act: o.act,
            residual: o.residual,
            dropout,
        }
    }

    /// The input width of encoder level `k`.
    pub fn encoder_input(&self, k: usize) -> usize {
        if k == 0 {
            self.in_channels
        } else {
            self.channels[k - 1]
        }
    }

    /// Channels out of the up-sampling of decoder level `level`.
    pub fn up_channels(&self, level: usize) -> usize {
        self.up
            .channels(self.channels[level + 1], self.channels[level])
    }

    /// The output size along each axis for the declared input (cropped back with `pad_input`).
    pub fn output(&self) -> Option<Vec<usize>> {
        let out = |s: usize| match self.options.pad_input {
            true => s,
            false => unet_vocab::geometry::output_size(self.depth, self.padding, s).unwrap_or(0),
        };
        self.input
            .as_ref()
            .map(|sizes| sizes.iter().map(|&s| out(s)).collect())
    }

    /// Pixels lost between input and output along each axis.
    pub fn margin(&self) -> usize {
        match self.padding {
            PaddingKind::Same => 0,
            PaddingKind::Valid => unet_vocab::geometry::valid_margin(self.depth),
        }
    }
}

/// The layer table under construction: the shape and the rows so far.
struct Table<'s> {
    shape: &'s Shape,
    rows: Vec<Row>,
}

impl<'s> Table<'s> {
    fn new(shape: &'s Shape) -> Self {
        Table {
            shape,
            rows: Vec::new(),
        }
    }

    /// A row whose output is its last module's (`extent`, `channels`).
    fn push(&mut self, name: String, kind: String, channels: usize, extent: Extent) -> &mut Row {
        self.rows.push(Row {
            name,
            kind,
            channels,
            extent,
            params: 0,
            outputs: Vec::new(),
        });
        self.rows.last_mut().expect("just pushed")
    }

    /// `pad_input`'s padding, first (a `ReflectionPad` module).
    fn pad(&mut self) {
        let s = self.shape;
        let kind = format!("Reflect pad to a multiple of {}", 1usize << s.depth);
        let row = self.push("pad".into(), kind, s.in_channels, Extent::FULL);
        row.outputs = layers::pad(s.in_channels, s.options.dims);
    }

    /// A DoubleConv row `cin -> cout` on a map of extent `at`; returns its output extent.
    fn double_conv(
        &mut self,
        name: String,
        block: &BlockOptions,
        cin: usize,
        cout: usize,
        at: Extent,
    ) -> Option<Extent> {
        let dims = self.shape.options.dims;
        let outputs = layers::double_conv(block, cin, cout, dims, at);
        let extent = outputs.last()?.extent;
        let row = self.push(name, block.describe(dims), cout, extent);
        row.params = params::double_conv(block, cin, cout, dims)?;
        row.outputs = outputs;
        Some(extent)
    }

    /// Each level's DoubleConv and pool, then the bottleneck; returns the bottleneck's extent.
    fn encoder(&mut self) -> Option<Extent> {
        let s = self.shape;
        let (dims, depth, block) = (s.options.dims, s.depth, s.block_options());
        let mut at = Extent::FULL;
        for k in 0..depth {
            let (width, name) = (s.channels[k], format!("encoder.down{}", k + 1));
            let cin = s.encoder_input(k);
            let conv = self.double_conv(format!("{name}.conv"), &block, cin, width, at)?;
            at = conv.down();
            let pool = format!("MaxPool {}", kernel(2, dims));
            let row = self.push(format!("{name}.pool"), pool, width, at);
            row.outputs = layers::pool(width, dims, conv);
        }
        let name = "encoder.bottleneck".to_string();
        self.double_conv(
            name,
            &s.bottleneck_options(),
            s.channels[depth - 1],
            s.channels[depth],
            at,
        )
    }

    /// Decoder level `i` (1 is the deepest) on a map of extent `at`: up-sampling, gate,
    /// concat, DoubleConv, scSE, head; returns the level's output extent.
    fn decoder_level(&mut self, i: usize, at: Extent) -> Option<Extent> {
        let s = self.shape;
        let (o, dims, level) = (&s.options, s.options.dims, s.depth - i);
        let (deep, out, up) = (
            s.channels[level + 1],
            s.channels[level],
            s.up_channels(level),
        );
        let (one, name) = (kernel(1, dims), format!("decoder.up{i}"));
        let up_at = at.up();
        let row = self.push(format!("{name}.up"), s.up.describe(dims), up, up_at);
        row.params = params::up(s.up, deep, out, dims)?;
        row.outputs = layers::up(s.up, deep, out, dims, at);
        if o.attention == Attention::Gate {
            let kind = format!("Attention gate (3x Conv {one})");
            let row = self.push(format!("{name}.gate"), kind, out, up_at);
            row.params = params::attention(o.attention, up, out)?;
            row.outputs = layers::attention(o.attention, out, out, dims, up_at);
        }
        let merged = up.checked_add(out)?;
        self.push(
            format!("{name}.concat"),
            "Concat [up, skip]".into(),
            merged,
            up_at,
        );
        let at = self.double_conv(
            format!("{name}.conv"),
            &s.block_options(),
            merged,
            out,
            up_at,
        )?;
        if o.attention == Attention::Scse {
            let row = self.push(
                format!("{name}.scse"),
                format!("scSE (3x Conv {one})"),
                out,
                at,
            );
            row.params = params::attention(o.attention, up, out)?;
            row.outputs = layers::attention(o.attention, out, out, dims, at);
        }
        if (1..=o.deep_supervision).contains(&level) {
            let kind = format!("Conv {one} (deep supervision logits)");
            let row = self.push(format!("decoder.aux{level}"), kind, s.classes, at);
            row.params = params::head(out, s.classes)?;
            row.outputs = layers::head(s.classes, dims, at);
        }
        Some(at)
    }

    /// The 1x1 head on a map of extent `at`, then `pad_input`'s crop.
    fn head(&mut self, at: Extent) -> Option<()> {
        let s = self.shape;
        let kind = format!("Conv {} (logits)", kernel(1, s.options.dims));
        let row = self.push("decoder.out".into(), kind, s.classes, at);
        row.params = params::head(s.channels[0], s.classes)?;
        row.outputs = layers::head(s.classes, s.options.dims, at);
        if s.options.pad_input {
            let kind = "Crop back to the input size".to_string();
            self.push("crop".into(), kind, s.classes, Extent::Input);
        }
        Some(())
    }
}

/// The layer table and parameter total, or `None` if a count overflows `usize`.
pub fn layers(shape: &Shape) -> Option<(Vec<Row>, usize)> {
    let mut table = Table::new(shape);
    if shape.options.pad_input {
        table.pad();
    }
    let mut at = table.encoder()?;
    for i in 1..=shape.depth {
        at = table.decoder_level(i, at)?;
    }
    table.head(at)?;
    let total = table
        .rows
        .iter()
        .try_fold(0usize, |acc, r| acc.checked_add(r.params))?;
    Some((table.rows, total))
}

impl Plan {
    /// The plan of a checked shape, or `None` if its parameter count overflows.
    pub fn new(
        header: &Header,
        krate: syn::Path,
        attrs: Vec<Attribute>,
        shape: Shape,
    ) -> Option<Self> {
        let (rows, params) = layers(&shape)?;
        Some(Plan {
            krate,
            attrs,
            vis: header.vis.clone(),
            name: header.name.clone(),
            shape,
            rows,
            params,
        })
    }

    /// The network's name as text (without `r#`).
    pub fn name_text(&self) -> String {
        self.name.unraw().to_string()
    }

    /// The one-line configuration shown at the top of `summary()`.
    pub fn config_line(&self) -> String {
        let mut line = format!(
            "{}U-Net depth {}, channels {:?}, up {}, padding {}, in_channels {}, classes {}",
            if self.options.dims == 3 { "3D " } else { "" },
            self.depth,
            self.channels,
            self.up.name(),
            self.padding.name(),
            self.in_channels,
            self.classes
        );
        if let Some(sizes) = &self.input {
            let sizes: Vec<String> = sizes.iter().map(usize::to_string).collect();
            line.push_str(&format!(", input {}", sizes.join("x")));
        }
        let o = &self.options;
        if let Some(norm) = o.norm.pytorch_name(o.dims) {
            line.push_str(&format!(", norm {norm}"));
        }
        if o.act != Options::default().act {
            line.push_str(&format!(", act {}", o.act.pytorch_name()));
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

    /// One line for listings (`unet models`): the configuration in the words of the keys.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "depth {}, base {}, {}, {} padding, {} in, {} class{}",
            self.depth,
            self.channels[0],
            self.up.name(),
            self.padding.name(),
            self.in_channels,
            self.classes,
            if self.classes == 1 { "" } else { "es" }
        );
        if self.options.norm != NormKind::None {
            text.push_str(&format!(", {} norm", self.options.norm.name()));
        }
        if self.options.dims == 3 {
            text.push_str(", 3D");
        }
        text
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
            up: UpMode::Transposed,
            padding: PaddingKind::Same,
            input: None,
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
            input: Some(vec![572, 572]),
            ..classic()
        };
        let (rows, _) = layers(&shape).unwrap();
        let side = |name: &str| {
            let row = rows.iter().find(|r| r.name == name).unwrap();
            row.extent.side(572, 572)
        };
        assert_eq!(side("encoder.down1.conv"), 568);
        assert_eq!(side("encoder.bottleneck"), 28);
        assert_eq!(side("decoder.out"), 388);
        assert_eq!(rows.last().unwrap().extent.side(572, 572), 388);
    }

    #[test]
    fn every_rows_extent_agrees_with_the_size_rules_for_every_fitting_input() {
        for depth in 1..=5 {
            let shape = Shape {
                depth,
                channels: vec![2; depth + 1],
                padding: PaddingKind::Valid,
                ..classic()
            };
            let (rows, _) = layers(&shape).unwrap();
            let out = rows.last().unwrap().extent;
            let bottom = rows
                .iter()
                .find(|r| r.name == "encoder.bottleneck")
                .unwrap();
            for input in 1..1200 {
                if let Ok(size) =
                    unet_vocab::geometry::output_size(depth, PaddingKind::Valid, input)
                {
                    assert_eq!(out.side(input, input), size, "depth {depth} input {input}");
                    // The bottleneck's side doubled back up `depth` times, less 4 per level.
                    let side = bottom.extent.side(input, input);
                    assert_eq!((0..depth).fold(side, |s, _| 2 * s - 4), size);
                }
            }
        }
    }

    #[test]
    fn concat_modes_widen_the_decoder_conv_and_add_no_up_params() {
        // The down/up layout's bilinear U-Net at depth 4, base 64: Upsample then concat 1024 + 512, etc.
        let dc = |i: usize, o: usize| 9 * i * o + o + 9 * o * o + o;
        for up in [UpMode::BilinearConcat, UpMode::NearestConcat] {
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
        for up in [UpMode::Transposed, UpMode::Bilinear, UpMode::Nearest] {
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
