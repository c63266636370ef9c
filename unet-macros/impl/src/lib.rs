//! The compiler behind `unet!`: one invocation in, a typed, shape-checked U-Net out.
//!
//! Four stages, each its own module: [`ast`] parses the invocation keeping every span,
//! [`checks`] reads each key into its slot and applies every rule between keys, [`plan`]
//! computes every number the expansion writes (from `unet-vocab`'s options, size rules and
//! parameter formulas), and [`emit`] writes the items; after an error, the fallback still
//! declares the names so one mistake gives one message. [`expand`] works on `proc_macro2`
//! tokens, so it is unit-, property- and bench-tested outside the compiler.

mod ast;
mod checks;
mod emit;
mod plan;
mod suggest;

use proc_macro2::TokenStream;

/// The whole macro as a function on tokens: parse, check, emit; errors come back as
/// `compile_error!`s at their spans, followed by fallback items. Never panics.
pub fn expand(tokens: TokenStream) -> TokenStream {
    match ast::parse(tokens) {
        Err((error, header)) => emit::fallback(error, header.as_ref(), 2),
        Ok(input) => match checks::check(&input) {
            Ok(plan) => emit::emit(&plan),
            Err(error) => emit::fallback(error, Some(&input.header), input.declared_dims()),
        },
    }
}

#[cfg(test)]
mod tests;
