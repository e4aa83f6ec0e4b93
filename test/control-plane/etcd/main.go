// etcd for the test control plane: the release's own etcd server, started exactly as
// the etcd binary starts it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
