// Command ssget reads one secret through kr's Secret Service backend and
// nothing else (no CLI, no agent): scripts/speed times it
// beside `kr get` to tell the backend's cost from the CLI's.
//
//	ssget SERVICE NAME    prints the value
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/kr-keyring/kr/backends/secretservice"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ssget SERVICE NAME")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := secretservice.Open(ctx, secretservice.Options{Service: os.Args[1]})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssget:", err)
		os.Exit(1)
	}
	defer b.Close()
	v, err := b.Get(ctx, os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ssget:", err)
		os.Exit(1)
	}
	os.Stdout.Write(v)
}
