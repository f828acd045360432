//! The built-in data sets of the SurVAE study (issue 18) beside the 2-D toy sets of
//! `flowinfer_simulators::toy`, by name (`fit --toy NAME`, [`DataSource::toy`]):
//!
//! * `n-gon` / `n-gon-K`: uniform on the boundary of a regular K-gon (K = 6 by default)
//!   of circumradius 2 with a vertex at angle 0, plus N(0, 0.05²) noise per coordinate.
//! * `gradient`: `x2 ~ U(−2, 2)` and `x1` on `[−2, 2]` with density `(x1 + 2)/8`, a
//!   linear ramp (`x1 = −2 + 4√u`).
//! * `skewed:SET:P` or `skewed:SET:P1,P2`: the 2-D set `SET` with each coordinate's
//!   sign redrawn, positive with probability `P_j` (`x_j ← ±|x_j|`): on a set symmetric
//!   about both axes, exactly "a fraction `1 − P_j` of the points mirrored", and the
//!   true sign probabilities of an `abs` layer are `P_j`.
//! * `labelled:SET1,SET2,…`: the sets mixed in equal shares (point `i` from set
//!   `i mod k`), columns `x1, x2, label` with `label` the set's index — for one
//!   conditional model of several sets (`[data] condition = ["label"]`).
//! * `digits`: the first `n` of the 1797 8×8 digit images of UCI "Optical Recognition
//!   of Handwritten Digits" (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0, via scikit-learn,
//!   BSD-3-Clause), integer intensities 0–16 in columns `p00`…`p77` (row, column),
//!   read from `../shared/data/digits/digits_8x8.csv` (see `PROVENANCE.md` there; the
//!   environment variable `FLOWINFER_DIGITS` overrides the path). Not copied into the
//!   repository.
//!
//! Every set is seeded: the same `(name, n, seed)` gives the same table.

use crate::data::{read_table, ReadOptions, Table};
use crate::error::{Error, Result};
use flowinfer_simulators::toy::ToyDataset;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;
use std::path::PathBuf;

/// Sides of `n-gon` when none is given.
pub const DEFAULT_NGON_SIDES: usize = 6;

/// Number of images in the digits file.
pub const DIGITS_IMAGES: usize = 1797;

/// A built-in data set that is not one of `flowinfer_simulators::toy`'s.
#[derive(Debug, Clone, PartialEq)]
pub enum BuiltinSet {
    /// Noisy boundary of a regular polygon with this many sides.
    NGon(usize),
    /// The linear-ramp square.
    Gradient,
    /// A 2-D set with its signs redrawn with these positive probabilities.
    Skewed {
        /// The underlying 2-D set's name.
        set: String,
        /// Probability that coordinate j is positive.
        positive: [f64; 2],
    },
    /// Several 2-D sets mixed, with a `label` column.
    Labelled(Vec<String>),
    /// The 8×8 digit images.
    Digits,
}

/// A 2-D set by name: a `flowinfer_simulators::toy` set, `n-gon[-K]` or `gradient`
/// (skewed and labelled sets nest one level only).
fn points_2d(name: &str, n: usize, seed: u64) -> Result<Vec<[f64; 2]>> {
    if let Ok(t) = name.parse::<ToyDataset>() {
        return Ok(t.generate(n, seed));
    }
    match BuiltinSet::parse(name)? {
        BuiltinSet::NGon(k) => Ok(ngon(k, n, seed)),
        BuiltinSet::Gradient => Ok(gradient(n, seed)),
        _ => Err(Error::config(format!(
            "built-in data set {name:?}: a skewed or labelled set needs plain 2-D sets inside"
        ))),
    }
}

fn ngon(k: usize, n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = rand_distr::Normal::new(0.0, 0.05).expect("valid normal");
    let vertex = |j: usize| {
        let a = 2.0 * PI * j as f64 / k as f64;
        [2.0 * a.cos(), 2.0 * a.sin()]
    };
    (0..n)
        .map(|_| {
            let side = rng.random_range(0..k);
            let t: f64 = rng.random();
            let (a, b) = (vertex(side), vertex(side + 1));
            [
                a[0] + t * (b[0] - a[0]) + rng.sample(noise),
                a[1] + t * (b[1] - a[1]) + rng.sample(noise),
            ]
        })
        .collect()
}

fn gradient(n: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u: f64 = rng.random();
            [-2.0 + 4.0 * u.sqrt(), rng.random_range(-2.0..2.0)]
        })
        .collect()
}

