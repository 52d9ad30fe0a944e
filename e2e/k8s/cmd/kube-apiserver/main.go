// Command kube-apiserver is the upstream Kubernetes API server, built from the
// k8s.io/kubernetes module at the release pinned in e2e/VERSIONS so that the
// end-to-end tests run a real control plane without containers.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	// Side-effect imports that the upstream binary also carries: the JSON log
	// format, client-go's Prometheus metrics and the build-version metric.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	os.Exit(cli.Run(app.NewAPIServerCommand()))
}
