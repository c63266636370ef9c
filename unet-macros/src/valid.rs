//! Checking: every configuration mistake becomes a `syn::Error` at the span that caused it.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::LitInt;

use crate::ast::{Entry, Input, Value};
use crate::geometry::{self, PaddingKind, SizeProblem};
use crate::plan::{self, Act, Attention, Norm, Options, Plan, Shape, Up};
use crate::suggest::{closest, did_you_mean};

/// Every key the grammar knows, in the README's order.
pub const KEYS: &[&str] = &[
    "depth",
    "base",
    "up",
    "in_channels",
    "classes",
    "padding",
    "growth",
    "channels",
    "input",
    "norm",
    "act",
    "dropout",
    "residual",
    "attention",
    "deep_supervision",
    "dims",
    "pad_input",
];

/// Largest depth: 2^8 = 256x down-sampling.
pub const MAX_DEPTH: usize = 8;

/// Largest width of any level; far beyond any real U-Net, small enough to keep counts sane.
pub const MAX_WIDTH: usize = 1 << 20;

/// Largest declared input size along an axis.
pub const MAX_INPUT: usize = 1 << 20;

/// Collects errors so one invocation reports all of its independent mistakes at once.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        let e = syn::Error::new(span, message);
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn finish(self) -> Result<(), syn::Error> {
        self.0.map_or(Ok(()), Err)
    }
}

fn int_value(lit: &LitInt, key: &str, errors: &mut Errors) -> Option<i128> {
    // Signed: syn reads `-1` as one literal, whose digits keep the `-`.
    match lit.base10_parse::<i128>() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.push(lit.span(), format!("`{key}` value is not a valid integer"));
            None
        }
    }
}

/// An integer in `min..=max`, or an error naming the key, the range and what was found.
fn int_in(
    key: &str,
    value: &Value,
    min: usize,
    max: usize,
    what: &str,
    errors: &mut Errors,
) -> Option<usize> {
    let Value::Int { lit, span } = value else {
        errors.push(
            value.span(),
            format!(
                "`{key}` expects an integer ({what}), found {}",
                value.kind()
            ),
        );
        return None;
    };
    let v = int_value(lit, key, errors)?;
    if v < min as i128 || v > max as i128 {
        let range = if max < MAX_WIDTH {
            format!("between {min} and {max}")
        } else if v < min as i128 {
            format!("at least {min}")
        } else {
            format!("at most {max}")
        };
        errors.push(
            *span,
            format!("`{key}` must be {range} ({what}), found {v}"),
        );
        return None;
    }
    Some(v as usize)
}

/// One of `names`, with "did you mean" for near misses.
fn word_in<'a>(
    key: &str,
    value: &Value,
    names: &[&'a str],
    errors: &mut Errors,
) -> Option<&'a str> {
    let expected = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let Value::Word(word) = value else {
        errors.push(
            value.span(),
            format!("`{key}` expects one of {expected}, found {}", value.kind()),
        );
        return None;
    };
    let text = word.to_string();
    if let Some(found) = names.iter().find(|n| **n == text) {
        return Some(found);
    }
    errors.push(
        word.span(),
        format!(
            "unknown `{key}` value `{text}`{} (expected one of {expected})",
            did_you_mean(&text, names)
        ),
    );
    None
}

/// A number (integer or float literal) as `f64`.
fn number(key: &str, value: &Value, what: &str, errors: &mut Errors) -> Option<(f64, Span)> {
    let parsed = match value {
        Value::Float(f) => f.base10_parse::<f64>().map_err(|_| f.span()),
        Value::Int { lit, .. } => lit.base10_parse::<f64>().map_err(|_| lit.span()),
        other => {
            errors.push(
                other.span(),
                format!("`{key}` expects a number ({what}), found {}", other.kind()),
            );
            return None;
        }
    };
    match parsed {
        Ok(v) if v.is_finite() => Some((v, value.span())),
        _ => {
            errors.push(value.span(), format!("`{key}` value is not a valid number"));
            None
        }
    }
}

/// A dropout probability in `[0, 1)`.
fn probability(key: &str, value: &Value, errors: &mut Errors) -> Option<f64> {
    let (p, span) = number(key, value, "a probability in [0, 1)", errors)?;
    if !(0.0..1.0).contains(&p) {
        errors.push(
            span,
            format!("`{key}` must be a probability in [0, 1), found {p}"),
        );
        return None;
    }
    Some(p)
}

