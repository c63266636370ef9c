//! Checks: every key read into its slot, then every rule between keys, each mistake a
//! `syn::Error` at the span that caused it; all of an invocation's independent mistakes are
//! reported together. What passes becomes a [`Plan`].

mod attr;
mod rules;
mod values;

use proc_macro2::Span;
use unet_vocab::{ActKind, Attention, NormKind, PaddingKind, UpMode};

use crate::ast::Input;
use crate::plan::{Options, Plan, Shape};
use attr::{Attr, Errors, Given};

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

/// Most classes: masks hold one class index per byte, so more could not be trained on.
pub const MAX_CLASSES: usize = 256;

/// Every key's slot, read; a wrong value is `None` with its error recorded.
pub struct Keys<'a> {
    depth: Attr<'a, usize>,
    base: Attr<'a, usize>,
    growth: Attr<'a, usize>,
    channels: Attr<'a, (Vec<usize>, Span)>,
    in_channels: Attr<'a, usize>,
    classes: Attr<'a, usize>,
    up: Attr<'a, UpMode>,
    padding: Attr<'a, PaddingKind>,
    dims: Attr<'a, usize>,
    input: Attr<'a, Vec<(usize, Span)>>,
    norm: Attr<'a, (NormKind, Span)>,
    act: Attr<'a, ActKind>,
    dropout: Attr<'a, (f64, f64)>,
    residual: Attr<'a, bool>,
    attention: Attr<'a, Attention>,
    deep_supervision: Attr<'a, usize>,
    pad_input: Attr<'a, bool>,
}

impl<'a> Keys<'a> {
    /// Reads every key of `given` with its reader and default.
    fn read(given: &Given<'a>, name_span: Span, e: &Errors) -> Self {
        use values::*;
        let width = |key: &'static str, what: &'static str| {
            move |v| int_in(key, v, (1, MAX_WIDTH), what, e)
        };
        let dims = Attr::read(given, "dims", Some(2), |v| {
            int_in("dims", v, (2, 3), "spatial dimensions", e)
        });
        let d = dims.get().unwrap_or(2);
        Keys {
            depth: Attr::read(given, "depth", None, |v| {
                int_in(
                    "depth",
                    v,
                    (1, MAX_DEPTH),
                    "the number of 2x down-samplings",
                    e,
                )
            }),
            base: Attr::read(given, "base", None, width("base", "channels of level 0")),
            growth: Attr::read(
                given,
                "growth",
                Some(2),
                width("growth", "channel multiplier per level"),
            ),
            channels: Attr::read(given, "channels", None, |v| values::channels(v, e)),
            in_channels: Attr::read(
                given,
                "in_channels",
                Some(1),
                width("in_channels", "input channels"),
            ),
            classes: Attr::read(given, "classes", Some(1), |v| {
                int_in(
                    "classes",
                    v,
                    (1, MAX_CLASSES),
                    "output channels of the 1x1 head",
                    e,
                )
            }),
            up: Attr::read(given, "up", Some(UpMode::Transposed), |v| word("up", v, e)),
            padding: Attr::read(given, "padding", Some(PaddingKind::Same), |v| {
                word("padding", v, e)
            }),
            input: Attr::read(given, "input", None, |v| values::input(v, d, e)),
            norm: Attr::read(given, "norm", Some((NormKind::None, name_span)), |v| {
                values::norm(v, e)
            }),
            act: Attr::read(given, "act", Some(ActKind::Relu), |v| values::act(v, e)),
            dropout: Attr::read(given, "dropout", Some((0.0, 0.0)), |v| {
                values::dropout(v, e)
            }),
            residual: Attr::read(given, "residual", Some(false), |v| {
                boolean("residual", v, e)
            }),
            attention: Attr::read(given, "attention", Some(Attention::None), |v| {
                word("attention", v, e)
            }),
            deep_supervision: Attr::read(given, "deep_supervision", Some(0), |v| {
                let what = "extra heads on decoder levels 1..=k";
                int_in("deep_supervision", v, (0, MAX_DEPTH), what, e)
            }),
            pad_input: Attr::read(given, "pad_input", Some(false), |v| {
                boolean("pad_input", v, e)
            }),
            dims,
        }
    }

    /// The block options and decoder extras, when every one of them was read.
    fn options(&self) -> Option<Options> {
        let (dropout_bottleneck, dropout_blocks) = self.dropout.get()?;
        Some(Options {
            norm: self.norm.get()?.0,
            act: self.act.get()?,
            residual: self.residual.get()?,
            dropout_bottleneck,
            dropout_blocks,
            attention: self.attention.get()?,
            deep_supervision: self.deep_supervision.get()?,
            pad_input: self.pad_input.get()?,
            dims: self.dims.get()?,
        })
    }

    /// The configuration's numbers, when every key was read and `widths` derived.
    fn shape(&self, widths: Option<Vec<usize>>) -> Option<Shape> {
        Some(Shape {
            depth: self.depth.get()?,
            channels: widths?,
            in_channels: self.in_channels.get()?,
            classes: self.classes.get()?,
            up: self.up.get()?,
            padding: self.padding.get()?,
            input: self
                .input
                .value
                .as_ref()
                .map(|sizes| sizes.iter().map(|(s, _)| *s).collect()),
            options: self.options()?,
        })
    }
}

/// Checks an invocation and computes its plan.
pub fn check(input: &Input) -> Result<Plan, syn::Error> {
    let errors = Errors::default();
    let given = Given::collect(&input.entries, KEYS, &errors);
    let name_span = input.header.name.span();
    let keys = Keys::read(&given, name_span, &errors);
    let cx = rules::Cx {
        errors: &errors,
        given: &given,
        name_span,
    };
    let widths = rules::all(&keys, &cx);
    let (krate, attrs) = input.header.unet_attrs();
    if let Err(e) = &krate {
        errors.push(e.span(), e);
    }
    errors.finish()?;
    // Every `None` left pushed an error above, so this is unreachable in practice; stay total.
    let invalid = || syn::Error::new(input.list_span, "invalid U-Net configuration");
    let shape = keys.shape(widths).ok_or_else(invalid)?;
    Plan::new(&input.header, krate.map_err(|_| invalid())?, attrs, shape).ok_or_else(|| {
        syn::Error::new(
            input.list_span,
            "the parameter count of this configuration overflows `usize`",
        )
    })
}
