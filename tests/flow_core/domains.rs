//! The domain layer (`transforms::domain`) passes the shared property checks, samples
//! only inside its domains, and its density integrates to one in the original units.

use crate::common::{assert_properties, device, uniform};
use candle_core::{DType, Tensor};
use flowinfer::params::Params;
use flowinfer::transforms::domain::DomainMap;
use flowinfer::transforms::TransformSpec;

fn maps() -> Vec<DomainMap> {
    vec![
        DomainMap::Identity,
        DomainMap::Log,
        DomainMap::Logit {
            low: 0.0,
            high: 90.0,
        },
        DomainMap::Circle {
            low: 0.0,
            high: 360.0,
            cut: 100.0,
        },
        DomainMap::Circle {
            low: -180.0,
            high: 180.0,
            cut: -179.0,
        },
    ]
}

#[test]
fn domain_layer_passes_property_checks_inside_its_domains() {
    // Columns: real, positive, [0, 90], [0, 360) cut at 100, [−180, 180) cut at −179;
    // values kept away from the cuts (where the map is discontinuous by design).
    let u = uniform(30, 5, 0.01, 0.99, 11).to_vec2::<f64>().unwrap();
    let rows: Vec<f64> = u
        .iter()
        .flat_map(|r| {
            [
                4.0 * r[0] - 2.0,
                (8.0 * r[1] - 4.0).exp(),
                90.0 * r[2],
                (100.5 + 358.0 * r[3]) % 360.0,
                -178.5 + 357.0 * r[4],
            ]
        })
        .collect();
    let x = Tensor::from_vec(rows, (30, 5), &device()).unwrap();
    let spec = TransformSpec::Domain {
        maps: maps(),
        seed: 3,
    };
    assert_properties("domain layer", &spec, 0, &x, &[-1e4, 1e4, -1.0, 0.0, 45.0]);
}

#[test]
fn integer_columns_dequantise_and_round_trip() {
    let x = Tensor::new(
        &[[0.0f64, 3.0], [-2.0, 7.0], [5.0, 1.0], [12.0, -4.0]],
        &device(),
    )
    .unwrap();
    let spec = TransformSpec::Domain {
        maps: vec![DomainMap::Dequantize, DomainMap::Dequantize],
        seed: 9,
    };
    assert_properties("dequantisation", &spec, 0, &x, &[-1e4, 1e4, 0.0]);
    let t = spec
        .build(&Params::new(DType::F64, &device(), 0), 0)
        .unwrap();
    let (z, _) = t.forward(&x, None).unwrap();
    let off = (z - &x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    assert!(off.iter().all(|u| (0.0..1.0).contains(u)), "{off:?}");
    assert!(
        off.windows(2).any(|w| w[0] != w[1]),
        "offsets differ: {off:?}"
    );
}

#[test]
fn samples_stay_inside_and_periodic_samples_in_the_half_open_period() {
    // Latent values spanning far beyond any plausible flow output.
    let z: Vec<f64> = (0..2001).map(|i| (i as f64 - 1000.0) * 0.05).collect();
    let n = z.len();
    let zz: Vec<f64> = z.iter().flat_map(|v| std::iter::repeat_n(*v, 5)).collect();
    for dt in [DType::F32, DType::F64] {
        let t = TransformSpec::Domain {
            maps: maps(),
            seed: 0,
        }
        .build(&Params::new(dt, &device(), 0), 0)
        .unwrap();
        let zt = Tensor::from_vec(zz.clone(), (n, 5), &device())
            .unwrap()
            .to_dtype(dt)
            .unwrap();
        let x = t.inverse(&zt, None).unwrap().0;
        let x = x.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap();
        for r in &x {
            assert!(r[1] > 0.0, "{dt:?}: positive column gave {}", r[1]);
            assert!(
                (0.0..=90.0).contains(&r[2]),
                "{dt:?}: interval gave {}",
                r[2]
            );
            assert!((0.0..360.0).contains(&r[3]), "{dt:?}: period gave {}", r[3]);
            assert!(
                (-180.0..180.0).contains(&r[4]),
                "{dt:?}: period gave {}",
                r[4]
            );
        }
    }
}

#[test]
fn a_flow_with_a_periodic_column_has_a_density_that_integrates_to_one() {
    // Standard-normal base through Circle on [0, 360): ∫ p(x) dx over the period = 1.
    use flowinfer::distributions::BaseSpec;
    use flowinfer::flow::{Flow, FlowSpec};
    let spec = FlowSpec {
        dim: 1,
        context_dim: 0,
        embedding: None,
        base: BaseSpec::StandardNormal { dim: 1 },
        transforms: vec![
            TransformSpec::Domain {
                maps: vec![DomainMap::Circle {
                    low: 0.0,
                    high: 360.0,
                    cut: 200.0,
                }],
                seed: 0,
            },
            TransformSpec::Standardize {
                mean: vec![0.3],
                std: vec![1.5],
            },
        ],
    };
    let flow = Flow::new(spec, DType::F64, &device(), 0).unwrap();
    let n = 72_000;
    let h = 360.0 / n as f64;
    let x: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) * h).collect();
    let lp = flow
        .log_prob(&Tensor::from_vec(x, (n, 1), &device()).unwrap(), None)
        .unwrap()
        .to_vec1::<f64>()
        .unwrap();
    let mass: f64 = lp.iter().map(|l| l.exp() * h).sum();
    assert!((mass - 1.0).abs() < 1e-3, "mass {mass}");
}

