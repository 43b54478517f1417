// SPDX-License-Identifier: Apache-2.0
//
// Applying the webhook's JSONPatch as the dispatcher does, with Debian's
// evanphx/json-patch v4.9 bridged to the v4.12 behaviour kube-apiserver has
// (negative indexes, replace/test of the whole document).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	jsonpatch "github.com/evanphx/json-patch"
)

var errPanic = errors.New("json-patch panicked")

type panicError struct{ v interface{} }

func (p *panicError) Error() string {
	return fmt.Sprintf("json-patch panicked (%v); kube-apiserver would answer 500", p.v)
}
func (p *panicError) Is(t error) bool { return t == errPanic }

// applyPatch applies the patch as the dispatcher does: patchObj.Apply(objJS).
//
// Debian ships evanphx/json-patch v4.9.0 as the root package; kube-apiserver
// uses v4.12 (gopkg.in/evanphx/json-patch.v4). They differ in two places,
// which are bridged here: v4.12 accepts negative array indexes where v4.9
// panics (traversal, replace, test, copy/move "from"), and v4.12 lets
// "replace"/"test" target the whole document (path ""). Patches without
// those are applied with a single library call, exactly like the apiserver.
func applyPatch(doc []byte, p jsonpatch.Patch) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &panicError{r}
		}
	}()
	if !needsBridge(p) {
		return p.Apply(doc)
	}
	cur := doc
	for _, op := range p {
		cur, err = applyOne(cur, op)
		if err != nil {
			return nil, err
		}
	}
	return cur, nil
}

func opString(op jsonpatch.Operation, key string) (string, bool) {
	r, ok := op[key]
	if !ok || r == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(*r, &s) != nil {
		return "", false
	}
	return s, true
}

func hasNegativeSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if n, err := strconv.Atoi(seg); err == nil && n < 0 {
			return true
		}
	}
	return false
}

func needsBridge(p jsonpatch.Patch) bool {
	for _, op := range p {
		kind := op.Kind()
		if pth, ok := opString(op, "path"); ok {
			if pth == "" && (kind == "replace" || kind == "test") {
				return true
			}
			if hasNegativeSegment(pth) {
				return true
			}
		}
		if from, ok := opString(op, "from"); ok && hasNegativeSegment(from) {
			return true
		}
	}
	return false
}

var pointerUnescaper = strings.NewReplacer("~1", "/", "~0", "~")

// resolveNegatives rewrites negative array indexes in pointer p against doc the
// way v4.12 reads them (idx += len). The last segment is rewritten only when
// withLast (the op reads it with get/set, not add/remove). Out-of-range
// indexes become len, which v4.9 also rejects. It returns the rewritten
// pointer and the original and rewritten index texts of the last rewrite.
func resolveNegatives(doc interface{}, p string, withLast bool) (string, [][2]string) {
	if p == "" {
		return p, nil
	}
	segs := strings.Split(p, "/")[1:]
	var swaps [][2]string
	cur := doc
	for i, seg := range segs {
		last := i == len(segs)-1
		switch t := cur.(type) {
		case jmap:
			cur = t[pointerUnescaper.Replace(seg)]
		case []interface{}:
			n, err := strconv.Atoi(seg)
			if err != nil {
				return "/" + strings.Join(segs, "/"), swaps
			}
			if n < 0 && (!last || withLast) {
				idx := n + len(t)
				if idx < 0 {
					idx = len(t)
				}
				segs[i] = strconv.Itoa(idx)
				swaps = append(swaps, [2]string{seg, segs[i]})
				n = idx
			}
			if n >= 0 && n < len(t) {
				cur = t[n]
			} else {
				cur = nil
			}
		default:
			return "/" + strings.Join(segs, "/"), swaps
		}
	}
	return "/" + strings.Join(segs, "/"), swaps
}

func setOpString(op jsonpatch.Operation, key, val string) {
	b, _ := json.Marshal(val)
	r := json.RawMessage(b)
	op[key] = &r
}

