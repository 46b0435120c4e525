//! rustls' crypto provider for the process.
//!
//! The crate links rustls with two crypto back-ends, ring (kube) and aws-lc-rs (the AWS
//! SDK), and rustls then refuses to guess: the first TLS client built without a process
//! default panics. The production controller and the test/dev control plane both build
//! `kube::Client`s, so the choice lives here, at the top, where the controller can use it
//! without depending on `control_plane` (test and dev code).

/// Selects ring, which kube is built with, as the process's provider. Any code that builds
/// a `kube::Client` itself must call this first; it is idempotent.
pub fn install_tls_provider() {
    // Err means a provider is already installed, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
