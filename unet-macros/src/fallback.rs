//! After an error, still declare the names (with permissive signatures), so the user sees
//! the one real mistake and not a cascade of "cannot find type `CellNet`".

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Header;
use crate::expand::Names;

pub fn emit(error: syn::Error, header: Option<&Header>) -> TokenStream {
    let error = error.to_compile_error();
    let Some(header) = header else {
        return error;
    };
    let Names {
        net,
        encoder,
        skips,
        decoder,
        module,
        ..
    } = Names::new(&header.name);
    let vis = &header.vis;
    quote! {
        #error
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, unused, clippy::all)]
        mod #module {
            use ::unet::burn::tensor::{backend::Backend, Tensor};
            use ::core::marker::PhantomData;

            pub struct #net<B: Backend> { pub encoder: #encoder<B>, pub decoder: #decoder<B> }
            pub struct #encoder<B: Backend>(PhantomData<B>);
            pub struct #skips<B: Backend>(PhantomData<B>);
            pub struct #decoder<B: Backend>(PhantomData<B>);

            impl<B: Backend> #net<B> {
                pub const DEPTH: usize = 0;
                pub const IN_CHANNELS: usize = 0;
                pub const CLASSES: usize = 0;
                pub const PARAMS: usize = 0;
                pub fn new(_device: &B::Device) -> Self { unreachable!() }
                pub fn forward(&self, _x: Tensor<B, 4>) -> ::core::result::Result<Tensor<B, 4>, ::unet::ShapeError> { unreachable!() }
                pub fn forward_typed<const I: usize, const O: usize>(&self, _x: ::unet::Feature<B, I, ::unet::L0>) -> ::unet::Feature<B, O, ::unet::L0> { unreachable!() }
                pub fn check_input(_shape: [usize; 4]) -> ::core::result::Result<(), ::unet::ShapeError> { unreachable!() }
                pub fn summary() -> ::unet::Summary { unreachable!() }
            }

            ::unet::__interop_fallback!{ #net }
        }
        #[allow(unused_imports)]
        #vis use #module::{#net, #encoder, #skips, #decoder};
    }
}