// removeAt drops the value at pointer p from doc (for move's second half).
func removeAt(doc interface{}, p string) interface{} {
	segs := strings.Split(p, "/")[1:]
	if len(segs) == 0 {
		return doc
	}
	cur := doc
	for _, seg := range segs[:len(segs)-1] {
		switch t := cur.(type) {
		case jmap:
			cur = t[pointerUnescaper.Replace(seg)]
		case []interface{}:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(t) {
				return doc
			}
			cur = t[n]
		default:
			return doc
		}
	}
	last := segs[len(segs)-1]
	switch t := cur.(type) {
	case jmap:
		delete(t, pointerUnescaper.Replace(last))
	case []interface{}:
		n, err := strconv.Atoi(last)
		if err == nil && n < 0 {
			n += len(t)
		}
		if err == nil && n >= 0 && n < len(t) {
			// Parent slices are shared; rebuild the parent's entry.
			return replaceSlice(doc, segs[:len(segs)-1], append(append([]interface{}{}, t[:n]...), t[n+1:]...))
		}
	}
	return doc
}

func replaceSlice(doc interface{}, parentSegs []string, ns []interface{}) interface{} {
	if len(parentSegs) == 0 {
		return ns
	}
	cur := doc
	for _, seg := range parentSegs[:len(parentSegs)-1] {
		switch t := cur.(type) {
		case jmap:
			cur = t[pointerUnescaper.Replace(seg)]
		case []interface{}:
			n, _ := strconv.Atoi(seg)
			cur = t[n]
		}
	}
	last := parentSegs[len(parentSegs)-1]
	switch t := cur.(type) {
	case jmap:
		t[pointerUnescaper.Replace(last)] = ns
	case []interface{}:
		n, _ := strconv.Atoi(last)
		t[n] = ns
	}
	return doc
}

func applyOne(doc []byte, op jsonpatch.Operation) ([]byte, error) {
	kind := op.Kind()
	pth, hasPath := opString(op, "path")
	if hasPath && pth == "" && (kind == "replace" || kind == "test") {
		return rootOp(doc, op, kind)
	}
	tree, err := decodeJSONValue(doc)
	if err != nil {
		return jsonpatch.Patch{op}.Apply(doc)
	}
	rw := jsonpatch.Operation{}
	for k, v := range op {
		rw[k] = v
	}
	type swap struct{ from, to string }
	var swaps []swap
	note := func(orig, now string, idx [][2]string) {
		if orig != now {
			swaps = append(swaps, swap{now, orig})
			for _, s := range idx {
				swaps = append(swaps, swap{"invalid index: " + s[1], "invalid index: " + s[0]}, swap{"'" + s[1] + "'", "'" + s[0] + "'"})
			}
		}
	}
	switch kind {
	case "add", "remove", "replace", "test":
		if hasPath {
			np, idx := resolveNegatives(tree, pth, kind == "replace" || kind == "test")
			setOpString(rw, "path", np)
			note(pth, np, idx)
		}
	case "copy", "move":
		from, hasFrom := opString(op, "from")
		if hasFrom {
			nf, idx := resolveNegatives(tree, from, true)
			setOpString(rw, "from", nf)
			note(from, nf, idx)
			if kind == "move" {
				tree = removeAt(tree, nf)
			}
		}
		if hasPath {
			np, idx := resolveNegatives(tree, pth, false)
			setOpString(rw, "path", np)
			note(pth, np, idx)
		}
	}
	out, err := jsonpatch.Patch{rw}.Apply(doc)
	if err != nil && len(swaps) > 0 {
		msg := err.Error()
		for _, s := range swaps {
			msg = strings.ReplaceAll(msg, s.from, s.to)
		}
		return nil, errors.New(msg)
	}
	return out, err
}

// rootOp is v4.12's replace/test of the whole document (path "").
func rootOp(doc []byte, op jsonpatch.Operation, kind string) ([]byte, error) {
	r, ok := op["value"]
	if !ok {
		panic("nil value for whole-document " + kind) // v4.12 dereferences a nil node here
	}
	if kind == "test" {
		if r != nil && jsonpatch.Equal(doc, *r) {
			return doc, nil
		}
		return nil, fmt.Errorf("testing value %s failed: %w", "", jsonpatch.ErrTestFailed)
	}
	if r == nil {
		return doc, nil // null value: v4.12 returns errors.Wrapf(nil, ...) == nil, a no-op
	}
	t := bytes.TrimLeftFunc(*r, unicode.IsSpace)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') {
		return doc, nil // scalar value: also a silent no-op in v4.12
	}
	var v interface{}
	if err := json.Unmarshal(*r, &v); err != nil {
		return doc, nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, *r); err != nil {
		return doc, nil
	}
	return buf.Bytes(), nil
}
