package strictjson

import (
	"encoding/json"
	"strings"
	"testing"
)

type frame struct {
	Version int               `json:"v"`
	Op      string            `json:"op"`
	Args    []string          `json:"args,omitempty"`
	Inner   *inner            `json:"inner,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

type inner struct {
	Name string `json:"name"`
}

func TestUnmarshal(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
	}{
		{`{"v":1,"op":"status"}`, ""},
		{`{"v":1,"op":"status","args":["a","b"],"inner":{"name":"x"},"labels":{"A":"1","b":"2"}}`, ""},
		{`{"op":"status","OP":"lock"}`, "differ only in case"},
		{`{"op":"status","op":"lock"}`, "appears twice"},
		{`{"OP":"lock"}`, `spelled "op"`},
		{`{"inner":{"name":"a","Name":"b"}}`, "differ only in case"},
		{`{"inner":{"NAME":"a"}}`, `spelled "name"`},
		{`{"labels":{"a":"1","A":"2"}}`, ""}, // map keys are exact: two keys
		{`{"labels":{"a":"1","a":"2"}}`, "appears twice"},
		{`{"args":[{"x":1,"x":2}]}`, "appears twice"},
		{`{"unknown":1}`, "unknown field"},
		{`{"v":1} {"v":2}`, "after the top-level value"},
		{`{"v":1`, "EOF"},
	} {
		var f frame
		err := Unmarshal([]byte(tc.in), &f)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestUnmarshalMatchesEncodingJSON(t *testing.T) {
	in := `{"v":2,"op":"get","args":["x"],"inner":{"name":"n"},"labels":{"k":"v"}}`
	var a, b frame
	if err := Unmarshal([]byte(in), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(in), &b); err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("strict %s, encoding/json %s", ja, jb)
	}
}

// FuzzUnmarshal: whatever strictjson accepts, encoding/json accepts with
// the same result; it never panics.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"v":1,"op":"status"}`, `{"op":"a","OP":"b"}`, `{"labels":{"a":"1"}}`, `[]`, `null`, `{"inner":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var a, b frame
		if Unmarshal(data, &a) != nil {
			return
		}
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("strict accepted what encoding/json refuses: %v", err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Fatalf("strict %s, encoding/json %s", ja, jb)
		}
	})
}

// TestSyntaxErrorQuotesNothing: a syntax error names where, not what: the
// input may be a credential helper's request holding a secret.
func TestSyntaxErrorQuotesNothing(t *testing.T) {
	var f frame
	err := Unmarshal([]byte(`{"op":"s\q3cret"}`), &f)
	if err == nil || strings.Contains(err.Error(), "q") || !strings.Contains(err.Error(), "syntax error at byte") {
		t.Fatalf("error %v", err)
	}
}