#[test]
fn auger_spec_generates_no_event_outside_its_declared_domains() {
    // The shipped spec's domains on a small, short fit (the check is on the domains,
    // which hold for any weights); 10⁵ generated events.
    use flowinfer::config::{ColumnDomain, FitConfig};
    use flowinfer::density::{fit, DataSource, Output};
    use rand::SeedableRng;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cfg = FitConfig::load(&root.join("models/auger-nsf.toml")).unwrap();
    assert_eq!(
        cfg.data.domains.len(),
        12,
        "every Auger column declares its domain"
    );
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (3, 32, 3);
    (cfg.eval.c2st, cfg.eval.plots) = (false, false);
    let data = root.join(cfg.data.file.clone().unwrap());
    let run = fit(&DataSource::File(data), &cfg, Output::default(), |_| {}).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let n = 100_000;
    let x = run.flow.sample(n, None, &mut rng).unwrap();
    let x = x.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap();
    for (j, col) in run.columns.iter().enumerate() {
        let d: ColumnDomain = cfg.data.domains[col];
        let outside = x.iter().filter(|r| d.violation(r[j]).is_some()).count();
        assert_eq!(
            outside, 0,
            "column {col} ({d:?}): {outside} of {n} events outside"
        );
    }
}

#[test]
fn an_integer_column_is_fitted_dequantised_and_sampled_as_integers() {
    use flowinfer::config::{ColumnDomain, FitConfig};
    use flowinfer::density::{fit, DataSource, Output};
    use rand::SeedableRng;
    // n: counts 0..=6 growing with x.
    let rows: Vec<Vec<f64>> = (0..400)
        .map(|i| {
            let x = (i as f64 * 0.618_034).fract() * 2.0;
            vec![x, (3.0 * x + (i % 3) as f64 * 0.4).floor()]
        })
        .collect();
    let mut cfg = FitConfig::default();
    cfg.data.domains.insert("n".into(), ColumnDomain::Integer);
    (cfg.flow.blocks, cfg.flow.hidden, cfg.train.epochs) = (2, 16, 3);
    (cfg.eval.c2st, cfg.eval.plots) = (false, false);
    let src = DataSource::rows(&["x", "n"], &rows).unwrap();
    let run = fit(&src, &cfg, Output::default(), |_| {}).unwrap();
    assert!(run.report.test.nll.is_finite());
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let s = run.flow.sample(2000, None, &mut rng).unwrap();
    let s = s.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap();
    assert!(s.iter().all(|r| r[1].fract() == 0.0), "non-integer samples");
    assert!(
        s.iter().any(|r| r[0].fract() != 0.0),
        "the real column stays real"
    );
    // A non-integer value in the column is an error naming row and column.
    let mut bad = rows.clone();
    bad[9][1] = 2.5;
    let e = fit(
        &DataSource::rows(&["x", "n"], &bad).unwrap(),
        &cfg,
        Output::default(),
        |_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("row 10") && e.contains("\"n\"") && e.contains("integer"),
        "{e}"
    );
}
