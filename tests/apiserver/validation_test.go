// SPDX-License-Identifier: Apache-2.0
//
// Job validation and the store: the restartPolicy rules and messages, the
// annotations size limit, the generated selector and labels, immutable
// fields on UPDATE (with the suspended-Job exception), metadata rules on
// UPDATE (name, uid, deletionTimestamp, finalizers while deleting), the 422
// message and the warnings for imagePullSecrets.
package main

import (
	"strings"
	"testing"

	v1 "admission-sim/k8s/v1"
)

func validJob(t *testing.T) *v1.Job {
	j := defaulted(t)
	j.Spec.Template.Spec.RestartPolicy = "Never"
	return j
}

// created runs the create path; it returns the stored Job or the Status.
func created(t *testing.T, j *v1.Job) (*v1.Job, *apiStatus) {
	s := &sim{c: &config{operation: "CREATE"}}
	st := s.persistCreate(j)
	return j, st
}

func wantInvalid(t *testing.T, st *apiStatus, parts ...string) {
	t.Helper()
	if st == nil {
		t.Fatalf("accepted; want 422 with %q", parts)
	}
	if st.code != 422 || st.reason != "Invalid" || st.exit != exitInvalid {
		t.Errorf("status %d %s exit %d, want 422 Invalid exit %d", st.code, st.reason, st.exit, exitInvalid)
	}
	for _, p := range parts {
		if !strings.Contains(st.message, p) {
			t.Errorf("message %q lacks %q", st.message, p)
		}
	}
}

