//! The strata-operator binary: `--print-crd` prints the CustomResourceDefinition
//! (the checked-in deploy/operator/crd.yaml is its output); otherwise it runs
//! the controller against the cluster it finds (in-cluster or kubeconfig).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--print-crd") {
        return match strata_operator::crd::crd_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("strata-operator: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(a) = args.first() {
        eprintln!("strata-operator: unknown argument {a:?} (known: --print-crd)");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
