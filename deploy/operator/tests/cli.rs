//! The binary's command line: `--print-crd` prints exactly the checked-in
//! CRD, `--render` prints the objects for a sample, anything else is refused.
//! (Being an integration test also makes `cargo test` build the binary that
//! scripts/test-deploy.sh uses.)

use std::process::Command;

fn operator(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strata-operator"))
        .args(args)
        .output()
        .expect("strata-operator runs")
}

#[test]
fn print_crd_prints_the_checked_in_crd() {
    let out = operator(&["--print-crd"]);
    assert!(out.status.success());
    let checked_in =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/crd.yaml"))
            .expect("crd.yaml");
    assert_eq!(String::from_utf8_lossy(&out.stdout), checked_in);
}

#[test]
fn render_prints_the_objects_of_a_sample() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/samples/three-nodes-sentinel.yaml"
    );
    let out = operator(&["--render", sample]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for kind in ["ConfigMap", "Service", "PodDisruptionBudget", "StatefulSet"] {
        assert!(
            text.contains(&format!("kind: {kind}\n")),
            "{kind} in {text}"
        );
    }
    assert!(text.contains("name: cache-sentinel\n"));
}

#[test]
fn unknown_arguments_are_refused() {
    let out = operator(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}