fn probability(s: &str, name: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .ok_or_else(|| {
            Error::config(format!(
                "built-in data set {name:?}: the sign probability {s:?} is not a number in [0, 1]"
            ))
        })
}

impl BuiltinSet {
    /// Parse a name (see the module documentation); an error lists the forms.
    ///
    /// ```
    /// use flowinfer::pipeline::builtin::BuiltinSet;
    /// assert_eq!(BuiltinSet::parse("n-gon-5")?, BuiltinSet::NGon(5));
    /// let s = BuiltinSet::parse("skewed:corners:0.8")?;
    /// assert_eq!(s, BuiltinSet::Skewed { set: "corners".into(), positive: [0.8, 0.8] });
    /// assert_eq!(s.name(), "skewed:corners:0.8,0.8");
    /// assert!(BuiltinSet::parse("skewed:corners:1.5").is_err());
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn parse(name: &str) -> Result<Self> {
        let bad = || {
            Error::config(format!(
                "unknown built-in data set {name:?}; expected a toy set ({}), n-gon, n-gon-K, gradient, skewed:SET:P[,P2], labelled:SET1,SET2,… or digits",
                ToyDataset::all()
                    .iter()
                    .map(|t| t.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        };
        if let Some(rest) = name.strip_prefix("skewed:") {
            let (set, p) = rest.rsplit_once(':').ok_or_else(bad)?;
            let ps: Vec<&str> = p.split(',').collect();
            let positive = match ps[..] {
                [a] => [probability(a, name)?; 2],
                [a, b] => [probability(a, name)?, probability(b, name)?],
                _ => return Err(bad()),
            };
            points_2d(set, 1, 0)?;
            return Ok(BuiltinSet::Skewed {
                set: set.into(),
                positive,
            });
        }
        if let Some(rest) = name.strip_prefix("labelled:") {
            let sets: Vec<String> = rest.split(',').map(|s| s.trim().to_string()).collect();
            if sets.len() < 2 {
                return Err(Error::config(format!(
                    "built-in data set {name:?}: a labelled set mixes at least two sets"
                )));
            }
            for s in &sets {
                points_2d(s, 1, 0)?;
            }
            return Ok(BuiltinSet::Labelled(sets));
        }
        match name {
            "n-gon" => Ok(BuiltinSet::NGon(DEFAULT_NGON_SIDES)),
            "gradient" => Ok(BuiltinSet::Gradient),
            "digits" => Ok(BuiltinSet::Digits),
            _ => match name.strip_prefix("n-gon-").map(str::parse::<usize>) {
                Some(Ok(k)) if k >= 3 => Ok(BuiltinSet::NGon(k)),
                _ => Err(bad()),
            },
        }
    }

    /// The name that [`BuiltinSet::parse`] reads back.
    pub fn name(&self) -> String {
        match self {
            BuiltinSet::NGon(k) if *k == DEFAULT_NGON_SIDES => "n-gon".into(),
            BuiltinSet::NGon(k) => format!("n-gon-{k}"),
            BuiltinSet::Gradient => "gradient".into(),
            BuiltinSet::Skewed { set, positive } => {
                format!("skewed:{set}:{},{}", positive[0], positive[1])
            }
            BuiltinSet::Labelled(sets) => format!("labelled:{}", sets.join(",")),
            BuiltinSet::Digits => "digits".into(),
        }
    }

    /// `n` events drawn with `seed` (the first `n` images for `digits`).
    ///
    /// ```
    /// use flowinfer::pipeline::builtin::BuiltinSet;
    /// let t = BuiltinSet::parse("labelled:two-moons,n-gon")?.generate(10, 0)?;
    /// assert_eq!(t.columns(), &["x1", "x2", "label"]);
    /// assert_eq!(t.row(3)[2], 1.0);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn generate(&self, n: usize, seed: u64) -> Result<Table> {
        let xy = || vec!["x1".to_string(), "x2".to_string()];
        match self {
            BuiltinSet::NGon(_) | BuiltinSet::Gradient => {
                let pts = points_2d(&self.name(), n, seed)?;
                Table::new(xy(), pts.into_iter().flatten().collect())
            }
            BuiltinSet::Skewed { set, positive } => {
                let pts = points_2d(set, n, seed)?;
                let mut rng = StdRng::seed_from_u64(seed ^ 0x5ce3_d5e7);
                let mut v = Vec::with_capacity(2 * n);
                for p in pts {
                    for j in 0..2 {
                        let sign = if rng.random::<f64>() < positive[j] {
                            1.0
                        } else {
                            -1.0
                        };
                        v.push(sign * p[j].abs());
                    }
                }
                Table::new(xy(), v)
            }
            BuiltinSet::Labelled(sets) => {
                let k = sets.len();
                let parts = sets
                    .iter()
                    .enumerate()
                    .map(|(j, s)| points_2d(s, n / k + usize::from(j < n % k), seed + j as u64))
                    .collect::<Result<Vec<_>>>()?;
                let v = (0..n)
                    .flat_map(|i| {
                        let p = parts[i % k][i / k];
                        [p[0], p[1], (i % k) as f64]
                    })
                    .collect();
                let mut cols = xy();
                cols.push("label".into());
                Table::new(cols, v)
            }
            BuiltinSet::Digits => digits(n),
        }
    }
}

/// Where the digits file is read from.
pub fn digits_path() -> PathBuf {
    match std::env::var_os("FLOWINFER_DIGITS") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/digits/digits_8x8.csv")
        }
    }
}

