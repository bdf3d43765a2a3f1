//! Link arguments for the probe binary only (test binaries keep the usual C
//! runtime): no start files, no libc, and a layout without padding.
fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.ends_with("-linux-musl") {
        return;
    }
    for arg in [
        "-nostdlib",
        "-static",
        "--build-id=none",
        "--no-eh-frame-hdr",
        "-z",
        "norelro",
        "-z",
        "noseparate-code",
        "--gc-sections",
        "--icf=all",
    ] {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    println!("cargo:rustc-link-arg-bins=-T{dir}/build-scripts/probe.ld");
    println!("cargo:rerun-if-changed=build-scripts/probe.ld");
    println!("cargo:rerun-if-changed=build.rs");
}
