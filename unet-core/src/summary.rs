//! A torchsummary-like per-layer table, filled in by the `unet!` expansion.

use core::fmt;

/// One row of a [`Summary`]: a layer, its output and its trainable parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SummaryRow {
    /// Module path inside the network, e.g. `encoder.down1.conv`.
    pub name: &'static str,
    /// What the layer is, e.g. `2x (conv3x3 + ReLU)`.
    pub kind: &'static str,
    /// Output channels.
    pub channels: usize,
    /// Resolution level of the output (the spatial factor is `1 / 2^level`).
    pub level: usize,
    /// Output size (`[height, width]`, or `[depth, height, width]`), when the network
    /// declares its `input` size.
    pub size: Option<&'static [usize]>,
    /// Trainable parameters of the layer.
    pub params: usize,
}

impl SummaryRow {
    /// A row with no declared size (the generated tables are lists of these).
    pub const fn new(
        name: &'static str,
        kind: &'static str,
        channels: usize,
        level: usize,
        params: usize,
    ) -> Self {
        Self {
            name,
            kind,
            channels,
            level,
            size: None,
            params,
        }
    }

    /// The same row with its output size for the declared input.
    pub const fn at(self, size: &'static [usize]) -> Self {
        Self {
            size: Some(size),
            ..self
        }
    }
}

/// A network's layer table; its `Display` ends with the parameter total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The network's name.
    pub name: &'static str,
    /// One line describing the configuration.
    pub config: &'static str,
    /// Spatial dimensions: 2 for images, 3 for volumes.
    pub dims: usize,
    /// The layers, input to output.
    pub rows: &'static [SummaryRow],
}

impl Summary {
    /// Sum of the rows' parameters.
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
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

/// `64 x 572 x 572`, or `64 x H/2 x W/2` (`D/2 x H/2 x W/2` for a volume) without a size.
fn output_text(row: &SummaryRow, dims: usize) -> String {
    let axes: Vec<String> = match row.size {
        Some(size) => size.iter().map(usize::to_string).collect(),
        None => {
            let names = &["D", "H", "W"][3 - dims.min(3)..];
            names
                .iter()
                .map(|a| match row.level {
                    0 => a.to_string(),
                    level => format!("{a}/{}", 1usize << level),
                })
                .collect()
        }
    };
    format!("{} x {}", row.channels, axes.join(" x "))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outputs: Vec<String> = self
            .rows
            .iter()
            .map(|r| output_text(r, self.dims))
            .collect();
        let params: Vec<String> = self
            .rows
            .iter()
            .map(|r| group_thousands(r.params))
            .collect();
        let name_w = self
            .rows
            .iter()
            .map(|r| r.name.len())
            .max()
            .unwrap_or(0)
            .max(5);
        let kind_w = self
            .rows
            .iter()
            .map(|r| r.kind.len())
            .max()
            .unwrap_or(0)
            .max(4);
        let out_w = outputs.iter().map(String::len).max().unwrap_or(0).max(6);
        let par_w = params.iter().map(String::len).max().unwrap_or(0).max(6);
        let width = name_w + kind_w + out_w + par_w + 6;
        writeln!(f, "{}: {}", self.name, self.config)?;
        writeln!(f, "{}", "-".repeat(width))?;
        writeln!(
            f,
            "{:<name_w$}  {:<kind_w$}  {:<out_w$}  {:>par_w$}",
            "Layer", "Type", "Output", "Params"
        )?;
        writeln!(f, "{}", "=".repeat(width))?;
        for ((row, out), par) in self.rows.iter().zip(&outputs).zip(&params) {
            writeln!(
                f,
                "{:<name_w$}  {:<kind_w$}  {:<out_w$}  {:>par_w$}",
                row.name, row.kind, out, par
            )?;
        }
        writeln!(f, "{}", "=".repeat(width))?;
        write!(f, "Total params: {}", group_thousands(self.total_params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(31_030_593), "31,030,593");
    }

    #[test]
    fn display_ends_with_total() {
        static ROWS: [SummaryRow; 2] = [
            SummaryRow {
                name: "a",
                kind: "conv",
                channels: 8,
                level: 0,
                size: None,
                params: 80,
            },
            SummaryRow {
                name: "b",
                kind: "conv",
                channels: 8,
                level: 2,
                size: Some(&[4, 4]),
                params: 1000,
            },
        ];
        let s = Summary {
            name: "Net",
            config: "test",
            dims: 2,
            rows: &ROWS,
        };
        let text = s.to_string();
        assert!(text.ends_with("Total params: 1,080"), "{text}");
        assert!(text.contains("8 x 4 x 4"), "{text}");
        assert!(text.contains("8 x H x W"), "{text}");
    }

    #[test]
    fn a_volume_without_a_size_names_three_axes_per_level() {
        static ROWS: [SummaryRow; 1] = [SummaryRow {
            name: "pool",
            kind: "MaxPool 2x2x2",
            channels: 4,
            level: 1,
            size: None,
            params: 0,
        }];
        let s = Summary {
            name: "Net",
            config: "test",
            dims: 3,
            rows: &ROWS,
        };
        assert!(s.to_string().contains("4 x D/2 x H/2 x W/2"), "{s}");
    }
}
