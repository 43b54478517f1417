// SPDX-License-Identifier: Apache-2.0
//
// The typed decode and encode: unknown and wrongly-cased fields dropped (and
// listed for Strict), wrong types refused with the Go type's name, null
// values gone, the stubs typed encoding writes, quantities canonical, and
// the patched object going through the same decode (a misspelt patch path
// does nothing; removing restartPolicy brings Always back).
package main

import (
	"strings"
	"testing"

	v1 "admission-sim/k8s/v1"
)

func TestUnknownAndMiscasedFieldsAreDropped(t *testing.T) {
	j, unknown, err := decodeJob([]byte(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},
	  "spec":{"template":{"spec":{"RestartPolicy":"Never","imagepullsecrets":[{"name":"x"}],"containers":[{"name":"c","image":"i","bogus":1}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if j.Spec.Template.Spec.RestartPolicy != "" || len(j.Spec.Template.Spec.ImagePullSecrets) != 0 {
		t.Errorf("case-insensitive match: %+v", j.Spec.Template.Spec)
	}
	got := strings.Join(unknown, "; ")
	for _, want := range []string{`unknown field "spec.template.spec.RestartPolicy"`, `unknown field "spec.template.spec.imagepullsecrets"`, `unknown field "spec.template.spec.containers[0].bogus"`} {
		if !strings.Contains(got, want) {
			t.Errorf("strict errors %q lack %q", got, want)
		}
	}
	if m := jobToMap(j); strings.Contains(string(encodeObject(m, false)), "bogus") {
		t.Errorf("unknown field survived the round trip")
	}
}

func TestWrongTypesAreDecodeErrors(t *testing.T) {
	cases := map[string]string{
		`{"spec":{"template":{"spec":{"terminationGracePeriodSeconds":"30"}}}}`:                   "json: cannot unmarshal string into Go struct field PodSpec.spec.template.spec.terminationGracePeriodSeconds of type int64",
		`{"spec":{"backoffLimit":1.5}}`:                                                           "json: cannot unmarshal number 1.5 into Go struct field JobSpec.spec.backoffLimit of type int32",
		`{"metadata":{"labels":{"a":1}}}`:                                                         "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string",
		`{"spec":{"template":{"spec":{"restartPolicy":["Never"]}}}}`:                              "json: cannot unmarshal array into Go struct field PodSpec.spec.template.spec.restartPolicy of type v1.RestartPolicy",
		`{"spec":{"template":{"spec":{"containers":[{"resources":{"limits":{"cpu":"lots"}}}]}}}}`: "quantities must match the regular expression",
	}
	for in, want := range cases {
		_, _, err := decodeJob([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", in, err, want)
		}
	}
}

func TestTypedEncodingStubsAndNulls(t *testing.T) {
	j, _, err := decodeJob([]byte(`{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","annotations":{}},
	  "spec":{"backoffLimit":null,"template":{"spec":{"nodeSelector":{},"tolerations":[],"affinity":{},
	  "containers":[{"name":"c","image":"i","lifecycle":null,"envFrom":[]}]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := jobToMap(j)
	s := string(encodeObject(m, false))
	for _, want := range []string{`"status":{}`, `"creationTimestamp":null`, `"resources":{}`, `"affinity":{}`} {
		if !strings.Contains(s, want) {
			t.Errorf("typed encoding lacks %s: %s", want, s)
		}
	}
	for _, gone := range []string{"annotations", "nodeSelector", "tolerations", "lifecycle", "envFrom", "backoffLimit"} {
		if strings.Contains(s, `"`+gone+`"`) {
			t.Errorf("%s should be dropped (empty or null): %s", gone, s)
		}
	}
	shown := stripStubs(m, jobStubs())
	if s := string(encodeObject(shown, false)); strings.Contains(s, "creationTimestamp") || strings.Contains(s, `"status"`) {
		t.Errorf("stubs not stripped for printing: %s", s)
	}
}

func TestQuantitiesAreCanonical(t *testing.T) {
	for in, want := range map[string]string{
		`"0.5"`: "500m", `"1000m"`: "1", `2000`: "2k", `"1024Mi"`: "1Gi", `"1536Mi"`: "1536Mi",
		`"0.5Gi"`: "512Mi", `"100m"`: "100m", `1.5`: "1500m", `"1e3"`: "1e3", `"128974848"`: "128974848",
	} {
		var q v1.Quantity
		if err := q.UnmarshalJSON([]byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := q.String(); got != want {
			t.Errorf("quantity %s -> %s, want %s", in, got, want)
		}
	}
	q, _ := v1.ParseQuantity("0.0001")
	q.RoundUp(-3)
	if q.String() != "1m" {
		t.Errorf("RoundUp(-3) of 0.0001 = %s, want 1m", q.String())
	}
}

func patchedJob(t *testing.T, patch string) outcome {
	t.Helper()
	j := defaulted(t)
	j.Spec.Template.Spec.RestartPolicy = "Never"
	before := jobToMap(j)
	s := &sim{c: &config{webhookName: "w"}, kind: kindTable[0]}
	p := mustDecodePatch(t, patch)
	out, err := applyPatch(encodeObject(before, true), p)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := decodeJSONValue(out)
	return s.decodePatched(before, v.(jmap))
}

func TestPatchedObjectIsDecodedAndDefaultedAgain(t *testing.T) {
	o := patchedJob(t, `[{"op":"remove","path":"/spec/template/spec/restartPolicy"}]`)
	if o.status != nil || o.typed.Spec.Template.Spec.RestartPolicy != "Always" {
		t.Errorf("removing restartPolicy: %+v, restartPolicy %q (want Always back)", o.status, o.typed.Spec.Template.Spec.RestartPolicy)
	}
	o = patchedJob(t, `[{"op":"add","path":"/spec/template/spec/imagepullsecrets","value":[{"name":"x"}]}]`)
	if o.status != nil || o.changed || len(o.typed.Spec.Template.Spec.ImagePullSecrets) != 0 {
		t.Errorf("a misspelt path must change nothing: status %+v changed %v", o.status, o.changed)
	}
	o = patchedJob(t, `[{"op":"replace","path":"/spec/backoffLimit","value":"6"}]`)
	if o.status == nil || o.status.code != 500 || !strings.Contains(o.status.message, "Internal error occurred: json: cannot unmarshal string into Go struct field JobSpec.spec.backoffLimit of type int32") {
		t.Errorf("a wrongly typed value must be a 500: %+v", o.status)
	}
}
