// Command fakepinentry speaks the pinentry side of Assuan for tests on
// systems without a real pinentry (Windows under wine): it appends every
// command it gets to FAKE_PINENTRY_LOG and answers GETPIN with
// FAKE_PINENTRY_PIN, or cancels when that is empty.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

func main() {
	log, err := os.OpenFile(os.Getenv("FAKE_PINENTRY_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		os.Exit(2)
	}
	defer log.Close()
	pin := os.Getenv("FAKE_PINENTRY_PIN")
	fmt.Println("OK Pleased to meet you")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		line := strings.TrimSuffix(in.Text(), "\r")
		fmt.Fprintln(log, line)
		switch verb, _, _ := strings.Cut(line, " "); verb {
		case "GETPIN":
			if pin == "" {
				fmt.Println("ERR 83886179 Operation cancelled <Pinentry>")
				continue
			}
			fmt.Printf("D %s\nOK\n", strings.ReplaceAll(pin, "%", "%25"))
		case "BYE":
			fmt.Println("OK closing connection")
			return
		default:
			fmt.Println("OK")
		}
	}
}
