// Command kind-config decodes a kind cluster config strictly with kind's own
// v1alpha4 types (unknown fields are errors) and prints it as JSON, so the Rust
// test can check the ports the README and the Helm chart rely on.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: kind-config <kind-config.yaml>")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var cluster v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(raw, &cluster); err != nil {
		fmt.Fprintf(os.Stderr, "%s is not a valid kind v1alpha4 Cluster: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if cluster.Kind != "Cluster" || cluster.APIVersion != "kind.x-k8s.io/v1alpha4" {
		fmt.Fprintf(os.Stderr, "unexpected kind/apiVersion %q/%q\n", cluster.Kind, cluster.APIVersion)
		os.Exit(1)
	}
	v1alpha4.SetDefaultsCluster(&cluster)
	out, _ := json.Marshal(cluster)
	fmt.Println(string(out))
}
