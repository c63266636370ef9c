//! The `unet` tool: train a macro-generated U-Net on images with masks, segment images with it,
//! evaluate it, import PyTorch weights. `unet --help` lists the commands. It is the same
//! `unet::cli!` any crate can call with its own networks.

use unet::unet;

unet!(
    /// `small`: depth 4, base 16; the default, fast on a CPU.
    pub Small<depth: 4, base: 16>
);
unet!(
    /// `tiny`: depth 2, base 8; for smoke tests.
    pub Tiny<depth: 2, base: 8>
);
unet!(
    /// `classic`: the tutorial layout's model, depth 4, base 64, transposed up-sampling.
    pub Classic<depth: 4, base: 64, up: transposed>
);
unet!(
    /// `paper`: Ronneberger et al. 2015: valid convolutions, 2 classes.
    pub Paper<depth: 4, base: 64, up: transposed, padding: valid, classes: 2>
);
unet!(
    /// `milesial`: milesial/Pytorch-UNet's `UNet(3, 2, bilinear=False)`: BatchNorm after each
    /// convolution; `unet import --model milesial --from checkpoint.pth` reads its weights.
    pub Milesial<depth: 4, base: 64, up: transposed, norm: batch, in_channels: 3, classes: 2>
);

fn main() -> std::process::ExitCode {
    unet::cli!(
        small = Small,
        tiny = Tiny,
        classic = Classic,
        paper = Paper,
        milesial = Milesial,
    )
}
