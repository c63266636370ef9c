//! Property tests: the expansion is total (never panics, always valid Rust) on arbitrary
//! invocations, and exact (the right parameter count) on arbitrary valid ones.

use std::panic::{catch_unwind, AssertUnwindSafe};

use proc_macro2::TokenStream;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError};

use super::compile_errors;
use crate::checks::KEYS;
use crate::expand;
use unet_vocab::geometry::{self, PaddingKind};

/// An invocation as a list of lexical pieces, joined with spaces to make the source.
type Pieces = Vec<String>;

fn ident() -> BoxedStrategy<String> {
    "[A-Za-z_][A-Za-z0-9_]{0,7}".boxed()
}

fn int_lit() -> BoxedStrategy<String> {
    prop_oneof![
        Just("0".to_string()),
        (1u64..=16).prop_map(|v| v.to_string()),
        (17u64..=2000).prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
            "1048576",
            "1048577",
            "0x10",
            "0b101",
            "0o17",
            "1_000",
            "64usize",
            "4u8",
            "4abc",
        ])
        .prop_map(str::to_string),
    ]
    .boxed()
}

fn float_lit() -> BoxedStrategy<String> {
    prop::sample::select(vec!["0.0", "1.5", "4.0", "1e3", "2.5e-3", "1f32", "1e400"])
        .prop_map(str::to_string)
        .boxed()
}

fn word() -> BoxedStrategy<String> {
    prop_oneof![
        prop::sample::select(vec![
            "transposed",
            "bilinear",
            "nearest",
            "bilinear_concat",
            "nearest_concat",
            "same",
            "valid",
            "bilinaer",
            "vaild",
            "true",
            "false",
            "batch",
            "group",
            "gate",
            "scse",
            "prelu",
            "leaky_relu",
            "struct",
            "self",
            "Self",
            "fn",
            "r#depth",
            "r#valid",
            "_",
        ])
        .prop_map(str::to_string),
        ident(),
    ]
    .boxed()
}

/// `open item, item, ... close`, sometimes with a trailing comma.
fn delimited(open: &str, close: &str, items: Vec<Pieces>, trailing: bool) -> Pieces {
    let mut out = vec![open.to_string()];
    let n = items.len();
    for (i, item) in items.into_iter().enumerate() {
        out.extend(item);
        if i + 1 < n || trailing {
            out.push(",".into());
        }
    }
    out.push(close.to_string());
    out
}

fn value() -> BoxedStrategy<Pieces> {
    let leaf = prop_oneof![
        3 => int_lit().prop_map(|s| vec![s]),
        1 => int_lit().prop_map(|s| vec!["-".into(), s]),
        1 => float_lit().prop_map(|s| vec![s]),
        1 => float_lit().prop_map(|s| vec!["-".into(), s]),
        3 => word().prop_map(|s| vec![s]),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), any::<bool>())
                .prop_map(|(items, t)| delimited("[", "]", items, t)),
            (prop::collection::vec(inner.clone(), 0..5), any::<bool>())
                .prop_map(|(items, t)| delimited("(", ")", items, t)),
            (
                word(),
                prop::collection::vec(inner.clone(), 0..3),
                any::<bool>()
            )
                .prop_map(|(name, items, t)| {
                    let mut call = vec![name];
                    call.extend(delimited("(", ")", items, t));
                    call
                }),
            (prop::collection::vec((key(), inner), 0..3), any::<bool>()).prop_map(
                |(entries, t)| {
                    let items = entries
                        .into_iter()
                        .map(|(k, v)| {
                            let mut e = vec![k, ":".to_string()];
                            e.extend(v);
                            e
                        })
                        .collect();
                    delimited("{", "}", items, t)
                }
            ),
        ]
    })
    .boxed()
}

fn key() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(KEYS.to_vec()).prop_map(str::to_string),
        1 => prop::sample::select(vec!["dpeth", "Depth", "r#depth", "bases", "clases", "struct"])
            .prop_map(str::to_string),
        1 => ident(),
    ]
    .boxed()
}

