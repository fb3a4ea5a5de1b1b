//! strata-operator: runs replicated Strata groups on Kubernetes from a
//! `StrataCluster` resource. The pieces, each in its own module:
//! `crd` (the resource), `resources` (the Kubernetes objects a spec implies),
//! `info` + `resp` + `node` (talking to Strata and sentinel nodes),
//! `decide` (observed state -> actions, pure), `observe` (collecting the
//! observation), `kubeapi` (every API request) and `controller` (the loop
//! that carries actions out and writes the status).

pub mod controller;
pub mod crd;
pub mod decide;
pub mod error;
pub mod info;
pub mod kubeapi;
#[cfg(test)]
mod kubeapi_tests;
pub mod node;
#[cfg(test)]
mod node_tests;
pub mod observe;
pub mod resources;
pub mod resp;
