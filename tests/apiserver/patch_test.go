// SPDX-License-Identifier: Apache-2.0
//
// Patch application with the apiserver's json-patch semantics: a missing
// parent fails, replace of a missing key adds it, escaped keys, negative
// indexes and whole-document replace as v4.12 reads them.
package main

import (
	"strings"
	"testing"
)

func TestPatchSemantics(t *testing.T) {
	doc := []byte(`{"metadata":{"name":"j","labels":{"a":"b"}},"spec":{"list":[1,2,3]}}`)
	cases := []struct {
		patch, want, err string
	}{
		{`[{"op":"add","path":"/metadata/annotations/helm.sh~1hook","value":"x"}]`, "", "missing"},
		{`[{"op":"add","path":"/metadata/annotations","value":{"helm.sh/hook":"x"}}]`, `"helm.sh/hook":"x"`, ""},
		{`[{"op":"replace","path":"/metadata/labels/new","value":"v"}]`, `"new":"v"`, ""},
		{`[{"op":"remove","path":"/metadata/labels/none"}]`, "", "nonexistent"},
		{`[{"op":"replace","path":"/spec/list/-1","value":9}]`, `[1,2,9]`, ""},
		{`[{"op":"test","path":"/metadata/name","value":"k"}]`, "", "test failed"},
		{`[{"op":"replace","path":"","value":{"x":1}}]`, `{"x":1}`, ""},
	}
	for _, tc := range cases {
		out, err := applyPatch(doc, mustDecodePatch(t, tc.patch))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.patch, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.patch, err)
		case tc.err == "" && !strings.Contains(string(out), tc.want):
			t.Errorf("%s: %s lacks %s", tc.patch, out, tc.want)
		}
	}
}
