// SPDX-License-Identifier: Apache-2.0
//
// Defaulting: each default of SetDefaults_Job, SetDefaults_PodSpec, the
// container, probe, port, env and volume defaults, the serviceAccount
// conversion, what is not defaulted on a pod template (enableServiceLinks),
// and that defaulting twice changes nothing.
package main

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"

	v1 "admission-sim/k8s/v1"
)

func loadJob(t *testing.T, path string) *v1.Job {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, unknown, err := decodeJob(data)
	if err != nil || len(unknown) > 0 {
		t.Fatalf("decode %s: %v %v", path, err, unknown)
	}
	return j
}

func defaulted(t *testing.T) *v1.Job {
	j := loadJob(t, "testdata/job.json")
	defaultJob(j)
	return j
}

// at returns the JSON value at a path of keys and indexes in the typed encoding.
func at(t *testing.T, j *v1.Job, path ...interface{}) interface{} {
	t.Helper()
	var cur interface{} = jobToMap(j)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := cur.(jmap)
			if !ok {
				t.Fatalf("%v: not an object at %q", path, k)
			}
			cur = m[k]
		case int:
			a, ok := cur.([]interface{})
			if !ok || k >= len(a) {
				t.Fatalf("%v: no index %d", path, k)
			}
			cur = a[k]
		}
	}
	if n, ok := cur.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	return cur
}

func TestJobSpecDefaults(t *testing.T) {
	j := defaulted(t)
	want := map[string]interface{}{
		"completions": 1.0, "parallelism": 1.0, "backoffLimit": 6.0, "completionMode": "NonIndexed",
		"suspend": false, "podReplacementPolicy": "TerminatingOrFailed", "manualSelector": false,
	}
	for k, v := range want {
		if got := at(t, j, "spec", k); got != v {
			t.Errorf("spec.%s = %v, want %v", k, got, v)
		}
	}
}

func TestJobDefaultsDependOnOtherFields(t *testing.T) {
	j := loadJob(t, "testdata/job.json")
	j.Spec.Parallelism = i32(3)
	j.Spec.BackoffLimitPerIndex = i32(1)
	j.Spec.PodFailurePolicy = &v1.PodFailurePolicy{Rules: []v1.PodFailurePolicyRule{{Action: "FailJob",
		OnPodConditions: []v1.PodFailurePolicyOnPodConditionsPattern{{Type: "DisruptionTarget"}}}}}
	j.Spec.Template.Labels = map[string]string{"app": "x"}
	j.Labels = nil
	defaultJob(j)
	if j.Spec.Completions != nil {
		t.Errorf("completions defaulted although parallelism was set: %v", *j.Spec.Completions)
	}
	if *j.Spec.BackoffLimit != math.MaxInt32 {
		t.Errorf("backoffLimit with backoffLimitPerIndex = %d, want MaxInt32", *j.Spec.BackoffLimit)
	}
	if *j.Spec.PodReplacementPolicy != "Failed" {
		t.Errorf("podReplacementPolicy with podFailurePolicy = %s, want Failed", *j.Spec.PodReplacementPolicy)
	}
	if s := j.Spec.PodFailurePolicy.Rules[0].OnPodConditions[0].Status; s != "True" {
		t.Errorf("onPodConditions status = %q, want True", s)
	}
	if !reflect.DeepEqual(j.Labels, map[string]string{"app": "x"}) {
		t.Errorf("Job labels not taken from the template: %v", j.Labels)
	}
}

func TestPodSpecDefaults(t *testing.T) {
	j := defaulted(t)
	for k, v := range map[string]interface{}{
		"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler",
		"terminationGracePeriodSeconds": 30.0, "serviceAccount": "migrator", "serviceAccountName": "migrator",
	} {
		if got := at(t, j, "spec", "template", "spec", k); got != v {
			t.Errorf("pod spec %s = %v, want %v", k, got, v)
		}
	}
	if got := at(t, j, "spec", "template", "spec", "securityContext"); !reflect.DeepEqual(got, jmap{}) {
		t.Errorf("securityContext = %v, want {}", got)
	}
	if got := at(t, j, "spec", "template", "spec", "enableServiceLinks"); got != nil {
		t.Errorf("enableServiceLinks = %v; SetDefaults_Pod sets it on Pods only, not on templates", got)
	}
}

func TestDeprecatedServiceAccountConverts(t *testing.T) {
	j := loadJob(t, "testdata/job.json")
	j.Spec.Template.Spec.ServiceAccountName = ""
	j.Spec.Template.Spec.DeprecatedServiceAccount = "old-style"
	defaultJob(j)
	if ps := j.Spec.Template.Spec; ps.ServiceAccountName != "old-style" || ps.DeprecatedServiceAccount != "old-style" {
		t.Errorf("serviceAccount round trip: name %q, deprecated %q", ps.ServiceAccountName, ps.DeprecatedServiceAccount)
	}
}

