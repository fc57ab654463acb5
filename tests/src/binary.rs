//! Where the `vendor-mock` executable is, for tests that run the binary.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The `vendor-mock` executable, built once if the test harness did not.
pub fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test executable has a path");
            // <target>/<profile>/deps/<test> → <target>/<profile>
            let profile_dir = exe.parent().and_then(Path::parent).expect("tests run from <target>/<profile>/deps");
            let target_dir = profile_dir.parent().expect("the profile folder sits in the target folder");
            let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
            let mut build = std::process::Command::new(env!("CARGO"));
            build.args(["build", "--quiet", "-p", "mock-server", "--bin", "vendor-mock", "--target-dir"]);
            build.arg(target_dir);
            if profile != "debug" {
                build.args(["--profile", profile]);
            }
            let status = build.status().expect("run cargo to build vendor-mock");
            assert!(status.success(), "cargo build -p mock-server --bin vendor-mock failed");
            profile_dir.join(format!("vendor-mock{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}
