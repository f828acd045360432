//! Integrands derived from the user's integrand, on which the flow is trained:
//!
//! * [`PaddedIntegrand`]: a 1-D integrand seen as a 2-D one, `g(x₁, x₂) = f(x₁)`
//!   (same integral: the second coordinate has unit volume), because a coupling flow
//!   needs two features.
//! * [`GridPullback`]: the integrand pulled back through a fixed VEGAS grid,
//!   `g(y) = f(G(y))·J_G(y)`, for the VEGAS warm start. Importance sampling `g` with a
//!   flow `q(y)` is importance sampling `f` with the composed proposal
//!   `q(G⁻¹(x))/J_G(G⁻¹(x))`: the flow only learns the residual the grid missed, and the
//!   grid Jacobian is part of every weight.
//!
//! [`Target`] bundles the integrand the flow sees with the map from its points back to
//! the user's points (for unweighted events).

use flowinfer_simulators::{Integrand, IntegrandError, VegasGrid};

/// A one-dimensional integrand on `[0,1]` seen on `[0,1]²` as `g(x₁, x₂) = f(x₁)`.
pub struct PaddedIntegrand<'a> {
    inner: &'a dyn Integrand,
}

impl<'a> PaddedIntegrand<'a> {
    /// Pad `inner` (which must be one-dimensional).
    pub fn new(inner: &'a dyn Integrand) -> Result<Self, IntegrandError> {
        if inner.dim() != 1 {
            return Err(IntegrandError::InvalidSetting {
                integrand: inner.name().to_string(),
                message: format!("padding expects a 1-D integrand, got {}-D", inner.dim()),
            });
        }
        Ok(Self { inner })
    }
}

impl Integrand for PaddedIntegrand<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn dim(&self) -> usize {
        2
    }
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        flowinfer_simulators::integrands::check_batch(self, points, out)?;
        let first: Vec<f64> = points.chunks_exact(2).map(|r| r[0]).collect();
        self.inner.evaluate(&first, out)
    }
    fn exact(&self) -> Option<f64> {
        self.inner.exact()
    }
}

/// `g(y) = f(G(y))·J_G(y)` for a fixed VEGAS grid `G` (module docs).
pub struct GridPullback<'a> {
    inner: Box<dyn Integrand + 'a>,
    grid: VegasGrid,
}

impl<'a> GridPullback<'a> {
    /// Pull `inner` back through `grid` (same dimension).
    pub fn new(inner: Box<dyn Integrand + 'a>, grid: VegasGrid) -> Result<Self, IntegrandError> {
        if grid.dim() != inner.dim() {
            return Err(IntegrandError::InvalidSetting {
                integrand: inner.name().to_string(),
                message: format!(
                    "VEGAS grid has dimension {}, the integrand {}",
                    grid.dim(),
                    inner.dim()
                ),
            });
        }
        Ok(Self { inner, grid })
    }

    /// The grid.
    pub fn grid(&self) -> &VegasGrid {
        &self.grid
    }
}

impl Integrand for GridPullback<'_> {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    /// Maps the points through the grid, evaluates `f` there and multiplies by the
    /// grid Jacobian (non-finite and negative values stay so, to be counted).
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        flowinfer_simulators::integrands::check_batch(self, points, out)?;
        let (x, jac) = self
            .grid
            .map(points)
            .map_err(|e| IntegrandError::InvalidSetting {
                integrand: self.name().to_string(),
                message: format!("VEGAS warm-start grid: {e}"),
            })?;
        self.inner.evaluate(&x, out)?;
        for (o, j) in out.iter_mut().zip(&jac) {
            *o *= j;
        }
        Ok(())
    }
    fn exact(&self) -> Option<f64> {
        self.inner.exact()
    }
}

/// The integrand the flow is trained on, and how its points map back to the user's.
pub struct Target<'a> {
    integrand: Box<dyn Integrand + 'a>,
    grid: Option<VegasGrid>,
    padded: bool,
    user_dim: usize,
}

impl<'a> Target<'a> {
    /// The user's integrand, padded to two dimensions when it has one.
    pub fn new(user: &'a dyn Integrand) -> Result<Self, IntegrandError> {
        let user_dim = user.dim();
        let (integrand, padded): (Box<dyn Integrand + 'a>, bool) = if user_dim == 1 {
            (Box::new(PaddedIntegrand::new(user)?), true)
        } else {
            (Box::new(Borrowed(user)), false)
        };
        Ok(Self {
            integrand,
            grid: None,
            padded,
            user_dim,
        })
    }

    /// Compose with a fixed VEGAS grid (warm start); the grid must have the flow's
    /// dimension ([`Self::dim`]).
    pub fn with_grid(self, grid: VegasGrid) -> Result<Self, IntegrandError> {
        let pulled = GridPullback::new(self.integrand, grid.clone())?;
        Ok(Self {
            integrand: Box::new(pulled),
            grid: Some(grid),
            padded: self.padded,
            user_dim: self.user_dim,
        })
    }

    /// The integrand the flow samples (dimension [`Self::dim`]).
    pub fn integrand(&self) -> &dyn Integrand {
        self.integrand.as_ref()
    }

    /// The flow's dimension (the user's, or 2 for a padded 1-D integrand).
    pub fn dim(&self) -> usize {
        self.integrand.dim()
    }

    /// The user's dimension.
    pub fn user_dim(&self) -> usize {
        self.user_dim
    }

    /// The warm-start grid, if any.
    pub fn grid(&self) -> Option<&VegasGrid> {
        self.grid.as_ref()
    }

    /// Map flow points (`n × dim`, row-major) to the user's points (`n × user_dim`):
    /// through the grid, then dropping a padding coordinate.
    pub fn to_user_points(&self, y: &[f64]) -> Result<Vec<f64>, IntegrandError> {
        let x = match &self.grid {
            Some(g) => {
                g.map(y)
                    .map_err(|e| IntegrandError::InvalidSetting {
                        integrand: self.integrand.name().to_string(),
                        message: format!("VEGAS warm-start grid: {e}"),
                    })?
                    .0
            }
            None => y.to_vec(),
        };
        Ok(if self.padded {
            x.chunks_exact(self.dim()).map(|r| r[0]).collect()
        } else {
            x
        })
    }
}

/// A borrowed integrand as an owned box.
struct Borrowed<'a>(&'a dyn Integrand);

impl Integrand for Borrowed<'_> {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn evaluate(&self, points: &[f64], out: &mut [f64]) -> Result<(), IntegrandError> {
        self.0.evaluate(points, out)
    }
    fn exact(&self) -> Option<f64> {
        self.0.exact()
    }
}
