//! A torchsummary-like per-layer table, filled in by the `unet!` expansion.

use core::fmt;

pub use unet_vocab::layers::{Extent, LayerOutput};

/// One row of a [`Summary`]: a layer, its output and its trainable parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// Module path inside the network, e.g. `encoder.down1.conv`.
    pub name: &'static str,
    /// What the layer is, e.g. `2x (conv3x3 + ReLU)`.
    pub kind: &'static str,
    /// Output channels.
    pub channels: usize,
    /// The output's spatial extent along each axis, as a function of the input's side.
    pub extent: Extent,
    /// Trainable parameters of the layer.
    pub params: usize,
    /// The outputs of the row's modules, which torchsummary counts for memory (none for a
    /// functional step such as concat or crop).
    pub outputs: &'static [LayerOutput],
}

impl SummaryRow {
    /// A row (the generated tables are lists of these).
    pub const fn new(
        name: &'static str,
        kind: &'static str,
        channels: usize,
        extent: Extent,
        params: usize,
        outputs: &'static [LayerOutput],
    ) -> Self {
        Self {
            name,
            kind,
            channels,
            extent,
            params,
            outputs,
        }
    }
}

/// A network's layer table with symbolic sizes (`64 x (H-4) x (W-4)`); its `Display` ends
/// with the parameter total. With a declared `input` it shows that input's shapes and memory,
/// as [`Summary::for_input`] does for any input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The network's name.
    pub name: &'static str,
    /// One line describing the configuration.
    pub config: &'static str,
    /// Spatial dimensions: 2 for images, 3 for volumes.
    pub dims: usize,
    /// Input channels.
    pub in_channels: usize,
    /// The declared spatial input size, if any.
    pub input: Option<&'static [usize]>,
    /// `pad_input`'s multiple (`2^depth`): inputs are reflect-padded up to it.
    pub pad_to: Option<usize>,
    /// The layers, input to output.
    pub rows: &'static [SummaryRow],
}

impl Summary {
    /// Sum of the rows' parameters.
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
    }

    /// The table for an `[N, C, spatial...]` input. The sizes are exact for an input the
    /// network accepts; check the shape first (a network's `summary_for` does), since for
    /// one it rejects they are meaningless.
    pub fn for_input(&self, shape: &[usize]) -> ShapedSummary {
        let spatial: Vec<usize> = shape.iter().skip(2).copied().collect();
        let padded = spatial
            .iter()
            .map(|&s| match self.pad_to {
                Some(m) if m > 0 => s.div_ceil(m).saturating_mul(m),
                _ => s,
            })
            .collect();
        ShapedSummary {
            summary: *self,
            batch: shape.first().copied().unwrap_or(1),
            channels: shape.get(1).copied().unwrap_or(self.in_channels),
            spatial,
            padded,
        }
    }

    /// Axis names for symbolic sizes: `H'` for a side after `pad_input`'s padding.
    fn axes(&self) -> Vec<String> {
        let names = &["D", "H", "W"][3 - self.dims.min(3)..];
        let mark = if self.pad_to.is_some() { "'" } else { "" };
        names.iter().map(|a| format!("{a}{mark}")).collect()
    }
}

/// A layer table for one input: every row's output shape, and memory as torchsummary
/// estimates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapedSummary {
    summary: Summary,
    batch: usize,
    channels: usize,
    spatial: Vec<usize>,
    /// `spatial` after `pad_input`'s padding (the same without it).
    padded: Vec<usize>,
}

/// Memory of a forward and backward pass in MB (2^20 bytes, as torchsummary counts them), at
/// 4 bytes an element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Memory {
    /// The input batch.
    pub input_mb: f64,
    /// Every module's output, twice (the activation and its gradient).
    pub forward_backward_mb: f64,
    /// The trainable parameters.
    pub params_mb: f64,
}

impl Memory {
    /// Input, activations and parameters together.
    pub fn total_mb(&self) -> f64 {
        self.input_mb + self.forward_backward_mb + self.params_mb
    }
}

/// Bytes of `elements` f32 values in MB.
fn megabytes(elements: u128) -> f64 {
    elements as f64 * 4.0 / f64::from(1u32 << 20)
}

impl ShapedSummary {
    /// The symbolic table it was made from.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// The input shape, `[N, C, spatial...]`.
    pub fn input_shape(&self) -> Vec<usize> {
        [self.batch, self.channels]
            .into_iter()
            .chain(self.spatial.iter().copied())
            .collect()
    }

