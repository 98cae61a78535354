// Command gokeyring is the yardstick of scripts/speed for the Secret Service: the
// smallest program that reads a secret with zalando/go-keyring, the client
// kr's Secret Service backend is compared against.
//
//	gokeyring get SERVICE USER    prints the value
package main

import (
	"fmt"
	"os"

	"github.com/zalando/go-keyring"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "get" {
		fmt.Fprintln(os.Stderr, "usage: gokeyring get SERVICE USER")
		os.Exit(2)
	}
	v, err := keyring.Get(os.Args[2], os.Args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gokeyring:", err)
		os.Exit(1)
	}
	fmt.Print(v)
}
