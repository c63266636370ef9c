use unet::prelude::*;

unet!(pub Net<depth: 4, base: 8, padding: valid, input: (100, 100)>);

fn main() {}
