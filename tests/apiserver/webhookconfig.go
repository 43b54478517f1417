// SPDX-License-Identifier: Apache-2.0
//
// The webhook's registration: a MutatingWebhookConfiguration read from a
// file (one document of a YAML stream is enough), and the decision whether
// kube-apiserver calls the webhook for a request: rules
// (predicates/rules/rules.go), namespaceSelector (predicates/namespace/
// matcher.go; kube-apiserver labels every namespace
// kubernetes.io/metadata.name=<name>) and objectSelector
// (predicates/object/matcher.go: object or oldObject, a null one never
// matches). matchConditions need CEL and are refused.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	v1 "admission-sim/k8s/v1"
	"sigs.k8s.io/yaml"
)

type ruleWithOps struct {
	Operations  []string `json:"operations"`
	APIGroups   []string `json:"apiGroups"`
	APIVersions []string `json:"apiVersions"`
	Resources   []string `json:"resources"`
	Scope       *string  `json:"scope"`
}

type serviceRef struct {
	Namespace string  `json:"namespace"`
	Name      string  `json:"name"`
	Path      *string `json:"path"`
	Port      *int32  `json:"port"`
}

// webhook is admissionregistration.k8s.io/v1 MutatingWebhook.
type webhook struct {
	Name         string `json:"name"`
	ClientConfig struct {
		URL      *string     `json:"url"`
		Service  *serviceRef `json:"service"`
		CABundle string      `json:"caBundle"`
	} `json:"clientConfig"`
	Rules                   []ruleWithOps     `json:"rules"`
	FailurePolicy           *string           `json:"failurePolicy"`
	MatchPolicy             *string           `json:"matchPolicy"`
	NamespaceSelector       *v1.LabelSelector `json:"namespaceSelector"`
	ObjectSelector          *v1.LabelSelector `json:"objectSelector"`
	SideEffects             *string           `json:"sideEffects"`
	TimeoutSeconds          *int32            `json:"timeoutSeconds"`
	AdmissionReviewVersions []string          `json:"admissionReviewVersions"`
	ReinvocationPolicy      *string           `json:"reinvocationPolicy"`
	MatchConditions         []json.RawMessage `json:"matchConditions"`
}

type webhookConfiguration struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Webhooks   []webhook `json:"webhooks"`
}

// findWebhookConfig returns the MutatingWebhookConfiguration in a YAML
// stream or JSON file.
func findWebhookConfig(path string) (*webhookConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, doc := range splitYAMLDocs(string(data)) {
		j, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		var cfg webhookConfiguration
		if json.Unmarshal(j, &cfg) != nil || cfg.Kind != "MutatingWebhookConfiguration" {
			continue
		}
		if cfg.APIVersion != "admissionregistration.k8s.io/v1" {
			return nil, fmt.Errorf("%s: MutatingWebhookConfiguration %s is not supported (admissionregistration.k8s.io/v1 only)", path, cfg.APIVersion)
		}
		return &cfg, nil
	}
	return nil, fmt.Errorf("%s: no MutatingWebhookConfiguration in it", path)
}

