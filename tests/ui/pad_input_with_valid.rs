use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, padding: valid, pad_input: true>);

fn main() {}
