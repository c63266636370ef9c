use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, classes: 300>);

fn main() {}
