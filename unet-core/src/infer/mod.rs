//! Inference: metrics, overlap-tile prediction, whole-image segmentation, pictures.
//!
//! - [`metrics`]: confusion matrix, pixel accuracy, Dice and IoU, JSON report.
//! - [`tiling`]: overlap-tile inference with mirror padding (U-Net paper).
//! - [`volume_tiling`]: the same on volumes, for 3D networks.
//! - [`segment`]: whole-image segmentation with a network (tiling + class decision).
//! - [`imaging`]: atomic file writes and PNG encoding (masks, overlays,
//!   sample grids, training curves).

pub mod imaging;
pub mod metrics;
pub mod segment;
pub mod tiling;
pub mod volume_tiling;
