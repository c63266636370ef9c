//! The networks compiled into the `unet` tool, each a `unet!` invocation.

use unet::unet;

unet!(
    /// `tiny`: depth 2, base 8; for smoke tests.
    pub Tiny<depth: 2, base: 8>
);
unet!(
    /// `small`: depth 4, base 16; the default, fast on a CPU.
    pub Small<depth: 4, base: 16>
);
unet!(
    /// `classic`: the seeds' model, depth 4, base 64, transposed up-sampling.
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

/// Registry names and descriptions, in `unet models` order.
pub const MODELS: &[(&str, &str)] = &[
    (
        "tiny",
        "depth 2, base 8, transposed, same padding, 1 class (smoke tests)",
    ),
    (
        "small",
        "depth 4, base 16, transposed, same padding, 1 class (default)",
    ),
    (
        "classic",
        "depth 4, base 64, transposed, same padding, 1 class (the seeds' model)",
    ),
    (
        "paper",
        "depth 4, base 64, transposed, valid padding, 2 classes (the paper's)",
    ),
    (
        "milesial",
        "depth 4, base 64, transposed, BatchNorm, RGB in, 2 classes (milesial/Pytorch-UNet's)",
    ),
];

/// Runs `$body` with `$N` bound to the generic network type named `$name`, or evaluates to
/// an unknown-model error.
macro_rules! with_model {
    ($name:expr, $N:ident => $body:expr) => {
        match $name {
            "tiny" => {
                type $N<B> = $crate::cli::models::Tiny<B>;
                $body
            }
            "small" => {
                type $N<B> = $crate::cli::models::Small<B>;
                $body
            }
            "classic" => {
                type $N<B> = $crate::cli::models::Classic<B>;
                $body
            }
            "paper" => {
                type $N<B> = $crate::cli::models::Paper<B>;
                $body
            }
            "milesial" => {
                type $N<B> = $crate::cli::models::Milesial<B>;
                $body
            }
            other => Err($crate::cli::unknown_model(other)),
        }
    };
}
pub(crate) use with_model;
