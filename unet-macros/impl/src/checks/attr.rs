//! The error collector and the per-key slots the checks fill (serde_derive's `Attr<T>` and
//! `Ctxt`, in small).

use std::cell::RefCell;
use std::collections::HashMap;

use proc_macro2::Span;

use crate::ast::{Entry, Value};

/// Collects errors so one invocation reports all of its independent mistakes at once.
#[derive(Default)]
pub struct Errors(RefCell<Option<syn::Error>>);

impl Errors {
    /// Records an error at `span`.
    pub fn push(&self, span: Span, message: impl std::fmt::Display) {
        let e = syn::Error::new(span, message);
        let mut all = self.0.borrow_mut();
        match all.as_mut() {
            Some(all) => all.combine(e),
            None => *all = Some(e),
        }
    }

    /// Every error recorded, combined, or `Ok` if there was none.
    pub fn finish(self) -> Result<(), syn::Error> {
        self.0.into_inner().map_or(Ok(()), Err)
    }
}

/// One key's slot: where it was given (if it was) and its value once read, or its default.
/// `value` is `None` when the key was given but wrong (its error is recorded) or is required
/// and missing.
pub struct Attr<'a, T> {
    /// The entry that gave the key, if any.
    pub entry: Option<&'a Entry>,
    /// The value read from it, or the default.
    pub value: Option<T>,
}

impl<'a, T> Attr<'a, T> {
    /// Reads `key` from `given` with `read`, or takes `default` when it is absent.
    pub fn read(
        given: &Given<'a>,
        key: &str,
        default: Option<T>,
        read: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Self {
        let entry = given.get(key);
        let value = match entry {
            Some(e) => read(&e.value),
            None => default,
        };
        Attr { entry, value }
    }

    /// Whether the invocation gave the key.
    pub fn given(&self) -> bool {
        self.entry.is_some()
    }

    /// The span of the given value, if the key was given.
    pub fn value_span(&self) -> Option<Span> {
        self.entry.map(|e| e.value.span())
    }

    /// The span of the given key, if it was given.
    pub fn key_span(&self) -> Option<Span> {
        self.entry.map(|e| e.key.span())
    }
}

impl<T: Copy> Attr<'_, T> {
    /// The value, if known.
    pub fn get(&self) -> Option<T> {
        self.value
    }
}

/// The entries of an invocation by key, after unknown and duplicate keys were reported.
pub struct Given<'a> {
    entries: HashMap<String, &'a Entry>,
    /// Keys suggested for a misspelling: their "missing" error would repeat the mistake.
    pub suggested: Vec<&'static str>,
}

impl<'a> Given<'a> {
    /// Sorts `entries` by key, reporting unknown keys (with a suggestion) and repeated ones.
    pub fn collect(entries: &'a [Entry], keys: &[&'static str], errors: &Errors) -> Self {
        let mut given = Given {
            entries: HashMap::new(),
            suggested: Vec::new(),
        };
        let key_list = crate::suggest::listed(keys);
        for entry in entries {
            let key = entry.key.to_string();
            if !keys.contains(&key.as_str()) {
                given.suggested.extend(crate::suggest::closest(&key, keys));
                errors.push(
                    entry.key.span(),
                    format!(
                        "unknown key `{key}`{} (expected one of {key_list})",
                        crate::suggest::did_you_mean(&key, keys)
                    ),
                );
            } else if let Some(first) = given.entries.get(&key) {
                errors.push(
                    entry.key.span(),
                    format!("duplicate key `{key}`: each key may be given once"),
                );
                errors.push(first.key.span(), format!("`{key}` first given here"));
            } else {
                given.entries.insert(key, entry);
            }
        }
        given
    }

    /// The entry that gave `key`.
    pub fn get(&self, key: &str) -> Option<&'a Entry> {
        self.entries.get(key).copied()
    }

    /// Whether a misspelt key was taken for `key`.
    pub fn was_suggested(&self, key: &str) -> bool {
        self.suggested.contains(&key)
    }
}
