// SPDX-License-Identifier: Apache-2.0
//
// Flags and subcommands: review/request (one config), default, patch. The
// config holds what a MutatingWebhookConfiguration would say (set by flags or
// read from --webhook-config) and what the request carries (operation,
// namespace, user, dry run).
package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	jsonpatch "github.com/evanphx/json-patch"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type config struct {
	url, ca, serverName, cert, key string
	servicePort                    int
	timeout                        time.Duration
	http2                          bool
	operation                      string
	file, oldFile                  string
	dryRun                         bool
	sideEffects                    string
	version                        string
	namespace                      string
	namespaceLabels                string
	user, userUID                  string
	groups, extras                 multiFlag
	fieldManager                   string
	fieldValidation                string
	webhookName                    string
	failurePolicy                  string
	reinvoke                       bool
	expect                         string
	raw                            bool
	dumpRequest                    string
	uid                            string
	literal                        bool
	resource                       string
	clusterScoped                  bool
	webhookConfig                  string
	stored                         string
	source                         string // file name as kubectl shows it
	caPEM                          []byte // caBundle from --webhook-config
	hook                           *webhook
	noWebhook                      bool // neither --url nor --webhook-config: no call at all
}

// configFlags are the flags --webhook-config takes the place of.
var configFlags = []string{"server-name", "service-port", "ca", "timeout", "side-effects", "version", "webhook-name", "failure-policy"}

func reviewFlags(name string, c *config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.url, "url", "", "webhook URL, https://host[:port][/path] (clientConfig.url); with --webhook-config and a service clientConfig, only its host:port is used (where the Service would route)")
	fs.StringVar(&c.webhookConfig, "webhook-config", "", "a MutatingWebhookConfiguration (YAML or JSON, may be one document of a stream such as `kubectl kustomize deploy/`): webhook name, clientConfig, caBundle, rules, selectors, failurePolicy, timeoutSeconds, sideEffects, reinvocationPolicy, admissionReviewVersions")
	fs.StringVar(&c.namespaceLabels, "namespace-labels", "", "labels of the request namespace, k=v,... (for namespaceSelector; kubernetes.io/metadata.name=NS is always set)")
	fs.StringVar(&c.ca, "ca", "", "PEM CA bundle to verify the webhook's certificate (clientConfig.caBundle); default: system roots")
	fs.StringVar(&c.serverName, "server-name", "", "emulate clientConfig.service: verify TLS against this name (e.g. hookwarden.hookwarden.svc), send it as SNI and Host NAME:PORT, while connecting to --url's address")
	fs.IntVar(&c.servicePort, "service-port", 443, "service port used in the Host header with --server-name")
	fs.StringVar(&c.cert, "cert", "", "PEM client certificate (apiserver's --admission-control-config-file kubeconfig)")
	fs.StringVar(&c.key, "key", "", "PEM client key for --cert")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "webhook timeoutSeconds: whole seconds, 1s..30s; sent as ?timeout=")
	fs.BoolVar(&c.http2, "http2", false, "offer HTTP/2 by ALPN (kube-apiserver pins webhook clients to http/1.1)")
	fs.StringVar(&c.operation, "operation", "CREATE", "CREATE, UPDATE or DELETE")
	fs.StringVar(&c.file, "f", "", "the object (JSON or YAML, - for stdin); for DELETE the object being deleted")
	fs.StringVar(&c.file, "filename", "", "same as -f")
	fs.StringVar(&c.oldFile, "old", "", "the stored object for UPDATE (oldObject), e.g. a --stored file of an earlier CREATE")
	fs.StringVar(&c.stored, "stored", "", "write the object as a cluster would store it (generated selector and labels, uid, resourceVersion, generation, creationTimestamp) to this file")
	fs.BoolVar(&c.dryRun, "dry-run", false, "send dryRun: true (and options.dryRun [All])")
	fs.StringVar(&c.sideEffects, "side-effects", "None", "webhook sideEffects: None, NoneOnDryRun, Some, Unknown (dry-run needs None/NoneOnDryRun)")
	fs.StringVar(&c.version, "version", "v1", "AdmissionReview version to send: v1 or v1beta1")
	fs.StringVar(&c.namespace, "namespace", "", "request namespace (default: the object's, else \"default\")")
	fs.StringVar(&c.namespace, "n", "", "same as --namespace")
	fs.StringVar(&c.user, "user", "kubernetes-admin", "userInfo.username")
	fs.StringVar(&c.userUID, "user-uid", "", "userInfo.uid")
	fs.Var(&c.groups, "group", "userInfo.groups entry (repeatable; default system:masters); system:authenticated is always added")
	fs.Var(&c.extras, "extra", "userInfo.extra entry KEY=VALUE (repeatable)")
	fs.StringVar(&c.fieldManager, "field-manager", "", "options.fieldManager (default kubectl-create for CREATE, kubectl-replace for UPDATE)")
	fs.StringVar(&c.fieldValidation, "field-validation", "Strict", "options.fieldValidation for CREATE/UPDATE: Strict (unknown fields in the object are a 400, as kubectl's default), Warn, Ignore (\"\" to omit: Ignore)")
	fs.StringVar(&c.webhookName, "webhook-name", "admission-sim.example.com", "the MutatingWebhook's name, used in messages")
	fs.StringVar(&c.failurePolicy, "failure-policy", "Fail", "Fail or Ignore (Ignore: call failures leave the object unchanged, exit 0)")
	fs.BoolVar(&c.reinvoke, "reinvoke", false, "call again with the patched object (reinvocationPolicy IfNeeded); exit 4 if that changes it")
	fs.StringVar(&c.expect, "expect", "", "compare the final object with this JSON/YAML file; exit 5 with a diff if it differs")
	fs.BoolVar(&c.raw, "raw", false, "print the first call's AdmissionReview response body instead of the object")
	fs.StringVar(&c.dumpRequest, "dump-request", "", "also write the first AdmissionReview request body to this file")
	fs.StringVar(&c.uid, "uid", "", "request.uid for the first call (default: random UUID)")
	fs.BoolVar(&c.literal, "literal", false, "send the object as given: no decoding, defaulting or system-field wipe, no creationTimestamp:null / status:{} stubs, no validation")
	fs.StringVar(&c.resource, "resource", "", "resource (plural) for a kind not in the built-in table")
	fs.BoolVar(&c.clusterScoped, "cluster-scoped", false, "treat a kind not in the built-in table as cluster-scoped")
	fs.BoolVar(&verbose, "v", false, "log the exchange to stderr")
	return fs
}

