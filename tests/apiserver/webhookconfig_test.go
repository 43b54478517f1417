// SPDX-License-Identifier: Apache-2.0
//
// The webhook's registration: what is read from a MutatingWebhookConfiguration
// in a YAML stream, label selector operators, and the selection of a request
// by rules, namespaceSelector (with kubernetes.io/metadata.name) and
// objectSelector (object or oldObject).
package main

import (
	"os"
	"strings"
	"testing"
	"time"

	v1 "admission-sim/k8s/v1"
)

func loadedConfig(t *testing.T) *config {
	t.Helper()
	c := &config{webhookConfig: "testdata/webhooks.yaml", url: "https://127.0.0.1:9443/ignored"}
	if code := c.loadWebhookConfig(); code != exitOK {
		t.Fatalf("loadWebhookConfig: exit %d", code)
	}
	return c
}

func TestWebhookConfigIsRead(t *testing.T) {
	c := loadedConfig(t)
	checks := map[string][2]interface{}{
		"name":          {c.webhookName, "jobs.hookwarden.io"},
		"serverName":    {c.serverName, "hookwarden.hookwarden.svc"},
		"servicePort":   {c.servicePort, 8443},
		"url":           {c.url, "https://127.0.0.1:9443/mutate"},
		"failurePolicy": {c.failurePolicy, "Ignore"},
		"timeout":       {c.timeout, 5 * time.Second},
		"sideEffects":   {c.sideEffects, "None"},
		"version":       {c.version, "v1beta1"},
		"caBundle":      {string(c.caPEM), "-----BEGIN CERTIFICATE-----\n"},
	}
	for what, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s = %#v, want %#v", what, v[0], v[1])
		}
	}
}

func TestWebhookConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	base, _ := os.ReadFile("testdata/webhooks.yaml")
	cases := map[string]string{
		"matchConditions": strings.Replace(string(base), "  sideEffects: None", "  sideEffects: None\n  matchConditions:\n  - {name: x, expression: 'true'}", 1),
		"sideEffects":     strings.Replace(string(base), "  sideEffects: None", "", 1),
		"none of v1":      strings.Replace(string(base), `["v2", "v1beta1", "v1"]`, `["v2"]`, 1),
	}
	for what, text := range cases {
		p := dir + "/w.yaml"
		os.WriteFile(p, []byte(text), 0o644)
		c := &config{webhookConfig: p, url: "https://127.0.0.1:1"}
		if code := c.loadWebhookConfig(); code != exitUsage {
			t.Errorf("%s: exit %d, want %d", what, code, exitUsage)
		}
	}
	c := &config{webhookConfig: "testdata/webhooks.yaml"}
	if code := c.loadWebhookConfig(); code != exitUsage {
		t.Errorf("no --url: exit %d", code)
	}
}

func TestSelectorOperators(t *testing.T) {
	labels := map[string]string{"a": "1", "b": "2"}
	req := func(k, op string, v ...string) *v1.LabelSelector {
		return &v1.LabelSelector{MatchExpressions: []v1.LabelSelectorRequirement{{Key: k, Operator: op, Values: v}}}
	}
	cases := []struct {
		sel  *v1.LabelSelector
		want bool
	}{
		{&v1.LabelSelector{}, true},
		{nil, false},
		{&v1.LabelSelector{MatchLabels: map[string]string{"a": "1"}}, true},
		{&v1.LabelSelector{MatchLabels: map[string]string{"a": "2"}}, false},
		{req("a", "In", "1", "3"), true},
		{req("a", "In", "3"), false},
		{req("c", "In", "1"), false},
		{req("a", "NotIn", "3"), true},
		{req("a", "NotIn", "1"), false},
		{req("c", "NotIn", "1"), true},
		{req("b", "Exists"), true},
		{req("c", "Exists"), false},
		{req("c", "DoesNotExist"), true},
		{req("a", "DoesNotExist"), false},
	}
	for _, tc := range cases {
		if got, err := selectorMatches(tc.sel, labels); got != tc.want || err != nil {
			t.Errorf("%+v: %v %v, want %v", tc.sel, got, err, tc.want)
		}
	}
	if _, err := selectorMatches(req("a", "In"), labels); err == nil {
		t.Errorf("In with no values must be an error")
	}
}

func selSim(t *testing.T, op, ns string, obj, old map[string]string) *sim {
	c := loadedConfig(t)
	c.operation = op
	s := &sim{c: c, kind: kindTable[0], ns: ns}
	mk := func(l map[string]string) jmap {
		if l == nil {
			return nil
		}
		m := jmap{}
		for k, v := range l {
			m[k] = v
		}
		return jmap{"metadata": jmap{"labels": m}}
	}
	s.object, s.old = mk(obj), mk(old)
	return s
}

func TestWebhookSelection(t *testing.T) {
	on := map[string]string{"hookwarden.io/migration": "true"}
	off := map[string]string{"app": "x"}
	cases := []struct {
		what, op, ns string
		obj, old     map[string]string
		skip         string
	}{
		{"labelled CREATE", "CREATE", "shop", on, nil, ""},
		{"unlabelled CREATE", "CREATE", "shop", off, nil, "objectSelector"},
		{"label removed on UPDATE (old matches)", "UPDATE", "shop", off, on, ""},
		{"label added on UPDATE", "UPDATE", "shop", on, off, ""},
		{"kube-system", "CREATE", "kube-system", on, nil, "namespaceSelector"},
		{"DELETE is not in the rules", "DELETE", "shop", nil, on, "no rule matches"},
	}
	for _, tc := range cases {
		got := selSim(t, tc.op, tc.ns, tc.obj, tc.old).skipReason()
		if (tc.skip == "") != (got == "") || !strings.Contains(got, tc.skip) {
			t.Errorf("%s: skip reason %q, want %q", tc.what, got, tc.skip)
		}
	}
	s := selSim(t, "CREATE", "shop", on, nil)
	s.kind = kindInfo{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", namespaced: true}
	if got := s.skipReason(); !strings.Contains(got, "no rule matches") {
		t.Errorf("Deployment: %q", got)
	}
	s = selSim(t, "CREATE", "shop", on, nil)
	s.c.namespaceLabels = "kubernetes.io/metadata.name=hookwarden"
	if got := s.skipReason(); got != "" {
		t.Errorf("the namespace's own name label must win over --namespace-labels: %q", got)
	}
}
