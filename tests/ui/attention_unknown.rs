use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, attention: gates>);

fn main() {}
