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
}

impl Up {
    /// In declaration order, so `NAMES[up as usize]` is `up`'s name.
    pub const NAMES: &'static [&'static str] = &[
        "transposed",
        "bilinear",
        "nearest",
        "bilinear_concat",
        "nearest_concat",
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "transposed" => Some(Up::Transposed),
            "bilinear" => Some(Up::Bilinear),
            "nearest" => Some(Up::Nearest),
            "bilinear_concat" => Some(Up::BilinearConcat),
            "nearest_concat" => Some(Up::NearestConcat),
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
    fn params(self, cin: usize, cout: usize) -> Option<usize> {
        let k: usize = match self {
            Up::Transposed => 4,
            Up::Bilinear | Up::Nearest => 1,
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

/// One line of the generated `summary()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub kind: &'static str,
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

fn double_conv(cin: usize, cout: usize) -> Option<usize> {
    let first = 9usize
        .checked_mul(cin)?
        .checked_mul(cout)?
        .checked_add(cout)?;
    let second = 9usize
        .checked_mul(cout)?
        .checked_mul(cout)?
        .checked_add(cout)?;
    first.checked_add(second)
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
    } = *shape;
    let traces = input.map(|[h, w]| (trace(depth, padding, h), trace(depth, padding, w)));
    let size = |f: &dyn Fn(&Trace) -> usize| traces.as_ref().map(|(h, w)| [f(h), f(w)]);
    let mut rows = Vec::new();
    for k in 0..depth {
        let cin = if k == 0 { in_channels } else { channels[k - 1] };
        rows.push(Row {
            name: format!("encoder.down{}.conv", k + 1),
            kind: "DoubleConv (2x Conv 3x3 + ReLU)",
            channels: channels[k],
            level: k,
            size: size(&|t| t.enc[k]),
            params: double_conv(cin, channels[k])?,
        });
        rows.push(Row {
            name: format!("encoder.down{}.pool", k + 1),
            kind: "MaxPool 2x2",
            channels: channels[k],
            level: k + 1,
            size: size(&|t| t.enc[k] / 2),
            params: 0,
        });
    }
    rows.push(Row {
        name: "encoder.bottleneck".into(),
        kind: "DoubleConv (2x Conv 3x3 + ReLU)",
        channels: channels[depth],
        level: depth,
        size: size(&|t| t.bottom),
        params: double_conv(channels[depth - 1], channels[depth])?,
    });
    for i in 1..=depth {
        let level = depth - i;
        let (deep, out) = (channels[level + 1], channels[level]);
        let up_channels = up.channels(deep, out);
        let merged = up_channels.checked_add(out)?;
        rows.push(Row {
            name: format!("decoder.up{i}.up"),
            kind: up.kind(),
            channels: up_channels,
            level,
            size: size(&|t| t.up[level]),
            params: up.params(deep, out)?,
        });
        rows.push(Row {
            name: format!("decoder.up{i}.concat"),
            kind: "Concat [up, skip]",
            channels: merged,
            level,
            size: size(&|t| t.up[level]),
            params: 0,
        });
        rows.push(Row {
            name: format!("decoder.up{i}.conv"),
            kind: "DoubleConv (2x Conv 3x3 + ReLU)",
            channels: out,
            level,
            size: size(&|t| t.dec[level]),
            params: double_conv(merged, out)?,
        });
    }
    rows.push(Row {
        name: "decoder.out".into(),
        kind: "Conv 1x1 (logits)",
        channels: classes,
        level: 0,
        size: size(&|t| t.dec[0]),
        params: channels[0].checked_mul(classes)?.checked_add(classes)?,
    });
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
            "U-Net depth {}, channels {:?}, up {}, padding {}, in_channels {}, classes {}",
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