func splitYAMLDocs(s string) []string {
	var docs []string
	var cur []string
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimRight(line, " \t\r")
		if t == "---" || strings.HasPrefix(t, "--- ") {
			docs = append(docs, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	return append(docs, strings.Join(cur, "\n"))
}

// loadWebhookConfig fills the config from --webhook-config; --webhook-name
// picks one webhook when there are several.
func (c *config) loadWebhookConfig() int {
	cfg, err := findWebhookConfig(c.webhookConfig)
	if err != nil {
		return usageErr("--webhook-config: %v", err)
	}
	if len(cfg.Webhooks) != 1 {
		var names []string
		for _, w := range cfg.Webhooks {
			names = append(names, w.Name)
		}
		return usageErr("--webhook-config: %d webhooks (%s); admission-sim calls one", len(names), strings.Join(names, ", "))
	}
	w := &cfg.Webhooks[0]
	if len(w.MatchConditions) > 0 {
		return usageErr("--webhook-config: webhook %q has matchConditions, which are CEL expressions admission-sim cannot evaluate", w.Name)
	}
	c.hook = w
	c.webhookName = w.Name
	c.failurePolicy = strOr(w.FailurePolicy, "Fail")
	c.timeout = time.Duration(10) * time.Second
	if w.TimeoutSeconds != nil {
		c.timeout = time.Duration(*w.TimeoutSeconds) * time.Second
	}
	if w.SideEffects == nil {
		return usageErr("--webhook-config: webhook %q: sideEffects: Required value (admissionregistration/v1)", w.Name)
	}
	c.sideEffects = *w.SideEffects
	if c.version = pickReviewVersion(w.AdmissionReviewVersions); c.version == "" {
		return usageErr("--webhook-config: webhook %q: admissionReviewVersions %v has none of v1, v1beta1", w.Name, w.AdmissionReviewVersions)
	}
	if c.reinvoke && strOr(w.ReinvocationPolicy, "Never") != "IfNeeded" {
		return usageErr("--reinvoke: webhook %q has reinvocationPolicy %s; kube-apiserver never calls it twice", w.Name, strOr(w.ReinvocationPolicy, "Never"))
	}
	if w.ClientConfig.CABundle != "" {
		if c.caPEM, err = base64.StdEncoding.DecodeString(w.ClientConfig.CABundle); err != nil {
			return usageErr("--webhook-config: webhook %q: caBundle is not base64: %v", w.Name, err)
		}
	}
	return c.clientConfigURL(w)
}

func strOr(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

// pickReviewVersion: the first version in the webhook's list the apiserver knows.
func pickReviewVersion(list []string) string {
	for _, v := range list {
		if v == "v1" || v == "v1beta1" {
			return v
		}
	}
	return ""
}

// clientConfigURL: with a service, TLS is verified for <name>.<namespace>.svc
// and the Host header is that name and the service port, while the
// connection goes to --url's host:port (where the Service would route). With
// a url, the same, for the url's host.
func (c *config) clientConfigURL(w *webhook) int {
	if c.url == "" {
		return usageErr("--webhook-config needs --url https://HOST:PORT: the address the webhook's Service or URL reaches")
	}
	addr, err := url.Parse(c.url)
	if err != nil || addr.Host == "" {
		return usageErr("--url %q: want https://HOST:PORT", c.url)
	}
	switch cc := w.ClientConfig; {
	case cc.Service != nil:
		c.serverName = cc.Service.Name + "." + cc.Service.Namespace + ".svc"
		c.servicePort = 443
		if cc.Service.Port != nil {
			c.servicePort = int(*cc.Service.Port)
		}
		c.url = "https://" + addr.Host + strOr(cc.Service.Path, "/")
	case cc.URL != nil:
		u, err := url.Parse(*cc.URL)
		if err != nil {
			return usageErr("--webhook-config: webhook %q: clientConfig.url: %v", w.Name, err)
		}
		c.serverName = u.Hostname()
		c.servicePort = 443
		if p := u.Port(); p != "" {
			c.servicePort, _ = strconv.Atoi(p)
		}
		u.Host = addr.Host
		c.url = u.String()
	default:
		return usageErr("--webhook-config: webhook %q has neither clientConfig.service nor clientConfig.url", w.Name)
	}
	if net.ParseIP(c.serverName) != nil {
		c.serverName = "" // an IP URL is verified by IP SAN, no SNI
	}
	return exitOK
}

// skipReason says why kube-apiserver would not call the webhook for this
// request, or "" when it would.
func (s *sim) skipReason() string {
	w := s.c.hook
	if w == nil {
		return ""
	}
	if !s.rulesMatch(w.Rules) {
		return fmt.Sprintf("no rule matches %s %s/%s %s", s.c.operation, s.kind.group, s.kind.version, s.kind.resource)
	}
	if s.kind.namespaced && w.NamespaceSelector != nil {
		labels := s.namespaceLabels()
		if ok, err := selectorMatches(w.NamespaceSelector, labels); err != nil {
			return "namespaceSelector is invalid: " + err.Error()
		} else if !ok {
			return fmt.Sprintf("namespaceSelector does not match namespace %q (labels %v)", s.ns, labels)
		}
	}
	if w.ObjectSelector != nil {
		if !s.objectSelected(w.ObjectSelector) {
			return "objectSelector matches neither the object's labels nor the stored object's"
		}
	}
	return ""
}

func (s *sim) objectSelected(sel *v1.LabelSelector) bool {
	for _, o := range []jmap{s.object, s.old} {
		if o == nil {
			continue
		}
		labels := map[string]string{}
		for k, v := range getMap(o, "metadata", "labels") {
			if str, ok := v.(string); ok {
				labels[k] = str
			}
		}
		if ok, _ := selectorMatches(sel, labels); ok {
			return true
		}
	}
	return false
}

func (s *sim) namespaceLabels() map[string]string {
	labels := map[string]string{}
	for _, kv := range strings.Split(s.c.namespaceLabels, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			labels[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	labels["kubernetes.io/metadata.name"] = s.ns
	return labels
}

// rulesMatch is rules.Matcher: operation, group, version, resource and scope.
func (s *sim) rulesMatch(rules []ruleWithOps) bool {
	for _, r := range rules {
		scope := strOr(r.Scope, "*")
		if !anyOf(r.Operations, s.c.operation) || !anyOf(r.APIGroups, s.kind.group) ||
			!anyOf(r.APIVersions, s.kind.version) {
			continue
		}
		res := false
		for _, x := range r.Resources {
			if x == "*" || x == "*/*" || x == s.kind.resource {
				res = true
			}
		}
		if !res {
			continue
		}
		switch scope {
		case "*":
			return true
		case "Namespaced":
			if s.kind.namespaced {
				return true
			}
		case "Cluster":
			if !s.kind.namespaced {
				return true
			}
		}
	}
	return false
}

func anyOf(list []string, v string) bool {
	for _, x := range list {
		if x == "*" || x == v {
			return true
		}
	}
	return false
}
