use unet::prelude::*;

unet!(pub Net<depth: transposed, base: 8>);

fn main() {}
