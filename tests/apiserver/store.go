// SPDX-License-Identifier: Apache-2.0
//
// What happens to a Job after mutating admission and before it is stored,
// and what a read of it returns: the registry store's system fields
// (rest.FillObjectMetaSystemFields, name from generateName), rest.BeforeCreate
// / BeforeUpdate, the Job strategy's PrepareForCreate (generated selector and
// template labels, generation 1, status cleared) and PrepareForUpdate (status
// kept, generation bumped when the spec changes), its Validate /
// ValidateUpdate and WarningsOnCreate / WarningsOnUpdate
// (pkg/registry/batch/job/strategy.go), a resourceVersion from storage, and
// the defaulting every read from storage applies.
package main

import (
	"fmt"
	"math/rand"
	"strconv"
	"time"

	v1 "admission-sim/k8s/v1"
)

// persistCreate turns the admitted Job into the stored one, or a Status.
func (s *sim) persistCreate(j *v1.Job) *apiStatus {
	// Store.Create: FillObjectMetaSystemFields, then a generated name.
	j.UID = v1.UID(newUID())
	j.CreationTimestamp = v1.Time{Time: time.Now().UTC().Truncate(time.Second)}
	if j.Name == "" && j.GenerateName != "" {
		j.Name = j.GenerateName + randSuffix()
	}
	// BeforeCreate.
	j.DeletionTimestamp, j.DeletionGracePeriodSeconds = nil, nil
	// PrepareForCreate.
	if j.Spec.ManualSelector == nil || !*j.Spec.ManualSelector {
		generateSelector(j)
	}
	j.Status = v1.JobStatus{}
	j.Generation = 1
	if errs := validateJob(j, validationOptionsForJob(nil)); len(errs) > 0 {
		return invalidStatus(j.Name, errs)
	}
	for _, w := range warningsOnCreate(j) {
		s.warn.add(w)
	}
	j.ResourceVersion = strconv.Itoa(1000 + rand.Intn(9000))
	return nil
}

// persistUpdate: BeforeUpdate with the stored Job, PrepareForUpdate,
// ValidateUpdate, and the resourceVersion precondition.
func (s *sim) persistUpdate(j, old *v1.Job) *apiStatus {
	if j.ResourceVersion != "" && j.ResourceVersion != old.ResourceVersion {
		return &apiStatus{"Conflict", 409, fmt.Sprintf("Operation cannot be fulfilled on jobs.batch %q: the object has been modified; please apply your changes to the latest version and try again", j.Name), exitInvalid}
	}
	// Jobs allow unconditional updates: a missing resourceVersion takes the stored one.
	j.ResourceVersion = old.ResourceVersion
	j.Generation = old.Generation
	j.Status = old.Status
	if !semanticEqual(j.Spec, old.Spec) {
		j.Generation = old.Generation + 1
	}
	if j.UID == "" {
		j.UID = old.UID
	}
	if !old.CreationTimestamp.IsZero() {
		j.CreationTimestamp = old.CreationTimestamp
	}
	if old.DeletionTimestamp != nil {
		j.DeletionTimestamp = old.DeletionTimestamp
	}
	if old.DeletionGracePeriodSeconds != nil && j.DeletionGracePeriodSeconds == nil {
		j.DeletionGracePeriodSeconds = old.DeletionGracePeriodSeconds
	}
	o := validationOptionsForJob(old)
	errs := validateJob(j, o)
	errs = append(errs, validateJobUpdate(j, old, o)...)
	if len(errs) > 0 {
		return invalidStatus(j.Name, errs)
	}
	if j.Generation != old.Generation {
		for _, w := range podTemplateWarnings(&j.Spec.Template.Spec, "spec.template") {
			s.warn.add(w)
		}
	}
	if n, err := strconv.Atoi(old.ResourceVersion); err == nil {
		j.ResourceVersion = strconv.Itoa(n + 1)
	} else {
		j.ResourceVersion = old.ResourceVersion + "1"
	}
	return nil
}

// generateSelector adds the job-name and controller-uid labels (legacy and
// batch.kubernetes.io/ ones) to the template, unless set, and selects
// batch.kubernetes.io/controller-uid.
func generateSelector(j *v1.Job) {
	t := &j.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, k := range []string{legacyJobNameLabel, jobNameLabel} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = j.Name
		}
	}
	for _, k := range []string{legacyControllerUIDLabel, controllerUIDLabel} {
		if _, ok := t.Labels[k]; !ok {
			t.Labels[k] = string(j.UID)
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &v1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[controllerUIDLabel]; !ok {
		j.Spec.Selector.MatchLabels[controllerUIDLabel] = string(j.UID)
	}
}

// warningsOnCreate: the name is used in pod hostnames, and the pod template
// warnings.
func warningsOnCreate(j *v1.Job) []string {
	var out []string
	if msgs := isDNS1123Label(j.Name); len(msgs) > 0 {
		out = append(out, fmt.Sprintf("metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: %v", msgs))
	}
	return append(out, podTemplateWarnings(&j.Spec.Template.Spec, "spec.template")...)
}

// readBack is what a GET returns: the stored bytes decoded with defaulting
// (so a Job stored without labels shows its template's labels).
func readBack(j *v1.Job) *v1.Job {
	out, _, err := mapToJob(jobToMap(j))
	if err != nil {
		return j
	}
	defaultJob(out)
	return out
}

func randSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.Intn(len(alphabet))]
	}
	return string(b)
}

func init() {
	rand.Seed(time.Now().UnixNano())
}