    /// `row`'s output shape for one sample: `[C, spatial...]`.
    pub fn output_shape(&self, row: &SummaryRow) -> Vec<usize> {
        self.shape_of(row.channels, row.extent)
    }

    /// The shape of a `channels`-channel map of extent `extent` for one sample.
    pub fn shape_of(&self, channels: usize, extent: Extent) -> Vec<usize> {
        let sides = self.padded.iter().zip(&self.spatial);
        std::iter::once(channels)
            .chain(sides.map(|(&p, &s)| extent.side(p, s)))
            .collect()
    }

    /// Every row's output shape for one sample, input to output.
    pub fn shapes(&self) -> Vec<Vec<usize>> {
        self.summary
            .rows
            .iter()
            .map(|r| self.output_shape(r))
            .collect()
    }

    /// Every module's output shape for one sample, input to output, with its row and
    /// layer: the list torchsummary prints.
    pub fn modules(&self) -> Vec<(&'static SummaryRow, &'static LayerOutput, Vec<usize>)> {
        let rows: &'static [SummaryRow] = self.summary.rows;
        rows.iter()
            .flat_map(|r| r.outputs.iter().map(move |l| (r, l)))
            .map(|(r, l)| (r, l, self.shape_of(l.channels, l.extent)))
            .collect()
    }

    /// Memory for the whole batch, by torchsummary's rules: the input, twice the sum of
    /// every module's output, and the parameters.
    pub fn memory(&self) -> Memory {
        let batch = self.batch as u128;
        let input = self
            .spatial
            .iter()
            .fold(self.channels as u128, |n, &s| n.saturating_mul(s as u128));
        let activations = self.summary.rows.iter().fold(0u128, |acc, r| {
            acc.saturating_add(unet_vocab::layers::elements(
                r.outputs,
                &self.padded,
                &self.spatial,
            ))
        });
        Memory {
            input_mb: megabytes(input.saturating_mul(batch)),
            forward_backward_mb: megabytes(activations.saturating_mul(2 * batch)),
            params_mb: megabytes(self.summary.total_params() as u128),
        }
    }
}

/// `31030593` -> `31,030,593`.
pub fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `64 x 572 x 572` from a `[C, spatial...]` shape.
fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(usize::to_string).collect();
    parts.join(" x ")
}

/// The table's lines: each row (name, type, output, params), and under a row of several
/// modules, each module's output indented below it.
fn lines(s: &Summary, output: impl Fn(usize, Extent) -> String) -> Vec<[String; 4]> {
    let mut lines = Vec::new();
    for row in s.rows {
        let params = group_thousands(row.params);
        let out = output(row.channels, row.extent);
        lines.push([row.name.to_string(), row.kind.to_string(), out, params]);
        if row.outputs.len() > 1 {
            for layer in row.outputs {
                let out = output(layer.channels, layer.extent);
                let name = format!("  {}", layer.name);
                lines.push([name, layer.kind.to_string(), out, String::new()]);
            }
        }
    }
    lines
}

/// The table under `name: config`, then the parameter total.
fn table(f: &mut fmt::Formatter<'_>, s: &Summary, lines: &[[String; 4]]) -> fmt::Result {
    let heading = ["Layer", "Type", "Output", "Params"];
    let w: Vec<usize> = (0..4)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].len())
                .chain([heading[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let width = w.iter().sum::<usize>() + 6;
    let line = |f: &mut fmt::Formatter<'_>, l: [&str; 4]| {
        let (a, b, c, d) = (w[0], w[1], w[2], w[3]);
        let text = format!("{:<a$}  {:<b$}  {:<c$}  {:>d$}", l[0], l[1], l[2], l[3]);
        writeln!(f, "{}", text.trim_end())
    };
    writeln!(f, "{}", "-".repeat(width))?;
    line(f, heading)?;
    writeln!(f, "{}", "=".repeat(width))?;
    for l in lines {
        line(f, [&l[0], &l[1], &l[2], &l[3]])?;
    }
    writeln!(f, "{}", "=".repeat(width))?;
    write!(f, "Total params: {}", group_thousands(s.total_params()))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(input) = self.input {
            let shape: Vec<usize> = [1, self.in_channels].iter().chain(input).copied().collect();
            return self.for_input(&shape).fmt(f);
        }
        let axes = self.axes();
        let lines = lines(self, |channels, extent| {
            let sides = axes.iter().map(|a| extent.symbol(a));
            let parts: Vec<String> = std::iter::once(channels.to_string()).chain(sides).collect();
            parts.join(" x ")
        });
        writeln!(f, "{}: {}", self.name, self.config)?;
        table(f, self, &lines)
    }
}

