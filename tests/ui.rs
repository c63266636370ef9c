//! Compile-time checks: every configuration error is a spanned message, every wiring mistake
//! a type error. The `pass` cases live in their own function so the `compile_fail` cases stay
//! in trybuild's fast `cargo check` mode.

#[test]
fn ui_compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

#[test]
fn ui_pass() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
}