/// The names of the 64 pixel columns, `p00` … `p77` (row, column).
pub fn digit_columns() -> Vec<String> {
    (0..8)
        .flat_map(|r| (0..8).map(move |c| format!("p{r}{c}")))
        .collect()
}

fn digits(n: usize) -> Result<Table> {
    let path = digits_path();
    if n > DIGITS_IMAGES {
        return Err(Error::config(format!(
            "built-in data set digits: {n} images asked for, the file {} holds {DIGITS_IMAGES}",
            path.display()
        )));
    }
    let (t, _) = read_table(
        &path,
        &ReadOptions {
            columns: Some(digit_columns()),
            drop_invalid: false,
        },
    )?;
    let rows: Vec<f64> = t.values()[..n * t.cols()].to_vec();
    Table::new(digit_columns(), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_seeded_and_shaped() {
        for name in [
            "n-gon",
            "gradient",
            "skewed:corners:0.8,0.3",
            "labelled:circles,spiral,n-gon-4",
        ] {
            let s = BuiltinSet::parse(name).unwrap();
            assert_eq!(BuiltinSet::parse(&s.name()).unwrap(), s, "{name}");
            let a = s.generate(200, 3).unwrap();
            assert_eq!(a, s.generate(200, 3).unwrap());
            assert_ne!(a, s.generate(200, 4).unwrap());
            assert!(a.values().iter().all(|v| v.is_finite()));
        }
        let t = BuiltinSet::parse("skewed:corners:0.8,0.3")
            .unwrap()
            .generate(20_000, 1)
            .unwrap();
        for (j, p) in [0.8, 0.3].into_iter().enumerate() {
            let pos = (0..t.rows()).filter(|&i| t.row(i)[j] >= 0.0).count() as f64;
            assert!((pos / t.rows() as f64 - p).abs() < 0.015, "{j}");
        }
        // the polygon's points lie near its boundary, inside the circumcircle
        let g = BuiltinSet::NGon(6).generate(2000, 0).unwrap();
        let inner = 2.0 * (PI / 6.0).cos();
        for i in 0..g.rows() {
            let r = g.row(i)[0].hypot(g.row(i)[1]);
            assert!(r > inner - 0.3 && r < 2.3, "{r}");
        }
        let gr = BuiltinSet::Gradient.generate(20_000, 0).unwrap();
        let mean = (0..gr.rows()).map(|i| gr.row(i)[0]).sum::<f64>() / gr.rows() as f64;
        assert!((mean - 2.0 / 3.0).abs() < 0.03, "{mean}"); // E x1 = 2/3
        for bad in [
            "n-gon-2",
            "skewed:corners",
            "skewed:nope:0.5",
            "labelled:circles",
            "moons",
        ] {
            assert!(BuiltinSet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn digits_are_integer_images() {
        if !digits_path().exists() {
            eprintln!("skipped: {} is absent", digits_path().display());
            return;
        }
        let t = BuiltinSet::Digits.generate(100, 0).unwrap();
        assert_eq!((t.rows(), t.cols()), (100, 64));
        assert!(t
            .values()
            .iter()
            .all(|v| v.fract() == 0.0 && (0.0..=16.0).contains(v)));
        assert!(BuiltinSet::Digits.generate(DIGITS_IMAGES + 1, 0).is_err());
    }
}
