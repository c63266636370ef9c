//! The rules between keys, one function each, in the order their messages read best.

use proc_macro2::Span;
use unet_vocab::geometry::{self, SizeProblem};
use unet_vocab::{NormKind, PaddingKind, Word};

use super::attr::{Errors, Given};
use super::values::{axes, MAX_WIDTH};
use super::{Keys, MAX_DEPTH};

/// What every rule sees besides the keys.
pub struct Cx<'a> {
    pub errors: &'a Errors,
    pub given: &'a Given<'a>,
    /// Where errors about a missing key point: the network's name.
    pub name_span: Span,
}

/// Runs every rule; returns the level widths when they could be derived.
pub fn all(k: &Keys, cx: &Cx) -> Option<Vec<usize>> {
    depth_is_given(k, cx);
    deep_supervision_is_below_depth(k, cx);
    three_dimensional_keys_have_a_3d_form(k, cx);
    pad_input_needs_same_padding(k, cx);
    channels_exclude_base_and_growth(k, cx);
    let widths = widths(k, cx);
    if let Some(widths) = &widths {
        groups_divide_every_width(k, widths, cx);
    }
    declared_input_fits(k, cx);
    widths
}

/// `depth` is required (unless a misspelt key was taken for it: one mistake, one message).
fn depth_is_given(k: &Keys, cx: &Cx) {
    if !k.depth.given() && !cx.given.was_suggested("depth") {
        cx.errors.push(
            cx.name_span,
            format!(
                "missing required key `depth` (the number of 2x down-samplings, 1..={MAX_DEPTH})"
            ),
        );
    }
}

/// Heads sit on decoder levels 1..depth-1.
fn deep_supervision_is_below_depth(k: &Keys, cx: &Cx) {
    let (Some(heads), Some(d), Some(span)) = (
        k.deep_supervision.get(),
        k.depth.get(),
        k.deep_supervision.value_span(),
    ) else {
        return;
    };
    if heads >= d {
        cx.errors.push(
            span,
            format!(
                "`deep_supervision` must be less than depth {d}: decoder levels 1..={} can carry heads, found {heads}",
                d - 1
            ),
        );
    }
}

/// With `dims: 3`, each key without a 3D form is named at its own value, saying why.
fn three_dimensional_keys_have_a_3d_form(k: &Keys, cx: &Cx) {
    if k.dims.get() != Some(3) {
        return;
    }
    if let (Some(up), Some(span)) = (k.up.get(), k.up.value_span()) {
        if let Some(why) = up.unsupported(3) {
            cx.errors.push(
                span,
                format!("`up: {}` has no 3D form: {why}; with `dims: 3` use `transposed`, `bilinear`, `nearest`, `bilinear_concat` or `nearest_concat`", up.name()),
            );
        }
    }
}

/// A valid-padding output shrinks, so it cannot be cropped back to the input size.
fn pad_input_needs_same_padding(k: &Keys, cx: &Cx) {
    if let (Some(true), Some(PaddingKind::Valid)) = (k.pad_input.get(), k.padding.get()) {
        if let (Some(p), Some(v)) = (k.pad_input.value_span(), k.padding.value_span()) {
            cx.errors.push(
                p,
                "`pad_input: true` cannot be combined with `padding: valid`: valid convolutions shrink the output, so it cannot be cropped back to the input size",
            );
            cx.errors.push(v, "`padding: valid` given here");
        }
    }
}

/// `channels` gives every width; `base` (or `channels`) is required.
fn channels_exclude_base_and_growth(k: &Keys, cx: &Cx) {
    if let Some(ch) = k.channels.key_span() {
        for (other, attr) in [("base", &k.base), ("growth", &k.growth)] {
            if let Some(span) = attr.key_span() {
                cx.errors.push(
                    span,
                    format!(
                        "`{other}` cannot be combined with `channels`, which gives every width"
                    ),
                );
                cx.errors.push(ch, "`channels` given here");
            }
        }
    } else if !k.base.given()
        && !cx.given.was_suggested("base")
        && !cx.given.was_suggested("channels")
    {
        cx.errors.push(cx.name_span, "missing required key `base` (channels of level 0), or give every width with `channels: [c0, ..., c_depth]`");
    }
}

