//! The progress bar of every verb that shows one.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar over `len` units named `unit` (`epoch`, `step`): `epoch 3/40 [===>  ] msg (ETA
/// 5s)`; hidden when `quiet`.
pub fn bar(unit: &str, len: usize, quiet: bool) -> anyhow::Result<ProgressBar> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{unit} {{pos}}/{{len}} [{{bar:30}}] {{msg}} (ETA {{eta}})"
        ))?
        .progress_chars("=> "),
    );
    Ok(bar)
}
