//! Tests of the whole macro as a function on tokens: [`crate::expand::expand`].
//!
//! The helpers read the `compile_error!` messages back out of the expansion as real strings
//! (not escaped literals), so assertions name the text a user sees.

mod errors;
mod expansion;
mod props;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::expand;

/// Expands `src` (which must lex) and returns the output tokens.
fn expand_src(src: &str) -> TokenStream {
    let tokens: TokenStream = src
        .parse()
        .unwrap_or_else(|e| panic!("test input does not lex: {src:?}: {e}"));
    expand(tokens)
}

/// The messages of the top-level `compile_error! { "..." }` invocations of an expansion.
fn compile_errors(out: &TokenStream) -> Vec<String> {
    let tokens: Vec<TokenTree> = out.clone().into_iter().collect();
    tokens
        .windows(3)
        .filter_map(|w| match w {
            [TokenTree::Ident(name), TokenTree::Punct(bang), TokenTree::Group(body)]
                if name == "compile_error"
                    && bang.as_char() == '!'
                    && body.delimiter() != Delimiter::None =>
            {
                let lit: syn::LitStr = syn::parse2(body.stream())
                    .unwrap_or_else(|e| panic!("compile_error! without a string: {e}"));
                Some(lit.value())
            }
            _ => None,
        })
        .collect()
}

/// An expansion that must have failed: its messages, after checking there is at least one.
fn expect_errors(src: &str) -> (Vec<String>, String) {
    let out = expand_src(src);
    let errors = compile_errors(&out);
    assert!(
        !errors.is_empty(),
        "expected a compile_error! for {src:?}, got:\n{out}"
    );
    (errors, out.to_string())
}

/// Asserts that exactly one message contains every fragment in `fragments`.
fn assert_one_error(errors: &[String], fragments: &[&str]) {
    let hits: Vec<&String> = errors
        .iter()
        .filter(|e| fragments.iter().all(|f| e.contains(f)))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "expected exactly one message containing {fragments:?}, got {errors:#?}"
    );
}

/// An expansion that must have succeeded: its text, after checking there is no error.
fn expect_ok(src: &str) -> String {
    let out = expand_src(src);
    let errors = compile_errors(&out);
    assert!(
        errors.is_empty(),
        "expected no compile_error! for {src:?}, got {errors:#?}"
    );
    let text = out.to_string();
    assert!(
        !text.contains("compile_error"),
        "no compile_error anywhere: {text}"
    );
    text
}

/// Asserts that the fallback (or the real expansion) declares all four names of `net`.
fn assert_declares(out: &str, net: &str) {
    for item in [
        format!("mod __unet_{net} "),
        format!("pub struct {net} < B"),
        format!("pub struct {net}Encoder < B"),
        format!("pub struct {net}Skips < B"),
        format!("pub struct {net}Decoder < B"),
        format!("use __unet_{net} :: {{ {net} , {net}Encoder , {net}Skips , {net}Decoder }} ;"),
    ] {
        assert!(out.contains(&item), "expected `{item}` in:\n{out}");
    }
}
