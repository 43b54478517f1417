// SPDX-License-Identifier: Apache-2.0
//
// The kinds admission-sim knows: group, version, resource, scope, and where
// their ObjectMeta and status stubs are (for kinds other than batch/v1 Job,
// which goes through the typed model in k8s/v1 instead).
package main

import (
	"fmt"
	"os"
	"strings"
)

type kindInfo struct {
	group, version, kind, resource string
	namespaced                     bool
	statusStub                     bool       // typed status struct serializes as "status":{}
	templates                      [][]string // ObjectMeta paths inside the object (pod templates)
}

var kindTable = []kindInfo{
	{"batch", "v1", "Job", "jobs", true, true, [][]string{{"spec", "template", "metadata"}}},
	{"batch", "v1", "CronJob", "cronjobs", true, true, [][]string{{"spec", "jobTemplate", "metadata"}, {"spec", "jobTemplate", "spec", "template", "metadata"}}},
	{"", "v1", "Pod", "pods", true, true, nil},
	{"apps", "v1", "Deployment", "deployments", true, true, [][]string{{"spec", "template", "metadata"}}},
	{"apps", "v1", "StatefulSet", "statefulsets", true, false, [][]string{{"spec", "template", "metadata"}}},
	{"apps", "v1", "DaemonSet", "daemonsets", true, false, [][]string{{"spec", "template", "metadata"}}},
	{"apps", "v1", "ReplicaSet", "replicasets", true, false, [][]string{{"spec", "template", "metadata"}}},
	{"", "v1", "ConfigMap", "configmaps", true, false, nil},
	{"", "v1", "Secret", "secrets", true, false, nil},
	{"", "v1", "Service", "services", true, false, nil},
	{"", "v1", "ServiceAccount", "serviceaccounts", true, false, nil},
	{"", "v1", "Namespace", "namespaces", false, false, nil},
}

type groupVersion struct{ group, version string }

// parseGroupVersion follows schema.ParseGroupVersion.
func parseGroupVersion(gv string) (groupVersion, error) {
	if gv == "" || gv == "/" {
		return groupVersion{}, nil
	}
	switch strings.Count(gv, "/") {
	case 0:
		return groupVersion{"", gv}, nil
	case 1:
		i := strings.Index(gv, "/")
		return groupVersion{gv[:i], gv[i+1:]}, nil
	}
	return groupVersion{}, fmt.Errorf("unexpected GroupVersion string: %v", gv)
}

func resolveKind(c *config, apiVersion, kind string) (kindInfo, error) {
	if apiVersion == "" || kind == "" {
		return kindInfo{}, fmt.Errorf("the object needs apiVersion and kind")
	}
	gv, err := parseGroupVersion(apiVersion)
	if err != nil {
		return kindInfo{}, err
	}
	for _, k := range kindTable {
		if k.group == gv.group && k.kind == kind {
			k.version = gv.version
			if c.resource != "" {
				k.resource = c.resource
			}
			return k, nil
		}
	}
	res := c.resource
	if res == "" {
		res = strings.ToLower(kind) + "s"
		fmt.Fprintf(os.Stderr, "admission-sim: note: kind %s is not in the built-in table; using resource %q (set --resource / --cluster-scoped)\n", kind, res)
	}
	return kindInfo{gv.group, gv.version, kind, res, !c.clusterScoped, false, nil}, nil
}
