//! Embeds every spec file of the repository's `specs/` folder, so the binary runs from anywhere
//! and no vendor name is written in Rust.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("../specs");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the specs/ folder exists beside mock-server/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut out =
        String::from("/// The spec files compiled in: (file name, text).\nconst EMBEDDED: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().and_then(|n| n.to_str()).expect("spec file names are UTF-8");
        let abs = f.canonicalize().expect("spec file path resolves");
        writeln!(out, "    ({name:?}, include_str!({:?})),", abs.display().to_string()).expect("write to String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_specs.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
