// Command gokeyringprobe is a test-only client of zalando/go-keyring, to
// check that kr and go-keyring read each other's items on Windows.
//
//	gokeyringprobe get SERVICE USER     prints the value
//	gokeyringprobe set SERVICE USER     stores stdin
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/zalando/go-keyring"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: gokeyringprobe get|set SERVICE USER")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "get":
		v, err := keyring.Get(os.Args[2], os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, "gokeyringprobe:", err)
			os.Exit(1)
		}
		fmt.Print(v)
	case "set":
		v, err := io.ReadAll(os.Stdin)
		if err == nil {
			err = keyring.Set(os.Args[2], os.Args[3], string(v))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gokeyringprobe:", err)
			os.Exit(1)
		}
	default:
		os.Exit(2)
	}
}
