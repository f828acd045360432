//! The SurVAE studies of docs/SURJECTIVE.md (issue 18), each printing a Markdown table
//! and writing its figure:
//!
//! ```text
//! cargo run --example survae_study -- 2d          [--quick] [--out DIR]
//! cargo run --example survae_study -- skewed      [--quick]
//! cargo run --example survae_study -- digits      [--quick] [--out DIR]
//! cargo run --example survae_study -- conditional [--quick] [--out DIR]
//! ```
//!
//! Every model is a `[flow]` spec (printed) fitted by `flowinfer::density::fit`, the same
//! path as `flowinfer fit --toy NAME --spec FILE`. `--quick` cuts the epochs (a smoke
//! run); figures go to `--out` (default `docs/images`).

use flowinfer::config::FitConfig;
use flowinfer::density::{fit, sample_run_conditional, Output};
use flowinfer::pipeline::builtin::BuiltinSet;
use flowinfer::pipeline::condition::ConditionInput;
use flowinfer::pipeline::{generate, DataSource, Fitted};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The flow every 2-D model shares: plain affine couplings.
const BASE_2D: &str = "[flow]\nkind = \"realnvp\"\nblocks = 6\nhidden = 64\n";
const ABS_FIXED: &str = "[[flow.surjective]]\ntype = \"abs\"\nlearned = false\n";
const ABS_LEARNED: &str = "[[flow.surjective]]\ntype = \"abs\"\nlearned = true\n";
const AUGMENT: &str = "[[flow.surjective]]\ntype = \"augment\"\nextra = 2\nmodel = { kind = \"conditional\", hidden = 64, depth = 2 }\nat = 0\n";

struct Opts {
    quick: bool,
    out: PathBuf,
}

fn train(epochs: usize, batch: usize, quick: bool) -> String {
    train_lr(epochs, batch, 1e-3, 20, quick)
}

fn train_lr(epochs: usize, batch: usize, lr: f64, patience: usize, quick: bool) -> String {
    let epochs = if quick { 3 } else { epochs };
    format!(
        "[train]\nepochs = {epochs}\nbatch_size = {batch}\nlr = {lr:e}\npatience = {patience}\nclip_grad_norm = 5.0\n[eval]\nc2st = false\nplots = false\niw_samples = 100\n"
    )
}

fn fit_spec(source: &DataSource, spec: &str, dir: Option<&Path>) -> (Fitted, f64) {
    let cfg = FitConfig::from_toml(spec, Path::new("survae_study")).expect("valid spec");
    let t = Instant::now();
    let out = match dir {
        Some(d) => Output::to(d),
        None => Output::default(),
    };
    let r = fit(source, &cfg, out, |_| {}).unwrap_or_else(|e| panic!("{e}\n{spec}"));
    (r, t.elapsed().as_secs_f64())
}

/// The test NLL a model is compared by: the exact one, or the importance-weighted
/// bound (K = 100) of a bound flow.
fn test_nll(r: &Fitted) -> f64 {
    r.report.test.nll_iw.map_or(r.report.test.nll, |iw| iw.nll)
}

fn points(t: &flowinfer::data::Table, n: usize) -> Vec<Vec<f64>> {
    t.to_rows().into_iter().take(n).collect()
}

