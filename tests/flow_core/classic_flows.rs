//! The classic variational layers (planar, radial, Sylvester) and the IAF preset:
//! property checks, round trips on random constrained layers, adversarial parameters,
//! root-finding failures, save/reload, `[flow]` kinds, gradients of the density
//! direction, and IAF against a MAF with the same weights.

use crate::common::{assert_properties, device, gaussian, max_abs_diff};
use candle_core::{DType, Tensor};
use flowinfer::flow::{Flow, FlowBuilder, FlowConfig, FlowKind, Mixing};
use flowinfer::params::Params;
use flowinfer::testing::{check_transform, perturb_params};
use flowinfer::transforms::classic::root::RootOptions;
use flowinfer::transforms::classic::{Planar, Radial, Sylvester};
use flowinfer::transforms::{Transform, TransformSpec};
use flowinfer::Error;
use nalgebra::DMatrix;
use rand::SeedableRng;

const EXTREMES: [f64; 5] = [-1e4, 1e4, -3.0, 3.0, 0.0];

fn specs(d: usize) -> Vec<(&'static str, TransformSpec)> {
    vec![
        ("planar", TransformSpec::Planar { dim: d }),
        ("radial", TransformSpec::Radial { dim: d }),
        (
            "Sylvester (full Householder)",
            TransformSpec::Sylvester {
                dim: d,
                reflections: d,
            },
        ),
        (
            "Sylvester (one reflection)",
            TransformSpec::Sylvester {
                dim: d,
                reflections: 1,
            },
        ),
    ]
}

#[test]
fn classic_layers_pass_property_checks() {
    let x = gaussian(24, 5, 1.5, 1);
    for (name, spec) in specs(5) {
        assert_properties(name, &spec, 0, &x, &EXTREMES);
    }
    let x1 = gaussian(16, 1, 2.0, 2);
    for (name, spec) in specs(1) {
        assert_properties(name, &spec, 0, &x1, &EXTREMES);
    }
}

/// Strongly perturbed (random, far from the initialisation) layers still round-trip
/// to 1e-6 in f64, in both orders, with matching log-determinants.
#[test]
fn random_constrained_layers_round_trip_in_f64() {
    let x = gaussian(200, 4, 2.0, 3);
    for (name, spec) in specs(4) {
        for seed in 0..4 {
            let params = Params::new(DType::F64, &device(), seed);
            let t = spec.build(&params, 0).unwrap();
            perturb_params(&params, 2.0, 100 + seed).unwrap();
            let r = check_transform(t.as_ref(), &x, None).unwrap();
            assert!(
                r.roundtrip_err <= 1e-6 && r.inverse_logdet_err <= 1e-6,
                "{name} seed {seed}: {r:?}"
            );
            assert!(r.logdet_rel_err <= 1e-5, "{name} seed {seed}: {r:?}");
            // Sampling first: z → x → z.
            let (xs, ld_s) = t.inverse(&x, None).unwrap();
            let (zb, ld_d) = t.forward(&xs, None).unwrap();
            let err = max_abs_diff(&zb, &x);
            assert!(err <= 1e-6, "{name} seed {seed}: z → x → z error {err}");
            let ld_err = max_abs_diff(&ld_s, &ld_d.neg().unwrap());
            assert!(
                ld_err <= 1e-6,
                "{name} seed {seed}: log-dets differ by {ld_err}"
            );
        }
    }
}

/// Signed determinant of the sampling map's Jacobian at each row of `z`, by central
/// differences.
fn sampling_jacobian_dets(t: &dyn Transform, z: &Tensor) -> Vec<f64> {
    let (b, d) = z.dims2().unwrap();
    let h = 1e-6;
    let mut jac = vec![DMatrix::<f64>::zeros(d, d); b];
    for j in 0..d {
        let mut e = vec![0f64; d];
        e[j] = h;
        let e = Tensor::from_vec(e, (1, d), z.device()).unwrap();
        let up = t.inverse(&z.broadcast_add(&e).unwrap(), None).unwrap().0;
        let down = t.inverse(&z.broadcast_sub(&e).unwrap(), None).unwrap().0;
        let diff = ((up - down).unwrap() / (2.0 * h))
            .unwrap()
            .to_vec2::<f64>()
            .unwrap();
        for r in 0..b {
            for i in 0..d {
                jac[r][(i, j)] = diff[r][i];
            }
        }
    }
    jac.into_iter().map(|m| m.lu().determinant()).collect()
}

