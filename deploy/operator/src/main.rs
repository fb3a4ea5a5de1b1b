//! The strata-operator binary: `--print-crd` prints the CustomResourceDefinition
//! (the checked-in deploy/operator/manifests/crd.yaml is its output); otherwise it runs
//! the controller against the cluster it finds (in-cluster or kubeconfig).
//! `--render FILE` prints the objects the operator would apply for the
//! StrataCluster in FILE (for offline validation and review).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
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
    if let [flag, file] = args.as_slice() {
        if flag == "--render" {
            return render(file);
        }
    }
    if let Some(a) = args.first() {
        eprintln!("strata-operator: unknown argument {a:?} (known: --print-crd, --render FILE)");
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("strata-operator: no Kubernetes API to talk to: {e}");
            return ExitCode::FAILURE;
        }
    };
    strata_operator::controller::run(client).await;
    ExitCode::SUCCESS
}

fn render(file: &str) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("strata-operator: {file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cluster: strata_operator::crd::StrataCluster = match serde_yaml::from_str(&text) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("strata-operator: {file}: not a StrataCluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    match strata_operator::resources::render(&cluster) {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("strata-operator: {file}: {e}");
            ExitCode::FAILURE
        }
    }
}
