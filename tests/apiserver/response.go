// SPDX-License-Identifier: Apache-2.0
//
// Decoding the webhook's answer as the webhook client's codec does
// (case-sensitive, typed, YAML accepted), request.VerifyAdmissionResponse, and
// the denial Status (webhookerrors.ToStatusErr).
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode"

	"sigs.k8s.io/yaml"
)

type statusFields struct {
	status, message, reason string
	code                    int32
}

type respFields struct {
	uid              string
	allowed          bool
	result           *statusFields
	patch            []byte
	patchType        *string
	auditAnnotations map[string]string
	warnings         []string
}

type review struct {
	apiVersion, kind string
	response         *respFields
}

func rawKind(r json.RawMessage) string {
	t := bytes.TrimSpace(r)
	if len(t) == 0 {
		return "null"
	}
	switch t[0] {
	case 'n':
		return "null"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case '[':
		return "array"
	case '{':
		return "object"
	}
	return "number"
}

// fieldErr formats like encoding/json's UnmarshalTypeError (which kube's
// case-sensitive sigs.k8s.io/json decoder keeps).
func fieldErr(r json.RawMessage, strct, field, goType string) error {
	v := rawKind(r)
	if v == "number" {
		v = "number " + string(bytes.TrimSpace(r))
	}
	return fmt.Errorf("json: cannot unmarshal %s into Go struct field %s.%s of type %s", v, strct, field, goType)
}

func decStr(r json.RawMessage, strct, field, goType string) (string, error) {
	switch rawKind(r) {
	case "null":
		return "", nil
	case "string":
		var s string
		err := json.Unmarshal(r, &s)
		return s, err
	}
	return "", fieldErr(r, strct, field, goType)
}

func decObj(r json.RawMessage, strct, field, goType string) (map[string]json.RawMessage, bool, error) {
	switch rawKind(r) {
	case "null":
		return nil, false, nil
	case "object":
		var m map[string]json.RawMessage
		err := json.Unmarshal(r, &m)
		return m, true, err
	}
	return nil, false, fieldErr(r, strct, field, goType)
}

// decodeStatusBody decodes a metav1.Status (kind "Status") from an error body.
func decodeStatusBody(body []byte) (*statusFields, error) {
	data, err := toJSON(body)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	if k, _ := decStr(top["kind"], "Status", "kind", "string"); k != "Status" {
		return nil, nil
	}
	return decodeStatus(top, "Status", "")
}

func decodeStatus(m map[string]json.RawMessage, strct, prefix string) (*statusFields, error) {
	st := &statusFields{}
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"status", &st.status}, {"message", &st.message}, {"reason", &st.reason}, {"kind", nil}, {"apiVersion", nil}} {
		r, ok := m[f.key]
		if !ok {
			continue
		}
		s, e := decStr(r, "Status", prefix+f.key, "string")
		if e != nil {
			return nil, e
		}
		if f.dst != nil {
			*f.dst = s
		}
	}
	if r, ok := m["code"]; ok {
		switch rawKind(r) {
		case "null":
		case "number":
			n, e := strconv.ParseInt(string(bytes.TrimSpace(r)), 10, 32)
			if e != nil {
				return nil, fieldErr(r, "Status", prefix+"code", "int32")
			}
			st.code = int32(n)
		default:
			return nil, fieldErr(r, "Status", prefix+"code", "int32")
		}
	}
	for _, k := range []string{"metadata", "details"} {
		if r, ok := m[k]; ok {
			gt := map[string]string{"metadata": "v1.ListMeta", "details": "v1.StatusDetails"}[k]
			if _, _, err = decObj(r, "Status", prefix+k, gt); err != nil {
				return nil, err
			}
		}
	}
	return st, nil
}

// toJSON mirrors kube's universal deserializer: a body starting with "{" is
// JSON, anything else goes through the YAML decoder.
func toJSON(body []byte) ([]byte, error) {
	if bytes.HasPrefix(bytes.TrimLeftFunc(body, unicode.IsSpace), []byte("{")) {
		return body, nil
	}
	return yaml.YAMLToJSON(body)
}

