//! Temporary directories holding small `sh` test scripts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct ScriptDir(PathBuf);

impl ScriptDir {
    /// Creates `<tmp>/flowinfer-external-<pid>-<n>-<tag>`.
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "flowinfer-external-{}-{n}-{tag}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        ScriptDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `body` to `<dir>/<name>` and returns `["sh", path, args...]`.
    pub fn script(&self, name: &str, body: &str, args: &[&str]) -> Vec<String> {
        let path = self.0.join(name);
        std::fs::write(&path, body).expect("write script");
        let mut command = vec!["sh".to_string(), path.to_string_lossy().into_owned()];
        command.extend(args.iter().map(|a| a.to_string()));
        command
    }
}

impl Drop for ScriptDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// awk program printing `2·θ_1, ..., 2·θ_p, Σθ` at full precision.
pub(crate) const DOUBLE_AND_SUM: &str = r#"awk -F, '{
    s = 0; out = ""
    for (i = 1; i <= NF; i++) { out = out sprintf("%.17g,", 2 * $i); s += $i }
    printf "%s%.17g\n", out, s
}'
"#;