impl fmt::Display for ShapedSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.summary;
        let lines = lines(s, |channels, extent| {
            shape_text(&self.shape_of(channels, extent))
        });
        writeln!(f, "{}: {}", s.name, s.config)?;
        writeln!(f, "Input: {}", shape_text(&self.input_shape()))?;
        table(f, s, &lines)?;
        let m = self.memory();
        let rule = "-".repeat(48);
        writeln!(f, "\n{rule}")?;
        writeln!(f, "Input size (MB): {:.2}", m.input_mb)?;
        writeln!(
            f,
            "Forward/backward pass size (MB): {:.2}",
            m.forward_backward_mb
        )?;
        writeln!(f, "Params size (MB): {:.2}", m.params_mb)?;
        writeln!(f, "Estimated Total Size (MB): {:.2}", m.total_mb())?;
        write!(f, "{rule}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn map(offset: usize, level: usize) -> Extent {
        Extent::Map { offset, level }
    }

    static OUTPUTS: [LayerOutput; 2] = [
        LayerOutput {
            name: "conv1",
            kind: "Conv2d",
            channels: 8,
            extent: map(2, 0),
        },
        LayerOutput {
            name: "conv2",
            kind: "Conv2d",
            channels: 8,
            extent: map(4, 0),
        },
    ];

    static ROWS: [SummaryRow; 2] = [
        SummaryRow::new("a", "conv", 8, map(4, 0), 80, &OUTPUTS),
        SummaryRow::new("b", "pool", 8, map(4, 1), 1000, &[]),
    ];

    fn net(dims: usize, input: Option<&'static [usize]>) -> Summary {
        Summary {
            name: "Net",
            config: "test",
            dims,
            in_channels: 1,
            input,
            pad_to: None,
            rows: &ROWS,
        }
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(31_030_593), "31,030,593");
    }

    #[test]
    fn the_symbolic_table_shows_each_reduction_and_ends_with_the_total() {
        let text = net(2, None).to_string();
        assert!(text.ends_with("Total params: 1,080"), "{text}");
        assert!(text.contains("8 x H-4 x W-4"), "{text}");
        assert!(text.contains("  conv1  Conv2d  8 x H-2 x W-2"), "{text}");
        assert!(text.contains("8 x (H-4)/2 x (W-4)/2"), "{text}");
        let volume = net(3, None).to_string();
        assert!(
            volume.contains("8 x (D-4)/2 x (H-4)/2 x (W-4)/2"),
            "{volume}"
        );
    }

    #[test]
    fn an_input_gives_every_shape_and_torchsummarys_memory() {
        let shaped = net(2, None).for_input(&[2, 1, 12, 10]);
        assert_eq!(shaped.shapes(), [vec![8, 8, 6], vec![8, 4, 3]]);
        let m = shaped.memory();
        let mb = |elements: f64| elements * 4.0 / 1048576.0;
        assert_eq!(m.input_mb, mb(2.0 * 120.0));
        // conv1 8 x 10 x 8, conv2 8 x 8 x 6, for 2 samples, doubled for the gradients.
        assert_eq!(m.forward_backward_mb, mb(2.0 * 2.0 * (640.0 + 384.0)));
        assert_eq!(m.params_mb, mb(1080.0));
        let text = shaped.to_string();
        assert!(text.contains("Input: 2 x 1 x 12 x 10"), "{text}");
        assert!(text.contains("8 x 4 x 3"), "{text}");
        assert!(text.contains("Estimated Total Size (MB): "), "{text}");
    }

    #[test]
    fn a_declared_input_is_shown_with_its_shapes() {
        let text = net(2, Some(&[12, 12])).to_string();
        assert!(text.contains("8 x 8 x 8"), "{text}");
        assert!(text.contains("Input: 1 x 1 x 12 x 12"), "{text}");
    }

    #[test]
    fn pad_input_pads_before_the_first_layer_and_names_the_padded_sides() {
        static PADDED: [SummaryRow; 2] = [
            SummaryRow::new("pad", "pad", 1, map(0, 0), 0, &[]),
            SummaryRow::new("crop", "crop", 1, Extent::Input, 0, &[]),
        ];
        let s = Summary {
            pad_to: Some(16),
            rows: &PADDED,
            ..net(2, None)
        };
        assert_eq!(
            s.for_input(&[1, 1, 20, 33]).shapes(),
            [vec![1, 32, 48], vec![1, 20, 33]]
        );
        let text = s.to_string();
        assert!(
            text.contains("1 x H' x W'") && text.contains("1 x H x W"),
            "{text}"
        );
    }
}