type gvk struct{ group, version, kind string }

func (g gvk) String() string { return g.group + "/" + g.version + ", Kind=" + g.kind }

func gvkFrom(apiVersion, kind string) gvk {
	gv, err := parseGroupVersion(apiVersion)
	if err != nil {
		return gvk{kind: kind}
	}
	return gvk{gv.group, gv.version, kind}
}

// decodeReview decodes the answer like the webhook client's codec: the
// apiVersion/kind pick the Go type (defaults filled from the expected type),
// then a case-sensitive, non-strict decode into it.
func decodeReview(body []byte, sentVersion string) (*review, error) {
	data, err := toJSON(body)
	if err != nil {
		return nil, err
	}
	var find struct {
		APIVersion string `json:"apiVersion,omitempty"`
		Kind       string `json:"kind,omitempty"`
	}
	if err := json.Unmarshal(data, &find); err != nil {
		return nil, fmt.Errorf("couldn't get version/kind; json parse error: %v", err)
	}
	gv, err := parseGroupVersion(find.APIVersion)
	if err != nil {
		return nil, err
	}
	want := gvk{admissionGroup, sentVersion, "AdmissionReview"}
	actual := gvk{gv.group, gv.version, find.Kind}
	if actual.kind == "" {
		actual.kind = want.kind
	}
	if actual.version == "" && actual.group == "" {
		actual.group, actual.version = want.group, want.version
	}
	if actual.version == "" && actual.group == want.group {
		actual.version = want.version
	}
	if actual != want {
		unversioned := map[string]bool{"Status": true, "APIVersions": true, "APIGroupList": true, "APIGroup": true, "APIResourceList": true}
		known := actual.group == admissionGroup && (actual.version == "v1" || actual.version == "v1beta1") &&
			map[string]bool{"AdmissionReview": true, "WatchEvent": true, "ListOptions": true, "GetOptions": true,
				"DeleteOptions": true, "CreateOptions": true, "UpdateOptions": true, "PatchOptions": true}[actual.kind]
		if unversioned[actual.kind] || known {
			return nil, fmt.Errorf("converting (%s) to (%s): unknown conversion", actual, want)
		}
		return nil, fmt.Errorf("no kind %q is registered for version %q in the webhook client's scheme", actual.kind, actual.group+"/"+actual.version)
	}

	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	rv := &review{}
	vt := sentVersion // Go package name in type strings: v1 or v1beta1
	if rv.kind, err = decStr(top["kind"], "AdmissionReview", "kind", "string"); err != nil {
		return nil, err
	}
	if rv.apiVersion, err = decStr(top["apiVersion"], "AdmissionReview", "apiVersion", "string"); err != nil {
		return nil, err
	}
	if r, ok := top["request"]; ok {
		if _, _, err := decObj(r, "AdmissionReview", "request", vt+".AdmissionRequest"); err != nil {
			return nil, err
		}
	}
	rm, present, err := decObj(top["response"], "AdmissionReview", "response", vt+".AdmissionResponse")
	if err != nil {
		return nil, err
	}
	if !present {
		return rv, nil
	}
	resp := &respFields{}
	rv.response = resp
	const S = "AdmissionResponse"
	if resp.uid, err = decStr(rm["uid"], S, "response.uid", "types.UID"); err != nil {
		return nil, err
	}
	if r, ok := rm["allowed"]; ok {
		switch rawKind(r) {
		case "null":
		case "bool":
			resp.allowed = bytes.Equal(bytes.TrimSpace(r), []byte("true"))
		default:
			return nil, fieldErr(r, S, "response.allowed", "bool")
		}
	}
	if sm, ok, err := decObj(rm["status"], S, "response.status", "v1.Status"); err != nil {
		return nil, err
	} else if ok {
		if resp.result, err = decodeStatus(sm, "Status", "response.status."); err != nil {
			return nil, err
		}
	}
	if r, ok := rm["patch"]; ok {
		switch rawKind(r) {
		case "null":
		case "string":
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, err
			}
			b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
			n, err := base64.StdEncoding.Decode(b, []byte(s))
			if err != nil {
				return nil, err
			}
			resp.patch = b[:n]
		default:
			return nil, fieldErr(r, S, "response.patch", "[]uint8")
		}
	}
	if r, ok := rm["patchType"]; ok && rawKind(r) != "null" {
		pt, err := decStr(r, S, "response.patchType", vt+".PatchType")
		if err != nil {
			return nil, err
		}
		resp.patchType = &pt
	}
	if am, ok, err := decObj(rm["auditAnnotations"], S, "response.auditAnnotations", "map[string]string"); err != nil {
		return nil, err
	} else if ok {
		resp.auditAnnotations = map[string]string{}
		for k, v := range am {
			s, err := decStr(v, S, "response.auditAnnotations", "string")
			if err != nil {
				return nil, err
			}
			resp.auditAnnotations[k] = s
		}
	}
	if r, ok := rm["warnings"]; ok {
		switch rawKind(r) {
		case "null":
		case "array":
			var items []json.RawMessage
			if err := json.Unmarshal(r, &items); err != nil {
				return nil, err
			}
			for _, it := range items {
				s, err := decStr(it, S, "response.warnings", "string")
				if err != nil {
					return nil, err
				}
				resp.warnings = append(resp.warnings, s)
			}
		default:
			return nil, fieldErr(r, S, "response.warnings", "[]string")
		}
	}
	return rv, nil
}

