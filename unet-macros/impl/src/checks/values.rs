//! Readers of one key's value: each accepts what its key takes, or records an error at the
//! span that caused it and returns `None`.

use proc_macro2::Span;
use syn::LitInt;
use unet_vocab::{ActKind, NormKind, Word};

use super::attr::Errors;
use crate::ast::Value;
use crate::suggest::{did_you_mean, listed};

/// Largest width of any level; far beyond any real U-Net, small enough to keep counts sane.
pub const MAX_WIDTH: usize = 1 << 20;

/// Largest declared input size along an axis.
pub const MAX_INPUT: usize = 1 << 20;

fn int_value(lit: &LitInt, key: &str, errors: &Errors) -> Option<i128> {
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
pub fn int_in(
    key: &str,
    value: &Value,
    (min, max): (usize, usize),
    what: &str,
    errors: &Errors,
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
pub fn word_in<'a>(
    key: &str,
    value: &Value,
    names: &[&'a str],
    errors: &Errors,
) -> Option<&'a str> {
    let expected = listed(names);
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

/// A vocabulary word (`up: nearest`, `attention: gate`, `padding: valid`).
pub fn word<W: Word>(key: &str, value: &Value, errors: &Errors) -> Option<W> {
    word_in(key, value, W::NAMES, errors).and_then(W::from_name)
}

/// A number (integer or float literal) as `f64`.
pub fn number(key: &str, value: &Value, what: &str, errors: &Errors) -> Option<(f64, Span)> {
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
fn probability(key: &str, value: &Value, errors: &Errors) -> Option<f64> {
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
pub fn dropout(value: &Value, errors: &Errors) -> Option<(f64, f64)> {
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
        match probability(&format!("dropout.{key}"), &entry.value, errors) {
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
fn call_error<W: Word>(key: &str, name: &syn::Ident, forms: &str, errors: &Errors) {
    let text = name.to_string();
    let message = if W::from_name(&text).is_some() {
        format!("`{name}` takes no arguments: write `{key}: {name}`")
    } else {
        format!(
            "unknown `{key}` value `{text}`{} (expected one of {forms})",
            did_you_mean(&text, W::NAMES)
        )
    };
    errors.push(name.span(), message);
}

/// The one argument of `name(arg)`, or an error saying how many it takes.
fn one_arg<'v>(
    form: &str,
    what: &str,
    args: &'v [Value],
    span: Span,
    errors: &Errors,
) -> Option<&'v Value> {
    match args {
        [arg] => Some(arg),
        _ => {
            errors.push(
                span,
                format!("`{form}` takes one {what}, found {} values", args.len()),
            );
            None
        }
    }
}

/// `none`, `batch`, `instance`, `group(G)` or `layer`, and the span of `G`.
pub fn norm(value: &Value, errors: &Errors) -> Option<(NormKind, Span)> {
    match value {
        Value::Word(w) if w == "group" => {
            errors.push(
                w.span(),
                "`group` needs a group count, as in `norm: group(8)`",
            );
            None
        }
        Value::Call { name, args, span } if name == "group" => {
            let g = one_arg("group(G)", "group count", args, *span, errors)?;
            let what = "the group count of `group(G)`";
            let groups = int_in("norm", g, (1, MAX_WIDTH), what, errors)?;
            Some((NormKind::Group(groups), g.span()))
        }
        Value::Call { name, .. } => {
            call_error::<NormKind>("norm", name, NormKind::FORMS, errors);
            None
        }
        Value::Word(w) => {
            let found = NormKind::from_name(&w.to_string());
            if found.is_none() {
                call_error::<NormKind>("norm", w, NormKind::FORMS, errors);
            }
            found.map(|n| (n, w.span()))
        }
        other => {
            let forms = NormKind::FORMS;
            errors.push(
                other.span(),
                format!("`norm` expects one of {forms}, found {}", other.kind()),
            );
            None
        }
    }
}

/// `relu`, `leaky_relu` / `leaky_relu(slope)`, `gelu`, `silu` or `prelu`.
pub fn act(value: &Value, errors: &Errors) -> Option<ActKind> {
    match value {
        Value::Call { name, args, span } if name == "leaky_relu" => {
            let slope = one_arg("leaky_relu(slope)", "slope", args, *span, errors)?;
            let what = "the negative slope of `leaky_relu`";
            let (v, at) = number("act", slope, what, errors)?;
            if !(0.0..1.0).contains(&v) {
                errors.push(
                    at,
                    format!("the slope of `leaky_relu` must be in [0, 1), found {v}"),
                );
                return None;
            }
            Some(ActKind::LeakyRelu(v))
        }
        Value::Call { name, .. } => {
            call_error::<ActKind>("act", name, ActKind::FORMS, errors);
            None
        }
        other => word("act", other, errors),
    }
}

/// `true` or `false`.
pub fn boolean(key: &str, value: &Value, errors: &Errors) -> Option<bool> {
    word_in(key, value, &["true", "false"], errors).map(|w| w == "true")
}

/// `[c0, c1, ...]`: every width and the list's span.
pub fn channels(value: &Value, errors: &Errors) -> Option<(Vec<usize>, Span)> {
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
        .map(|v| int_in("channels", v, (1, MAX_WIDTH), "a level's width", errors))
        .collect();
    widths
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .map(|w| (w, *span))
}

/// The spatial axes of a `dims`-dimensional input.
pub fn axes(dims: usize) -> &'static [&'static str] {
    if dims == 3 {
        &["depth", "height", "width"]
    } else {
        &["height", "width"]
    }
}

/// `(height, width)`, or `(depth, height, width)` with `dims: 3`: each size and its span.
pub fn input(value: &Value, dims: usize, errors: &Errors) -> Option<Vec<(usize, Span)>> {
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
            let what = format!("the input {axis}");
            int_in("input", item, (1, MAX_INPUT), &what, errors).map(|v| (v, item.span()))
        })
        .collect();
    sizes.into_iter().collect()
}
