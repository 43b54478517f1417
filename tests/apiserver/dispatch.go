// SPDX-License-Identifier: Apache-2.0
//
// One webhook call as the dispatcher makes it (callAttrMutatingHook in
// mutating/dispatcher.go): the dry-run/sideEffects check, the call, the
// answer verified, warnings recorded, a denial turned into its Status, the
// patch decoded and applied, and the result decoded into the typed object
// (a wrong type is a 500; unknown fields vanish) and defaulted again. For
// kinds without a typed model, ObjectMeta alone is type-checked.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"os"

	v1 "admission-sim/k8s/v1"
	jsonpatch "github.com/evanphx/json-patch"
)

type outcome struct {
	object     jmap    // the object after this call (nil for DELETE)
	typed      *v1.Job // the same, typed (batch/v1 Job)
	changed    bool
	status     *apiStatus // the request ends with this error
	failedOpen error      // failurePolicy Ignore swallowed this call failure
}

// invoke is callAttrMutatingHook: call, verify, apply.
func (s *sim) invoke(obj jmap, typed *v1.Job) outcome {
	c := s.c
	s.calls++
	fail := func(reason error) outcome {
		ce := &callError{c.webhookName, reason}
		if c.failurePolicy == "Ignore" {
			return outcome{object: obj, typed: typed, failedOpen: ce}
		}
		return outcome{status: internalError(ce)}
	}
	if c.dryRun && c.sideEffects != "None" && c.sideEffects != "NoneOnDryRun" {
		return outcome{status: badRequest(fmt.Sprintf("admission webhook %q does not support dry run", c.webhookName))}
	}
	uid := ""
	if s.calls == 1 {
		uid = c.uid
	}
	body, uid, err := s.buildRequest(obj, uid)
	if err != nil {
		return fail(fmt.Errorf("could not create admission objects: %w", err))
	}
	if s.calls == 1 && c.dumpRequest != "" {
		if err := os.WriteFile(c.dumpRequest, body, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "admission-sim: --dump-request: %v\n", err)
		}
	}
	resp, err := s.post(body)
	if err != nil {
		return fail(fmt.Errorf("failed to call webhook: %w", err))
	}
	if s.calls == 1 && c.raw {
		os.Stdout.Write(indentJSON(bytes.TrimSpace(resp.body)))
	}
	if resp.status < 200 || resp.status > 206 {
		return fail(fmt.Errorf("failed to call webhook: %w", genericServerError(resp)))
	}
	if resp.contentType != "" {
		if _, _, err := mime.ParseMediaType(resp.contentType); err != nil {
			return fail(fmt.Errorf("failed to call webhook: Internal error occurred: %v", err))
		}
	}
	if len(resp.body) == 0 {
		ct := resp.contentType
		if ct == "" {
			ct = "application/json"
		}
		return fail(fmt.Errorf("failed to call webhook: 0-length response with status code: %d and content type: %s", resp.status, ct))
	}
	rv, err := decodeReview(resp.body, c.version)
	if err != nil {
		return fail(fmt.Errorf("failed to call webhook: %w", err))
	}
	v, err := verifyResponse(uid, c.version, rv)
	if err != nil {
		return fail(fmt.Errorf("received invalid webhook response: %w", err))
	}
	for k, a := range v.audit {
		vlog("audit annotation %s/%s=%s", c.webhookName, k, a)
	}
	for _, w := range v.warnings {
		s.warn.add(w)
	}
	if !v.allowed {
		return outcome{status: denial(c.webhookName, v.result)}
	}
	if len(v.patch) == 0 {
		vlog("allowed, no patch")
		return outcome{object: obj, typed: typed}
	}
	vlog("patch (%s): %s", v.patchType, v.patch)
	patchObj, err := jsonpatch.DecodePatch(v.patch)
	if err != nil {
		return fail(fmt.Errorf("received undecodable patch in webhook response: %w", err))
	}
	if len(patchObj) == 0 {
		return outcome{object: obj, typed: typed}
	}
	if obj == nil {
		return outcome{status: internalError(fmt.Errorf("admission webhook %q attempted to modify the object, which is not supported for this operation", c.webhookName))}
	}
	if v.patchType != "JSONPatch" {
		return fail(fmt.Errorf("unsupported patch type %q", v.patchType))
	}
	patched, err := applyPatch(encodeObject(obj, true), patchObj)
	if err != nil {
		if errors.Is(err, errPanic) {
			fmt.Fprintf(os.Stderr, "admission-sim: %v\n", err)
			return outcome{status: panicStatus()}
		}
		return outcome{status: internalError(err)}
	}
	pv, err := decodeJSONValue(patched)
	if err != nil {
		return outcome{status: internalError(err)}
	}
	newObj, ok := pv.(jmap)
	if !ok {
		return outcome{status: internalError(fmt.Errorf("json: cannot unmarshal %s into Go value of type %s", rawKind(patched), s.goType()))}
	}
	if typed != nil {
		return s.decodePatched(obj, newObj)
	}
	if st := s.checkPatched(obj, newObj); st != nil {
		return outcome{status: st}
	}
	return outcome{object: newObj, changed: !jsonEqual(obj, newObj)}
}