fn int_pieces(range: std::ops::RangeInclusive<u64>) -> BoxedStrategy<Pieces> {
    range.prop_map(|v| vec![v.to_string()]).boxed()
}

/// A known key with a value of the kind it takes (often in range, sometimes not), so that a
/// good share of invocations get past parsing into validation and emission.
fn plausible_entry() -> BoxedStrategy<(String, Pieces)> {
    let word = |names: Vec<&'static str>| {
        prop::sample::select(names)
            .prop_map(|w| vec![w.to_string()])
            .boxed()
    };
    let ints = |n: std::ops::Range<usize>| {
        prop::collection::vec(int_pieces(1..=64), n)
            .prop_map(|items| delimited("[", "]", items, false))
            .boxed()
    };
    let size = || {
        prop_oneof![
            (1u64..=32).prop_map(|k| vec![(k * 16).to_string()]),
            int_pieces(0..=600),
        ]
    };
    prop_oneof![
        3 => (Just("depth"), int_pieces(0..=9)),
        3 => (Just("base"), int_pieces(0..=64)),
        1 => (Just("growth"), int_pieces(0..=4)),
        1 => (Just("up"), word(vec!["transposed", "bilinear", "nearest", "bilinear_concat", "nearest_concat", "bilinaer"])),
        1 => (Just("padding"), word(vec!["same", "valid", "vaild"])),
        1 => (Just("in_channels"), int_pieces(0..=8)),
        1 => (Just("classes"), int_pieces(0..=8)),
        1 => (Just("channels"), ints(2..6)),
        1 => (Just("norm"), prop_oneof![
            word(vec!["none", "batch", "instance", "layer", "group", "bacth"]),
            int_pieces(0..=9).prop_map(|g| delimited("(", ")", vec![g], false)).prop_map(|mut p| { p.insert(0, "group".into()); p }),
        ]),
        1 => (Just("act"), word(vec!["relu", "leaky_relu", "gelu", "silu", "prelu", "rleu", "leaky_relu(0.2)", "leaky_relu(2)", "relu(1)"])),
        1 => (Just("dropout"), word(vec!["0.5", "1.0", "0", "{ bottleneck: 0.5, blocks: 0.1 }", "{ blocks: 1.5 }", "{ bottlenek: 0.5 }"])),
        1 => (Just("residual"), word(vec!["true", "false", "yes"])),
        1 => (Just("attention"), word(vec!["none", "gate", "scse", "gates"])),
        1 => (Just("deep_supervision"), int_pieces(0..=9)),
        1 => (Just("dims"), int_pieces(1..=4)),
        1 => (Just("pad_input"), word(vec!["true", "false"])),
        1 => (
            Just("input"),
            (size(), size()).prop_map(|(h, w)| delimited("(", ")", vec![h, w], false))
        ),
    ]
    .prop_map(|(k, v)| (k.to_string(), v))
    .boxed()
}