/// `dropout: p` (on the bottleneck) or `dropout: { bottleneck: p, blocks: q }`:
/// `(bottleneck, blocks)`. With only `blocks`, the bottleneck gets `blocks` too.
fn dropout_value(value: &Value, errors: &mut Errors) -> Option<(f64, f64)> {
    let Value::Map { entries, .. } = value else {
        if matches!(value, Value::Float(_) | Value::Int { .. }) {
            return probability("dropout", value, errors).map(|p| (p, 0.0));
        }
        errors.push(
            value.span(),
            format!(
                "`dropout` expects a probability or `{{ bottleneck: p, blocks: q }}`, found {}",
                value.kind()
            ),
        );
        return None;
    };
    const PARTS: &[&str] = &["bottleneck", "blocks"];
    let (mut bottleneck, mut blocks) = (None, None);
    let mut ok = true;
    for entry in entries {
        let key = entry.key.to_string();
        let slot = match key.as_str() {
            "bottleneck" => &mut bottleneck,
            "blocks" => &mut blocks,
            _ => {
                errors.push(
                    entry.key.span(),
                    format!(
                        "unknown `dropout` part `{key}`{} (expected `bottleneck` or `blocks`)",
                        did_you_mean(&key, PARTS)
                    ),
                );
                ok = false;
                continue;
            }
        };
        if slot.is_some() {
            errors.push(
                entry.key.span(),
                format!("duplicate `dropout` part `{key}`"),
            );
            ok = false;
            continue;
        }
        let name = format!("dropout.{key}");
        match probability(&name, &entry.value, errors) {
            Some(p) => *slot = Some(p),
            None => ok = false,
        }
    }
    ok.then(|| {
        let blocks = blocks.unwrap_or(0.0);
        (bottleneck.unwrap_or(blocks), blocks)
    })
}

/// A `name(...)` that `key` does not take: a known word given arguments, or an unknown one.
fn call_error(
    key: &str,
    name: &syn::Ident,
    known: bool,
    names: &[&str],
    expected: &str,
    errors: &mut Errors,
) {
    let message = if known {
        format!("`{name}` takes no arguments: write `{key}: {name}`")
    } else {
        let text = name.to_string();
        format!(
            "unknown `{key}` value `{text}`{} (expected one of {expected})",
            did_you_mean(&text, names)
        )
    };
    errors.push(name.span(), message);
}

/// What `norm` accepts, as the messages list it.
const NORM_FORMS: &str = "`none`, `batch`, `instance`, `group(G)`, `layer`";

/// `none`, `batch`, `instance`, `group(G)` or `layer`, and the span of `G`.
fn norm_value(value: &Value, errors: &mut Errors) -> Option<(Norm, Span)> {
    let simple = |name: &str| match name {
        "none" => Some(Norm::None),
        "batch" => Some(Norm::Batch),
        "instance" => Some(Norm::Instance),
        "layer" => Some(Norm::Layer),
        _ => None,
    };
    match value {
        Value::Word(w) if w == "group" => {
            errors.push(
                w.span(),
                "`group` needs a group count, as in `norm: group(8)`",
            );
            None
        }
        Value::Call { name, args, span } if name == "group" => {
            let [g] = args.as_slice() else {
                errors.push(
                    *span,
                    format!(
                        "`group(G)` takes one group count, found {} values",
                        args.len()
                    ),
                );
                return None;
            };
            let groups = int_in(
                "norm",
                g,
                1,
                MAX_WIDTH,
                "the group count of `group(G)`",
                errors,
            )?;
            Some((Norm::Group(groups), g.span()))
        }
        Value::Call { name, .. } => {
            let known = simple(&name.to_string()).is_some();
            call_error("norm", name, known, Norm::NAMES, NORM_FORMS, errors);
            None
        }
        Value::Word(w) => {
            let found = simple(&w.to_string());
            if found.is_none() {
                call_error("norm", w, false, Norm::NAMES, NORM_FORMS, errors);
            }
            found.map(|n| (n, w.span()))
        }
        other => {
            errors.push(
                other.span(),
                format!("`norm` expects one of {NORM_FORMS}, found {}", other.kind()),
            );
            None
        }
    }
}

