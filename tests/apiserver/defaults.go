// SPDX-License-Identifier: Apache-2.0
//
// Defaulting of a batch/v1 Job as kube-apiserver applies it when it decodes
// the object and again after each mutating webhook's patch. Mirrors
// pkg/apis/batch/v1/defaults.go (SetDefaults_Job), pkg/apis/core/v1/defaults.go
// (SetDefaults_PodSpec, _Container, _Probe, _HTTPGetAction, _Volume and the
// volume sources, _ObjectFieldSelector, _ResourceList, ...), the +default
// markers of k8s.io/api (container port protocol, gRPC probe service) in the
// order pkg/apis/batch/v1/zz_generated.defaults.go calls them, and the
// v1 -> internal -> v1 conversion the webhook's object goes through
// (pkg/apis/core/v1/conversion.go: serviceAccount mirrors serviceAccountName).
// Feature-gated defaults are taken as on by default in current releases
// (JobPodReplacementPolicy). SetDefaults_Pod (enableServiceLinks, requests from
// limits) applies to Pods only, not to a Job's pod template.
package main

import (
	"math"
	"reflect"
	"strings"

	v1 "admission-sim/k8s/v1"
)

func i32(v int32) *int32 { return &v }
func i64(v int64) *int64 { return &v }
func boolp(v bool) *bool { return &v }

// defaultJob is SetObjectDefaults_Job plus the conversion round trip.
func defaultJob(j *v1.Job) {
	setDefaultsJob(j)
	ps := &j.Spec.Template.Spec
	setDefaultsPodSpec(ps)
	for i := range ps.Volumes {
		defaultVolume(&ps.Volumes[i])
	}
	for i := range ps.InitContainers {
		defaultContainer(&ps.InitContainers[i])
	}
	for i := range ps.Containers {
		defaultContainer(&ps.Containers[i])
	}
	for i := range ps.EphemeralContainers {
		defaultContainer((*v1.Container)(&ps.EphemeralContainers[i].EphemeralContainerCommon))
	}
	roundResourceList(ps.Overhead)
	if ps.Resources != nil {
		roundResourceList(ps.Resources.Limits)
		roundResourceList(ps.Resources.Requests)
	}
	convertPodSpecRoundTrip(ps)
}

// setDefaultsJob is SetDefaults_Job (pkg/apis/batch/v1/defaults.go).
func setDefaultsJob(j *v1.Job) {
	s := &j.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions, s.Parallelism = i32(1), i32(1)
	}
	if s.Parallelism == nil {
		s.Parallelism = i32(1)
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = i32(math.MaxInt32)
		} else {
			s.BackoffLimit = i32(6)
		}
	}
	if s.Template.Labels != nil && len(j.Labels) == 0 {
		// The same map, as upstream: until a patch re-decodes the object,
		// the labels the strategy adds to the template show on the Job too.
		j.Labels = s.Template.Labels
	}
	if s.CompletionMode == nil {
		m := v1.NonIndexedCompletion
		s.CompletionMode = &m
	}
	if s.Suspend == nil {
		s.Suspend = boolp(false)
	}
	if s.PodFailurePolicy != nil {
		for ri := range s.PodFailurePolicy.Rules {
			for pi := range s.PodFailurePolicy.Rules[ri].OnPodConditions {
				if p := &s.PodFailurePolicy.Rules[ri].OnPodConditions[pi]; p.Status == "" {
					p.Status = "True"
				}
			}
		}
	}
	if s.PodReplacementPolicy == nil {
		p := v1.PodReplacementPolicy("TerminatingOrFailed")
		if s.PodFailurePolicy != nil {
			p = "Failed"
		}
		s.PodReplacementPolicy = &p
	}
	if s.ManualSelector == nil {
		s.ManualSelector = boolp(false)
	}
}

