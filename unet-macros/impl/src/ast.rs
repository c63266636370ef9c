//! Parsing: `[#[attr]...] [vis] [struct] Name < key: value, ... >`, every span kept.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{
    braced, bracketed, parenthesized, Attribute, Ident, LitFloat, LitInt, Token, Visibility,
};

/// What comes before `<`: enough to emit fallback items when the rest is broken.
pub struct Header {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
}

impl Header {
    /// The `unet` crate's path (from `#[unet(crate = path)]`, else `::unet`) and the other
    /// attributes, which go on the network's struct.
    pub fn unet_attrs(&self) -> (syn::Result<syn::Path>, Vec<Attribute>) {
        let mut krate: syn::Result<syn::Path> = Ok(syn::parse_quote!(::unet));
        let mut rest = Vec::new();
        for attr in &self.attrs {
            if !attr.path().is_ident("unet") {
                rest.push(attr.clone());
                continue;
            }
            krate = attr
                .parse_args_with(|input: ParseStream| {
                    input.parse::<Token![crate]>()?;
                    input.parse::<Token![=]>()?;
                    // serde's string form too: `crate = "my::unet"`.
                    let path: syn::Path = if input.peek(syn::LitStr) {
                        input.parse::<syn::LitStr>()?.parse()?
                    } else {
                        input.parse()?
                    };
                    input.parse::<Option<Token![,]>>()?;
                    Ok(path)
                })
                .map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "expected `#[unet(crate = path)]`, the path the `unet` crate is reached by",
                    )
                });
        }
        (krate, rest)
    }
}

/// The whole invocation.
pub struct Input {
    pub header: Header,
    pub entries: Vec<Entry>,
    /// Span of the `<...>` list, for errors about the invocation as a whole.
    pub list_span: Span,
}

impl Input {
    /// The `dims` the invocation gives, if it is a plain `2` or `3` (else 2): what the
    /// fallback after an error declares its methods for.
    pub fn declared_dims(&self) -> usize {
        self.entries
            .iter()
            .find(|e| e.key == "dims")
            .and_then(|e| match &e.value {
                Value::Int { lit, .. } => lit.base10_parse::<usize>().ok(),
                _ => None,
            })
            .filter(|d| *d == 3)
            .unwrap_or(2)
    }
}

/// One `key: value`.
pub struct Entry {
    pub key: Ident,
    pub value: Value,
}

/// A value, parsed by shape only; [`crate::valid`] decides what each key accepts.
pub enum Value {
    /// An integer literal, possibly negative: syn reads `-1` as one literal, kept so the
    /// error can name it.
    Int { lit: LitInt, span: Span },
    /// A float literal.
    Float(LitFloat),
    /// A bare word: `transposed`, `same`, `true`.
    Word(Ident),
    /// `[a, b, ...]`.
    List { items: Vec<Value>, span: Span },
    /// `(a, b, ...)`.
    Tuple { items: Vec<Value>, span: Span },
    /// `word(a, ...)`: `group(8)`, `leaky_relu(0.01)`.
    Call {
        name: Ident,
        args: Vec<Value>,
        span: Span,
    },
    /// `{ key: value, ... }`: `dropout: { bottleneck: 0.5, blocks: 0.1 }`.
    Map { entries: Vec<Entry>, span: Span },
}

impl Value {
    pub fn span(&self) -> Span {
        match self {
            Value::Int { span, .. } => *span,
            Value::Float(f) => f.span(),
            Value::Word(w) => w.span(),
            Value::List { span, .. }
            | Value::Tuple { span, .. }
            | Value::Call { span, .. }
            | Value::Map { span, .. } => *span,
        }
    }

    /// What kind of value this is, for "expected an integer, found a list".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int { .. } => "an integer",
            Value::Float(_) => "a float",
            Value::Word(_) => "a word",
            Value::List { .. } => "a list",
            Value::Tuple { .. } => "a tuple",
            Value::Call { .. } => "a call",
            Value::Map { .. } => "a map",
        }
    }
}