func TestContainerDefaults(t *testing.T) {
	j := defaulted(t)
	c := []interface{}{"spec", "template", "spec", "containers", 0}
	get := func(p ...interface{}) interface{} { return at(t, j, append(append([]interface{}{}, c...), p...)...) }
	cases := []struct {
		path []interface{}
		want interface{}
	}{
		{[]interface{}{"imagePullPolicy"}, "IfNotPresent"},
		{[]interface{}{"terminationMessagePath"}, "/dev/termination-log"},
		{[]interface{}{"terminationMessagePolicy"}, "File"},
		{[]interface{}{"ports", 0, "protocol"}, "TCP"},
		{[]interface{}{"env", 0, "valueFrom", "fieldRef", "apiVersion"}, "v1"},
		{[]interface{}{"resources", "limits", "cpu"}, "500m"},
		{[]interface{}{"resources", "limits", "memory"}, "1Gi"},
		{[]interface{}{"livenessProbe", "httpGet", "path"}, "/"},
		{[]interface{}{"livenessProbe", "httpGet", "scheme"}, "HTTP"},
		{[]interface{}{"livenessProbe", "timeoutSeconds"}, 1.0},
		{[]interface{}{"livenessProbe", "periodSeconds"}, 10.0},
		{[]interface{}{"livenessProbe", "successThreshold"}, 1.0},
		{[]interface{}{"livenessProbe", "failureThreshold"}, 3.0},
		{[]interface{}{"readinessProbe", "grpc", "service"}, ""},
	}
	for _, tc := range cases {
		if got := get(tc.path...); got != tc.want {
			t.Errorf("container %v = %#v, want %#v", tc.path, got, tc.want)
		}
	}
	init0 := at(t, j, "spec", "template", "spec", "initContainers", 0)
	if m := init0.(jmap); m["imagePullPolicy"] != "Always" || !reflect.DeepEqual(m["resources"], jmap{}) {
		t.Errorf("init container busybox: pull policy %v (want Always for no tag), resources %v (want {})", m["imagePullPolicy"], m["resources"])
	}
}

func TestImagePullPolicyFollowsTheTag(t *testing.T) {
	for image, want := range map[string]string{
		"nginx": "Always", "nginx:latest": "Always", "nginx:1.25": "IfNotPresent",
		"registry:5000/team/app": "Always", "registry:5000/team/app:v2": "IfNotPresent",
		"app@sha256:0123456789012345678901234567890123456789012345678901234567890123":        "IfNotPresent",
		"app:latest@sha256:0123456789012345678901234567890123456789012345678901234567890123": "Always",
		"Upper/Case": "IfNotPresent", "": "IfNotPresent",
	} {
		c := v1.Container{Image: image}
		defaultContainer(&c)
		if string(c.ImagePullPolicy) != want {
			t.Errorf("image %q: imagePullPolicy %s, want %s", image, c.ImagePullPolicy, want)
		}
	}
}

func TestVolumeDefaults(t *testing.T) {
	j := defaulted(t)
	v := func(i int, p ...interface{}) interface{} {
		return at(t, j, append([]interface{}{"spec", "template", "spec", "volumes", i}, p...)...)
	}
	if got := v(0, "configMap", "defaultMode"); got != 420.0 {
		t.Errorf("configMap defaultMode = %v, want 420", got)
	}
	if got := v(1, "emptyDir"); !reflect.DeepEqual(got, jmap{}) {
		t.Errorf("a volume without a source = %v, want emptyDir {}", got)
	}
	if got := v(2, "projected", "defaultMode"); got != 420.0 {
		t.Errorf("projected defaultMode = %v, want 420", got)
	}
	if got := v(2, "projected", "sources", 0, "serviceAccountToken", "expirationSeconds"); got != 3600.0 {
		t.Errorf("serviceAccountToken expirationSeconds = %v, want 3600", got)
	}
	if got := v(3, "secret", "defaultMode"); got != 256.0 {
		t.Errorf("an explicit secret defaultMode was changed: %v", got)
	}
}

func TestDefaultingIsIdempotent(t *testing.T) {
	j := defaulted(t)
	once := jobToMap(j)
	again, _, err := mapToJob(once)
	if err != nil {
		t.Fatal(err)
	}
	defaultJob(again)
	if twice := jobToMap(again); !jsonEqual(once, twice) {
		var d []string
		jsonDiff("", once, twice, &d, expectWords)
		t.Errorf("defaulting a defaulted Job changed it: %v", d)
	}
}