// setDefaultsPodSpec is SetDefaults_PodSpec (pkg/apis/core/v1/defaults.go).
func setDefaultsPodSpec(ps *v1.PodSpec) {
	if ps.DNSPolicy == "" {
		ps.DNSPolicy = "ClusterFirst"
	}
	if ps.RestartPolicy == "" {
		ps.RestartPolicy = "Always"
	}
	if ps.SecurityContext == nil {
		ps.SecurityContext = &v1.PodSecurityContext{}
	}
	if ps.TerminationGracePeriodSeconds == nil {
		ps.TerminationGracePeriodSeconds = i64(30)
	}
	if ps.SchedulerName == "" {
		ps.SchedulerName = "default-scheduler"
	}
}

// convertPodSpecRoundTrip: Convert_v1_PodSpec_To_core_PodSpec takes
// serviceAccount when serviceAccountName is empty, and the way back writes
// serviceAccountName into the deprecated serviceAccount.
func convertPodSpecRoundTrip(ps *v1.PodSpec) {
	if ps.ServiceAccountName == "" {
		ps.ServiceAccountName = ps.DeprecatedServiceAccount
	}
	ps.DeprecatedServiceAccount = ps.ServiceAccountName
}

// defaultContainer: SetDefaults_Container, _ContainerPort, env fieldRef,
// _ResourceList, probes and lifecycle handlers.
func defaultContainer(c *v1.Container) {
	if c.ImagePullPolicy == "" {
		if imageTag(c.Image) == "latest" {
			c.ImagePullPolicy = "Always"
		} else {
			c.ImagePullPolicy = "IfNotPresent"
		}
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = "/dev/termination-log"
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = "File"
	}
	for i := range c.Ports {
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = "TCP"
		}
	}
	for i := range c.Env {
		if vf := c.Env[i].ValueFrom; vf != nil && vf.FieldRef != nil {
			defaultFieldRef(vf.FieldRef)
		}
	}
	roundResourceList(c.Resources.Limits)
	roundResourceList(c.Resources.Requests)
	for _, p := range []*v1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		defaultProbe(p)
	}
	if c.Lifecycle != nil {
		for _, h := range []*v1.LifecycleHandler{c.Lifecycle.PostStart, c.Lifecycle.PreStop} {
			if h != nil && h.HTTPGet != nil {
				defaultHTTPGet(h.HTTPGet)
			}
		}
	}
}

// imageTag is the tag parsers.ParseImageName finds: "latest" when the
// reference has neither tag nor digest, "" when it does not parse.
func imageTag(image string) string {
	if image == "" || strings.TrimSpace(image) != image {
		return ""
	}
	name, digest := image, ""
	if i := strings.Index(image, "@"); i >= 0 {
		name, digest = image[:i], image[i+1:]
		if digest == "" {
			return ""
		}
	}
	tag := ""
	if i := strings.LastIndex(name, ":"); i >= 0 && !strings.Contains(name[i:], "/") {
		name, tag = name[:i], name[i+1:]
		if tag == "" {
			return ""
		}
	}
	// The repository path must be lower case (the registry host may not be).
	path := name
	if i := strings.Index(name, "/"); i >= 0 && strings.ContainsAny(name[:i], ".:") {
		path = name[i+1:]
	}
	if path == "" || strings.ToLower(path) != path {
		return ""
	}
	if tag == "" && digest == "" {
		return "latest"
	}
	return tag
}

// defaultProbe is SetDefaults_Probe, _HTTPGetAction and the gRPC service default.
func defaultProbe(p *v1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	if p.HTTPGet != nil {
		defaultHTTPGet(p.HTTPGet)
	}
	if p.GRPC != nil && p.GRPC.Service == nil {
		empty := ""
		p.GRPC.Service = &empty
	}
}

func defaultHTTPGet(h *v1.HTTPGetAction) {
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = "HTTP"
	}
}

