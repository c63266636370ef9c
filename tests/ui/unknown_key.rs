use unet::prelude::*;

unet!(pub Net<dpeth: 4, base: 8>);

fn main() {}