/// A weighted choice among fixed strings: `(weight, text)`.
fn one_of(choices: &[(u32, &'static str)]) -> BoxedStrategy<String> {
    prop::strategy::Union::new_weighted(
        choices
            .iter()
            .map(|&(w, text)| (w, Just(text.to_string()).boxed()))
            .collect(),
    )
    .boxed()
}

/// Splits `depth: 4, input: (64, 64)`-like text into the pieces [`mutate`] works on.
fn spaced(text: &str) -> Pieces {
    let mut out = String::new();
    for c in text.chars() {
        if "()[],:".contains(c) {
            out.extend([' ', c, ' ']);
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().map(str::to_string).collect()
}

fn invocation() -> BoxedStrategy<Pieces> {
    let attrs = prop::collection::vec(
        one_of(&[
            (3, "#[doc = \"A net.\"]"),
            (3, "/// Docs.\n"),
            (2, "#[derive(Clone)]"),
            (2, "#[allow(unused)]"),
            (2, "#[cfg(test)]"),
            (1, "#![inner]"),
            (1, "#[]"),
        ]),
        0..3,
    );
    let vis = one_of(&[
        (4, ""),
        (4, "pub"),
        (2, "pub(crate)"),
        (1, "pub(super)"),
        (1, "pub(in crate::a)"),
        (1, "crate"),
    ]);
    let name = prop_oneof![
        8 => one_of(&[(4, "CellNet"), (2, "Net"), (1, "N"), (1, "r#Foo"), (1, "r#struct"), (1, "Ñet"), (1, "_Net")]),
        1 => one_of(&[(1, "fn"), (1, "Self"), (1, "_"), (1, "r#_x")]),
        2 => ident(),
    ];
    let entry = prop_oneof![3 => plausible_entry(), 1 => (key(), value())].prop_map(|(k, v)| {
        let mut e = vec![k, ":".to_string()];
        e.extend(v);
        e
    });
    let entries = prop_oneof![
        2 => prop::collection::vec(entry, 0..12),
        1 => valid_config().prop_map(|(_, entries)| entries.iter().map(|e| spaced(e)).collect()),
    ];
    (
        attrs,
        vis,
        any::<bool>(),
        name,
        entries,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(attrs, vis, structure, name, entries, trailing, semicolon)| {
                let mut out = attrs;
                out.push(vis);
                if structure {
                    out.push("struct".into());
                }
                out.push(name);
                out.extend(delimited("<", ">", entries, trailing));
                if semicolon {
                    out.push(";".into());
                }
                out
            },
        )
        .boxed()
}

/// No mutation half the time, so valid invocations reach emission.
fn mutations() -> BoxedStrategy<Vec<Mutation>> {
    prop_oneof![Just(Vec::new()), prop::collection::vec(mutation(), 1..4),].boxed()
}

#[derive(Clone, Debug)]
enum Mutation {
    Drop(Index),
    Duplicate(Index),
    Swap(Index, Index),
    DeleteClose,
    Insert(Index, &'static str),
}

fn mutation() -> BoxedStrategy<Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Drop),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        Just(Mutation::DeleteClose),
        (
            any::<Index>(),
            prop::sample::select(vec![
                ",", ":", "::", "<", ">", ";", "#", "-", "=", "@", "..", "!", "&", "'a", "\"s\"",
                "'c'", "[]", "()", "{}"
            ])
        )
            .prop_map(|(i, p)| Mutation::Insert(i, p)),
    ]
    .boxed()
}

fn mutate(mut pieces: Pieces, mutations: &[Mutation]) -> Pieces {
    for m in mutations {
        let n = pieces.len();
        match m {
            Mutation::Drop(i) if n > 0 => {
                pieces.remove(i.index(n));
            }
            Mutation::Duplicate(i) if n > 0 => {
                let at = i.index(n);
                pieces.insert(at, pieces[at].clone());
            }
            Mutation::Swap(a, b) if n > 0 => pieces.swap(a.index(n), b.index(n)),
            Mutation::DeleteClose => {
                if let Some(at) = pieces.iter().rposition(|p| p == ">") {
                    pieces.remove(at);
                }
            }
            Mutation::Insert(i, p) => pieces.insert(i.index(n + 1), (*p).to_string()),
            _ => {}
        }
    }
    pieces
}

/// Expands `tokens`, turning a panic into a test failure that names the source.
fn expand_or_fail(src: &str, tokens: TokenStream) -> Result<TokenStream, TestCaseError> {
    catch_unwind(AssertUnwindSafe(|| expand(tokens)))
        .map_err(|_| TestCaseError::fail(format!("expand panicked on {src:?}")))
}

proptest! {
    #![proptest_config(Config { cases: 256, ..Config::default() })]

    #[test]
    fn expansion_never_panics_on_random_or_mutated_invocations(
        pieces in invocation(),
        mutations in mutations(),
    ) {
        let src = mutate(pieces, &mutations).join(" ");
        // Unbalanced delimiters never reach a macro: the compiler's lexer rejects them.
        let Ok(tokens) = src.parse::<TokenStream>() else { return Ok(()) };
        let out = expand_or_fail(&src, tokens.clone())?;
        let again = expand_or_fail(&src, tokens)?;
        let text = out.to_string();
        prop_assert_eq!(&text, &again.to_string(), "expansion is deterministic for {:?}", src);
        if let Err(e) = syn::parse2::<syn::File>(out.clone()) {
            return Err(TestCaseError::fail(format!("{src:?} expands to invalid Rust ({e}):\n{text}")));
        }
        let errors = compile_errors(&out);
        if errors.is_empty() {
            prop_assert!(!text.contains("compile_error"), "{:?}: {}", src, text);
            prop_assert!(text.contains("pub const PARAMS : usize ="), "{:?}: {}", src, text);
        } else {
            prop_assert!(text.starts_with(":: core :: compile_error !"), "errors come first: {}", text);
            prop_assert!(errors.iter().all(|e| !e.is_empty()), "{:?}", errors);
            // An error comes with the fallback stubs at most, never with a real network.
            prop_assert!(!text.contains("burn :: module :: Module"), "{:?}: {}", src, text);
        }
        if text.contains("mod __unet_") {
            prop_assert!(text.contains("use __unet_"), "the module is re-exported: {}", text);
        }
    }
}

/// A configuration the macro must accept.
#[derive(Clone, Debug)]
struct Valid {
    depth: usize,
    base: usize,
    growth: Option<usize>,
    up: Option<&'static str>,
    padding: Option<&'static str>,
    in_channels: Option<usize>,
    classes: Option<usize>,
    input: Option<[usize; 2]>,
    /// `none`, `batch`, `instance`, `layer` or `group(G)` (`G` divides `base`).
    norm: Option<String>,
    act: Option<&'static str>,
    residual: Option<bool>,
    attention: Option<&'static str>,
    deep_supervision: Option<usize>,
    dropout: Option<&'static str>,
    pad_input: Option<bool>,
    /// `dims: 3` where every other key allows it.
    dims: Option<usize>,
}

impl Valid {
    fn widths(&self) -> Vec<usize> {
        let g = self.growth.unwrap_or(2);
        (0..=self.depth)
            .map(|k| self.base * g.pow(k as u32))
            .collect()
    }

    /// The parameter count, written out here rather than taken from `plan`.
    fn params(&self) -> u128 {
        let c: Vec<u128> = self.widths().into_iter().map(|w| w as u128).collect();
        let d = self.depth;
        let normed = !matches!(self.norm.as_deref(), None | Some("none"));
        // A norm has a scale and a shift per channel and takes the conv's bias away.
        let volume = self.dims == Some(3);
        let k3: u128 = if volume { 27 } else { 9 };
        let conv3 = |i: u128, o: u128| k3 * i * o + if normed { 2 * o } else { o };
        let prelu = u128::from(self.act == Some("prelu"));
        let residual = self.residual == Some(true);
        let double = |i: u128, o: u128| {
            let project = if residual && i != o { i * o + o } else { 0 };
            conv3(i, o) + conv3(o, o) + 2 * prelu + project
        };
        let mode = self.up.unwrap_or("transposed");
        let concat = mode.ends_with("_concat");
        // Parameters of the up-sampling, and channels it hands to the concatenation.
        let up = |i: u128, o: u128| match mode {
            "transposed" => (if volume { 8 } else { 4 }) * i * o + o,
            "pixelshuffle" => 9 * i * 4 * o + 4 * o,
            _ if concat => 0,
            _ => i * o + o,
        };
        let conv1 = |i: u128, o: u128| i * o + o;
        // Attention gate on a skip of `x` channels driven by `g` channels; scSE on `c`.
        let extra = |g: u128, x: u128| match self.attention {
            Some("gate") => {
                let f = (x / 2).max(1);
                conv1(g, f) + conv1(x, f) + conv1(f, 1)
            }
            Some("scse") => {
                let r = (x / 16).max(1);
                conv1(x, r) + conv1(r, x) + conv1(x, 1)
            }
            _ => 0,
        };
        let up_width = |i: u128, o: u128| if concat { i } else { o };
        let in_ch = self.in_channels.unwrap_or(1) as u128;
        let classes = self.classes.unwrap_or(1) as u128;
        let mut total = 0;
        for k in 0..d {
            total += double(if k == 0 { in_ch } else { c[k - 1] }, c[k]);
        }
        total += double(c[d - 1], c[d]);
        for k in 0..d {
            let g = up_width(c[k + 1], c[k]);
            total += up(c[k + 1], c[k]) + double(g + c[k], c[k]) + extra(g, c[k]);
        }
        for width in c.iter().skip(1).take(self.deep_supervision.unwrap_or(0)) {
            total += conv1(*width, classes);
        }
        total + c[0] * classes + classes
    }

    fn padding_kind(&self) -> PaddingKind {
        match self.padding {
            Some("valid") => PaddingKind::Valid,
            _ => PaddingKind::Same,
        }
    }

    fn entries(&self) -> Pieces {
        let mut e = vec![
            format!("depth: {}", self.depth),
            format!("base: {}", self.base),
        ];
        e.extend(self.growth.map(|g| format!("growth: {g}")));
        e.extend(self.up.map(|u| format!("up: {u}")));
        e.extend(self.padding.map(|p| format!("padding: {p}")));
        e.extend(self.in_channels.map(|c| format!("in_channels: {c}")));
        e.extend(self.classes.map(|c| format!("classes: {c}")));
        e.extend(self.input.map(|[h, w]| format!("input: ({h}, {w})")));
        e.extend(self.norm.as_ref().map(|n| format!("norm: {n}")));
        e.extend(self.act.map(|a| format!("act: {a}")));
        e.extend(self.residual.map(|r| format!("residual: {r}")));
        e.extend(self.attention.map(|a| format!("attention: {a}")));
        e.extend(
            self.deep_supervision
                .map(|k| format!("deep_supervision: {k}")),
        );
        e.extend(self.dropout.map(|p| format!("dropout: {p}")));
        e.extend(self.pad_input.map(|p| format!("pad_input: {p}")));
        e.extend(self.dims.map(|d| format!("dims: {d}")));
        e
    }
}

/// An input size that fits: `k * 2^depth` for same padding, near `margin + k * 2^depth` for valid.
fn fitting(depth: usize, padding: PaddingKind, k: usize) -> usize {
    match padding {
        PaddingKind::Same => k << depth,
        PaddingKind::Valid => {
            let candidate = geometry::valid_margin(depth) + (k << depth);
            match geometry::output_size(depth, padding, candidate) {
                Ok(_) => candidate,
                Err(_) => geometry::nearest_valid(depth, padding, candidate).1,
            }
        }
    }
}

fn valid_config() -> BoxedStrategy<(Valid, Pieces)> {
    (
        1usize..=8,
        1usize..=64,
        prop::option::of(1usize..=3),
        prop::option::of(prop::sample::select(vec![
            "transposed",
            "bilinear",
            "nearest",
            "bilinear_concat",
            "nearest_concat",
            "pixelshuffle",
        ])),
        prop::option::of(prop::sample::select(vec!["same", "valid"])),
        prop::option::of(1usize..=8),
        prop::option::of(1usize..=8),
        prop::option::of((1usize..=16, 1usize..=16)),
        prop::option::of(2usize..=3),
        (
            prop::option::of(prop::sample::select(vec![
                "none", "batch", "instance", "layer", "group",
            ])),
            prop::option::of(prop::sample::select(vec![
                "relu",
                "leaky_relu",
                "leaky_relu(0.2)",
                "gelu",
                "silu",
                "prelu",
                "mish",
            ])),
            prop::option::of(any::<bool>()),
            prop::option::of(prop::sample::select(vec!["none", "gate", "scse"])),
            prop::option::of(0usize..=7),
            prop::option::of(prop::sample::select(vec![
                "0.5",
                "0",
                "{ bottleneck: 0.5, blocks: 0.1 }",
                "{ blocks: 0.2 }",
            ])),
            prop::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |(depth, base, growth, up, padding, in_channels, classes, input, dims, extras)| {
                let (norm, act, residual, attention, deep, dropout, pad_input) = extras;
                // `group(G)` with the largest G <= 4 dividing base, so it divides every width.
                let norm = norm.map(|n| match n {
                    "group" => format!(
                        "group({})",
                        (1..=4).rev().find(|g| base % g == 0).unwrap_or(1)
                    ),
                    other => other.to_string(),
                });
                // `pad_input` only with same padding; `deep_supervision` below depth.
                let pad_input = pad_input.filter(|p| !*p || padding != Some("valid"));
                let mut v = Valid {
                    depth,
                    base,
                    growth,
                    up,
                    padding,
                    in_channels,
                    classes,
                    input: None,
                    norm,
                    act,
                    residual,
                    attention,
                    deep_supervision: deep.map(|k| k % depth),
                    dropout,
                    pad_input,
                    dims: None,
                };
                // `dims: 3` only with the 3D up-sampling modes and no 2D-only key.
                let flat = matches!(
                    v.up,
                    None | Some("transposed" | "nearest" | "nearest_concat")
                ) && matches!(v.attention, None | Some("none"))
                    && v.deep_supervision.unwrap_or(0) == 0
                    && v.pad_input != Some(true);
                v.dims = dims.filter(|d| *d == 2 || flat);
                let pad = v.padding_kind();
                v.input = input.filter(|_| v.dims != Some(3)).map(|(h, w)| {
                    if v.pad_input == Some(true) {
                        [h * 7, w * 5] // any size fits
                    } else {
                        [fitting(depth, pad, h), fitting(depth, pad, w)]
                    }
                });
                v
            },
        )
        .prop_flat_map(|v| {
            let entries = v.entries();
            (Just(v), Just(entries).prop_shuffle())
        })
        .boxed()
}

proptest! {
    #![proptest_config(Config { cases: 128, ..Config::default() })]

    #[test]
    fn valid_configurations_expand_with_the_independent_parameter_count(
        (config, entries) in valid_config(),
    ) {
        let pad = config.padding_kind();
        let padded = config.pad_input == Some(true);
        for size in config.input.into_iter().flatten().filter(|_| !padded) {
            prop_assert!(geometry::output_size(config.depth, pad, size).is_ok(), "{} does not fit", size);
        }
        let src = format!("pub Net<{}>", entries.join(", "));
        let tokens: TokenStream = src.parse().expect("generated source lexes");
        let out = expand_or_fail(&src, tokens)?;
        let errors = compile_errors(&out);
        prop_assert!(errors.is_empty(), "{:?} was rejected: {:?}", src, errors);
        let text = out.to_string();
        prop_assert!(!text.contains("compile_error"));

        let params = format!("pub const PARAMS : usize = {}usize ;", config.params());
        prop_assert!(text.contains(&params), "{:?}: expected `{}`", src, params);
        let widths = config.widths().iter().map(|w| format!("{w}usize")).collect::<Vec<_>>();
        let channels = format!(
            "pub const CHANNELS : [usize ; {}usize] = [{}] ;",
            config.depth + 1,
            widths.join(" , ")
        );
        prop_assert!(text.contains(&channels), "{:?}: expected `{}`", src, channels);
        if let Some([h, w]) = config.input {
            let margin = match pad {
                PaddingKind::Same => 0,
                PaddingKind::Valid => geometry::valid_margin(config.depth),
            };
            let output = format!(
                "pub const OUTPUT : :: core :: option :: Option < [usize ; 2] > = :: core :: option :: Option :: Some ([{}usize , {}usize]) ;",
                h - margin,
                w - margin
            );
            prop_assert!(text.contains(&output), "{:?}: expected `{}`", src, output);
        }
    }
}
