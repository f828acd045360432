//! Built-in two-dimensional toy data sets for density estimation.
//!
//! Every data set is a distribution on the plane; [`ToyDataset::generate`]
//! draws `n` independent points from it with a [`StdRng`] seeded by
//! `seed`, so the same `(n, seed)` always gives the same points, and
//! [`ToyDataset::sample`] does the same with a caller-supplied generator.
//! Each data set lives in its own module, whose documentation gives the exact
//! definition and whose `sample` function can also be called directly.
//!
//! Equal-weight mixtures (two moons, circles, the Gaussian ring, the spirals,
//! the split line's two segments and the two blobs) assign point `i` to
//! component `i % k` instead of drawing the component at random, like
//! scikit-learn's `make_moons` and `make_circles`: the components are exactly
//! balanced, in any prefix of the output too. The corners (clusters plus a
//! background) and the smiley (unequal weights) draw the component at random
//! for each point. Point `i` depends only on the seed and on `i`, so a longer
//! sample extends a shorter one with the same seed.
//!
//! Names are kebab-case (`"two-moons"`, `"gaussian-ring-5"`, ...); see
//! [`ToyDataset::name`] and the [`FromStr`] implementation.

use std::fmt;
use std::str::FromStr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod error;

pub mod boomerang;
pub mod checkerboard;
pub mod circles;
pub mod corners;
pub mod gaussian_ring;
pub mod sine;
pub mod smiley;
pub mod spiral;
pub mod split_line;
pub mod two_blobs;
pub mod two_moons;

#[cfg(test)]
mod test_util;

pub use error::ParseToyDatasetError;

/// Number of Gaussians in the ring when none is given (`"gaussian-ring"`).
pub const DEFAULT_RING_COMPONENTS: usize = 8;

/// One of the built-in two-dimensional toy data sets.
///
/// Parse one from its kebab-case name with [`str::parse`], turn it back into
/// that name with [`ToyDataset::name`] (or [`Display`](fmt::Display)), and
/// draw points with [`ToyDataset::generate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToyDataset {
    /// scikit-learn's two interleaving half circles; see [`two_moons`].
    TwoMoons,
    /// Two concentric circles of radii 1 and 0.5; see [`circles`].
    Circles,
    /// The given number of Gaussians on a circle of radius 2; see
    /// [`gaussian_ring`]. `"gaussian-ring"` parses to
    /// `GaussianRing(DEFAULT_RING_COMPONENTS)`, `"gaussian-ring-5"` to
    /// `GaussianRing(5)`. A count of 0 behaves as 1.
    GaussianRing(usize),
    /// The FFJORD / nflows checkerboard on `[-4, 4]^2`; see [`checkerboard`].
    Checkerboard,
    /// The FFJORD `2spirals` data set; see [`spiral`].
    Spiral,
    /// Four Gaussian clusters at the corners of a square plus a thin uniform
    /// background; see [`corners`].
    Corners,
    /// A smiley face: two Gaussian eyes and a mouth arc; see [`smiley`].
    Smiley,
    /// The line `y = x` with a gap in the middle; see [`split_line`].
    SplitLine,
    /// Two Gaussians at `(-2, 0)` and `(2, 0)`; see [`two_blobs`].
    TwoBlobs,
    /// A curved band that is thick in the middle and thin at the tips; see
    /// [`boomerang`].
    Boomerang,
    /// `x1 = sin(x2) + N(0, 0.1^2)` with `x2 ~ U(-3, 3)`; see [`sine`].
    Sine,
}

impl ToyDataset {
    /// Every data set once, with the Gaussian ring at its default size.
    pub const ALL: [ToyDataset; 11] = [
        ToyDataset::TwoMoons,
        ToyDataset::Circles,
        ToyDataset::GaussianRing(DEFAULT_RING_COMPONENTS),
        ToyDataset::Checkerboard,
        ToyDataset::Spiral,
        ToyDataset::Corners,
        ToyDataset::Smiley,
        ToyDataset::SplitLine,
        ToyDataset::TwoBlobs,
        ToyDataset::Boomerang,
        ToyDataset::Sine,
    ];

