// SPDX-License-Identifier: Apache-2.0
//
// Job validation after admission, as the Job strategy runs it: ValidateJob on
// CREATE, ValidateJob + ValidateJobUpdate on UPDATE
// (pkg/apis/batch/validation/validation.go, pkg/registry/batch/job/strategy.go
// validationOptionsForJob), with ValidateObjectMeta / ValidateObjectMetaUpdate
// (k8s.io/apimachinery/pkg/api/validation/objectmeta.go) and the parts of
// ValidatePodTemplateSpec / ValidatePodSpec (pkg/apis/core/validation) that a
// Job's pod template commonly trips: container names, images, pull and
// termination-message policies, ports, volume names and mounts, restart and
// DNS policies, labels and annotations. Pod spec checks not listed here are
// not made (see README.md).
package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "admission-sim/k8s/v1"
)

const totalAnnotationSizeLimit = 256 * 1024 // apimachinery TotalAnnotationSizeLimitB

type jobValidationOptions struct {
	allowMutableSchedulingDirectives bool // old Job suspended and never started
	requirePrefixedLabels            bool // batch.kubernetes.io/{job-name,controller-uid}
}

const (
	jobNameLabel             = "batch.kubernetes.io/job-name"
	controllerUIDLabel       = "batch.kubernetes.io/controller-uid"
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
)

// validationOptionsForJob mirrors the strategy's function of that name.
func validationOptionsForJob(old *v1.Job) jobValidationOptions {
	o := jobValidationOptions{requirePrefixedLabels: true}
	if old != nil {
		suspended := old.Spec.Suspend != nil && *old.Spec.Suspend
		o.allowMutableSchedulingDirectives = suspended && old.Status.StartTime == nil
		_, hadName := old.Spec.Template.Labels[jobNameLabel]
		_, hadUID := old.Spec.Template.Labels[controllerUIDLabel]
		o.requirePrefixedLabels = hadName && hadUID
	}
	return o
}

// validateJob is ValidateJob.
func validateJob(j *v1.Job, o jobValidationOptions) []fieldError {
	errs := validateObjectMeta(&j.ObjectMeta, "metadata")
	errs = append(errs, validateGeneratedSelector(j, o.requirePrefixedLabels)...)
	errs = append(errs, validateJobSpec(&j.Spec, "spec")...)
	if cm := j.Spec.CompletionMode; cm != nil && *cm == v1.IndexedCompletion && j.Spec.Completions != nil && *j.Spec.Completions > 0 {
		host := fmt.Sprintf("%s-%d", j.Name, *j.Spec.Completions-1)
		if len(isDNS1123Label(host)) > 0 {
			errs = append(errs, invalid("metadata.name", j.Name, "will not able to create pod with invalid DNS label: "+host))
		}
	}
	return errs
}

