use unet::prelude::*;

unet!(pub Net<depth: 4, base: 8, padding: valid, input: (570, 570)>);

fn main() {}