    /// Every data set once (the same as [`ToyDataset::ALL`]), with the
    /// Gaussian ring at its default size of [`DEFAULT_RING_COMPONENTS`].
    pub fn all() -> &'static [ToyDataset] {
        &Self::ALL
    }

    /// The kebab-case name, which [`FromStr`] parses back to `self`.
    ///
    /// `GaussianRing(DEFAULT_RING_COMPONENTS)` is `"gaussian-ring"`, any other
    /// count `k` is `"gaussian-ring-<k>"` (0 is written as 1, the count it
    /// behaves as).
    pub fn name(&self) -> String {
        match self {
            ToyDataset::GaussianRing(k) => {
                let k = (*k).max(1);
                if k == DEFAULT_RING_COMPONENTS {
                    "gaussian-ring".to_owned()
                } else {
                    format!("gaussian-ring-{k}")
                }
            }
            other => other.fixed_name().to_owned(),
        }
    }

    /// Name of every variant except [`ToyDataset::GaussianRing`], whose name
    /// depends on its count.
    fn fixed_name(&self) -> &'static str {
        match self {
            ToyDataset::TwoMoons => "two-moons",
            ToyDataset::Circles => "circles",
            ToyDataset::GaussianRing(_) => "gaussian-ring",
            ToyDataset::Checkerboard => "checkerboard",
            ToyDataset::Spiral => "spiral",
            ToyDataset::Corners => "corners",
            ToyDataset::Smiley => "smiley",
            ToyDataset::SplitLine => "split-line",
            ToyDataset::TwoBlobs => "two-blobs",
            ToyDataset::Boomerang => "boomerang",
            ToyDataset::Sine => "sine",
        }
    }

    /// Draws `n` points (any `n`, including 0) using `rng`.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R, n: usize) -> Vec<[f64; 2]> {
        match self {
            ToyDataset::TwoMoons => two_moons::sample(rng, n),
            ToyDataset::Circles => circles::sample(rng, n),
            ToyDataset::GaussianRing(k) => gaussian_ring::sample(rng, n, *k),
            ToyDataset::Checkerboard => checkerboard::sample(rng, n),
            ToyDataset::Spiral => spiral::sample(rng, n),
            ToyDataset::Corners => corners::sample(rng, n),
            ToyDataset::Smiley => smiley::sample(rng, n),
            ToyDataset::SplitLine => split_line::sample(rng, n),
            ToyDataset::TwoBlobs => two_blobs::sample(rng, n),
            ToyDataset::Boomerang => boomerang::sample(rng, n),
            ToyDataset::Sine => sine::sample(rng, n),
        }
    }

    /// Draws `n` points (any `n`, including 0) from a [`StdRng`] seeded with
    /// `seed`: the same `(n, seed)` always gives the same points.
    pub fn generate(&self, n: usize, seed: u64) -> Vec<[f64; 2]> {
        self.sample(&mut StdRng::seed_from_u64(seed), n)
    }
}

impl fmt::Display for ToyDataset {
    /// Writes [`ToyDataset::name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for ToyDataset {
    type Err = ParseToyDatasetError;

