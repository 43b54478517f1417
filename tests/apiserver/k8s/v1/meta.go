// SPDX-License-Identifier: Apache-2.0
//
// Package v1 holds the Go types of batch/v1 Job and everything it contains
// (core/v1 pod template types, meta/v1 ObjectMeta and LabelSelector), with the
// JSON tags of k8s.io/api and k8s.io/apimachinery: the same field names,
// omitempty flags and pointer-or-value choices. Decoding into them is what
// kube-apiserver's typed decode does (unknown fields dropped, a wrongly typed
// value an error naming the Go type), and encoding them is its typed
// encoding (empty optional fields omitted, struct fields always present). The
// package is named v1 so that decode errors read "of type v1.PodSpec" as
// kube-apiserver's do. Field names are checked against the committed OpenAPI
// extract in ../../schema/job-v1.schema.json by schema_test.go.
package v1

import (
	"bytes"
	"encoding/json"
	"time"
)

// TypeMeta is metav1.TypeMeta.
type TypeMeta struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
}

// UID is types.UID.
type UID string

// ObjectMeta is metav1.ObjectMeta (k8s.io/apimachinery/pkg/apis/meta/v1/types.go).
type ObjectMeta struct {
	Name                       string               `json:"name,omitempty"`
	GenerateName               string               `json:"generateName,omitempty"`
	Namespace                  string               `json:"namespace,omitempty"`
	SelfLink                   string               `json:"selfLink,omitempty"`
	UID                        UID                  `json:"uid,omitempty"`
	ResourceVersion            string               `json:"resourceVersion,omitempty"`
	Generation                 int64                `json:"generation,omitempty"`
	CreationTimestamp          Time                 `json:"creationTimestamp,omitempty"`
	DeletionTimestamp          *Time                `json:"deletionTimestamp,omitempty"`
	DeletionGracePeriodSeconds *int64               `json:"deletionGracePeriodSeconds,omitempty"`
	Labels                     map[string]string    `json:"labels,omitempty"`
	Annotations                map[string]string    `json:"annotations,omitempty"`
	OwnerReferences            []OwnerReference     `json:"ownerReferences,omitempty"`
	Finalizers                 []string             `json:"finalizers,omitempty"`
	ManagedFields              []ManagedFieldsEntry `json:"managedFields,omitempty"`
}

// OwnerReference is metav1.OwnerReference.
type OwnerReference struct {
	APIVersion         string `json:"apiVersion"`
	Kind               string `json:"kind"`
	Name               string `json:"name"`
	UID                UID    `json:"uid"`
	Controller         *bool  `json:"controller,omitempty"`
	BlockOwnerDeletion *bool  `json:"blockOwnerDeletion,omitempty"`
}

// ManagedFieldsEntry is metav1.ManagedFieldsEntry.
type ManagedFieldsEntry struct {
	Manager     string    `json:"manager,omitempty"`
	Operation   string    `json:"operation,omitempty"`
	APIVersion  string    `json:"apiVersion,omitempty"`
	Time        *Time     `json:"time,omitempty"`
	FieldsType  string    `json:"fieldsType,omitempty"`
	FieldsV1    *FieldsV1 `json:"fieldsV1,omitempty"`
	Subresource string    `json:"subresource,omitempty"`
}

// FieldsV1 is metav1.FieldsV1: raw JSON kept as it came.
type FieldsV1 struct {
	Raw []byte `json:"-"`
}

// MarshalJSON writes the raw JSON (null when empty), as metav1.FieldsV1 does.
func (f FieldsV1) MarshalJSON() ([]byte, error) {
	if f.Raw == nil {
		return []byte("null"), nil
	}
	return f.Raw, nil
}

// UnmarshalJSON keeps the raw JSON; null leaves it empty.
func (f *FieldsV1) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f.Raw = append(f.Raw[0:0], b...)
	return nil
}

// LabelSelector is metav1.LabelSelector.
type LabelSelector struct {
	MatchLabels      map[string]string          `json:"matchLabels,omitempty"`
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`
}

// LabelSelectorRequirement is metav1.LabelSelectorRequirement.
type LabelSelectorRequirement struct {
	Key      string   `json:"key"`
	Operator string   `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// Time is metav1.Time: RFC 3339 at second precision in UTC, null when zero.
type Time struct {
	time.Time
}

// MarshalJSON mirrors metav1.Time.MarshalJSON.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339))
}

// UnmarshalJSON mirrors metav1.Time.UnmarshalJSON (errors from time.Parse).
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	pt, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	t.Time = pt.Local()
	return nil
}

// Equal compares at the second precision the wire format keeps.
func (t *Time) Equal(u *Time) bool {
	if t == nil || u == nil {
		return t == u
	}
	return t.Time.Truncate(time.Second).Equal(u.Time.Truncate(time.Second))
}