// decodePatched: the patched JSON decoded into a new typed Job (non-strict:
// fields the type lacks are dropped, which admission-sim points out on
// stderr since kube-apiserver says nothing), identity checked, defaulted.
func (s *sim) decodePatched(before, after jmap) outcome {
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := after[k]; !ok || v == nil || v == "" {
			after[k] = before[k] // the serializer takes them from the target type
		}
	}
	job, unknown, err := mapToJob(after)
	if err != nil {
		return outcome{status: internalError(err)}
	}
	for _, u := range unknown {
		note("note: after the patch, %s: batch/v1 Job has no such field; kube-apiserver drops it silently", u)
	}
	if st := s.checkIdentity(before, jobToMap(job)); st != nil {
		return outcome{status: st}
	}
	defaultJob(job)
	newObj := jobToMap(job)
	return outcome{object: newObj, typed: job, changed: !jsonEqual(before, newObj)}
}

func (s *sim) goType() string {
	pkg := s.kind.version
	if pkg == "" {
		pkg = "v1"
	}
	return pkg + "." + s.kind.kind
}

// checkPatched stands in for decoding the patched JSON back into the typed
// object: ObjectMeta fields must have their Go types (null map/list values
// become zero values, empty maps/lists and nulls vanish), a missing
// apiVersion/kind is defaulted from the type, and the object must keep its
// apiVersion, kind, name and namespace.
func (s *sim) checkPatched(before, after jmap) *apiStatus {
	for _, k := range []string{"apiVersion", "kind"} {
		if v, ok := after[k]; !ok || v == nil {
			after[k] = before[k]
		} else if _, isStr := v.(string); !isStr {
			return internalError(fmt.Errorf("json: cannot unmarshal %s into Go struct field %s.%s of type string", jsonKindOf(v), s.kind.kind, k))
		}
	}
	if st := s.normalizeMeta(after); st != nil {
		return st
	}
	return s.checkIdentity(before, after)
}

// checkIdentity: apiVersion, kind, name and namespace must not change.
func (s *sim) checkIdentity(before, after jmap) *apiStatus {
	for _, k := range []string{"apiVersion", "kind"} {
		if after[k] != before[k] {
			return internalError(fmt.Errorf("admission webhook %q changed %s from %v to %v", s.c.webhookName, k, before[k], after[k]))
		}
	}
	bn, an := getString(before, "metadata", "name"), getString(after, "metadata", "name")
	if bn != an {
		return badRequest(fmt.Sprintf("admission webhook %q changed metadata.name from %q to %q (admission-sim refuses this; kube-apiserver rejects it on UPDATE as an immutable field)", s.c.webhookName, bn, an))
	}
	if getString(before, "metadata", "namespace") != getString(after, "metadata", "namespace") {
		return badRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	return nil
}

func jsonKindOf(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case []interface{}:
		return "array"
	}
	return "object"
}

func (s *sim) normalizeMeta(obj jmap) *apiStatus {
	const S = "ObjectMeta"
	mdv, ok := obj["metadata"]
	if !ok || mdv == nil {
		obj["metadata"] = jmap{"creationTimestamp": nil}
		return nil
	}
	md, ok := mdv.(jmap)
	if !ok {
		return internalError(fmt.Errorf("json: cannot unmarshal %s into Go struct field %s.metadata of type v1.ObjectMeta", jsonKindOf(mdv), s.kind.kind))
	}
	typeErr := func(v interface{}, field, t string) *apiStatus {
		return internalError(fmt.Errorf("json: cannot unmarshal %s into Go struct field %s.metadata.%s of type %s", jsonKindOf(v), S, field, t))
	}
	for _, k := range []string{"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion"} {
		v, ok := md[k]
		if !ok {
			continue
		}
		switch t := v.(type) {
		case nil:
			delete(md, k)
		case string:
			if t == "" {
				delete(md, k)
			}
		default:
			t2 := "string"
			if k == "uid" {
				t2 = "types.UID"
			}
			return typeErr(v, k, t2)
		}
	}
	for _, k := range []string{"labels", "annotations"} {
		v, ok := md[k]
		if !ok {
			continue
		}
		switch t := v.(type) {
		case nil:
			delete(md, k)
		case jmap:
			for mk, mv := range t {
				switch mv.(type) {
				case nil:
					t[mk] = ""
				case string:
				default:
					return typeErr(mv, k, "string")
				}
			}
			if len(t) == 0 {
				delete(md, k)
			}
		default:
			return typeErr(v, k, "map[string]string")
		}
	}
	if v, ok := md["finalizers"]; ok {
		switch t := v.(type) {
		case nil:
			delete(md, "finalizers")
		case []interface{}:
			for i, e := range t {
				switch e.(type) {
				case nil:
					t[i] = ""
				case string:
				default:
					return typeErr(e, "finalizers", "string")
				}
			}
			if len(t) == 0 {
				delete(md, "finalizers")
			}
		default:
			return typeErr(v, "finalizers", "[]string")
		}
	}
	if _, ok := md["creationTimestamp"]; !ok && !s.c.literal {
		md["creationTimestamp"] = nil
	}
	return nil
}
