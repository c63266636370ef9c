//! Inference: metrics, overlap-tile prediction, whole-image segmentation, pictures.
//!
//! - [`metrics`]: confusion matrix, pixel accuracy, Dice and IoU, JSON report.
//! - [`scores`]: per-image Dice, boundary F1, HD95, and the Rand and information scores.
//! - [`tiling`]: overlap-tile inference with mirror padding (U-Net paper).
//! - [`volume_tiling`]: the same on volumes, for 3D networks.
//! - [`segment`]: whole-image segmentation with a network (tiling + class decision).
//! - [`tta`]: test-time augmentation by mirroring.
//! - [`imaging`]: atomic file writes and PNG encoding (masks, overlays,
//!   sample grids, training curves).

pub mod imaging;
pub mod metrics;
pub mod scores;
pub mod segment;
pub mod tiling;
pub mod tta;
pub mod volume_tiling;
