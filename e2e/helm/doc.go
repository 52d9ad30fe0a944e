// Package helm pins the helm client that the Helm chart's tests run.
//
// helm.sh/helm/v3/cmd/helm is a main package, so this module only records it as a
// tool dependency at HELM_VERSION from e2e/VERSIONS; scripts/e2e-deps.sh builds it with
// `go build helm.sh/helm/v3/cmd/helm`. It lives apart from e2e/k8s and e2e/etcd so the
// three dependency graphs never constrain each other.
package helm