fn set(params: &Params, name: &str, v: &[f64]) {
    params
        .set(name, &Tensor::new(v, &device()).unwrap())
        .unwrap();
}

/// Raw parameters that would break the paper's constraints (u = −10 w for planar,
/// β far below −α for radial, r_ii·r̃_ii → −1 for Sylvester) still give invertible
/// layers with positive Jacobian determinants and working inverses.
#[test]
fn constraints_hold_for_adversarial_raw_parameters() {
    let d = 3;
    let z = gaussian(64, d, 1.0, 4);
    let cases: Vec<(&str, Box<dyn Transform>, Params)> = {
        let mut v: Vec<(&str, Box<dyn Transform>, Params)> = Vec::new();
        for (scale, name) in [
            (0.3, "planar u = −10 w, ‖w‖ small"),
            (3.0, "planar u = −10 w, ‖w‖ large"),
        ] {
            let p = Params::new(DType::F64, &device(), 1);
            let t = Planar::new(&p, d).unwrap();
            let w = [1.0 * scale, -2.0 * scale, 0.5 * scale];
            set(&p, "w", &w);
            set(&p, "u", &w.map(|x| -10.0 * x));
            set(&p, "b", &[0.1]);
            v.push((name, Box::new(t), p));
        }
        let p = Params::new(DType::F64, &device(), 2);
        let t = Radial::new(&p, d).unwrap();
        set(&p, "alpha", &[0.5]);
        set(&p, "beta", &[-60.0]);
        set(&p, "z0", &[0.2, -0.1, 0.0]);
        v.push(("radial β ≪ −α", Box::new(t), p));
        let p = Params::new(DType::F64, &device(), 3);
        let t = Sylvester::new(&p, d, d).unwrap();
        perturb_params(&p, 1.0, 5).unwrap();
        set(&p, "r_diag", &[40.0, 40.0, -40.0]);
        set(&p, "r_tilde_diag", &[-40.0, -40.0, 40.0]);
        v.push(("Sylvester r_ii·r̃_ii → −1", Box::new(t), p));
        v
    };
    for (name, t, _params) in &cases {
        // Include points where the non-linearity's slope is 1 (the worst case).
        let (x, ld) = t.inverse(&z, None).unwrap();
        let dets = sampling_jacobian_dets(t.as_ref(), &z);
        let ld = ld.to_vec1::<f64>().unwrap();
        for (r, det) in dets.iter().enumerate() {
            assert!(
                *det > 0.0,
                "{name}: row {r}: Jacobian determinant {det} ≤ 0"
            );
            assert!(ld[r].is_finite(), "{name}: row {r}: log-det {}", ld[r]);
        }
        let (zb, _) = t.forward(&x, None).unwrap();
        let err = max_abs_diff(&zb, &z);
        assert!(err < 1e-6, "{name}: round trip error {err}");
    }
}

