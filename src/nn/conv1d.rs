//! A 1-D convolutional embedding for time series (e.g. the SIR observation: the
//! `dS/dt` series, then the `dR/dt` series).

use crate::checks::expect_matrix;
use crate::error::{Error, Result};
use crate::nn::conv1d_kernels::{conv_out_len, pool1d, unfold1d};
use crate::nn::embedding::Embedding;
use crate::nn::{Activation, Linear};
use crate::params::Params;
use candle_core::Tensor;
use serde::{Deserialize, Serialize};

/// Pooling applied after each convolution of a [`crate::nn::EmbeddingNetSpec::Conv1d`] network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Maximum over each window.
    #[default]
    Max,
    /// Mean over each window.
    Avg,
}

/// The sizes of a [`Conv1dEmbedding`] (the fields of the `conv1d` embedding spec, with
/// `downsample` resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1dConfig {
    /// Number of series.
    pub channels: usize,
    /// Steps per series.
    pub length: usize,
    /// Average-pooling factor applied to the raw series first (1 = none).
    pub downsample: usize,
    /// Output channels of every convolution.
    pub filters: usize,
    /// Kernel width (zero padding `kernel / 2`).
    pub kernel: usize,
    /// Number of conv → activation → pool blocks.
    pub layers: usize,
    /// Pooling window (and stride) after each convolution.
    pub pool: usize,
    /// Max or average pooling.
    pub pooling: Pooling,
    /// Width of the dense layer after flattening.
    pub hidden: usize,
    /// Non-linearity.
    pub activation: Activation,
}

/// `downsample` (average pooling of the raw series) → `layers` × (convolution with
/// zero padding → activation → pooling) → flatten → dense `hidden` → activation →
/// dense `out_dim`.
///
/// The series are handled channel-last, `(batch, steps, channels)`, and each
/// convolution is an im2col ([`unfold1d`]) followed by one dense layer whose weight
/// `(kernel · c_in, filters)` is the parameter `conv{i}.weight` (row `j · c_in + c` is
/// tap `j` of input channel `c`); the head is `fc.*` and `out.*`.
#[derive(Debug)]
pub struct Conv1dEmbedding {
    cfg: Conv1dConfig,
    convs: Vec<Linear>,
    fc: Linear,
    out: Linear,
    out_dim: usize,
    /// Series length after downsampling and after each block.
    lengths: Vec<usize>,
}

impl Conv1dEmbedding {
    /// The series length after downsampling (first entry) and after each block
    /// (convolution with padding `kernel / 2`, then pooling); `Error::Config` when a
    /// stage would leave no step.
    pub fn lengths(
        length: usize,
        downsample: usize,
        kernel: usize,
        layers: usize,
        pool: usize,
    ) -> Result<Vec<usize>> {
        if downsample == 0 || kernel == 0 || pool == 0 {
            return Err(Error::config(
                "conv1d embedding: downsample, kernel and pool must be at least 1",
            ));
        }
        if kernel > length {
            return Err(Error::config(format!(
                "conv1d embedding: kernel {kernel} is longer than the series ({length} steps)"
            )));
        }
        let mut l = length / downsample;
        if l == 0 {
            return Err(Error::config(format!(
                "conv1d embedding: downsample {downsample} is longer than the series ({length} steps)"
            )));
        }
        let mut out = vec![l];
        for i in 0..layers {
            l = conv_out_len(l, kernel) / pool;
            if l == 0 {
                return Err(Error::config(format!(
                    "conv1d embedding: the series ({length} steps, downsampled by {downsample}) \
                     has no step left after block {} (pool {pool}); use fewer layers or a smaller pool",
                    i + 1
                )));
            }
            out.push(l);
        }
        Ok(out)
    }

    /// Build the network; parameters `conv{i}.*`, `fc.*`, `out.*` under `params`.
    pub fn new(params: &Params, cfg: Conv1dConfig, out_dim: usize) -> Result<Self> {
        for (what, v) in [
            ("channels", cfg.channels),
            ("length", cfg.length),
            ("filters", cfg.filters),
            ("layers", cfg.layers),
            ("hidden", cfg.hidden),
            ("out_dim", out_dim),
        ] {
            if v == 0 {
                return Err(Error::config(format!(
                    "conv1d embedding: {what} must be at least 1"
                )));
            }
        }
        if cfg.channels.checked_mul(cfg.length).is_none() {
            return Err(Error::config(
                "conv1d embedding: channels × length overflows",
            ));
        }
        let lengths = Self::lengths(cfg.length, cfg.downsample, cfg.kernel, cfg.layers, cfg.pool)?;
        let mut c_in = cfg.channels;
        let mut convs = Vec::with_capacity(cfg.layers);
        for i in 0..cfg.layers {
            convs.push(Linear::new(
                &params.pp(format!("conv{i}")),
                cfg.kernel * c_in,
                cfg.filters,
                false,
            )?);
            c_in = cfg.filters;
        }
        let flat = lengths[cfg.layers] * cfg.filters;
        let fc = Linear::new(&params.pp("fc"), flat, cfg.hidden, false)?;
        let out = Linear::new(&params.pp("out"), cfg.hidden, out_dim, false)?;
        Ok(Self {
            cfg,
            convs,
            fc,
            out,
            out_dim,
            lengths,
        })
    }

    /// The sizes this network was built with.
    pub fn config(&self) -> &Conv1dConfig {
        &self.cfg
    }

    /// Width of the flattened features entering the dense head.
    pub fn flat_dim(&self) -> usize {
        self.lengths[self.cfg.layers] * self.cfg.filters
    }
}

impl Embedding for Conv1dEmbedding {
    fn forward(&self, ctx: &Tensor) -> Result<Tensor> {
        let c = &self.cfg;
        let b = expect_matrix(ctx, self.in_dim(), "conv1d embedding input")?;
        // (batch, channels · length), channel-major → (batch · channels, length, 1).
        let mut h = ctx.reshape((b * c.channels, c.length, 1))?;
        if c.downsample > 1 {
            h = pool1d(&h, c.downsample, Pooling::Avg)?;
        }
        let l0 = self.lengths[0];
        // Channel-last: (batch, steps, channels).
        let mut h = if c.channels == 1 {
            h.reshape((b, l0, 1))?
        } else {
            h.reshape((b, c.channels, l0))?
                .transpose(1, 2)?
                .contiguous()?
        };
        for conv in &self.convs {
            let steps = conv_out_len(h.dim(1)?, c.kernel);
            let y = conv.forward(&unfold1d(&h, c.kernel)?)?;
            let y = c.activation.apply(&y)?.reshape((b, steps, c.filters))?;
            h = pool1d(&y, c.pool, c.pooling)?;
        }
        let h = self.fc.forward(&h.reshape((b, self.flat_dim()))?)?;
        self.out.forward(&c.activation.apply(&h)?)
    }
    fn in_dim(&self) -> usize {
        self.cfg.channels * self.cfg.length
    }
    fn out_dim(&self) -> usize {
        self.out_dim
    }
}
