// Command mkvault creates a file vault with a chosen scrypt work factor,
// for benchmarks (kr init always uses the default). The passphrase is
// KR_PASSPHRASE.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kr-keyring/kr/backends/filevault"
)

func main() {
	dir := flag.String("dir", "", "vault directory")
	logN := flag.Int("logn", 18, "scrypt work factor (log2 N)")
	flag.Parse()
	v, err := filevault.Open(filevault.Options{Dir: *dir, ScryptWorkFactor: *logN})
	if err == nil {
		// The passphrase comes from the environment, never argv.
		_, err = v.Init(context.Background(), []byte(os.Getenv("KR_PASSPHRASE")))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkvault:", err)
		os.Exit(1)
	}
}