func defaultFieldRef(f *v1.ObjectFieldSelector) {
	if f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

// roundResourceList is SetDefaults_ResourceList: values rounded up to milli.
func roundResourceList(l v1.ResourceList) {
	for k, q := range l {
		q.RoundUp(-3)
		l[k] = q
	}
}

// defaultVolume is SetDefaults_Volume and the per-source defaults.
func defaultVolume(vol *v1.Volume) {
	if allNil(&vol.VolumeSource) {
		vol.EmptyDir = &v1.EmptyDirVolumeSource{}
	}
	src := &vol.VolumeSource
	if src.HostPath != nil && src.HostPath.Type == nil {
		t := v1.HostPathType("")
		src.HostPath.Type = &t
	}
	if src.Secret != nil && src.Secret.DefaultMode == nil {
		src.Secret.DefaultMode = i32(0644)
	}
	if src.ConfigMap != nil && src.ConfigMap.DefaultMode == nil {
		src.ConfigMap.DefaultMode = i32(0644)
	}
	if src.DownwardAPI != nil {
		if src.DownwardAPI.DefaultMode == nil {
			src.DownwardAPI.DefaultMode = i32(0644)
		}
		defaultDownwardItems(src.DownwardAPI.Items)
	}
	if src.Projected != nil {
		defaultProjected(src.Projected)
	}
	if src.ISCSI != nil && src.ISCSI.ISCSIInterface == "" {
		src.ISCSI.ISCSIInterface = "default"
	}
	if r := src.RBD; r != nil {
		defaultString(&r.RBDPool, "rbd")
		defaultString(&r.RadosUser, "admin")
		defaultString(&r.Keyring, "/etc/ceph/keyring")
	}
	if a := src.AzureDisk; a != nil {
		defaultAzureDisk(a)
	}
	if s := src.ScaleIO; s != nil {
		defaultString(&s.StorageMode, "ThinProvisioned")
		defaultString(&s.FSType, "xfs")
	}
	if e := src.Ephemeral; e != nil && e.VolumeClaimTemplate != nil {
		spec := &e.VolumeClaimTemplate.Spec
		if spec.VolumeMode == nil {
			m := v1.PersistentVolumeMode("Filesystem")
			spec.VolumeMode = &m
		}
		roundResourceList(spec.Resources.Limits)
		roundResourceList(spec.Resources.Requests)
	}
}

func defaultString(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

func defaultAzureDisk(a *v1.AzureDiskVolumeSource) {
	if a.CachingMode == nil {
		m := v1.AzureDataDiskCachingMode("ReadWrite")
		a.CachingMode = &m
	}
	if a.Kind == nil {
		k := v1.AzureDataDiskKind("Shared")
		a.Kind = &k
	}
	if a.FSType == nil {
		fs := "ext4"
		a.FSType = &fs
	}
	if a.ReadOnly == nil {
		a.ReadOnly = boolp(false)
	}
}

func defaultDownwardItems(items []v1.DownwardAPIVolumeFile) {
	for i := range items {
		if items[i].FieldRef != nil {
			defaultFieldRef(items[i].FieldRef)
		}
	}
}

// defaultProjected: SetDefaults_ProjectedVolumeSource, the downward API items
// and SetDefaults_ServiceAccountTokenProjection (one hour).
func defaultProjected(p *v1.ProjectedVolumeSource) {
	if p.DefaultMode == nil {
		p.DefaultMode = i32(0644)
	}
	for i := range p.Sources {
		s := &p.Sources[i]
		if s.DownwardAPI != nil {
			defaultDownwardItems(s.DownwardAPI.Items)
		}
		if s.ServiceAccountToken != nil && s.ServiceAccountToken.ExpirationSeconds == nil {
			s.ServiceAccountToken.ExpirationSeconds = i64(3600)
		}
	}
}

// allNil is ptr.AllPtrFieldsNil: every pointer field of the struct is nil.
func allNil(src *v1.VolumeSource) bool {
	v := reflect.ValueOf(src).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Ptr && !f.IsNil() {
			return false
		}
	}
	return true
}
