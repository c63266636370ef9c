use unet::prelude::*;

unet!(pub Net<depth: 3>);

fn main() {}
