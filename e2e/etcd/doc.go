// Package etcd pins the etcd server that the end-to-end tests run.
//
// go.etcd.io/etcd/server/v3 is itself a main package (etcdmain.Main), so this
// module only records it as a tool dependency at ETCD_VERSION from e2e/VERSIONS;
// scripts/e2e-deps.sh builds it with `go build go.etcd.io/etcd/server/v3`. It
// lives apart from e2e/k8s so the two dependency graphs never constrain each other.
package etcd