/// The `depth + 1` widths: the list as given, or `base * growth^k`.
fn widths(k: &Keys, cx: &Cx) -> Option<Vec<usize>> {
    let d = k.depth.get()?;
    if let Some((widths, span)) = &k.channels.value {
        if widths.len() == d + 1 {
            return Some(widths.clone());
        }
        cx.errors.push(
            *span,
            format!(
                "`channels` needs depth + 1 = {} widths (c0..c{d}, one per level and the bottleneck), found {}",
                d + 1,
                widths.len()
            ),
        );
        return None;
    }
    if k.channels.given() {
        return None;
    }
    let (b, g) = (k.base.get()?, k.growth.get()?);
    let widths: Option<Vec<usize>> = (0..=d as u32)
        .map(|level| {
            g.checked_pow(level)?
                .checked_mul(b)
                .filter(|w| *w <= MAX_WIDTH)
        })
        .collect();
    if widths.is_none() {
        let span = k
            .growth
            .value_span()
            .or(k.base.value_span())
            .unwrap_or(cx.name_span);
        cx.errors.push(
            span,
            format!(
                "channel widths exceed {MAX_WIDTH} at depth {d}: base * growth^depth is too large"
            ),
        );
    }
    widths
}

/// `group(G)` must divide every level's width.
fn groups_divide_every_width(k: &Keys, widths: &[usize], cx: &Cx) {
    let Some((NormKind::Group(g), g_span)) = k.norm.get() else {
        return;
    };
    if let Some((level, width)) = widths.iter().enumerate().find(|(_, w)| *w % g != 0) {
        let name = if level + 1 == widths.len() {
            format!("the bottleneck (level {level})")
        } else {
            format!("level {level}")
        };
        cx.errors.push(
            g_span,
            format!(
                "`group({g})` must divide every level's width, but {name} has {width} channels; widths: {widths:?}"
            ),
        );
    }
}

/// A declared input must fit the depth and padding along every axis (one message per size).
fn declared_input_fits(k: &Keys, cx: &Cx) {
    let (Some(d), Some(pad), Some(sizes), Some(false)) = (
        k.depth.get(),
        k.padding.get(),
        &k.input.value,
        k.pad_input.get(),
    ) else {
        return;
    };
    let names = axes(k.dims.get().unwrap_or(2));
    for (i, (axis, (size, span))) in names.iter().zip(sizes.iter()).enumerate() {
        if sizes[..i].iter().any(|(earlier, _)| earlier == size) {
            continue; // one mistake, one message
        }
        if let Err(problem) = geometry::output_size(d, pad, *size) {
            cx.errors
                .push(*span, input_message(axis, *size, d, pad, &problem));
        }
    }
}

fn nearest_text(below: Option<usize>, above: usize) -> String {
    match below {
        Some(b) => format!("nearest valid sizes: {b} and {above}"),
        None => format!("the smallest valid size is {above}"),
    }
}

/// The message for an input size that does not fit, naming level, size and nearest valid sizes.
fn input_message(
    axis: &str,
    size: usize,
    depth: usize,
    padding: PaddingKind,
    problem: &SizeProblem,
) -> String {
    let (below, above) = geometry::nearest_valid(depth, padding, size);
    let nearest = nearest_text(below, above);
    match problem {
        SizeProblem::TooSmall { minimum } => format!(
            "input {axis} {size} is too small for depth {depth}: the bottleneck would be empty; the smallest valid size is {minimum}"
        ),
        SizeProblem::NotMultiple { multiple } => format!(
            "input {axis} {size} is not divisible by 2^{depth} = {multiple}; {nearest}"
        ),
        SizeProblem::OddAtLevel { level, size: odd } if below.is_some() => format!(
            "with `padding: valid`, input {axis} {size} leaves odd size {odd} at level {level} before its 2x2 max-pool; {nearest}"
        ),
        SizeProblem::OddAtLevel { level, size: odd } => format!(
            "input {axis} {size} is too small for depth {depth} with `padding: valid`: level {level} would have odd size {odd}; {nearest}"
        ),
        SizeProblem::NonPositiveAtLevel { level, size: bad, decoder } => {
            let stage = if *decoder { "decoder level" } else { "level" };
            if below.is_none() {
                format!(
                    "input {axis} {size} is too small for depth {depth} with `padding: valid`: {stage} {level} would have size {bad}; {nearest}"
                )
            } else {
                format!(
                    "with `padding: valid`, input {axis} {size} leaves non-positive size {bad} at {stage} {level}; {nearest}"
                )
            }
        }
    }
}
