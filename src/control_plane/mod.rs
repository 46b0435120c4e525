//! A local Kubernetes control plane (etcd + kube-apiserver) for tests and dev mode.
