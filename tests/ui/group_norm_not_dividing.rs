use unet::prelude::*;

// 12 channels at level 0 cannot be split into 8 groups.
unet!(pub Net<depth: 2, base: 12, norm: group(8)>);

fn main() {}
