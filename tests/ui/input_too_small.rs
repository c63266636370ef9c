use unet::prelude::*;

unet!(pub Net<depth: 4, base: 8, input: (8, 8)>);

fn main() {}
