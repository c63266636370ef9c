//! Compile-time checks: every configuration error is a spanned message, every wiring mistake
//! a type error. Only `compile_fail` cases live here, so trybuild stays in its `cargo check`
//! mode (a `pass` case builds and links every dependency again in trybuild's own folder);
//! networks that must compile and run are ordinary tests (`tests/shapes.rs`).

#[test]
fn ui_compile_fail() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
