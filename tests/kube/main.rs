//! Integration tests against a real kube-apiserver: one control plane for the whole binary
//! (see `support`), one namespace per test. Run `tests/control-plane/install.sh` once first.

mod support;

mod control_plane;
