//! Emission: the typed structs, their constructors and forwards, consts and summary.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use syn::ext::IdentExt;

use crate::ast;
use crate::fallback;
use crate::geometry::{self, PaddingKind};
use crate::plan::{Act, Attention, Norm, Options, Plan, Up};
use crate::valid;

/// The whole macro as a function on tokens: parse, check, emit; errors come back as
/// `compile_error!`s at their spans, followed by fallback items. Never panics.
pub fn expand(tokens: TokenStream) -> TokenStream {
    match ast::parse(tokens) {
        Err((error, header)) => fallback::emit(error, header.as_ref()),
        Ok(input) => match valid::check(&input) {
            Ok(plan) if plan.options.dims == 3 => crate::volume::emit(&plan),
            Ok(plan) => emit(&plan),
            Err(error) => fallback::emit(error, Some(&input.header)),
        },
    }
}

/// The names every invocation declares, and the hidden module that holds them.
pub struct Names {
    pub net: Ident,
    pub encoder: Ident,
    pub skips: Ident,
    pub decoder: Ident,
    pub outputs: Ident,
    pub module: Ident,
}

impl Names {
    pub fn new(net: &Ident) -> Self {
        let span = net.span();
        // `r#Net` may name the network, but `r#NetEncoder` is no identifier: derive from `Net`.
        let net_text = net.unraw();
        Names {
            net: net.clone(),
            encoder: Ident::new(&format!("{net_text}Encoder"), span),
            skips: Ident::new(&format!("{net_text}Skips"), span),
            decoder: Ident::new(&format!("{net_text}Decoder"), span),
            outputs: Ident::new(&format!("{net_text}Outputs"), span),
            module: Ident::new(&format!("__unet_{net_text}"), span),
        }
    }
}