    /// Parses a kebab-case name as returned by [`ToyDataset::name`], plus
    /// `"gaussian-ring-<k>"` for any `k >= 1` written in decimal digits.
    ///
    /// Surrounding whitespace is ignored, letters may be in any case and `_`
    /// may stand for `-` (so `"Two_Moons"` is accepted).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut normalized = s.trim().to_ascii_lowercase().replace('_', "-");
        // Short aliases.
        match normalized.as_str() {
            "moons" => normalized = "two-moons".into(),
            "blobs" => normalized = "two-blobs".into(),
            "ring" => normalized = "gaussian-ring".into(),
            _ => {}
        }
        if let Some(dataset) = Self::ALL
            .iter()
            .find(|dataset| dataset.fixed_name() == normalized)
        {
            return Ok(*dataset);
        }
        normalized
            .strip_prefix("gaussian-ring-")
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse::<usize>().ok())
            .filter(|&k| k >= 1)
            .map(ToyDataset::GaussianRing)
            .ok_or_else(|| ParseToyDatasetError::new(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_aliases_parse() {
        assert_eq!("moons".parse::<ToyDataset>().unwrap(), ToyDataset::TwoMoons);
        assert_eq!("blobs".parse::<ToyDataset>().unwrap(), ToyDataset::TwoBlobs);
        assert_eq!(
            "ring".parse::<ToyDataset>().unwrap(),
            ToyDataset::GaussianRing(8)
        );
    }

    /// A few ring sizes besides the default, to exercise the counted names.
    fn all_with_rings() -> Vec<ToyDataset> {
        let mut datasets = ToyDataset::all().to_vec();
        datasets.extend([1, 2, 5, 12].map(ToyDataset::GaussianRing));
        datasets
    }

    #[test]
    fn all_lists_every_variant_once() {
        let names: Vec<String> = ToyDataset::all().iter().map(ToyDataset::name).collect();
        assert_eq!(
            names,
            [
                "two-moons",
                "circles",
                "gaussian-ring",
                "checkerboard",
                "spiral",
                "corners",
                "smiley",
                "split-line",
                "two-blobs",
                "boomerang",
                "sine",
            ]
        );
    }

    #[test]
    fn name_round_trips_through_from_str() {
        for dataset in all_with_rings() {
            let name = dataset.name();
            assert_eq!(name.parse::<ToyDataset>(), Ok(dataset), "{name}");
            assert_eq!(dataset.to_string(), name);
        }
    }

    #[test]
    fn gaussian_ring_names() {
        assert_eq!(
            "gaussian-ring".parse::<ToyDataset>(),
            Ok(ToyDataset::GaussianRing(8))
        );
        assert_eq!(
            "gaussian-ring-5".parse::<ToyDataset>(),
            Ok(ToyDataset::GaussianRing(5))
        );
        assert_eq!(
            "gaussian-ring-8".parse::<ToyDataset>(),
            Ok(ToyDataset::GaussianRing(8))
        );
        assert_eq!(ToyDataset::GaussianRing(5).name(), "gaussian-ring-5");
        assert_eq!(ToyDataset::GaussianRing(0).name(), "gaussian-ring-1");
        for bad in [
            "gaussian-ring-",
            "gaussian-ring-0",
            "gaussian-ring--3",
            "gaussian-ring-+3",
            "gaussian-ring-3.5",
            "gaussian-ring-x",
            "gaussian-ring-99999999999999999999999999",
        ] {
            assert!(bad.parse::<ToyDataset>().is_err(), "{bad}");
        }
    }

    #[test]
    fn parsing_is_lenient_about_case_underscores_and_whitespace() {
        assert_eq!(
            " Two_Moons\n".parse::<ToyDataset>(),
            Ok(ToyDataset::TwoMoons)
        );
        assert_eq!(
            "GAUSSIAN_RING_3".parse::<ToyDataset>(),
            Ok(ToyDataset::GaussianRing(3))
        );
    }

    #[test]
    fn unknown_name_error_lists_valid_names() {
        let err = "three-moons".parse::<ToyDataset>().unwrap_err();
        assert_eq!(err.input, "three-moons");
        let message = err.to_string();
        assert!(message.contains("three-moons"), "{message}");
        for dataset in ToyDataset::all() {
            assert!(message.contains(&dataset.name()), "{message}");
        }
        assert!(message.contains("gaussian-ring-<k>"), "{message}");
    }

    #[test]
    fn same_seed_same_data_different_seed_different_data() {
        for dataset in all_with_rings() {
            let a = dataset.generate(500, 7);
            assert_eq!(a, dataset.generate(500, 7), "{dataset}");
            assert_ne!(a, dataset.generate(500, 8), "{dataset}");
        }
    }

    #[test]
    fn generate_matches_sample_with_seeded_std_rng() {
        for dataset in ToyDataset::all() {
            let mut rng = StdRng::seed_from_u64(3);
            assert_eq!(dataset.generate(100, 3), dataset.sample(&mut rng, 100));
        }
    }

    #[test]
    fn returns_n_finite_points_for_any_n() {
        let mut datasets = all_with_rings();
        datasets.push(ToyDataset::GaussianRing(0));
        for dataset in datasets {
            for n in [0, 1, 2, 3, 7, 1000] {
                let points = dataset.generate(n, 11);
                assert_eq!(points.len(), n, "{dataset}");
                assert!(
                    points.iter().flatten().all(|v| v.is_finite()),
                    "{dataset}: non-finite value"
                );
            }
        }
    }

    #[test]
    fn prefix_is_stable_across_n() {
        // Point i depends only on the seed and i, not on n.
        for dataset in ToyDataset::all() {
            let long = dataset.generate(300, 5);
            let short = dataset.generate(100, 5);
            assert_eq!(&long[..100], &short[..], "{dataset}");
        }
    }

    #[test]
    fn data_sets_differ_from_each_other() {
        let samples: Vec<Vec<[f64; 2]>> = ToyDataset::all()
            .iter()
            .map(|dataset| dataset.generate(50, 1))
            .collect();
        for i in 0..samples.len() {
            for j in i + 1..samples.len() {
                assert_ne!(samples[i], samples[j]);
            }
        }
    }
}
