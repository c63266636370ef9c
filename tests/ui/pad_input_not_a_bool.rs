use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, pad_input: 1>);

fn main() {}