impl Parse for Value {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let look = input.lookahead1();
        if look.peek(LitInt) {
            // Also `-1`: syn parses a `-` followed by an integer as one negative literal.
            let lit: LitInt = input.parse()?;
            let span = lit.span();
            Ok(Value::Int { lit, span })
        } else if look.peek(Token![-]) {
            // A `-` not starting an integer: `-1.5`, `- -1`, `-x`.
            let minus: Token![-] = input.parse()?;
            let message = if input.peek(LitFloat) || input.peek(LitInt) {
                "negative values are not allowed here"
            } else {
                "expected a number after `-`"
            };
            Err(syn::Error::new(minus.span, message))
        } else if look.peek(LitFloat) {
            Ok(Value::Float(input.parse()?))
        } else if look.peek(<Ident as syn::ext::IdentExt>::peek_any) {
            let word = input.call(Ident::parse_any_word)?;
            if input.peek(syn::token::Paren) {
                let content;
                let paren = parenthesized!(content in input);
                let args = Punctuated::<Value, Token![,]>::parse_terminated(&content)?;
                let span = word.span().join(paren.span.close()).unwrap_or(word.span());
                return Ok(Value::Call {
                    name: word,
                    args: args.into_iter().collect(),
                    span,
                });
            }
            Ok(Value::Word(word))
        } else if look.peek(syn::token::Brace) {
            let content;
            let brace = braced!(content in input);
            let mut entries = Vec::new();
            while !content.is_empty() {
                entries.push(parse_entry(&content)?);
                if content.is_empty() {
                    break;
                }
                content.parse::<Token![,]>()?;
            }
            Ok(Value::Map {
                entries,
                span: brace.span.join(),
            })
        } else if look.peek(syn::token::Bracket) {
            let content;
            let bracket = bracketed!(content in input);
            let items = Punctuated::<Value, Token![,]>::parse_terminated(&content)?;
            Ok(Value::List {
                items: items.into_iter().collect(),
                span: bracket.span.join(),
            })
        } else if look.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let items = Punctuated::<Value, Token![,]>::parse_terminated(&content)?;
            Ok(Value::Tuple {
                items: items.into_iter().collect(),
                span: paren.span.join(),
            })
        } else {
            Err(look.error())
        }
    }
}

/// `Ident::parse_any` accepts keywords too (`struct`, `true`); values may be such words.
trait AnyWord {
    fn parse_any_word(input: ParseStream) -> syn::Result<Ident>;
}

impl AnyWord for Ident {
    fn parse_any_word(input: ParseStream) -> syn::Result<Ident> {
        use syn::ext::IdentExt;
        Ident::parse_any(input)
    }
}

fn parse_header(input: ParseStream) -> syn::Result<Header> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    if input.peek(Token![struct]) {
        input.parse::<Token![struct]>()?;
    }
    let name: Ident = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the network's name, as in `unet!(pub CellNet<depth: 4, base: 64>)`",
        )
    })?;
    Ok(Header { attrs, vis, name })
}

/// One `key: value`, in the invocation or inside a `{ ... }` map.
fn parse_entry(input: ParseStream) -> syn::Result<Entry> {
    let key: Ident = input
        .call(Ident::parse_any_word)
        .map_err(|e| syn::Error::new(e.span(), "expected `key: value`, as in `depth: 4`"))?;
    let colon: syn::Result<Token![:]> = input.parse();
    if colon.is_err() {
        return Err(syn::Error::new(
            key.span(),
            format!("expected `:` after `{key}`, as in `{key}: value`"),
        ));
    }
    if input.peek(Token![,]) || input.peek(Token![>]) || input.is_empty() {
        return Err(syn::Error::new(key.span(), format!("`{key}` has no value")));
    }
    let value: Value = input.parse()?;
    Ok(Entry { key, value })
}

fn parse_entries(input: ParseStream) -> syn::Result<(Vec<Entry>, Span)> {
    let open: Token![<] = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected `<` and the configuration, as in `CellNet<depth: 4, base: 64>`",
        )
    })?;
    let mut entries = Vec::new();
    let close = loop {
        if input.peek(Token![>]) {
            break input.parse::<Token![>]>()?;
        }
        if input.is_empty() {
            return Err(syn::Error::new(
                open.span,
                "this `<` is never closed: expected `>`",
            ));
        }
        entries.push(parse_entry(input)?);
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        } else if !input.peek(Token![>]) && !input.is_empty() {
            // (At the end, the loop's `is_empty` check reports the unclosed `<`.)
            return Err(input.error("expected `,` or `>` after a value"));
        }
    };
    let span = open.span.join(close.span).unwrap_or(open.span);
    if input.peek(Token![;]) {
        input.parse::<Token![;]>()?;
    }
    if !input.is_empty() {
        return Err(input.error("unexpected tokens after the configuration's closing `>`"));
    }
    Ok((entries, span))
}

/// Parses an invocation. On failure, returns the header too when it parsed, so the fallback
/// can still declare the names.
pub fn parse(tokens: TokenStream) -> Result<Input, (syn::Error, Option<Header>)> {
    let mut header = None;
    let parser = |input: ParseStream| -> syn::Result<Input> {
        let h = parse_header(input)?;
        let name = h.name.clone();
        let attrs = h.attrs.clone();
        let vis = h.vis.clone();
        header = Some(h);
        let (entries, list_span) = parse_entries(input)?;
        Ok(Input {
            header: Header { attrs, vis, name },
            entries,
            list_span,
        })
    };
    match parser.parse2(tokens) {
        Ok(input) => Ok(input),
        Err(e) => Err((e, header)),
    }
}
