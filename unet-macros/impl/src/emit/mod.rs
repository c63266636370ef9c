//! Emission: the typed structs, their construction and forwards, consts, summary and trait
//! impls, from a checked [`Plan`]. One emitter for every rank: a 3D network differs from a
//! 2D one only in the block types and tensor rank [`Paths`] names.

mod fallback;
mod forward;
mod items;
mod names;
mod onnx;
mod structs;
mod traits;

use proc_macro2::TokenStream;
use quote::quote;
use unet_vocab::BlockOptions;

use crate::plan::Plan;
pub use fallback::emit as fallback;
pub use names::{Names, Paths};

/// What every part of one network's emission reads.
pub struct Gen<'p> {
    pub plan: &'p Plan,
    pub names: Names,
    pub p: Paths,
}

impl<'p> Gen<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        Gen {
            plan,
            names: Names::new(&plan.name),
            p: Paths::new(&plan.krate, plan.options.dims),
        }
    }

    /// A `BlockOptions` literal.
    fn block_options(&self, o: &BlockOptions) -> TokenStream {
        let p = &self.p;
        let k = &p.krate;
        let (padding, norm, act) = (p.word(o.padding), p.word(o.norm), p.word(o.act));
        let (residual, dropout) = (o.residual, o.dropout);
        quote! {
            #k::blocks::BlockOptions { padding: #padding, norm: #norm, act: #act, residual: #residual, dropout: #dropout }
        }
    }

    /// The typed forward's output: the logits, or `NetOutputs` with deep supervision.
    fn output_ty(&self) -> TokenStream {
        if self.plan.options.deep_supervision == 0 {
            self.p.feature(self.plan.classes, 0)
        } else {
            let outputs = &self.names.outputs;
            quote!(#outputs<B>)
        }
    }
}

/// The whole expansion of a checked plan.
pub fn emit(plan: &Plan) -> TokenStream {
    let g = Gen::new(plan);
    let (structs, forward, traits) = (structs::emit(&g), forward::emit(&g), traits::emit(&g));
    let onnx = onnx::emit(&g);
    let inherent = items::inherent(&g.p, &g.names.net, Some(&g));
    let Names {
        net,
        encoder,
        skips,
        decoder,
        outputs,
        module,
    } = &g.names;
    let outputs = (plan.options.deep_supervision > 0).then(|| quote!(, #outputs));
    let (vis, k) = (&plan.vis, &g.p.krate);
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, clippy::all)]
        mod #module {
            use #k::burn;
            #structs
            #forward
            #inherent
            #traits
            #onnx
        }
        #[allow(unused_imports)]
        #vis use #module::{#net, #encoder, #skips, #decoder #outputs};
    }
}