#[test]
fn root_finding_failures_are_errors_naming_the_event() {
    let d = 3;
    let params = Params::new(DType::F64, &device(), 0);
    perturb_params(&params, 0.5, 1).unwrap();
    let mut x = gaussian(5, d, 1.0, 5).to_vec2::<f64>().unwrap();
    x[3][1] = f64::NAN;
    let x = Tensor::new(x, &device()).unwrap();
    let planar = Planar::new(&params.pp("p"), d).unwrap();
    let sylvester = Sylvester::new(&params.pp("s"), d, 2).unwrap();
    perturb_params(&params, 0.5, 2).unwrap();
    for (name, t) in [
        ("planar", &planar as &dyn Transform),
        ("Sylvester", &sylvester),
    ] {
        let err = t.forward(&x, None).unwrap_err();
        assert!(
            matches!(err, Error::RootFinding { event: 3, .. }),
            "{name}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("event 3") && msg.contains(name),
            "{name}: {msg}"
        );
    }
    // An absurd iteration cap: the error says so instead of returning a wrong point.
    let capped = RootOptions {
        newton_iters: 1,
        brent_iters: 1,
        tol: 1e-16,
    };
    let x = gaussian(50, d, 3.0, 6);
    for (name, t) in [
        (
            "planar",
            Box::new(
                Planar::new(&params.pp("p"), d)
                    .unwrap()
                    .with_root_options(capped),
            ) as Box<dyn Transform>,
        ),
        (
            "Sylvester",
            Box::new(
                Sylvester::new(&params.pp("s"), d, 2)
                    .unwrap()
                    .with_root_options(capped),
            ),
        ),
    ] {
        let msg = t.forward(&x, None).unwrap_err().to_string();
        assert!(
            msg.contains(name)
                && msg.contains("event")
                && msg.contains("residual")
                && msg.contains("Brent"),
            "{name}: {msg}"
        );
    }
}

#[test]
fn classic_layers_reject_a_context() {
    let params = Params::new(DType::F64, &device(), 0);
    let x = gaussian(4, 2, 1.0, 7);
    let ctx = gaussian(4, 3, 1.0, 8);
    for (name, spec) in specs(2) {
        let t = spec.build(&params.pp(name), 0).unwrap();
        assert_eq!(t.context_dim(), 0);
        for inverse in [false, true] {
            let err = if inverse {
                t.inverse(&x, Some(&ctx))
            } else {
                t.forward(&x, Some(&ctx))
            }
            .unwrap_err();
            assert!(matches!(err, Error::Context { .. }), "{name}: {err}");
        }
    }
}

fn kind_config(kind: &str, blocks: usize) -> FlowConfig {
    toml::from_str(&format!(
        "kind = \"{kind}\"\nblocks = {blocks}\nhidden = 16"
    ))
    .unwrap()
}

