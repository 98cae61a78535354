package keychain

import (
	"bufio"
	"bytes"
	"strings"
)

// parseDump reads the accounts of generic passwords of service from the
// output of `security dump-keychain`, whose items look like:
//
//	keychain: "/Users/u/Library/Keychains/login.keychain-db"
//	class: "genp"
//	attributes:
//	    "acct"<blob>="db/prod"
//	    "svce"<blob>="kr"
func parseDump(out []byte, service string) []string {
	var accts []string
	var class, acct, svce string
	flush := func() {
		if class == "genp" && svce == service && acct != "" {
			accts = append(accts, acct)
		}
		class, acct, svce = "", "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "keychain: "):
			flush()
		case strings.HasPrefix(line, "class: "):
			class = unquote(strings.TrimPrefix(line, "class: "))
		case strings.HasPrefix(line, `"acct"<blob>=`):
			acct = unquote(strings.TrimPrefix(line, `"acct"<blob>=`))
		case strings.HasPrefix(line, `"svce"<blob>=`):
			svce = unquote(strings.TrimPrefix(line, `"svce"<blob>=`))
		}
	}
	flush()
	return accts
}

// unquote takes the text of a "quoted" attribute; <NULL> and hex forms
// (names kr can use are printable ASCII) give "".
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return ""
}