func runReview(args []string, requestOnly bool) int {
	name := "review"
	if requestOnly {
		name = "request"
	}
	c := &config{}
	fs := reviewFlags(name, c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if code := c.check(set, requestOnly); code != exitOK {
		return code
	}
	s, code := newSim(c, requestOnly)
	if s == nil {
		return code
	}
	if requestOnly {
		if s.status != nil {
			return s.fail(s.status)
		}
		body, _, err := s.buildRequest(s.object, c.uid)
		if err != nil {
			return usageErr("%v", err)
		}
		os.Stdout.Write(indentJSON(body))
		return exitOK
	}
	return s.review()
}

// check validates the flags and fills the defaults that depend on others.
func (c *config) check(set map[string]bool, requestOnly bool) int {
	c.operation = strings.ToUpper(c.operation)
	switch c.operation {
	case "CREATE", "UPDATE", "DELETE":
	default:
		return usageErr("--operation must be CREATE, UPDATE or DELETE, not %q", c.operation)
	}
	if !set["field-manager"] {
		switch c.operation {
		case "CREATE":
			c.fieldManager = "kubectl-create"
		case "UPDATE":
			c.fieldManager = "kubectl-replace"
		}
	}
	switch c.fieldValidation {
	case "Strict", "Warn", "Ignore", "":
	default:
		return usageErr("--field-validation must be Strict, Warn, Ignore or \"\"")
	}
	if c.webhookConfig != "" {
		for _, f := range configFlags {
			if set[f] {
				return usageErr("--%s conflicts with --webhook-config, which says it", f)
			}
		}
		if code := c.loadWebhookConfig(); code != exitOK {
			return code
		}
	}
	if code := c.checkWebhookFlags(); code != exitOK {
		return code
	}
	if c.file == "" {
		return usageErr("-f OBJECT is required")
	}
	if c.operation == "UPDATE" && c.oldFile == "" {
		return usageErr("--operation UPDATE needs --old OLD_OBJECT")
	}
	if c.operation != "UPDATE" && c.oldFile != "" {
		return usageErr("--old is only for --operation UPDATE")
	}
	if c.operation == "DELETE" && (c.reinvoke || c.expect != "" || c.stored != "") {
		return usageErr("--reinvoke, --expect and --stored need an object; DELETE has none")
	}
	if (c.cert == "") != (c.key == "") {
		return usageErr("--cert and --key go together")
	}
	c.noWebhook = c.url == "" && c.webhookConfig == "" && !requestOnly
	if c.noWebhook && (c.reinvoke || c.raw || c.dumpRequest != "") {
		return usageErr("--reinvoke, --raw and --dump-request need a webhook (--url or --webhook-config)")
	}
	c.source = c.file
	if c.file == "-" {
		c.source = "STDIN"
	}
	return exitOK
}

func (c *config) checkWebhookFlags() int {
	if c.version != "v1" && c.version != "v1beta1" {
		return usageErr("--version must be v1 or v1beta1")
	}
	switch c.sideEffects {
	case "None", "NoneOnDryRun", "Some", "Unknown":
	default:
		return usageErr("--side-effects must be None, NoneOnDryRun, Some or Unknown")
	}
	switch c.failurePolicy {
	case "Fail", "Ignore":
	default:
		return usageErr("--failure-policy must be Fail or Ignore")
	}
	if c.timeout%time.Second != 0 || c.timeout < time.Second || c.timeout > 30*time.Second {
		return usageErr("--timeout must be a whole number of seconds from 1s to 30s (timeoutSeconds), got %v", c.timeout)
	}
	return exitOK
}

// runDefault prints an object as kube-apiserver holds it after decoding and
// defaulting (what a webhook receives), without the typed-encoding stubs.
func runDefault(args []string) int {
	fs := flag.NewFlagSet("default", flag.ContinueOnError)
	c := &config{operation: "CREATE", fieldValidation: "Ignore"}
	fs.StringVar(&c.file, "f", "", "the object (JSON or YAML, - for stdin)")
	fs.StringVar(&c.file, "filename", "", "same as -f")
	fs.StringVar(&c.namespace, "namespace", "", "namespace to fill in when the object has none (default \"default\")")
	fs.StringVar(&c.namespace, "n", "", "same as --namespace")
	fs.StringVar(&c.operation, "operation", "CREATE", "CREATE wipes the system fields as the create handler does; UPDATE keeps them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if c.file == "" || fs.NArg() > 0 {
		return usageErr("default needs -f OBJECT (and nothing else)")
	}
	c.operation = strings.ToUpper(c.operation)
	if c.operation != "CREATE" && c.operation != "UPDATE" {
		return usageErr("default: --operation must be CREATE or UPDATE")
	}
	c.source, c.noWebhook = c.file, true
	s, code := newSim(c, true)
	if s == nil {
		return code
	}
	if s.status != nil {
		return s.fail(s.status)
	}
	if s.typed == nil {
		return usageErr("default knows batch/v1 Job only; %s is %s %s", c.file, s.kind.group+"/"+s.kind.version, s.kind.kind)
	}
	printObject(stripStubs(s.object, s.stubs))
	return exitOK
}

func runPatch(args []string) int {
	fs := flag.NewFlagSet("patch", flag.ContinueOnError)
	var file, patchFile, expect string
	fs.StringVar(&file, "f", "", "the object (JSON or YAML, - for stdin)")
	fs.StringVar(&file, "filename", "", "same as -f")
	fs.StringVar(&patchFile, "patch", "", "the JSONPatch: a JSON array, or its base64 (as in response.patch)")
	fs.StringVar(&expect, "expect", "", "compare the result with this JSON/YAML file; exit 5 with a diff if it differs")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if file == "" || patchFile == "" {
		return usageErr("patch needs -f OBJECT and --patch PATCH")
	}
	obj, err := readDoc(file)
	if err != nil {
		return usageErr("%v", err)
	}
	raw, err := os.ReadFile(patchFile)
	if err != nil {
		return usageErr("--patch: %v", err)
	}
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] != '[' && t[0] != '{' && t[0] != 'n' {
		if dec, err := base64.StdEncoding.DecodeString(string(t)); err == nil {
			raw = dec
		}
	}
	p, err := jsonpatch.DecodePatch(raw)
	if err != nil {
		fmt.Fprintf(os.Stderr, "admission-sim: undecodable patch: %v\n", err)
		return exitFailed
	}
	result := obj
	if len(p) > 0 {
		out, err := applyPatch(encodeObject(obj, true), p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "admission-sim: %v\n", err)
			return exitFailed
		}
		if result, err = decodeJSONValue(out); err != nil {
			fmt.Fprintf(os.Stderr, "admission-sim: %v\n", err)
			return exitFailed
		}
	}
	printObject(result)
	if expect != "" {
		return compareExpect(expect, result)
	}
	return exitOK
}
