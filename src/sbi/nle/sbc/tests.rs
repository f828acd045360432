use super::*;
use flowinfer_simulators::GaussianLinear;

type PairPosterior = Box<dyn Fn(&[Vec<f64>], &[Vec<f64>]) -> Result<Vec<f64>>>;

/// gaussian_linear's posterior with the likelihood's precision multiplied by
/// `sharpen` (1: exact; > 1: overconfident) and its mean shifted by `shift`.
fn posterior(sharpen: f64, shift: f64) -> PairPosterior {
    Box::new(move |t: &[Vec<f64>], x: &[Vec<f64>]| {
        Ok(t.iter()
            .zip(x)
            .map(|(t, x)| {
                let ll: f64 = t
                    .iter()
                    .zip(x)
                    .map(|(a, b)| (a + shift - b).powi(2))
                    .sum::<f64>()
                    / 0.2;
                GaussianLinear.log_prior(t) - sharpen * ll
            })
            .collect())
    })
}

fn cfg() -> McmcSbcConfig {
    McmcSbcConfig {
        runs: 100,
        samples: 100,
        candidates: 300,
        mcmc: McmcConfig {
            chains: 4,
            warmup: 30,
            thin: 1,
            ..McmcSbcConfig::default().mcmc
        },
        seed: 7,
    }
}

fn names() -> Vec<String> {
    GaussianLinear.param_names()
}

#[test]
fn the_exact_posterior_is_calibrated_and_a_broken_one_is_flagged() {
    let good = sbc_mcmc(&posterior(1.0, 0.0), &GaussianLinear, &names(), &cfg()).unwrap();
    assert_eq!((good.sbc.runs, good.sbc.samples), (100, 100));
    assert!(good.sbc.ranks.iter().all(|r| r.len() == 100));
    let min_p = good.sbc.p_values.iter().copied().fold(1.0, f64::min);
    assert!(min_p > 1e-3, "{:?}", good.sbc.p_values);
    assert!(
        good.sbc.max_coverage_gap < 0.2,
        "{}",
        good.sbc.max_coverage_gap
    );
    assert!(good.mixing.warning.is_none(), "{:?}", good.mixing);
    assert_eq!(good.mixing.median_rhat.len(), 10);

    // Four times the likelihood's precision: posteriors half as wide as they should be.
    let bad = sbc_mcmc(&posterior(4.0, 0.0), &GaussianLinear, &names(), &cfg()).unwrap();
    let max_p = bad.sbc.p_values.iter().copied().fold(0.0, f64::max);
    assert!(max_p < 1e-3, "{:?}", bad.sbc.p_values);
    assert!(
        bad.sbc.max_coverage_gap > 0.3,
        "{}",
        bad.sbc.max_coverage_gap
    );
    assert!(bad.sbc.tarp.ks_p_value < 0.01, "{:?}", bad.sbc.tarp);
    // A biased posterior (mean shifted by 0.9 posterior sd): ranks pile up on one side.
    let biased = sbc_mcmc(&posterior(1.0, 0.4), &GaussianLinear, &names(), &cfg()).unwrap();
    let max_p = biased.sbc.p_values.iter().copied().fold(0.0, f64::max);
    assert!(max_p < 1e-3, "{:?}", biased.sbc.p_values);
}

#[test]
fn chains_that_do_not_mix_draw_a_warning() {
    let mut c = cfg();
    (c.runs, c.mcmc.warmup, c.mcmc.initial_width) = (20, 0, 1e-7);
    let r = sbc_mcmc(&posterior(1.0, 0.0), &GaussianLinear, &names(), &c).unwrap();
    assert!(r.mixing.unmixed_sets > 10, "{:?}", r.mixing);
    let w = r.mixing.warning.expect("a warning");
    assert!(w.contains("did not mix") && w.contains("R-hat"), "{w}");
}

#[test]
fn bad_settings_are_refused() {
    let mut c = cfg();
    c.candidates = 2;
    let e = sbc_mcmc(&posterior(1.0, 0.0), &GaussianLinear, &names(), &c)
        .unwrap_err()
        .to_string();
    assert!(e.contains("candidates"), "{e}");
}
