// SPDX-License-Identifier: Apache-2.0
//
// The typed batch/v1 Job round trip: JSON decoded into the k8s/v1 Go types
// as kube-apiserver's serializer does (sigs.k8s.io/json, case-sensitive;
// unknown fields dropped, or refused under fieldValidation Strict; a wrongly
// typed value an error naming the Go type) and encoded back the way typed
// encoding writes it (omitempty fields gone, creationTimestamp: null,
// status: {}, resources: {}).
package main

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "admission-sim/k8s/v1"
	kjson "sigs.k8s.io/json"
)

func isJobKind(k kindInfo) bool {
	return k.group == "batch" && k.version == "v1" && k.kind == "Job"
}

// decodeJob decodes data into a Job. unknown lists the fields the type does
// not have (strict decoding errors: `unknown field "spec.x"`), which a
// non-strict decode drops silently. err is a decode failure.
func decodeJob(data []byte) (job *v1.Job, unknown []string, err error) {
	job = &v1.Job{}
	strictErrs, err := kjson.UnmarshalStrict(data, job, kjson.DisallowUnknownFields, kjson.DisallowDuplicateFields)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range strictErrs {
		unknown = append(unknown, e.Error())
	}
	return job, unknown, nil
}

// jobToMap is typed encoding, as a generic JSON value.
func jobToMap(job *v1.Job) jmap {
	b, err := json.Marshal(job)
	if err != nil {
		panic(fmt.Sprintf("encoding a typed Job: %v", err)) // only custom marshalers could fail; they do not
	}
	v, err := decodeJSONValue(b)
	if err != nil {
		panic(fmt.Sprintf("re-reading a typed Job: %v", err))
	}
	return v.(jmap)
}

// mapToJob is a decode of an in-memory object (already typed once).
func mapToJob(m jmap) (*v1.Job, []string, error) {
	return decodeJob(encodeObject(m, false))
}

// jobStubs are the typed-encoding artifacts a hand-written manifest lacks;
// stripStubs removes them for printing when they are still empty.
func jobStubs() []stub {
	return []stub{
		{path: []string{"metadata"}, key: "creationTimestamp"},
		{path: []string{"spec", "template", "metadata"}, key: "creationTimestamp", created: true},
		{key: "status"},
	}
}

// strictDecodeError is the create/update handler's 400 for an object that
// does not decode (runtime.NewStrictDecodingError / the serializer's error,
// wrapped by the handler as "<Kind> in version ... cannot be handled as ...").
func strictDecodeError(unknown []string, err error) *apiStatus {
	msg := ""
	if err != nil {
		msg = err.Error()
	} else {
		msg = "strict decoding error: " + strings.Join(unknown, ", ")
	}
	return &apiStatus{"BadRequest", 400, fmt.Sprintf("Job in version %q cannot be handled as a Job: %s", "v1", msg), exitInvalid}
}