type verified struct {
	allowed   bool
	patch     []byte
	patchType string
	result    *statusFields
	warnings  []string
	audit     map[string]string
}

// verifyResponse mirrors request.VerifyAdmissionResponse(uid, mutating=true, review).
func verifyResponse(uid, version string, rv *review) (*verified, error) {
	r := rv.response
	if r == nil {
		return nil, errors.New("webhook response was absent")
	}
	v := &verified{allowed: r.allowed, result: r.result, warnings: r.warnings, audit: r.auditAnnotations}
	if version == "v1beta1" {
		// v1beta1: no uid or GVK check; a patch means JSONPatch whatever patchType says.
		v.patch = r.patch
		if len(r.patch) > 0 {
			v.patchType = "JSONPatch"
		}
		return v, nil
	}
	if r.uid != uid {
		return nil, fmt.Errorf("expected response.uid=%q, got %q", uid, r.uid)
	}
	want := gvk{admissionGroup, "v1", "AdmissionReview"}
	if got := gvkFrom(rv.apiVersion, rv.kind); got != want {
		return nil, fmt.Errorf("expected webhook response of %s, got %s", want, got)
	}
	if len(r.patch) > 0 && r.patchType == nil {
		return nil, errors.New("webhook returned response.patch but not response.patchType")
	}
	if len(r.patch) == 0 && r.patchType != nil {
		return nil, errors.New("webhook returned response.patchType but not response.patch")
	}
	v.patch = r.patch
	if r.patchType != nil {
		v.patchType = *r.patchType
		if v.patchType == "" {
			return nil, fmt.Errorf("webhook returned invalid response.patchType of %q", v.patchType)
		}
	}
	return v, nil
}

// denial mirrors webhookerrors.ToStatusErr.
func denial(webhook string, result *statusFields) *apiStatus {
	deniedBy := fmt.Sprintf("admission webhook %q denied the request", webhook)
	st := statusFields{status: "Failure"}
	if result != nil {
		st = *result
	}
	if st.code < 400 {
		st.code = 400
	}
	msg := deniedBy + " without explanation"
	switch {
	case st.message != "":
		msg = deniedBy + ": " + st.message
	case st.reason != "":
		msg = deniedBy + ": " + st.reason
	}
	return &apiStatus{st.reason, int(st.code), msg, exitDenied}
}
