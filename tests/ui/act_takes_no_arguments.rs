use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, act: gelu(0.5)>);

fn main() {}
