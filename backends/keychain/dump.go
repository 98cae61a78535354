package keychain

import (
	"bufio"
	"bytes"
	"strings"
	"time"
)

// parseDump reads the accounts of generic passwords of service from the
// output of `security dump-keychain`.
func parseDump(out []byte, service string) []string {
	items := parseDumpItems(out, service)
	accts := make([]string, len(items))
	for i, it := range items {
		accts[i] = it.account
	}
	return accts
}

// parseDumpItems reads the generic passwords of service from the output of
// `security dump-keychain`, whose items look like:
//
//	keychain: "/Users/u/Library/Keychains/login.keychain-db"
//	class: "genp"
//	attributes:
//	    0x00000007 <blob>="db/prod (kr)"
//	    "acct"<blob>="db/prod"
//	    "mdat"<timedate>=0x32303236313132333135303430355A00  "20261123150405Z\000"
//	    "svce"<blob>="kr"
//
// (0x00000007 is the label.)
func parseDumpItems(out []byte, service string) []itemInfo {
	var items []itemInfo
	var class, svce string
	var it itemInfo
	flush := func() {
		if class == "genp" && svce == service && it.account != "" {
			items = append(items, it)
		}
		class, svce, it = "", "", itemInfo{}
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
			it.account = unquote(strings.TrimPrefix(line, `"acct"<blob>=`))
		case strings.HasPrefix(line, `"svce"<blob>=`):
			svce = unquote(strings.TrimPrefix(line, `"svce"<blob>=`))
		case strings.HasPrefix(line, `0x00000007 <blob>=`):
			it.label = unquote(strings.TrimPrefix(line, `0x00000007 <blob>=`))
		case strings.HasPrefix(line, `"mdat"<timedate>=`):
			it.modified = dumpTime(strings.TrimPrefix(line, `"mdat"<timedate>=`))
		}
	}
	flush()
	return items
}

// unquote takes the text of a "quoted" attribute; <NULL> and hex forms
// (names kr can use are printable ASCII) give "".
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return ""
}

// dumpTime reads a timedate attribute, `0x...  "YYYYMMDDhhmmssZ\000"`;
// zero when it is not one.
func dumpTime(s string) time.Time {
	i := strings.IndexByte(s, '"')
	if i < 0 || len(s) < i+1+15 {
		return time.Time{}
	}
	t, err := time.Parse("20060102150405Z", s[i+1:i+1+15])
	if err != nil {
		return time.Time{}
	}
	return t
}
