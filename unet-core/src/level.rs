//! Resolution levels as zero-sized types, so a feature map's level is part of its type.

use core::fmt::Debug;
use core::marker::PhantomData;

/// A resolution level: how many 2x down-samplings lie between it and the input.
pub trait Level: Copy + Clone + Debug + Default + Send + Sync + 'static {
    /// Number of 2x down-samplings below the input resolution.
    const INDEX: usize;
}

/// The input resolution.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct L0;

/// One 2x down-sampling below level `L`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Down<L>(PhantomData<L>);

impl Level for L0 {
    const INDEX: usize = 0;
}

impl<L: Level> Level for Down<L> {
    const INDEX: usize = L::INDEX + 1;
}

/// Level 1 (1/2 resolution).
pub type L1 = Down<L0>;
/// Level 2 (1/4 resolution).
pub type L2 = Down<L1>;
/// Level 3 (1/8 resolution).
pub type L3 = Down<L2>;
/// Level 4 (1/16 resolution).
pub type L4 = Down<L3>;
/// Level 5 (1/32 resolution).
pub type L5 = Down<L4>;
/// Level 6 (1/64 resolution).
pub type L6 = Down<L5>;
/// Level 7 (1/128 resolution).
pub type L7 = Down<L6>;
/// Level 8 (1/256 resolution).
pub type L8 = Down<L7>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_index_counts_downsamplings() {
        assert_eq!(L0::INDEX, 0);
        assert_eq!(L3::INDEX, 3);
        assert_eq!(L8::INDEX, 8);
    }
}
