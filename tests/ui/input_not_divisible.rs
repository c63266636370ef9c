use unet::prelude::*;

unet!(pub Net<depth: 4, base: 8, input: (100, 96)>);

fn main() {}
