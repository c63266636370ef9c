use unet::prelude::*;

unet!(pub Net<4, 64>);

fn main() {}
