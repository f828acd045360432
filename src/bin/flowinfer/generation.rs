//! Printing of the conditional-generation report (`fit --condition`).

use flowinfer::density::condition_bins::ConditionBins;

/// One line per bin of the condition column: range, events, mean overlap and ceiling,
/// then the per-column overlaps.
pub fn print_condition_bins(b: &ConditionBins) {
    println!("conditional marginals in bins of {}:", b.column);
    for bin in &b.bins {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        println!(
            "  {} in [{:.4}, {:.4}] ({} events): overlap {:.3} (ceiling {:.3}); {}",
            b.column,
            bin.range[0],
            bin.range[1],
            bin.events,
            mean(&bin.overlap),
            mean(&bin.ceiling),
            b.columns
                .iter()
                .zip(&bin.overlap)
                .map(|(c, o)| format!("{c} {o:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