/// `::unet::L0` inside `k` layers of `::unet::Down<..>`.
pub fn level_ty(k: usize) -> TokenStream {
    (0..k).fold(quote!(::unet::L0), |inner, _| quote!(::unet::Down<#inner>))
}

pub fn padding_tokens(padding: PaddingKind) -> TokenStream {
    match padding {
        PaddingKind::Same => quote!(::unet::PaddingKind::Same),
        PaddingKind::Valid => quote!(::unet::PaddingKind::Valid),
    }
}

fn up_tokens(up: Up) -> TokenStream {
    match up {
        Up::Transposed => quote!(::unet::blocks::UpMode::Transposed),
        Up::Bilinear => quote!(::unet::blocks::UpMode::Bilinear),
        Up::Nearest => quote!(::unet::blocks::UpMode::Nearest),
        Up::BilinearConcat => quote!(::unet::blocks::UpMode::BilinearConcat),
        Up::NearestConcat => quote!(::unet::blocks::UpMode::NearestConcat),
        Up::PixelShuffle => quote!(::unet::blocks::UpMode::PixelShuffle),
    }
}

/// A `::unet::blocks::BlockOptions` literal with the given dropout.
pub fn options_tokens(padding: &TokenStream, o: &Options, dropout: f64) -> TokenStream {
    let norm = match o.norm {
        Norm::None => quote!(::unet::blocks::NormKind::None),
        Norm::Batch => quote!(::unet::blocks::NormKind::Batch),
        Norm::Instance => quote!(::unet::blocks::NormKind::Instance),
        Norm::Group(g) => quote!(::unet::blocks::NormKind::Group(#g)),
        Norm::Layer => quote!(::unet::blocks::NormKind::Layer),
    };
    let act = match o.act {
        Act::Relu => quote!(::unet::blocks::ActKind::Relu),
        Act::LeakyRelu(slope) => quote!(::unet::blocks::ActKind::LeakyRelu(#slope)),
        Act::Gelu => quote!(::unet::blocks::ActKind::Gelu),
        Act::Silu => quote!(::unet::blocks::ActKind::Silu),
        Act::PRelu => quote!(::unet::blocks::ActKind::PRelu),
    };
    let residual = o.residual;
    quote! {
        ::unet::blocks::BlockOptions { padding: #padding, norm: #norm, act: #act, residual: #residual, dropout: #dropout }
    }
}

fn attention_tokens(attention: Attention) -> TokenStream {
    match attention {
        Attention::None => quote!(::unet::blocks::Attention::None),
        Attention::Gate => quote!(::unet::blocks::Attention::Gate),
        Attention::Scse => quote!(::unet::blocks::Attention::Scse),
    }
}

/// `Some([a, b, ...])` or `None`, for sizes of any rank.
pub fn option_sizes<const N: usize>(sizes: Option<[usize; N]>) -> TokenStream {
    match sizes {
        Some(s) => quote!(::core::option::Option::Some([#(#s),*])),
        None => quote!(::core::option::Option::None),
    }
}

/// The generated `summary()`: the plan's layer table as a const.
pub fn summary_fn(plan: &Plan) -> TokenStream {
    let name_str = plan.name.unraw().to_string();
    let config = plan.config_line();
    let rows = plan.rows.iter().map(|r| {
        let (name, kind, channels, level, params) = (&r.name, &r.kind, r.channels, r.level, r.params);
        let size = option_sizes(r.size);
        quote! {
            ::unet::SummaryRow { name: #name, kind: #kind, channels: #channels, level: #level, size: #size, params: #params }
        }
    });
    let n_rows = plan.rows.len();
    quote! {
        /// A per-layer table (name, type, output, params) ending with the parameter total.
        pub fn summary() -> ::unet::Summary {
            const ROWS: [::unet::SummaryRow; #n_rows] = [#(#rows),*];
            ::unet::Summary { name: #name_str, config: #config, rows: &ROWS }
        }
    }
}

/// One line for listings (`unet models`): the configuration in the words of the keys.
pub fn describe(plan: &Plan) -> String {
    let up = Up::NAMES[plan.up as usize];
    let padding = match plan.padding {
        PaddingKind::Same => "same",
        PaddingKind::Valid => "valid",
    };
    let mut text = format!(
        "depth {}, base {}, {up}, {padding} padding, {} in, {} class{}",
        plan.depth,
        plan.channels[0],
        plan.in_channels,
        plan.classes,
        if plan.classes == 1 { "" } else { "es" }
    );
    if plan.options.norm != crate::plan::Norm::None {
        text.push_str(&format!(", {:?} norm", plan.options.norm).to_lowercase());
    }
    if plan.options.dims == 3 {
        text.push_str(", 3D");
    }
    text
}

fn emit(plan: &Plan) -> TokenStream {
    let Names {
        net,
        encoder,
        skips,
        decoder,
        outputs,
        module,
    } = Names::new(&plan.name);
    let vis = &plan.vis;
    let attrs = &plan.attrs;
    let description = describe(plan);
    let depth = plan.depth;
    let ch = &plan.channels;
    let in_ch = plan.in_channels;
    let classes = plan.classes;
    let params = plan.params;
    let c0 = ch[0];
    let cd = ch[depth];
    let padding = padding_tokens(plan.padding);
    let up_mode = up_tokens(plan.up);
    let bottom_ty = level_ty(depth);
    let l0 = level_ty(0);
    let o = &plan.options;
    let block_options = options_tokens(&padding, o, o.dropout_blocks);
    let bottleneck_options = options_tokens(&padding, o, o.dropout_bottleneck);
    let attention = attention_tokens(o.attention);
    let pad_input = o.pad_input;
    let multiple = 1usize << depth;

    // Deep supervision: heads `aux{j}` on decoder levels 1..=k, returned in `NameOutputs`.
    let k = o.deep_supervision;
    let aux_fields: Vec<Ident> = (1..=k).map(|j| format_ident!("aux{}", j)).collect();
    let aux_head_tys = (1..=k).map(|j| {
        let c = ch[j];
        quote!(::unet::blocks::Head<B, #c, #classes>)
    });
    let aux_feature_tys: Vec<TokenStream> = (1..=k)
        .map(|j| {
            let l = level_ty(j);
            quote!(::unet::Feature<B, #classes, #l>)
        })
        .collect();
    let aux_docs = (1..=k).map(|j| {
        format!(
            "Deep-supervision logits of decoder level {j} (1/{} resolution).",
            1usize << j
        )
    });
    let aux_head_docs = (1..=k).map(|j| format!("1x1 deep-supervision head on decoder level {j}."));
    let main_ty = quote!(::unet::Feature<B, #classes, #l0>);
    let out_ty = if k == 0 {
        main_ty.clone()
    } else {
        quote!(#outputs<B>)
    };

    // Encoder: down1..downD (DoubleConv then pool), then the bottleneck.
    let downs: Vec<Ident> = (1..=depth).map(|k| format_ident!("down{}", k)).collect();
    let skip_fields: Vec<Ident> = (0..depth).map(|k| format_ident!("level{}", k)).collect();
    let down_tys = (0..depth).map(|k| {
        let cin = if k == 0 { in_ch } else { ch[k - 1] };
        let cout = ch[k];
        quote!(::unet::blocks::DownBlock<B, #cin, #cout>)
    });
    let skip_tys = (0..depth).map(|k| {
        let c = ch[k];
        let l = level_ty(k);
        quote!(::unet::Feature<B, #c, #l>)
    });
    let skip_docs = (0..depth).map(|k| {
        format!(
            "Skip of level {k}: {} channels at 1/{} resolution.",
            ch[k],
            1usize << k
        )
    });
    let cb = ch[depth - 1];

    // Decoder: up1 is the deepest level; then the 1x1 head.
    let ups: Vec<Ident> = (1..=depth).map(|i| format_ident!("up{}", i)).collect();
    let up_tys = (1..=depth).map(|i| {
        let level = depth - i;
        let (deep, out) = (ch[level + 1], ch[level]);
        let up = plan.up.channels(deep, out);
        quote!(::unet::blocks::UpBlock<B, #deep, #up, #out, #out>)
    });
    let decoder_steps = (1..=depth).map(|i| {
        let level = depth - i;
        let (up, skip) = (&ups[i - 1], &skip_fields[level]);
        let aux = (1..=k).contains(&level).then(|| {
            let field = &aux_fields[level - 1];
            quote!(let #field = self.#field.forward(x.clone());)
        });
        quote! {
            let x = self.#up.forward(x, skips.#skip);
            #aux
        }
    });
    let decoder_result = if k == 0 {
        quote!(self.out.forward(x))
    } else {
        quote!(#outputs { out: self.out.forward(x), #(#aux_fields),* })
    };
    // `pad_input`: pad to a multiple of 2^depth, run, crop every output back.
    let run_typed = if !pad_input {
        quote! {
            let (bottom, skips) = self.encoder.forward(x);
            self.decoder.forward(bottom, skips)
        }
    } else {
        let crop = if k == 0 {
            quote!(y.cropped(at, h, w))
        } else {
            let crops = (1..=k).map(|j| {
                let field = &aux_fields[j - 1];
                quote!(#field: y.#field.cropped([at[0] >> #j, at[1] >> #j], h.div_ceil(1 << #j), w.div_ceil(1 << #j)))
            });
            quote!(#outputs { out: y.out.cropped(at, h, w), #(#crops),* })
        };
        quote! {
            let [_, _, h, w] = x.dims();
            let (x, at) = x.padded_to_multiple(#multiple);
            let (bottom, skips) = self.encoder.forward(x);
            let y = self.decoder.forward(bottom, skips);
            #crop
        }
    };
    let main_of = if k == 0 { quote!(y) } else { quote!(y.out) };
    let outputs_item = (k > 0).then(|| {
        let doc = format!(
            "Every output of [`{net}`]: the main logits and {k} deep-supervision head{}.",
            if k == 1 { "" } else { "s" }
        );
        quote! {
            #[doc = #doc]
            #[derive(Debug, Clone)]
            pub struct #outputs<B: burn::tensor::backend::Backend> {
                /// The main logits, at the input's resolution.
                pub out: #main_ty,
                #(
                    #[doc = #aux_docs]
                    pub #aux_fields: #aux_feature_tys,
                )*
            }
        }
    });
    let outputs_export = (k > 0).then(|| quote!(, #outputs));
    let forward_deep = (k > 0).then(|| {
        quote! {
            fn forward_deep(&self, x: burn::tensor::Tensor<B, 4>) -> ::core::result::Result<(burn::tensor::Tensor<B, 4>, ::std::vec::Vec<burn::tensor::Tensor<B, 4>>), ::unet::ShapeError> {
                Self::check_input(x.dims())?;
                let y = self.forward_typed(::unet::Feature::try_new(x)?);
                Ok((y.out.into_tensor(), ::std::vec![#(y.#aux_fields.into_tensor()),*]))
            }
        }
    });

    let channels_len = depth + 1;
    let output = plan.input.map(|[h, w]| {
        // With `pad_input` the output is cropped back to the input's size.
        let out = |s| match plan.options.pad_input {
            true => s,
            false => geometry::output_size(depth, plan.padding, s).unwrap_or(0),
        };
        [out(h), out(w)]
    });
    let input_tokens = option_sizes(plan.input);
    let output_tokens = option_sizes(output);
    let margin = match plan.padding {
        PaddingKind::Same => 0,
        PaddingKind::Valid => geometry::valid_margin(depth),
    };
    let name_str = net.unraw().to_string();
    let config = plan.config_line();
    let summary = summary_fn(plan);
    let doc_encoder = format!("Contracting path of [`{net}`]: {depth} levels of DoubleConv + max-pool, then the bottleneck.");
    let doc_skips =
        format!("The encoder's skip connections of [`{net}`], one typed field per level.");
    let doc_decoder =
        format!("Expanding path of [`{net}`]: {depth} up-sampling levels, then the 1x1 head.");
    let default_doc = format!("A U-Net generated by `unet!`: {config}.");
    let has_doc = plan.attrs.iter().any(|a| a.path().is_ident("doc"));
    let net_doc = (!has_doc).then(|| quote!(#[doc = #default_doc]));

    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, clippy::all)]
        mod #module {
            use ::unet::burn;

            #(#attrs)*
            #net_doc
            #[derive(burn::module::Module, Debug)]
            pub struct #net<B: burn::tensor::backend::Backend> {
                /// The contracting path.
                pub encoder: #encoder<B>,
                /// The expanding path and head.
                pub decoder: #decoder<B>,
            }

            #[doc = #doc_encoder]
            #[derive(burn::module::Module, Debug)]
            pub struct #encoder<B: burn::tensor::backend::Backend> {
                #(
                    #[doc = "An encoder level: DoubleConv, then 2x2 max-pool."]
                    pub #downs: #down_tys,
                )*
                /// The deepest level's DoubleConv.
                pub bottleneck: ::unet::blocks::DoubleConv<B, #cb, #cd>,
            }

            #[doc = #doc_skips]
            #[derive(Debug, Clone)]
            pub struct #skips<B: burn::tensor::backend::Backend> {
                #(
                    #[doc = #skip_docs]
                    pub #skip_fields: #skip_tys,
                )*
            }

            #[doc = #doc_decoder]
            #[derive(burn::module::Module, Debug)]
            pub struct #decoder<B: burn::tensor::backend::Backend> {
                #(
                    #[doc = "A decoder level: up-sample, concatenate the skip, DoubleConv."]
                    pub #ups: #up_tys,
                )*
                #(
                    #[doc = #aux_head_docs]
                    pub #aux_fields: #aux_head_tys,
                )*
                /// 1x1 convolution to class logits.
                pub out: ::unet::blocks::Head<B, #c0, #classes>,
            }

            #outputs_item

            /// Options of every DoubleConv but the bottleneck's.
            const BLOCK_OPTIONS: ::unet::blocks::BlockOptions = #block_options;
            /// Options of the bottleneck's DoubleConv.
            const BOTTLENECK_OPTIONS: ::unet::blocks::BlockOptions = #bottleneck_options;

            impl<B: burn::tensor::backend::Backend> #encoder<B> {
                /// Initialises the encoder's weights on `device`.
                pub fn new(device: &B::Device) -> Self {
                    Self {
                        #( #downs: ::unet::blocks::DownBlockConfig::new(BLOCK_OPTIONS).init(device), )*
                        bottleneck: ::unet::blocks::DoubleConvConfig::new(BOTTLENECK_OPTIONS).init(device),
                    }
                }

                /// Runs the contracting path: the bottleneck's output and every level's skip.
                pub fn forward(&self, x: ::unet::Feature<B, #in_ch, #l0>) -> (::unet::Feature<B, #cd, #bottom_ty>, #skips<B>) {
                    #( let (#skip_fields, x) = self.#downs.forward(x); )*
                    (self.bottleneck.forward(x), #skips { #(#skip_fields),* })
                }
            }

            impl<B: burn::tensor::backend::Backend> #decoder<B> {
                /// Initialises the decoder's weights on `device`.
                pub fn new(device: &B::Device) -> Self {
                    Self {
                        #( #ups: ::unet::blocks::UpBlockConfig::new(#up_mode, BLOCK_OPTIONS).with_attention(#attention).init(device), )*
                        #( #aux_fields: ::unet::blocks::HeadConfig::new().init(device), )*
                        out: ::unet::blocks::HeadConfig::new().init(device),
                    }
                }

                /// Runs the expanding path from the bottleneck, consuming the skips deepest first.
                pub fn forward(&self, bottom: ::unet::Feature<B, #cd, #bottom_ty>, skips: #skips<B>) -> #out_ty {
                    let x = bottom;
                    #( #decoder_steps )*
                    #decoder_result
                }
            }

            impl<B: burn::tensor::backend::Backend> #net<B> {
                /// Number of 2x down-samplings.
                pub const DEPTH: usize = #depth;
                /// Width of each level, level 0 first; the last is the bottleneck.
                pub const CHANNELS: [usize; #channels_len] = [#(#ch),*];
                /// Input channels.
                pub const IN_CHANNELS: usize = #in_ch;
                /// Output channels (class logits).
                pub const CLASSES: usize = #classes;
                /// Trainable parameters, computed at expansion (PyTorch's count for the same net).
                pub const PARAMS: usize = #params;
                /// The up-sampling method.
                pub const UP: ::unet::blocks::UpMode = #up_mode;
                /// Border handling of the 3x3 convolutions.
                pub const PADDING: ::unet::PaddingKind = #padding;
                /// The declared input `[height, width]`, if any.
                pub const INPUT: ::core::option::Option<[usize; 2]> = #input_tokens;
                /// The output `[height, width]` for the declared input, if any.
                pub const OUTPUT: ::core::option::Option<[usize; 2]> = #output_tokens;
                /// Pixels lost between input and output along each axis (valid padding: `12 * 2^depth - 8`).
                pub const MARGIN: usize = #margin;

                /// Initialises all weights on `device`.
                pub fn new(device: &B::Device) -> Self {
                    Self { encoder: #encoder::new(device), decoder: #decoder::new(device) }
                }

                /// Checks an `[N, C, H, W]` shape against this network's channels and size rules.
                pub fn check_input(shape: [usize; 4]) -> ::core::result::Result<(), ::unet::ShapeError> {
                    ::unet::check_input(shape, #in_ch, #depth, #padding, Self::INPUT, #pad_input)
                }

                /// The output `[height, width]` for an input of `height` x `width`, or why it does not fit.
                pub fn output_size(height: usize, width: usize) -> ::core::result::Result<[usize; 2], ::unet::ShapeError> {
                    Self::check_input([1, #in_ch, height, width])?;
                    Ok([height - #margin, width - #margin])
                }

                /// Runs the network on an untyped `[N, C, H, W]` tensor, checking its shape first.
                pub fn forward(&self, x: burn::tensor::Tensor<B, 4>) -> ::core::result::Result<burn::tensor::Tensor<B, 4>, ::unet::ShapeError> {
                    Self::check_input(x.dims())?;
                    let y = self.forward_typed(::unet::Feature::try_new(x)?);
                    Ok(#main_of.into_tensor())
                }

                /// Runs the network on a typed input. Spatial sizes are not checked here: a size
                /// `check_input` rejects gives a cropped output (or a burn panic if too small).
                pub fn forward_typed(&self, x: ::unet::Feature<B, #in_ch, #l0>) -> #out_ty {
                    #run_typed
                }

                #summary
            }

            ::unet::__interop_methods!{ #net }

            impl<B: burn::tensor::backend::Backend> ::unet::Network<B> for #net<B> {
                const NAME: &'static str = #name_str;
                const DESCRIPTION: &'static str = #description;
                const DEPTH: usize = #depth;
                const IN_CHANNELS: usize = #in_ch;
                const CLASSES: usize = #classes;
                const PARAMS: usize = #params;
                const PADDING: ::unet::PaddingKind = #padding;
                const MARGIN: usize = #margin;
                const INPUT: ::core::option::Option<[usize; 2]> = #input_tokens;
                const PAD_INPUT: bool = #pad_input;

                fn init(device: &B::Device) -> Self {
                    Self::new(device)
                }

                fn forward_checked(&self, x: burn::tensor::Tensor<B, 4>) -> ::core::result::Result<burn::tensor::Tensor<B, 4>, ::unet::ShapeError> {
                    self.forward(x)
                }

                fn layer_summary() -> ::unet::Summary {
                    Self::summary()
                }

                #forward_deep
            }
        }
        #[allow(unused_imports)]
        #vis use #module::{#net, #encoder, #skips, #decoder #outputs_export};
    }
}
