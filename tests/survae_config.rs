//! `[flow] surjective` through the library (issue 18): placement and widths in the
//! built stack, the standardisation fitted on the data-side layers' output, and a fitted
//! run that reloads bit-identically.

use candle_core::{DType, Device, Tensor};
use flowinfer::config::FitConfig;
use flowinfer::density::{fit, Output};
use flowinfer::flow::{Flow, FlowBuilder, FlowConfig};
use flowinfer::pipeline::{load_run, DataSource};
use flowinfer::transforms::{Contribution, TransformSpec};
use std::path::Path;

fn kinds(ts: &[TransformSpec]) -> Vec<String> {
    ts.iter()
        .map(|t| {
            serde_json::to_value(t).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn placed_layers_change_the_width_of_the_blocks_after_them() {
    let cfg: FitConfig = FitConfig::from_toml(
        "[flow]\nkind = \"realnvp\"\nblocks = 3\nhidden = 8\n\
         [[flow.surjective]]\ntype = \"augment\"\nextra = 2\nmodel = { kind = \"standard_normal\" }\nat = 0\n\
         [[flow.surjective]]\ntype = \"slice\"\nkeep = 3\nmodel = { kind = \"conditional\", hidden = 8, depth = 1 }\nat = 2\n\
         [[flow.surjective]]\ntype = \"sort\"\nat = 3\n",
        Path::new("t.toml"),
    )
    .unwrap();
    let mut b = FlowBuilder::new(2, cfg.flow.clone());
    b.standardize = Some((vec![0.0; 2], vec![1.0; 2]));
    let spec = b.build_spec().unwrap();
    assert_eq!(
        kinds(&spec.transforms),
        [
            "standardize",
            "augment",
            "coupling",
            "permutation",
            "coupling",
            "slice",
            "permutation",
            "coupling",
            "sort"
        ]
    );
    let widths: Vec<usize> = spec.transforms.iter().map(TransformSpec::dim).collect();
    assert_eq!(widths, [2, 2, 4, 4, 4, 4, 3, 3, 3]);
    assert_eq!(spec.base.dim(), 3);
    // seeds default from the [flow] seed and the entry's index
    assert!(matches!(
        spec.transforms[8],
        TransformSpec::Sort { seed: 3000, .. }
    ));
    let flow = Flow::new(spec, DType::F64, &Device::Cpu, 0).unwrap();
    assert_eq!(flow.likelihood(), Contribution::Bound);
    let x = Tensor::new(&[[0.5f64, -1.0], [2.0, 0.1]], &Device::Cpu).unwrap();
    let lp = flow.log_prob(&x, None).unwrap().to_vec1::<f64>().unwrap();
    assert!(lp.iter().all(|v| v.is_finite()), "{lp:?}");
    // the plain config builds exactly as before (no placed layers)
    let plain = FlowBuilder::new(2, FlowConfig::realnvp())
        .build_spec()
        .unwrap();
    assert!(kinds(&plain.transforms)
        .iter()
        .all(|k| k == "coupling" || k == "permutation"));
}

#[test]
fn fitted_surjective_runs_reload_bit_identically_and_standardise_after_the_data_layers() {
    let dir = std::env::temp_dir().join(format!("survae-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = FitConfig::from_toml(
        "[flow]\nkind = \"realnvp\"\nblocks = 2\nhidden = 16\n\
         [[flow.surjective]]\ntype = \"abs\"\nlearned = true\n\
         [[flow.surjective]]\ntype = \"augment\"\nextra = 1\nmodel = { kind = \"conditional\", hidden = 8, depth = 1 }\nat = 1\n\
         [train]\nepochs = 2\nbatch_size = 64\n[eval]\nc2st = false\nplots = false\niw_samples = 8\n",
        Path::new("t.toml"),
    )
    .unwrap();
    let source = DataSource::toy("skewed:n-gon:0.7", 400, 0).unwrap();
    let run = fit(&source, &cfg, Output::to(&dir), |_| {}).unwrap();
    let spec = run.flow.spec();
    assert_eq!(kinds(&spec.transforms)[..2], ["abs", "standardize"]);
    // the standardisation is the mean of |x| over the training split, so it is positive
    let TransformSpec::Standardize { mean, .. } = &spec.transforms[1] else {
        unreachable!()
    };
    assert!(mean.iter().all(|m| *m > 0.5), "{mean:?}");
    assert_eq!(run.report.test.likelihood, Contribution::Bound);
    let iw = run.report.test.nll_iw.unwrap();
    assert_eq!(iw.k, 8);
    assert!(iw.nll.is_finite());

    let (_, back) = load_run(&dir).unwrap();
    assert_eq!(back.spec(), spec);
    let x = source
        .load(None, false)
        .unwrap()
        .table
        .to_tensor(run.flow.dtype(), &Device::Cpu)
        .unwrap();
    let a = run
        .flow
        .log_prob(&x, None)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = back.log_prob(&x, None).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(
        a.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        b.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    let a = run
        .flow
        .log_prob_iw(&x, None, 4)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let b = back
        .log_prob_iw(&x, None, 4)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert_eq!(a, b);
    std::fs::remove_dir_all(&dir).ok();
}
