#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, a matching kubectl) and helm
# from their Go modules into a cache outside the work tree, keyed by version.
#
# Why build from source: these machines have no Docker engine (so no kind), and no
# registry ships kube-apiserver; the Go module proxy does ship its source. This is
# the binary set controller-runtime's envtest uses: no scheduler, no kubelet.
#
# Where: $ECS_BRIDGE_K8S_BIN if set, else $ECS_BRIDGE_CACHE/bin/k8s-<v>-etcd-<v>-helm-<v>
# (cache default: ${XDG_CACHE_HOME:-~/.cache}/ecs-bridge). src/control_plane/binaries.rs
# looks in the same place; a test checks the two agree.
#
# A warm cache makes this a no-op. Prints the bin directory on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.37.2}"       # matches k8s-openapi's v1_37 feature
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE="${ECS_BRIDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ecs-bridge}"
BIN="${ECS_BRIDGE_K8S_BIN:-$CACHE/bin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION}"

say() { echo "control-plane: $*" >&2; }
die() { echo "control-plane: error: $*" >&2; exit 1; }

minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
staging="v0.${K8S_VERSION#v1.}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

complete() { [[ -x "$BIN/kube-apiserver" && -x "$BIN/etcd" && -x "$BIN/kubectl" && -x "$BIN/helm" ]]; }

# kubectl supports servers within one minor version of its own. The machine's kubectl is
# often older than the server built here, so the tests and `ecs-bridge dev` use the
# kubectl built next to the server; this says whether the machine's one would do.
check_kubectl_skew() {
  local machine
  machine=$(PATH="${PATH//$BIN:/}" command -v kubectl) || return 0
  [[ "$machine" != "$BIN/kubectl" ]] || return 0
  local client
  client=$("$machine" version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n 1)
  [[ -n "$client" ]] || { say "note: could not read the version of $machine"; return 0; }
  local skew=$(( client - minor )); skew=${skew#-}
  if (( skew > 1 )); then
    say "note: $machine is v1.$client, outside kubectl's supported skew (one minor) of a $K8S_VERSION server; use $BIN/kubectl, as the tests and 'ecs-bridge dev' do"
  fi
}

if complete; then
  check_kubectl_skew
  echo "$BIN"
  exit 0
fi

command -v go >/dev/null || die "the Go toolchain ('go') is not on PATH; it is needed to build etcd and kube-apiserver (https://go.dev/dl/)"
mkdir -p "$BIN" "$CACHE/work"
# One build at a time per cache: a second run waits here, then finds the binaries built.
if command -v flock >/dev/null; then
  exec 9>"$CACHE/work/install.lock"
  flock -n 9 || { say "another install is building in $CACHE; waiting for it"; flock 9; }
  if complete; then check_kubectl_skew; echo "$BIN"; exit 0; fi
fi
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local

build_k8s() {
  local wrap="$CACHE/work/k8s-$K8S_VERSION"
  if [[ ! -f "$wrap/.ready" ]]; then
    say "preparing a wrapper module for k8s.io/kubernetes@$K8S_VERSION in $wrap"
    rm -rf "$wrap"; mkdir -p "$wrap"
    ( cd "$wrap"
      go mod init ecs-bridge.dev/control-plane >/dev/null 2>&1
      gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p') \
        || die "could not download module k8s.io/kubernetes@$K8S_VERSION (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"
      [[ -f "$gomod" ]] || die "could not download module k8s.io/kubernetes@$K8S_VERSION"
      # kubernetes' go.mod points its k8s.io/* staging modules at ./staging with replace
      # lines that Go ignores in a dependency; pin each to its published version.
      args=()
      while read -r mod; do args+=("-replace=$mod=$mod@$staging"); done \
        < <(grep -oE 'k8s.io/[A-Za-z0-9._/-]+ => ./staging' "$gomod" | awk '{print $1}')
      (( ${#args[@]} > 0 )) || die "found no staging modules in $gomod; the wrapper recipe needs updating for $K8S_VERSION"
      go mod edit "${args[@]}"
      go get "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" \
        || die "go get of k8s.io/kubernetes@$K8S_VERSION (with staging modules at $staging) failed (see above)"
    )
    touch "$wrap/.ready"
  fi
  for cmd in kube-apiserver kubectl; do
    if [[ ! -x "$BIN/$cmd" ]]; then
      say "building $cmd $K8S_VERSION (cold: about ten minutes on two cores)"
      ( cd "$wrap" && CGO_ENABLED=0 go build -o "$BIN/$cmd.tmp" -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd" ) \
        || die "building $cmd from k8s.io/kubernetes@$K8S_VERSION failed (see above)"
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
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" || die "go get go.etcd.io/etcd/server/v3@$ETCD_VERSION failed (see above)"
    CGO_ENABLED=0 go build -o "$BIN/etcd.tmp" -ldflags "-s -w" go.etcd.io/etcd/server/v3 \
      || die "building etcd from go.etcd.io/etcd/server/v3@$ETCD_VERSION failed (see above)"
  )
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

build_helm() {
  [[ -x "$BIN/helm" ]] && return
  say "building helm $HELM_VERSION"
  GOBIN="$BIN" CGO_ENABLED=0 go install -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    || die "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed (see above)"
}

start=$(date +%s)
build_etcd
build_k8s
build_helm
"$BIN/kube-apiserver" --version >&2 || die "the built kube-apiserver does not run"
"$BIN/etcd" --version >&2 || die "the built etcd does not run"
"$BIN/kubectl" version --client >&2 || die "the built kubectl does not run"
"$BIN/helm" version --short >&2 || die "the built helm does not run"
say "built in $(( $(date +%s) - start ))s into $BIN"
check_kubectl_skew
echo "$BIN"
