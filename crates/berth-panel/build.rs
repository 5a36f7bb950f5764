//! Release builds embed `web/dist` (the built UI): rebuild this crate when
//! it changes. The stamp (names, sizes and times of the files) is read by
//! `ui.rs`, so a new UI build changes what the crate is compiled with.

use std::path::Path;
use std::time::UNIX_EPOCH;

fn walk(dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Ok(m) = e.metadata() {
            let t = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            out.push(format!("{}:{}:{t}", p.display(), m.len()));
        }
    }
}

fn main() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist");
    println!("cargo:rerun-if-changed={}", dist.display());
    let mut files = Vec::new();
    walk(&dist, &mut files);
    files.sort();
    // FNV-1a: a stamp, not a security property.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in files.join("\n").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    println!("cargo:rustc-env=BERTH_WEB_DIST_STAMP={h:016x}-{}", files.len());
}
