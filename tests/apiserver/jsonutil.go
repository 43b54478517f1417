// SPDX-License-Identifier: Apache-2.0
//
// JSON and YAML helpers: reading documents, encoding with kube's field order
// (kind, apiVersion, metadata, spec, status), deep copy, semantic equality and
// a JSON-Pointer diff for --expect and --reinvoke.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"sigs.k8s.io/yaml"
)

type jmap = map[string]interface{}

func decodeJSONValue(data []byte) (interface{}, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v interface{}
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the first JSON value")
	}
	return v, nil
}

func isJSONObjectText(data []byte) bool {
	t := bytes.TrimLeftFunc(data, unicode.IsSpace)
	return bytes.HasPrefix(t, []byte("{")) || bytes.HasPrefix(t, []byte("["))
}

// readDoc reads one JSON or YAML document (path "-" is stdin) as a JSON value.
func readDoc(p string) (interface{}, error) {
	var data []byte
	var err error
	if p == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(p)
	}
	if err != nil {
		return nil, err
	}
	if !isJSONObjectText(data) {
		if n := countYAMLDocs(data); n > 1 {
			return nil, fmt.Errorf("%s: holds %d YAML documents; give one", p, n)
		}
		data, err = yaml.YAMLToJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", p, err)
		}
	}
	v, err := decodeJSONValue(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", p, err)
	}
	return v, nil
}

func countYAMLDocs(data []byte) int {
	n, content := 0, false
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(line, "---") && (len(t) == 3 || t[3] == ' ' || t[3] == '#') {
			if content {
				n++
			}
			content = false
			continue
		}
		if t != "" && !strings.HasPrefix(t, "#") {
			content = true
		}
	}
	if content {
		n++
	}
	return n
}

func readObject(p string) (jmap, error) {
	v, err := readDoc(p)
	if err != nil {
		return nil, err
	}
	m, ok := v.(jmap)
	if !ok {
		return nil, fmt.Errorf("%s: not a JSON object", p)
	}
	return m, nil
}

var topOrder = []string{"kind", "apiVersion", "metadata", "spec", "status"}
var metaOrder = []string{"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
	"generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
	"labels", "annotations", "ownerReferences", "finalizers", "managedFields"}

func orderedKeys(m jmap, pri []string) []string {
	keys := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, k := range pri {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

func writeJSONString(buf *bytes.Buffer, s string, escapeHTML bool) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	enc.Encode(s)
	buf.Write(bytes.TrimRight(b.Bytes(), "\n"))
}

// encodeObject writes v as compact JSON with the field order of kube's typed
// encoding at the top level and in ObjectMeta (kind, apiVersion, metadata,
// spec, status; name, generateName, namespace, ...); other maps sorted.
func encodeObject(v interface{}, escapeHTML bool) []byte {
	var buf bytes.Buffer
	encodeValue(&buf, v, "", true, escapeHTML)
	return buf.Bytes()
}

func encodeValue(buf *bytes.Buffer, v interface{}, key string, top, escapeHTML bool) {
	switch t := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		if t {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
	case json.Number:
		buf.WriteString(t.String())
	case float64:
		buf.WriteString(strconv.FormatFloat(t, 'g', -1, 64))
	case string:
		writeJSONString(buf, t, escapeHTML)
	case []interface{}:
		buf.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeValue(buf, e, "", false, escapeHTML)
		}
		buf.WriteByte(']')
	case jmap:
		var pri []string
		if top {
			pri = topOrder
		} else if key == "metadata" {
			pri = metaOrder
		}
		buf.WriteByte('{')
		for i, k := range orderedKeys(t, pri) {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(buf, k, escapeHTML)
			buf.WriteByte(':')
			encodeValue(buf, t[k], k, false, escapeHTML)
		}
		buf.WriteByte('}')
	default:
		b, _ := json.Marshal(t)
		buf.Write(b)
	}
}

func indentJSON(compact []byte) []byte {
	compact = bytes.TrimSpace(compact)
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", "  "); err != nil {
		return append(compact, '\n')
	}
	out.WriteByte('\n')
	return out.Bytes()
}

