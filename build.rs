//! Compiles the small C helper for long-double arithmetic (INCRBYFLOAT).
fn main() {
    println!("cargo:rerun-if-changed=src/native/longdouble.c");
    cc::Build::new()
        .file("src/native/longdouble.c")
        .opt_level(2)
        .compile("strata_native");
}
