use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, dims: 3, input: (32, 32)>);

fn main() {}
