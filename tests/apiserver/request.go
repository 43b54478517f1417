// SPDX-License-Identifier: Apache-2.0
//
// Building the AdmissionReview as CreateV1AdmissionReview /
// CreateV1beta1AdmissionReview do (request/admissionreview.go), encoded like
// kube's JSON serializer.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
)

func newUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type gvkJSON struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

type gvrJSON struct {
	Group    string `json:"group"`
	Version  string `json:"version"`
	Resource string `json:"resource"`
}

type userInfoJSON struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// Field order and omitempty as in k8s.io/api/admission/v1 AdmissionRequest.
type admissionRequestJSON struct {
	UID                string          `json:"uid"`
	Kind               gvkJSON         `json:"kind"`
	Resource           gvrJSON         `json:"resource"`
	SubResource        string          `json:"subResource,omitempty"`
	RequestKind        *gvkJSON        `json:"requestKind,omitempty"`
	RequestResource    *gvrJSON        `json:"requestResource,omitempty"`
	RequestSubResource string          `json:"requestSubResource,omitempty"`
	Name               string          `json:"name,omitempty"`
	Namespace          string          `json:"namespace,omitempty"`
	Operation          string          `json:"operation"`
	UserInfo           userInfoJSON    `json:"userInfo"`
	Object             json.RawMessage `json:"object"`
	OldObject          json.RawMessage `json:"oldObject"`
	DryRun             *bool           `json:"dryRun,omitempty"`
	Options            json.RawMessage `json:"options"`
}

type admissionReviewJSON struct {
	Kind       string                `json:"kind,omitempty"`
	APIVersion string                `json:"apiVersion,omitempty"`
	Request    *admissionRequestJSON `json:"request,omitempty"`
}

// Field order of metav1.{Create,Update,Delete}Options.
type optionsJSON struct {
	Kind              string   `json:"kind,omitempty"`
	APIVersion        string   `json:"apiVersion,omitempty"`
	PropagationPolicy string   `json:"propagationPolicy,omitempty"`
	DryRun            []string `json:"dryRun,omitempty"`
	FieldManager      string   `json:"fieldManager,omitempty"`
	FieldValidation   string   `json:"fieldValidation,omitempty"`
}

// buildRequest builds the AdmissionReview like CreateV1AdmissionReview /
// CreateV1beta1AdmissionReview, encoded like kube's JSON serializer (compact,
// HTML-escaped, trailing newline).
func (s *sim) buildRequest(obj jmap, uid string) ([]byte, string, error) {
	c := s.c
	if uid == "" {
		uid = newUID()
	}
	k := s.kind
	gvk := gvkJSON{k.group, k.version, k.kind}
	gvr := gvrJSON{k.group, k.version, k.resource}
	groups := []string{}
	groups = append(groups, c.groups...)
	if len(groups) == 0 {
		groups = []string{"system:masters"}
	}
	hasAuth := false
	for _, g := range groups {
		if g == "system:authenticated" {
			hasAuth = true
		}
	}
	if !hasAuth {
		groups = append(groups, "system:authenticated")
	}
	ui := userInfoJSON{Username: c.user, UID: c.userUID, Groups: groups}
	for _, e := range c.extras {
		kv := strings.SplitN(e, "=", 2)
		if len(kv) != 2 {
			return nil, "", fmt.Errorf("--extra wants KEY=VALUE, got %q", e)
		}
		if ui.Extra == nil {
			ui.Extra = map[string][]string{}
		}
		ui.Extra[kv[0]] = append(ui.Extra[kv[0]], kv[1])
	}
	opts := optionsJSON{APIVersion: "meta.k8s.io/v1"}
	switch c.operation {
	case "CREATE":
		opts.Kind = "CreateOptions"
	case "UPDATE":
		opts.Kind = "UpdateOptions"
	case "DELETE":
		opts.Kind = "DeleteOptions"
		opts.PropagationPolicy = "Background"
	}
	if c.operation != "DELETE" {
		opts.FieldManager = c.fieldManager
		opts.FieldValidation = c.fieldValidation
	}
	if c.dryRun {
		opts.DryRun = []string{"All"}
	}
	optRaw, _ := json.Marshal(opts)
	dry := c.dryRun
	req := &admissionRequestJSON{
		UID:             uid,
		Kind:            gvk,
		Resource:        gvr,
		RequestKind:     &gvk,
		RequestResource: &gvr,
		Name:            s.name,
		Namespace:       s.ns,
		Operation:       c.operation,
		UserInfo:        ui,
		DryRun:          &dry,
		Options:         optRaw,
	}
	if obj != nil {
		req.Object = encodeObject(obj, true)
	}
	if s.old != nil {
		req.OldObject = encodeObject(s.old, true)
	}
	review := admissionReviewJSON{Kind: "AdmissionReview", APIVersion: admissionGroup + "/" + c.version, Request: req}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(review); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), uid, nil
}