fn study_2d(o: &Opts) {
    let sets = [
        "n-gon",
        "corners",
        "circles",
        "checkerboard",
        "spiral",
        "two-moons",
    ];
    let models = [
        ("plain", ""),
        ("abs (fixed ½)", ABS_FIXED),
        ("abs (learned)", ABS_LEARNED),
        ("augment (+2)", AUGMENT),
    ];
    let tr = train(150, 256, o.quick);
    println!("Specs: plain = {BASE_2D:?}; abs = + {ABS_FIXED:?} / {ABS_LEARNED:?}; augment = + {AUGMENT:?}; {tr:?}\n");
    println!("| data set (6000 events, seed 0) | plain | abs (fixed ½) | abs (learned) | augment (+2), IW K = 100 | augment, 1-sample bound |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut cells = Vec::new();
    for set in sets {
        let source = DataSource::toy(set, 6000, 0).unwrap();
        let data = source.load(None, false).unwrap().table;
        let mut row = vec![points(&data, 3000)];
        let mut line = format!("| {set} |");
        let mut bound = 0.0;
        for (name, extra) in models {
            let spec = format!("{BASE_2D}{extra}{tr}");
            let (r, secs) = fit_spec(&source, &spec, None);
            eprintln!(
                "{set} / {name}: test NLL {:.4} ({} epochs, {secs:.0} s)",
                test_nll(&r),
                r.report.epochs
            );
            line += &format!(" {:.3} |", test_nll(&r));
            if r.report.test.nll_iw.is_some() {
                bound = r.report.test.nll;
            }
            row.push(generate(&r.flow, 3000, 7).unwrap());
        }
        println!("{line} {bound:.3} |");
        cells.push(row);
    }
    let path = o.out.join("survae-2d-samples.png");
    let cols = ["data", "plain", "abs fixed", "abs learned", "augment"];
    flowinfer::plot::grid::scatter_grid(&path, &sets, &cols, &cells).unwrap();
    println!("\nfigure: {}", path.display());
}

fn study_skewed(o: &Opts) {
    // The sign logits start at 0 and move about `lr` per Adam step: logit(0.9) = 2.2
    // needs a few thousand steps, so this study trains longer and faster than the others.
    let tr = train_lr(400, 256, 3e-3, 40, o.quick);
    println!("Spec: {BASE_2D:?} + {ABS_LEARNED:?}; {tr:?}\n");
    println!("| data set (6000 events, seed 0) | true π(+) (x1, x2) | learned π(+) (x1, x2) | max error | epochs |");
    println!("|---|---|---|---:|---:|");
    for set in ["skewed:corners:0.8,0.3", "skewed:n-gon:0.65,0.9"] {
        let source = DataSource::toy(set, 6000, 0).unwrap();
        let spec = format!("{BASE_2D}{ABS_LEARNED}{tr}");
        let (r, _) = fit_spec(&source, &spec, None);
        let logits: Vec<f64> = r
            .flow
            .params()
            .named_vars()
            .into_iter()
            .find(|(n, _)| n.ends_with("sign_logit"))
            .expect("the abs layer's sign_logit")
            .1
            .as_tensor()
            .to_dtype(candle_core::DType::F64)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let learned: Vec<f64> = logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect();
        let BuiltinSet::Skewed { positive, .. } = BuiltinSet::parse(set).unwrap() else {
            unreachable!()
        };
        let err = (0..2)
            .map(|j| (learned[j] - positive[j]).abs())
            .fold(0.0, f64::max);
        println!(
            "| {set} | {:.2}, {:.2} | {:.4}, {:.4} | {err:.4} | {} |",
            positive[0], positive[1], learned[0], learned[1], r.report.epochs
        );
    }
}

fn bits_per_dim(nll: f64) -> f64 {
    nll / (64.0 * std::f64::consts::LN_2)
}

fn study_digits(o: &Opts) {
    let flow = "[flow]\nkind = \"realnvp\"\nblocks = 8\nhidden = 256\n";
    let deq = "[[flow.surjective]]\ntype = \"uniform_dequantize\"\n";
    let pool = "[[flow.surjective]]\ntype = \"max_pool2d\"\nheight = 8\nwidth = 8\nblock = 2\n";
    let tr = train(100, 128, o.quick);
    let source = DataSource::toy("digits", 1797, 0).unwrap();
    let data = source.load(None, false).unwrap().table;
    let mut rows = vec![("data", points(&data, 12))];
    println!("Specs: {flow:?} + {deq:?} [+ {pool:?}]; {tr:?}\n");
    println!("| model | flow width | parameters | epochs (s) | test bits/dim, IW K = 100 | 1-sample bound |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, extra, width) in [
        ("dequantization", deq.to_string(), 64),
        (
            "dequantization + 2×2 max pooling",
            format!("{deq}{pool}"),
            16,
        ),
    ] {
        let spec = format!("{flow}{extra}{tr}");
        let (r, secs) = fit_spec(&source, &spec, None);
        println!(
            "| {name} | {width} | {} | {} ({secs:.0}) | {:.4} | {:.4} |",
            r.report.parameters,
            r.report.epochs,
            bits_per_dim(test_nll(&r)),
            bits_per_dim(r.report.test.nll)
        );
        rows.push((
            if width == 64 {
                "dequant."
            } else {
                "+ max pool"
            },
            generate(&r.flow, 12, 3).unwrap(),
        ));
    }
    let path = o.out.join("survae-digits-samples.png");
    let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let imgs: Vec<Vec<Vec<f64>>> = rows.into_iter().map(|r| r.1).collect();
    flowinfer::plot::grid::image_grid(&path, &names, &imgs, 8, 8, 16.0).unwrap();
    println!("\nfigure: {}", path.display());
}

fn study_conditional(o: &Opts) {
    let sets = ["two-moons", "circles", "n-gon", "checkerboard"];
    let name = format!("labelled:{}", sets.join(","));
    let source = DataSource::toy(&name, 8000, 0).unwrap();
    let data = source.load(None, false).unwrap().table;
    let tr = train(150, 256, o.quick);
    let cond = "[data]\ncondition = [\"label\"]\n";
    let mut cells: Vec<Vec<Vec<Vec<f64>>>> = (0..sets.len())
        .map(|j| {
            vec![data
                .to_rows()
                .into_iter()
                .filter(|r| r[2] == j as f64)
                .map(|r| r[..2].to_vec())
                .take(2000)
                .collect()]
        })
        .collect();
    println!("| model (one for all four sets, context = label) | test NLL, IW K = 100 where a bound | epochs (s) |");
    println!("|---|---:|---:|");
    for (label, extra) in [("plain", ""), ("augment (+2)", AUGMENT)] {
        let spec = format!("{cond}{BASE_2D}{extra}{tr}");
        let dir = std::env::temp_dir().join(format!("survae-cond-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (r, secs) = fit_spec(&source, &spec, Some(&dir));
        println!(
            "| {label} | {:.3} | {} ({secs:.0}) |",
            test_nll(&r),
            r.report.epochs
        );
        for (j, row) in cells.iter_mut().enumerate() {
            let input = ConditionInput::Values(vec![("label".into(), j as f64)]);
            let t =
                sample_run_conditional(&dir, &input, 2000, 5, &candle_core::Device::Cpu).unwrap();
            let xy = t.select_columns(&["x1".into(), "x2".into()]).unwrap();
            row.push(xy.to_rows());
        }
        std::fs::remove_dir_all(&dir).ok();
    }
    let path = o.out.join("survae-conditional-samples.png");
    let rows: Vec<String> = sets
        .iter()
        .enumerate()
        .map(|(j, s)| format!("{j}: {s}"))
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    flowinfer::plot::grid::scatter_grid(&path, &rows, &["data", "plain", "augment"], &cells)
        .unwrap();
    println!("\nfigure: {}", path.display());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Opts {
        quick: args.iter().any(|a| a == "--quick"),
        out: PathBuf::from("docs/images"),
    };
    if let Some(i) = args.iter().position(|a| a == "--out") {
        o.out = PathBuf::from(args.get(i + 1).expect("--out DIR"));
        std::fs::create_dir_all(&o.out).unwrap();
    }
    match args.first().map(String::as_str) {
        Some("2d") => study_2d(&o),
        Some("skewed") => study_skewed(&o),
        Some("digits") => study_digits(&o),
        Some("conditional") => study_conditional(&o),
        _ => eprintln!("usage: survae_study 2d|skewed|digits|conditional [--quick] [--out DIR]"),
    }
}