/// `relu`, `leaky_relu` / `leaky_relu(slope)`, `gelu`, `silu` or `prelu`.
fn act_value(value: &Value, errors: &mut Errors) -> Option<Act> {
    let simple = |name: &str| match name {
        "relu" => Some(Act::Relu),
        "leaky_relu" => Some(Act::LeakyRelu(0.01)),
        "gelu" => Some(Act::Gelu),
        "silu" => Some(Act::Silu),
        "prelu" => Some(Act::PRelu),
        _ => None,
    };
    match value {
        Value::Call { name, args, span } if name == "leaky_relu" => {
            let [slope] = args.as_slice() else {
                errors.push(
                    *span,
                    format!(
                        "`leaky_relu(slope)` takes one slope, found {} values",
                        args.len()
                    ),
                );
                return None;
            };
            let (v, at) = number("act", slope, "the negative slope of `leaky_relu`", errors)?;
            if !(0.0..1.0).contains(&v) {
                errors.push(
                    at,
                    format!("the slope of `leaky_relu` must be in [0, 1), found {v}"),
                );
                return None;
            }
            Some(Act::LeakyRelu(v))
        }
        Value::Call { name, .. } => {
            let known = simple(&name.to_string()).is_some();
            let expected = "`relu`, `leaky_relu(slope)`, `gelu`, `silu`, `prelu`";
            call_error("act", name, known, Act::NAMES, expected, errors);
            None
        }
        other => word_in("act", other, Act::NAMES, errors).and_then(simple),
    }
}

/// `true` or `false`.
fn bool_value(key: &str, value: &Value, errors: &mut Errors) -> Option<bool> {
    word_in(key, value, &["true", "false"], errors).map(|w| w == "true")
}

fn channels_list(value: &Value, errors: &mut Errors) -> Option<(Vec<usize>, Span)> {
    let Value::List { items, span } = value else {
        errors.push(
            value.span(),
            format!(
                "`channels` expects a list `[c0, c1, ...]`, found {}",
                value.kind()
            ),
        );
        return None;
    };
    let widths: Vec<Option<usize>> = items
        .iter()
        .map(|v| int_in("channels", v, 1, MAX_WIDTH, "a level's width", errors))
        .collect();
    widths
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(|w| (w, *span))
}

/// The spatial axes of a `dims`-dimensional input.
fn axes(dims: usize) -> &'static [&'static str] {
    if dims == 3 {
        &["depth", "height", "width"]
    } else {
        &["height", "width"]
    }
}