func TestRestartPolicyRules(t *testing.T) {
	j := defaulted(t) // restartPolicy Always by default
	_, st := created(t, j)
	wantInvalid(t, st, `Job.batch "migrate" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"`)

	j = validJob(t)
	j.Spec.Template.Spec.RestartPolicy = "Sometimes"
	_, st = created(t, j)
	wantInvalid(t, st, `spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
		`spec.template.spec.restartPolicy: Unsupported value: "Sometimes": supported values: "OnFailure", "Never"`)

	j = validJob(t)
	j.Spec.Template.Spec.RestartPolicy = "OnFailure"
	j.Spec.PodFailurePolicy = &v1.PodFailurePolicy{Rules: []v1.PodFailurePolicyRule{{Action: "FailJob"}}}
	p := v1.PodReplacementPolicy("Failed")
	j.Spec.PodReplacementPolicy = &p
	_, st = created(t, j)
	wantInvalid(t, st, `spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified`)

	for _, ok := range []v1.RestartPolicy{"Never", "OnFailure"} {
		j = validJob(t)
		j.Spec.Template.Spec.RestartPolicy = ok
		if _, st = created(t, j); st != nil {
			t.Errorf("restartPolicy %s refused: %s", ok, st.message)
		}
	}
}

func TestAnnotationsSizeLimit(t *testing.T) {
	j := validJob(t)
	j.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024-3)}
	if _, st := created(t, j); st != nil {
		t.Fatalf("exactly 256 KiB refused: %s", st.message)
	}
	j = validJob(t)
	j.Annotations = map[string]string{"big": strings.Repeat("x", 256*1024-2)}
	_, st := created(t, j)
	wantInvalid(t, st, `Job.batch "migrate" is invalid: metadata.annotations: Too long: must have at most 262144 bytes`)
}

func TestCreateAddsSelectorLabelsAndSystemFields(t *testing.T) {
	j, st := created(t, validJob(t))
	if st != nil {
		t.Fatal(st.message)
	}
	uid := string(j.UID)
	if uid == "" || j.Generation != 1 || j.ResourceVersion == "" || j.CreationTimestamp.IsZero() {
		t.Errorf("system fields: uid %q generation %d resourceVersion %q creationTimestamp %v", uid, j.Generation, j.ResourceVersion, j.CreationTimestamp)
	}
	want := map[string]string{"controller-uid": uid, "batch.kubernetes.io/controller-uid": uid, "job-name": "migrate", "batch.kubernetes.io/job-name": "migrate"}
	for k, v := range want {
		if j.Spec.Template.Labels[k] != v {
			t.Errorf("template label %s = %q, want %q", k, j.Spec.Template.Labels[k], v)
		}
	}
	if j.Spec.Selector == nil || len(j.Spec.Selector.MatchLabels) != 1 || j.Spec.Selector.MatchLabels["batch.kubernetes.io/controller-uid"] != uid {
		t.Errorf("selector = %+v", j.Spec.Selector)
	}
	// A read defaults again: a Job stored without labels shows the template's.
	j.Labels = nil
	if r := readBack(j); r.Labels["job-name"] != "migrate" {
		t.Errorf("read-back labels = %v", r.Labels)
	}
}

func TestWrongSelectorOnCreate(t *testing.T) {
	j := validJob(t)
	j.Spec.Selector = &v1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "other"}}
	_, st := created(t, j)
	wantInvalid(t, st, "spec.selector: Invalid value:", "`selector` not auto-generated", "`selector` does not match template `labels`")
}

// stored returns a created Job and a copy to change for an UPDATE.
func stored(t *testing.T) (old, upd *v1.Job) {
	old, st := created(t, validJob(t))
	if st != nil {
		t.Fatal(st.message)
	}
	old = readBack(old)
	upd, _, err := mapToJob(jobToMap(old))
	if err != nil {
		t.Fatal(err)
	}
	return old, upd
}

func updated(t *testing.T, upd, old *v1.Job) *apiStatus {
	s := &sim{c: &config{operation: "UPDATE"}}
	return s.persistUpdate(upd, old)
}

func TestUpdateOfMetadataOnlyIsAccepted(t *testing.T) {
	old, upd := stored(t)
	upd.Labels["team"] = "payments"
	upd.Finalizers = []string{"foregroundDeletion"}
	if st := updated(t, upd, old); st != nil {
		t.Fatalf("relabel refused: %s", st.message)
	}
	if upd.Generation != old.Generation || upd.ResourceVersion == old.ResourceVersion {
		t.Errorf("metadata update: generation %d (want %d), resourceVersion %s (want a new one)", upd.Generation, old.Generation, upd.ResourceVersion)
	}
}

func TestUpdateImmutableFields(t *testing.T) {
	cases := map[string]func(j *v1.Job){
		"spec.template: Invalid value":       func(j *v1.Job) { j.Spec.Template.Spec.Containers[0].Image = "other:2" },
		"spec.selector: Invalid value":       func(j *v1.Job) { j.Spec.Selector.MatchLabels["x"] = "y"; j.Spec.Template.Labels["x"] = "y" },
		`spec.completionMode: Invalid value`: func(j *v1.Job) { m := v1.IndexedCompletion; j.Spec.CompletionMode = &m },
		"spec.podFailurePolicy: Invalid value": func(j *v1.Job) {
			j.Spec.PodFailurePolicy = &v1.PodFailurePolicy{Rules: []v1.PodFailurePolicyRule{{Action: "FailJob"}}}
			p := v1.PodReplacementPolicy("Failed")
			j.Spec.PodReplacementPolicy = &p
		},
		`spec.completions: Invalid value: 2: field is immutable`:   func(j *v1.Job) { j.Spec.Completions = i32(2) },
		`metadata.uid: Invalid value: "other": field is immutable`: func(j *v1.Job) { j.UID = "other" },
	}
	for want, change := range cases {
		old, upd := stored(t)
		change(upd)
		st := updated(t, upd, old)
		wantInvalid(t, st, want, "field is immutable")
	}
}

func TestSuspendedJobThatNeverStartedMayChangeScheduling(t *testing.T) {
	old, upd := stored(t)
	old.Spec.Suspend = boolp(true)
	upd.Spec.Suspend = boolp(true)
	upd.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "batch"}
	if st := updated(t, upd, old); st != nil {
		t.Errorf("suspended, never started: nodeSelector change refused: %s", st.message)
	}
	old, upd = stored(t)
	upd.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "batch"}
	wantInvalid(t, updated(t, upd, old), "spec.template: Invalid value", "field is immutable")
}

func TestDeletionTimestampAndFinalizersOnUpdate(t *testing.T) {
	old, upd := stored(t)
	upd.DeletionTimestamp = &v1.Time{Time: old.CreationTimestamp.Add(3600e9)}
	wantInvalid(t, updated(t, upd, old), "metadata.deletionTimestamp: Invalid value: ", "field is immutable")

	old, upd = stored(t)
	del := &v1.Time{Time: old.CreationTimestamp.Add(3600e9)}
	old.DeletionTimestamp, old.Finalizers = del, []string{"foregroundDeletion"}
	upd.DeletionTimestamp, upd.Finalizers = del, nil // the garbage collector removing its finalizer
	if st := updated(t, upd, old); st != nil {
		t.Errorf("finalizer removal while deleting refused: %s", st.message)
	}
	old, upd = stored(t)
	old.DeletionTimestamp = del
	upd.DeletionTimestamp = del
	upd.Finalizers = []string{"example.com/new"}
	wantInvalid(t, updated(t, upd, old), `metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/new"}`)
}

func TestUpdateConflictOnStaleResourceVersion(t *testing.T) {
	old, upd := stored(t)
	upd.ResourceVersion = "1"
	st := updated(t, upd, old)
	if st == nil || st.code != 409 || !strings.Contains(st.message, `Operation cannot be fulfilled on jobs.batch "migrate": the object has been modified`) {
		t.Errorf("stale resourceVersion: %+v", st)
	}
}

func TestInvalidMessageAggregates(t *testing.T) {
	one := invalidStatus("j", []fieldError{required("a", "")})
	many := invalidStatus("j", []fieldError{required("a", ""), required("a", ""), invalid("b", int64(-1), "must be greater than or equal to 0")})
	if one.message != `Job.batch "j" is invalid: a: Required value` {
		t.Errorf("one: %s", one.message)
	}
	if many.message != `Job.batch "j" is invalid: [a: Required value, b: Invalid value: -1: must be greater than or equal to 0]` {
		t.Errorf("many: %s", many.message)
	}
}

func TestImagePullSecretWarnings(t *testing.T) {
	ps := &v1.PodSpec{ImagePullSecrets: []v1.LocalObjectReference{{Name: "a"}, {Name: ""}, {Name: "a"}}}
	got := strings.Join(podTemplateWarnings(ps, "spec.template"), "\n")
	for _, want := range []string{
		`spec.template.spec.imagePullSecrets[2].name: duplicate name "a"`,
		`spec.template.spec.imagePullSecrets[1].name: invalid empty name ""`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings %q lack %q", got, want)
		}
	}
}

func TestPodTemplateChecks(t *testing.T) {
	j := validJob(t)
	j.Spec.Template.Spec.Containers[0].Image = ""
	j.Spec.Template.Spec.Containers[0].VolumeMounts = []v1.VolumeMount{{Name: "missing", MountPath: "/m"}}
	j.Spec.Template.Spec.InitContainers[0].Name = "migrate"
	_, st := created(t, j)
	wantInvalid(t, st, "spec.template.spec.containers[0].image: Required value",
		`spec.template.spec.containers[0].volumeMounts[0].name: Not found: "missing"`,
		`spec.template.spec.containers[0].name: Duplicate value: "migrate"`)
}