// validateObjectMeta is ValidateObjectMeta with ValidateReplicationControllerName.
func validateObjectMeta(m *v1.ObjectMeta, path string) []fieldError {
	var errs []fieldError
	switch {
	case m.Name == "" && m.GenerateName == "":
		errs = append(errs, required(path+".name", "name or generateName is required"))
	case m.Name != "":
		for _, msg := range isDNS1123Subdomain(m.Name) {
			errs = append(errs, invalid(path+".name", m.Name, msg))
		}
	}
	if m.Namespace == "" {
		errs = append(errs, required(path+".namespace", ""))
	}
	if m.Generation < 0 {
		errs = append(errs, invalid(path+".generation", m.Generation, "must be greater than or equal to 0"))
	}
	errs = append(errs, validateLabels(m.Labels, path+".labels")...)
	errs = append(errs, validateAnnotations(m.Annotations, path+".annotations")...)
	for i, f := range m.Finalizers {
		for _, msg := range isQualifiedName(f) {
			errs = append(errs, invalid(fmt.Sprintf("%s.finalizers[%d]", path, i), f, msg))
		}
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// validateLabels is ValidateLabels (keys qualified names, values label values).
func validateLabels(l map[string]string, path string) []fieldError {
	var errs []fieldError
	for _, k := range sortedKeys(l) {
		for _, msg := range isQualifiedName(k) {
			errs = append(errs, invalid(path, k, msg))
		}
		for _, msg := range isValidLabelValue(l[k]) {
			errs = append(errs, invalid(path, l[k], msg))
		}
	}
	return errs
}

// validateAnnotations is ValidateAnnotations: qualified keys, 256 KiB in total.
func validateAnnotations(a map[string]string, path string) []fieldError {
	var errs []fieldError
	total := 0
	for _, k := range sortedKeys(a) {
		for _, msg := range isQualifiedName(strings.ToLower(k)) {
			errs = append(errs, invalid(path, k, msg))
		}
		total += len(k) + len(a[k])
	}
	if total > totalAnnotationSizeLimit {
		errs = append(errs, fieldError{errTooLong, path, "", fmt.Sprintf("must have at most %d bytes", totalAnnotationSizeLimit)})
	}
	return errs
}

// validateGeneratedSelector: the strategy's generated selector and labels
// must be there and match the Job's uid and name.
func validateGeneratedSelector(j *v1.Job, prefixed bool) []fieldError {
	if (j.Spec.ManualSelector != nil && *j.Spec.ManualSelector) || j.Spec.Selector == nil {
		return nil
	}
	var errs []fieldError
	if j.UID == "" {
		errs = append(errs, required("metadata.uid", ""))
	}
	tm := &j.Spec.Template.ObjectMeta
	want := map[string]string{legacyControllerUIDLabel: string(j.UID), legacyJobNameLabel: j.Name}
	if prefixed {
		want[controllerUIDLabel] = string(j.UID)
		want[jobNameLabel] = j.Name
	}
	for _, k := range []string{legacyControllerUIDLabel, legacyJobNameLabel, controllerUIDLabel, jobNameLabel} {
		if v, ok := want[k]; ok {
			errs = append(errs, validateHasLabel(tm, "spec.template.metadata", k, v)...)
		}
	}
	if ok, _ := selectorMatches(j.Spec.Selector, want); !ok {
		errs = append(errs, invalid("spec.selector", j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateHasLabel(m *v1.ObjectMeta, path, key, value string) []fieldError {
	got, found := m.Labels[key]
	p := fmt.Sprintf("%s.labels[%s]", path, key)
	if !found {
		return []fieldError{required(p, fmt.Sprintf("must be '%s'", value))}
	}
	if got != value {
		return []fieldError{invalid(p, m.Labels, fmt.Sprintf("must be '%s'", value))}
	}
	return nil
}

// validateJobSpec is ValidateJobSpec + validateJobSpec.
func validateJobSpec(s *v1.JobSpec, p string) []fieldError {
	var errs []fieldError
	nonneg := func(f string, v *int32) {
		if v != nil && *v < 0 {
			errs = append(errs, invalid(p+"."+f, int64(*v), "must be greater than or equal to 0"))
		}
	}
	nonneg("parallelism", s.Parallelism)
	nonneg("completions", s.Completions)
	if s.ActiveDeadlineSeconds != nil && *s.ActiveDeadlineSeconds < 0 {
		errs = append(errs, invalid(p+".activeDeadlineSeconds", *s.ActiveDeadlineSeconds, "must be greater than or equal to 0"))
	}
	nonneg("backoffLimit", s.BackoffLimit)
	nonneg("ttlSecondsAfterFinished", s.TTLSecondsAfterFinished)
	nonneg("backoffLimitPerIndex", s.BackoffLimitPerIndex)
	nonneg("maxFailedIndexes", s.MaxFailedIndexes)
	if s.MaxFailedIndexes != nil && s.BackoffLimitPerIndex == nil {
		errs = append(errs, required(p+".backoffLimitPerIndex", "when maxFailedIndexes is specified"))
	}
	errs = append(errs, validateCompletionMode(s, p)...)
	errs = append(errs, validatePodReplacementPolicy(s, p+".podReplacementPolicy")...)
	errs = append(errs, validatePodTemplate(&s.Template, p+".template")...)
	errs = append(errs, validateJobRestartPolicy(s, p+".template.spec.restartPolicy")...)
	if s.Selector == nil {
		errs = append(errs, required(p+".selector", ""))
	} else if ok, err := selectorMatches(s.Selector, s.Template.Labels); err == nil && !ok {
		errs = append(errs, invalid(p+".template.metadata.labels", s.Template.Labels, "`selector` does not match template `labels`"))
	}
	return errs
}

func validateCompletionMode(s *v1.JobSpec, p string) []fieldError {
	var errs []fieldError
	mode := v1.NonIndexedCompletion
	if s.CompletionMode != nil {
		mode = *s.CompletionMode
	}
	switch mode {
	case v1.IndexedCompletion:
		if s.Completions == nil {
			errs = append(errs, required(p+".completions", "when completion mode is Indexed"))
		}
	case v1.NonIndexedCompletion:
		if s.BackoffLimitPerIndex != nil {
			errs = append(errs, invalid(p+".backoffLimitPerIndex", *s.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if s.MaxFailedIndexes != nil {
			errs = append(errs, invalid(p+".maxFailedIndexes", *s.MaxFailedIndexes, "requires indexed completion mode"))
		}
		if s.SuccessPolicy != nil {
			errs = append(errs, invalid(p+".successPolicy", *s.SuccessPolicy, "requires indexed completion mode"))
		}
	default:
		errs = append(errs, notSupported(p+".completionMode", mode, "NonIndexed", "Indexed"))
	}
	return errs
}

// validatePodReplacementPolicy: Failed only with a podFailurePolicy.
func validatePodReplacementPolicy(s *v1.JobSpec, p string) []fieldError {
	if s.PodReplacementPolicy == nil {
		return nil
	}
	v := *s.PodReplacementPolicy
	if s.PodFailurePolicy != nil {
		if v != "Failed" {
			return []fieldError{notSupported(p, v, "Failed")}
		}
		return nil
	}
	if v != "Failed" && v != "TerminatingOrFailed" {
		return []fieldError{notSupported(p, v, "Failed", "TerminatingOrFailed")}
	}
	return nil
}

// validateJobRestartPolicy: Always (the pod default) or empty is "Required",
// anything else but OnFailure/Never "Unsupported", and OnFailure with a
// podFailurePolicy "Invalid".
func validateJobRestartPolicy(s *v1.JobSpec, p string) []fieldError {
	rp := s.Template.Spec.RestartPolicy
	switch {
	case rp == "Always" || rp == "":
		return []fieldError{required(p, `valid values: "OnFailure", "Never"`)}
	case rp != "OnFailure" && rp != "Never":
		return []fieldError{notSupported(p, rp, "OnFailure", "Never")}
	case s.PodFailurePolicy != nil && rp != "Never":
		return []fieldError{invalid(p, rp, `only "Never" is supported when podFailurePolicy is specified`)}
	}
	return nil
}

// validateJobUpdate is ValidateJobUpdate: ObjectMeta update rules, then the
// spec's immutable fields.
func validateJobUpdate(j, old *v1.Job, o jobValidationOptions) []fieldError {
	errs := validateObjectMetaUpdate(&j.ObjectMeta, &old.ObjectMeta, "metadata")
	errs = append(errs, validateJobSpec(&j.Spec, "spec")...)
	s, os := &j.Spec, &old.Spec
	if !semanticEqual(s.Completions, os.Completions) {
		indexed := s.CompletionMode != nil && *s.CompletionMode == v1.IndexedCompletion
		if !indexed {
			errs = append(errs, immutable("spec.completions", s.Completions))
		} else if s.Completions != nil && (s.Parallelism == nil || *s.Completions != *s.Parallelism) {
			errs = append(errs, invalid("spec.completions", s.Completions, "can only be modified in tandem with spec.parallelism"))
		}
	}
	errs = append(errs, immutableIfChanged("spec.selector", s.Selector, os.Selector)...)
	errs = append(errs, validatePodTemplateUpdate(s, os, o)...)
	errs = append(errs, immutableIfChanged("spec.completionMode", s.CompletionMode, os.CompletionMode)...)
	errs = append(errs, immutableIfChanged("spec.podFailurePolicy", s.PodFailurePolicy, os.PodFailurePolicy)...)
	errs = append(errs, immutableIfChanged("spec.backoffLimitPerIndex", s.BackoffLimitPerIndex, os.BackoffLimitPerIndex)...)
	errs = append(errs, immutableIfChanged("spec.managedBy", s.ManagedBy, os.ManagedBy)...)
	errs = append(errs, immutableIfChanged("spec.successPolicy", s.SuccessPolicy, os.SuccessPolicy)...)
	return errs
}

// validatePodTemplateUpdate: the template is immutable, except that a
// suspended Job that never started may change its scheduling directives
// (node affinity, node selector, tolerations, labels, annotations,
// scheduling gates).
func validatePodTemplateUpdate(s, os *v1.JobSpec, o jobValidationOptions) []fieldError {
	oldT := os.Template
	if o.allowMutableSchedulingDirectives {
		oldT = *deepCopyTemplate(&os.Template)
		t := &s.Template
		switch {
		case t.Spec.Affinity == nil && oldT.Spec.Affinity != nil:
			oldT.Spec.Affinity.NodeAffinity = nil
			if *oldT.Spec.Affinity == (v1.Affinity{}) {
				oldT.Spec.Affinity = nil
			}
		case t.Spec.Affinity != nil && oldT.Spec.Affinity == nil:
			oldT.Spec.Affinity = &v1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
		case t.Spec.Affinity != nil && oldT.Spec.Affinity != nil:
			oldT.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
		}
		oldT.Spec.NodeSelector = t.Spec.NodeSelector
		oldT.Spec.Tolerations = t.Spec.Tolerations
		oldT.Annotations = t.Annotations
		oldT.Labels = t.Labels
		oldT.Spec.SchedulingGates = t.Spec.SchedulingGates
	}
	return immutableIfChanged("spec.template", &s.Template, &oldT)
}

func deepCopyTemplate(t *v1.PodTemplateSpec) *v1.PodTemplateSpec {
	b, _ := json.Marshal(t)
	out := &v1.PodTemplateSpec{}
	_ = json.Unmarshal(b, out)
	return out
}

// validateObjectMetaUpdate is ValidateObjectMetaAccessorUpdate.
func validateObjectMetaUpdate(m, old *v1.ObjectMeta, p string) []fieldError {
	var errs []fieldError
	if old.DeletionTimestamp != nil {
		var added []string
		had := map[string]bool{}
		for _, f := range old.Finalizers {
			had[f] = true
		}
		for _, f := range m.Finalizers {
			if !had[f] {
				added = append(added, f)
			}
		}
		if len(added) > 0 {
			errs = append(errs, forbidden(p+".finalizers", fmt.Sprintf("no new finalizers can be added if the object is being deleted, found new finalizers %#v", added)))
		}
	}
	if m.ResourceVersion == "" {
		errs = append(errs, invalid(p+".resourceVersion", m.ResourceVersion, "must be specified for an update"))
	}
	if m.Generation < old.Generation {
		errs = append(errs, invalid(p+".generation", m.Generation, "must not be decremented"))
	}
	errs = append(errs, immutableIfChanged(p+".name", m.Name, old.Name)...)
	errs = append(errs, immutableIfChanged(p+".namespace", m.Namespace, old.Namespace)...)
	errs = append(errs, immutableIfChanged(p+".uid", string(m.UID), string(old.UID))...)
	// Times print as metav1.Time's String (time.Time's), unquoted.
	if !m.CreationTimestamp.Equal(&old.CreationTimestamp) {
		errs = append(errs, immutable(p+".creationTimestamp", v1.Time{Time: m.CreationTimestamp.UTC()}))
	}
	if !m.DeletionTimestamp.Equal(old.DeletionTimestamp) {
		var v interface{}
		if m.DeletionTimestamp != nil {
			v = v1.Time{Time: m.DeletionTimestamp.UTC()}
		}
		errs = append(errs, immutable(p+".deletionTimestamp", v))
	}
	errs = append(errs, immutableIfChanged(p+".deletionGracePeriodSeconds", m.DeletionGracePeriodSeconds, old.DeletionGracePeriodSeconds)...)
	return errs
}

func immutable(path string, v interface{}) fieldError {
	return invalid(path, v, "field is immutable")
}

// immutableIfChanged is ValidateImmutableField (apiequality.Semantic.DeepEqual).
func immutableIfChanged(path string, v, old interface{}) []fieldError {
	if semanticEqual(v, old) {
		return nil
	}
	return []fieldError{immutable(path, v)}
}

// semanticEqual compares by typed encoding: nil and empty lists and maps
// are equal, quantities compare by value (canonical form), times by second.
func semanticEqual(a, b interface{}) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