func printObject(v interface{}) {
	os.Stdout.Write(indentJSON(encodeObject(v, false)))
}

func deepCopyJSON(v interface{}) interface{} {
	switch t := v.(type) {
	case jmap:
		m := make(jmap, len(t))
		for k, e := range t {
			m[k] = deepCopyJSON(e)
		}
		return m
	case []interface{}:
		a := make([]interface{}, len(t))
		for i, e := range t {
			a[i] = deepCopyJSON(e)
		}
		return a
	}
	return v
}

func numEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	ra, ok1 := new(big.Rat).SetString(a.String())
	rb, ok2 := new(big.Rat).SetString(b.String())
	return ok1 && ok2 && ra.Cmp(rb) == 0
}

// jsonEqual is semantic JSON equality: key order ignored, numbers by value.
func jsonEqual(a, b interface{}) bool {
	switch x := a.(type) {
	case jmap:
		y, ok := b.(jmap)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []interface{}:
		y, ok := b.([]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numEqual(x, y)
	default:
		return a == b
	}
}

func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func short(v interface{}) string {
	s := string(encodeObject(v, false))
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// diffWords names the two sides of a jsonDiff.
type diffWords struct{ missing, extra, changed string }

var expectWords = diffWords{
	missing: "  - %s: missing (expected %s)",
	extra:   "  + %s: unexpected %s",
	changed: "  ~ %s: expected %s, got %s",
}

var reinvokeWords = diffWords{
	missing: "  - %s: removed by the second call (was %s)",
	extra:   "  + %s: added by the second call: %s",
	changed: "  ~ %s: first call gave %s, second call gave %s",
}

// jsonDiff lists the differences between want and got as JSON Pointer lines.
func jsonDiff(p string, want, got interface{}, out *[]string, w diffWords) {
	if jsonEqual(want, got) {
		return
	}
	wm, ok1 := want.(jmap)
	gm, ok2 := got.(jmap)
	if ok1 && ok2 {
		keys := map[string]bool{}
		for k := range wm {
			keys[k] = true
		}
		for k := range gm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			cp := p + "/" + pointerEscape(k)
			wv, inW := wm[k]
			g, inG := gm[k]
			switch {
			case inW && !inG:
				*out = append(*out, fmt.Sprintf(w.missing, cp, short(wv)))
			case !inW && inG:
				*out = append(*out, fmt.Sprintf(w.extra, cp, short(g)))
			default:
				jsonDiff(cp, wv, g, out, w)
			}
		}
		return
	}
	wa, ok1 := want.([]interface{})
	ga, ok2 := got.([]interface{})
	if ok1 && ok2 {
		n := len(wa)
		if len(ga) < n {
			n = len(ga)
		}
		for i := 0; i < n; i++ {
			jsonDiff(fmt.Sprintf("%s/%d", p, i), wa[i], ga[i], out, w)
		}
		for i := n; i < len(wa); i++ {
			*out = append(*out, fmt.Sprintf(w.missing, fmt.Sprintf("%s/%d", p, i), short(wa[i])))
		}
		for i := n; i < len(ga); i++ {
			*out = append(*out, fmt.Sprintf(w.extra, fmt.Sprintf("%s/%d", p, i), short(ga[i])))
		}
		return
	}
	where := p
	if where == "" {
		where = "(root)"
	}
	*out = append(*out, fmt.Sprintf(w.changed, where, short(want), short(got)))
}

func getMap(m jmap, keys ...string) jmap {
	cur := m
	for _, k := range keys {
		n, ok := cur[k].(jmap)
		if !ok {
			return nil
		}
		cur = n
	}
	return cur
}

func getString(m jmap, keys ...string) string {
	if len(keys) == 0 {
		return ""
	}
	parent := m
	if len(keys) > 1 {
		parent = getMap(m, keys[:len(keys)-1]...)
	}
	if parent == nil {
		return ""
	}
	s, _ := parent[keys[len(keys)-1]].(string)
	return s
}
