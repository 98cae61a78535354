// Command mkvault creates a file vault with a chosen scrypt work factor,
// for benchmarks (kr init always uses the default).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/kr-keyring/kr/backends/file"
)

func main() {
	dir := flag.String("dir", "", "vault directory")
	pass := flag.String("pass", "", "passphrase")
	logN := flag.Int("logn", 18, "scrypt work factor (log2 N)")
	flag.Parse()
	v, err := file.Open(file.Options{Dir: *dir, ScryptWorkFactor: *logN})
	if err == nil {
		_, err = v.Init(context.Background(), []byte(*pass))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkvault:", err)
		os.Exit(1)
	}
}
