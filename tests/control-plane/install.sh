#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, a matching kubectl) and helm
# from their Go modules into a cache outside the work tree, keyed by version.
#
# Why build from source: these machines have no Docker engine (so no kind), and no
# registry ships kube-apiserver; the Go module proxy does ship its source. This is
# the binary set controller-runtime's envtest uses: no scheduler, no kubelet.
#
# A warm cache makes this a no-op. Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"       # matches k8s-openapi's v1_37 feature
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${ECS_BRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ecs-bridge}"
BIN="$CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION"

say() { echo "control-plane: $*" >&2; }
die() { echo "control-plane: error: $*" >&2; exit 1; }

if [[ -x "$BIN/kube-apiserver" && -x "$BIN/etcd" && -x "$BIN/kubectl" && -x "$BIN/helm" ]]; then
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || die "the Go toolchain ('go') is not on PATH; it is needed to build etcd and kube-apiserver"
mkdir -p "$BIN" "$CACHE/work"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
staging="v0.${K8S_VERSION#v1.}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

build_k8s() {
  local wrap="$CACHE/work/k8s-$K8S_VERSION"
  if [[ ! -f "$wrap/.ready" ]]; then
    say "preparing a wrapper module for k8s.io/kubernetes@$K8S_VERSION in $wrap"
    rm -rf "$wrap"; mkdir -p "$wrap"
    ( cd "$wrap"
      go mod init ecs-bridge.dev/control-plane >/dev/null 2>&1
      gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
      [[ -f "$gomod" ]] || die "could not download module k8s.io/kubernetes@$K8S_VERSION"
      # kubernetes' go.mod points its k8s.io/* staging modules at ./staging with replace
      # lines that Go ignores in a dependency; pin each to its published version.
      args=()
      while read -r mod; do args+=("-replace=$mod=$mod@$staging"); done \
        < <(grep -oE 'k8s.io/[A-Za-z0-9._/-]+ => ./staging' "$gomod" | awk '{print $1}')
      go mod edit "${args[@]}"
      go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" \
        || die "go get of k8s.io/kubernetes@$K8S_VERSION failed (see above)"
    )
    touch "$wrap/.ready"
  fi
  for cmd in kube-apiserver kubectl; do
    if [[ ! -x "$BIN/$cmd" ]]; then
      say "building $cmd $K8S_VERSION (cold: several minutes on two cores)"
      ( cd "$wrap" && CGO_ENABLED=0 go build -o "$BIN/$cmd.tmp" -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd" ) \
        || die "building $cmd failed"
      mv "$BIN/$cmd.tmp" "$BIN/$cmd"
    fi
  done
}

build_etcd() {
  [[ -x "$BIN/etcd" ]] && return
  local wrap="$CACHE/work/etcd-$ETCD_VERSION"
  say "building etcd $ETCD_VERSION"
  rm -rf "$wrap"; mkdir -p "$wrap"
  ( cd "$wrap"
    go mod init ecs-bridge.dev/etcd >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" || die "go get go.etcd.io/etcd/server/v3@$ETCD_VERSION failed"
    CGO_ENABLED=0 go build -o "$BIN/etcd.tmp" -ldflags "-s -w" go.etcd.io/etcd/server/v3 || die "building etcd failed"
  )
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

build_helm() {
  [[ -x "$BIN/helm" ]] && return
  say "building helm $HELM_VERSION"
  GOBIN="$BIN" CGO_ENABLED=0 go install -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" || die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed"
}

start=$(date +%s)
build_etcd
build_k8s
build_helm
"$BIN/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
"$BIN/kubectl" version --client >&2 || true
say "done in $(( $(date +%s) - start ))s"
echo "$BIN"