/// `(height, width)`, or `(depth, height, width)` with `dims: 3`: each size and its span.
fn input_tuple(value: &Value, dims: usize, errors: &mut Errors) -> Option<Vec<(usize, Span)>> {
    let names = axes(dims);
    let form = format!("({})", names.join(", "));
    let Value::Tuple { items, .. } = value else {
        errors.push(
            value.span(),
            format!("`input` expects `{form}`, found {}", value.kind()),
        );
        return None;
    };
    if items.len() != names.len() {
        let hint = match (dims, items.len()) {
            (2, 3) => " (a volume `(depth, height, width)` needs `dims: 3`)",
            (3, _) => " with `dims: 3`",
            _ => "",
        };
        errors.push(
            value.span(),
            format!(
                "`input` expects `{form}`{hint}, found {} value{}",
                items.len(),
                if items.len() == 1 { "" } else { "s" }
            ),
        );
        return None;
    }
    let sizes: Vec<Option<(usize, Span)>> = names
        .iter()
        .zip(items)
        .map(|(axis, item)| {
            int_in(
                "input",
                item,
                1,
                MAX_INPUT,
                &format!("the input {axis}"),
                errors,
            )
            .map(|v| (v, item.span()))
        })
        .collect();
    sizes.into_iter().collect()
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

/// Checks an invocation and computes its plan.
pub fn check(input: &Input) -> Result<Plan, syn::Error> {
    let mut errors = Errors::default();
    let mut given: HashMap<String, &Entry> = HashMap::new();
    // Keys suggested for a misspelling: their "missing" error would repeat the same mistake.
    let mut suggested = Vec::new();
    let key_list = KEYS
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    for entry in &input.entries {
        let key = entry.key.to_string();
        if !KEYS.contains(&key.as_str()) {
            suggested.extend(closest(&key, KEYS));
            errors.push(
                entry.key.span(),
                format!(
                    "unknown key `{key}`{} (expected one of {key_list})",
                    did_you_mean(&key, KEYS)
                ),
            );
        } else if let Some(first) = given.get(&key) {
            errors.push(
                entry.key.span(),
                format!("duplicate key `{key}`: each key may be given once"),
            );
            errors.push(first.key.span(), format!("`{key}` first given here"));
        } else {
            given.insert(key, entry);
        }
    }
    let get = |k: &str| given.get(k).copied();
    let name_span = input.header.name.span();

    let depth = match get("depth") {
        Some(e) => int_in(
            "depth",
            &e.value,
            1,
            MAX_DEPTH,
            "the number of 2x down-samplings",
            &mut errors,
        ),
        None => {
            if !suggested.contains(&"depth") {
                errors.push(
                    name_span,
                    "missing required key `depth` (the number of 2x down-samplings, 1..=8)",
                );
            }
            None
        }
    };
    let base = get("base").and_then(|e| {
        int_in(
            "base",
            &e.value,
            1,
            MAX_WIDTH,
            "channels of level 0",
            &mut errors,
        )
    });
    let growth = get("growth").map_or(Some(2), |e| {
        int_in(
            "growth",
            &e.value,
            1,
            MAX_WIDTH,
            "channel multiplier per level",
            &mut errors,
        )
    });
    let list = get("channels").and_then(|e| channels_list(&e.value, &mut errors));
    let in_channels = get("in_channels").map_or(Some(1), |e| {
        int_in(
            "in_channels",
            &e.value,
            1,
            MAX_WIDTH,
            "input channels",
            &mut errors,
        )
    });
    let classes = get("classes").map_or(Some(1), |e| {
        int_in(
            "classes",
            &e.value,
            1,
            MAX_WIDTH,
            "output channels of the 1x1 head",
            &mut errors,
        )
    });
    let up = get("up").map_or(Some(Up::Transposed), |e| {
        word_in("up", &e.value, Up::NAMES, &mut errors).and_then(Up::from_name)
    });
    let padding = get("padding").map_or(Some(PaddingKind::Same), |e| {
        word_in("padding", &e.value, plan::PADDING_NAMES, &mut errors)
            .and_then(plan::padding_from_name)
    });
    let dims = get("dims").map_or(Some(2), |e| {
        int_in("dims", &e.value, 2, 3, "spatial dimensions", &mut errors)
    });
    let input_size =
        get("input").and_then(|e| input_tuple(&e.value, dims.unwrap_or(2), &mut errors));
    let norm = get("norm").map_or(Some((Norm::None, name_span)), |e| {
        norm_value(&e.value, &mut errors)
    });
    let act = get("act").map_or(Some(Act::Relu), |e| act_value(&e.value, &mut errors));
    let dropout = get("dropout").map_or(Some((0.0, 0.0)), |e| dropout_value(&e.value, &mut errors));
    let residual = get("residual").map_or(Some(false), |e| {
        bool_value("residual", &e.value, &mut errors)
    });
    let attention = get("attention").map_or(Some(Attention::None), |e| {
        word_in("attention", &e.value, Attention::NAMES, &mut errors).and_then(Attention::from_name)
    });
    let pad_input = get("pad_input").map_or(Some(false), |e| {
        bool_value("pad_input", &e.value, &mut errors)
    });
    let deep_supervision = get("deep_supervision").map_or(Some(0), |e| {
        let k = int_in(
            "deep_supervision",
            &e.value,
            0,
            MAX_DEPTH,
            "extra heads on decoder levels 1..=k",
            &mut errors,
        )?;
        match depth {
            Some(d) if k >= d => {
                errors.push(
                    e.value.span(),
                    format!(
                        "`deep_supervision` must be less than depth {d}: decoder levels 1..={} can carry heads, found {k}",
                        d - 1
                    ),
                );
                None
            }
            _ => Some(k),
        }
    });
    if dims == Some(3) {
        // What the 3D blocks do not have (yet): each is named at its own key.
        let up_3d = ["transposed", "nearest", "nearest_concat"];
        if let (Some(e), Some(u)) = (get("up"), up) {
            if !up_3d.contains(&u.name()) {
                errors.push(
                    e.value.span(),
                    format!("`up: {}` is 2D only; with `dims: 3` use `transposed`, `nearest` or `nearest_concat`", u.name()),
                );
            }
        }
        for (key, unsupported) in [
            ("attention", attention.is_some_and(|a| a != Attention::None)),
            ("deep_supervision", deep_supervision.is_some_and(|k| k > 0)),
            ("pad_input", pad_input == Some(true)),
        ] {
            if let (Some(e), true) = (get(key), unsupported) {
                errors.push(
                    e.value.span(),
                    format!("`{key}` is 2D only: it cannot be combined with `dims: 3`"),
                );
            }
        }
    }
    if let (Some(true), Some(PaddingKind::Valid)) = (pad_input, padding) {
        if let (Some(p), Some(v)) = (get("pad_input"), get("padding")) {
            errors.push(
                p.value.span(),
                "`pad_input: true` cannot be combined with `padding: valid`: valid convolutions shrink the output, so it cannot be cropped back to the input size",
            );
            errors.push(v.value.span(), "`padding: valid` given here");
        }
    }

    if let Some(ch) = get("channels") {
        for other in ["base", "growth"] {
            if let Some(e) = get(other) {
                errors.push(
                    e.key.span(),
                    format!(
                        "`{other}` cannot be combined with `channels`, which gives every width"
                    ),
                );
                errors.push(ch.key.span(), "`channels` given here");
            }
        }
    } else if get("base").is_none()
        && !suggested.contains(&"base")
        && !suggested.contains(&"channels")
    {
        errors.push(name_span, "missing required key `base` (channels of level 0), or give every width with `channels: [c0, ..., c_depth]`");
    }

    let channels = match (depth, &list) {
        (Some(d), Some((widths, span))) => {
            if widths.len() == d + 1 {
                Some(widths.clone())
            } else {
                errors.push(
                    *span,
                    format!(
                        "`channels` needs depth + 1 = {} widths (c0..c{d}, one per level and the bottleneck), found {}",
                        d + 1,
                        widths.len()
                    ),
                );
                None
            }
        }
        (Some(d), None) if get("channels").is_none() => base.zip(growth).and_then(|(b, g)| {
            let widths: Option<Vec<usize>> = (0..=d as u32).map(|k| g.checked_pow(k)?.checked_mul(b).filter(|w| *w <= MAX_WIDTH)).collect();
            if widths.is_none() {
                let span = get("growth").or(get("base")).map_or(name_span, |e| e.value.span());
                errors.push(span, format!("channel widths exceed {MAX_WIDTH} at depth {d}: base * growth^depth is too large"));
            }
            widths
        }),
        _ => None,
    };

    if let (Some((Norm::Group(g), g_span)), Some(widths)) = (norm, &channels) {
        if let Some((level, width)) = widths.iter().enumerate().find(|(_, w)| *w % g != 0) {
            let name = if level + 1 == widths.len() {
                format!("the bottleneck (level {level})")
            } else {
                format!("level {level}")
            };
            errors.push(
                g_span,
                format!(
                    "`group({g})` must divide every level's width, but {name} has {width} channels; widths: {widths:?}"
                ),
            );
        }
    }

    if let (Some(d), Some(pad), Some(sizes), Some(false)) = (depth, padding, &input_size, pad_input)
    {
        let names = axes(dims.unwrap_or(2));
        for (i, (axis, (size, span))) in names.iter().zip(sizes.iter()).enumerate() {
            if sizes[..i].iter().any(|(earlier, _)| earlier == size) {
                continue; // one mistake, one message
            }
            if let Err(problem) = geometry::output_size(d, pad, *size) {
                errors.push(*span, input_message(axis, *size, d, pad, &problem));
            }
        }
    }

    errors.finish()?;
    let options = match (
        norm,
        act,
        dropout,
        residual,
        attention,
        deep_supervision,
        pad_input,
    ) {
        (
            Some((norm, _)),
            Some(act),
            Some((dropout_bottleneck, dropout_blocks)),
            Some(residual),
            Some(attention),
            Some(deep_supervision),
            Some(pad_input),
        ) => Some(Options {
            norm,
            act,
            residual,
            dropout_bottleneck,
            dropout_blocks,
            attention,
            deep_supervision,
            pad_input,
            dims: dims.unwrap_or(2),
        }),
        _ => None,
    };
    let (
        Some(depth),
        Some(channels),
        Some(in_channels),
        Some(classes),
        Some(up),
        Some(padding),
        Some(options),
    ) = (depth, channels, in_channels, classes, up, padding, options)
    else {
        // Every `None` above pushed an error, so this is unreachable in practice; stay total.
        return Err(syn::Error::new(
            input.list_span,
            "invalid U-Net configuration",
        ));
    };
    let shape = Shape {
        depth,
        channels,
        in_channels,
        classes,
        up,
        padding,
        input: input_size
            .as_ref()
            .filter(|sizes| sizes.len() == 2)
            .map(|s| [s[0].0, s[1].0]),
        volume: input_size
            .as_ref()
            .filter(|sizes| sizes.len() == 3)
            .map(|s| [s[0].0, s[1].0, s[2].0]),
        options,
    };
    let Some((rows, params)) = plan::layers(&shape) else {
        return Err(syn::Error::new(
            input.list_span,
            "the parameter count of this configuration overflows `usize`",
        ));
    };
    Ok(Plan {
        attrs: input.header.attrs.clone(),
        vis: input.header.vis.clone(),
        name: input.header.name.clone(),
        depth: shape.depth,
        channels: shape.channels,
        in_channels: shape.in_channels,
        classes: shape.classes,
        up: shape.up,
        padding: shape.padding,
        input: shape.input,
        volume: shape.volume,
        options: shape.options,
        rows,
        params,
    })
}