#[test]
fn flow_sections_build_the_classic_kinds_and_reload_bit_identically() {
    for (kind, want) in [
        ("planar", "planar"),
        ("radial", "radial"),
        ("sylvester", "sylvester"),
        ("iaf", "inverted"),
    ] {
        let cfg = kind_config(kind, 3);
        let spec = FlowBuilder::new(3, cfg.clone()).build_spec().unwrap();
        let names: Vec<String> = spec
            .transforms
            .iter()
            .map(|t| {
                serde_json::to_value(t).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            names.iter().filter(|n| *n == want).count(),
            3,
            "{kind}: {names:?}"
        );
        for dtype in [DType::F64, DType::F32] {
            crate::flow_io::roundtrip(FlowBuilder::new(3, cfg.clone()), dtype, None);
        }
    }
    assert_eq!(FlowConfig::planar().kind, FlowKind::Planar);
    assert_eq!(FlowConfig::iaf().kind, FlowKind::Iaf);
}

/// Draws of every classic flow are scored consistently: the log density returned with
/// the samples (sampling direction) equals `log_prob` of those samples (root-finding
/// direction).
#[test]
fn sample_log_density_matches_log_prob() {
    for cfg in [
        FlowConfig::planar(),
        FlowConfig::radial(),
        FlowConfig::sylvester(),
    ] {
        let kind = cfg.kind;
        let spec = FlowBuilder::new(3, cfg).blocks(6).build_spec().unwrap();
        let flow = Flow::new(spec, DType::F64, &device(), 3).unwrap();
        perturb_params(flow.params(), 0.5, 4).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (x, lp) = flow.sample_and_log_prob(500, None, &mut rng).unwrap();
        let lp2 = flow.log_prob(&x, None).unwrap();
        let err = max_abs_diff(&lp, &lp2);
        assert!(
            err < 1e-8,
            "{kind:?}: sample log density vs log_prob: {err}"
        );
    }
}

/// The density direction's gradients (implicit, through one tensor Newton step) match
/// finite differences of `log_prob` in the parameters.
#[test]
fn density_direction_has_correct_parameter_gradients() {
    for cfg in [
        FlowConfig::planar(),
        FlowConfig::sylvester(),
        FlowConfig::radial(),
    ] {
        let kind = cfg.kind;
        let spec = FlowBuilder::new(3, cfg).blocks(2).build_spec().unwrap();
        let flow = Flow::new(spec, DType::F64, &device(), 5).unwrap();
        perturb_params(flow.params(), 0.5, 6).unwrap();
        let x = gaussian(20, 3, 1.5, 9);
        let loss = |f: &Flow| f.log_prob(&x, None).unwrap().sum_all().unwrap();
        let grads = loss(&flow).backward().unwrap();
        for (name, var) in flow.params().named_vars() {
            let g = grads
                .get(var.as_tensor())
                .unwrap_or_else(|| panic!("{kind:?}: no gradient for {name}"))
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            let base = var
                .as_tensor()
                .flatten_all()
                .unwrap()
                .to_vec1::<f64>()
                .unwrap();
            // The first entry of each parameter.
            let h = 1e-6;
            let eval = |delta: f64| {
                let mut v = base.clone();
                v[0] += delta;
                var.set(&Tensor::from_vec(v, var.shape(), &device()).unwrap())
                    .unwrap();
                loss(&flow).to_scalar::<f64>().unwrap()
            };
            let numeric = (eval(h) - eval(-h)) / (2.0 * h);
            eval(0.0);
            let err = (g[0] - numeric).abs() / numeric.abs().max(1.0);
            assert!(
                err < 1e-5,
                "{kind:?} {name}: autograd {} vs numeric {numeric}",
                g[0]
            );
        }
    }
}

/// The IAF preset is a MAF run backwards: with the same weights, its samples are the
/// MAF's data→latent map of the base draws, and its sample log densities and
/// `log_prob` agree with that map's log-determinant.
#[test]
fn iaf_matches_a_maf_with_the_same_weights() {
    let d = 3;
    let mut iaf_b = FlowBuilder::new(d, FlowConfig::iaf()).blocks(2).hidden(16);
    iaf_b.flow.mixing = Mixing::Reverse;
    let iaf = Flow::new(iaf_b.build_spec().unwrap(), DType::F64, &device(), 11).unwrap();
    perturb_params(iaf.params(), 0.3, 12).unwrap();
    // IAF layers [inv(A) t0, reverse t1, inv(B) t2] sample x = A(P(B(z))): a MAF whose
    // data→latent stack is [B, reverse, A], i.e. t0 ↔ t2 swapped.
    let maf_b = FlowBuilder::maf(d)
        .blocks(2)
        .hidden(16)
        .mixing(Mixing::Reverse);
    let maf = Flow::new(maf_b.build_spec().unwrap(), DType::F64, &device(), 99).unwrap();
    for (name, var) in iaf.params().named_vars() {
        let swapped = if let Some(rest) = name.strip_prefix("t0.") {
            format!("t2.{rest}")
        } else if let Some(rest) = name.strip_prefix("t2.") {
            format!("t0.{rest}")
        } else {
            name.clone()
        };
        maf.params().set(&swapped, var.as_tensor()).unwrap();
    }
    let n = 300;
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let (x, lp) = iaf.sample_and_log_prob(n, None, &mut rng).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let z = iaf.base().sample(n, &mut rng).unwrap();
    let (x_maf, ld_maf) = maf.to_latent(&z, None).unwrap();
    assert!(max_abs_diff(&x, &x_maf) < 1e-12, "samples differ");
    let lp_maf = (iaf.base().log_prob(&z).unwrap() - ld_maf).unwrap();
    assert!(
        max_abs_diff(&lp, &lp_maf) < 1e-10,
        "sample log densities differ"
    );
    let lp_eval = iaf.log_prob(&x, None).unwrap();
    assert!(
        max_abs_diff(&lp, &lp_eval) < 1e-8,
        "IAF log_prob vs its sample density"
    );
}
