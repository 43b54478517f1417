// SPDX-License-Identifier: Apache-2.0
//
// The subset of ValidatePodTemplateSpec / ValidatePodSpec
// (pkg/apis/core/validation/validation.go) that admission-sim checks on a
// Job's pod template, with upstream's paths and messages, and the pod
// template warnings of pkg/api/pod/warnings.go that concern what hookwarden
// touches (imagePullSecrets).
package main

import (
	"fmt"

	v1 "admission-sim/k8s/v1"
)

// validatePodTemplate is ValidatePodTemplateSpec (subset).
func validatePodTemplate(t *v1.PodTemplateSpec, p string) []fieldError {
	errs := validateLabels(t.Labels, p+".labels")
	errs = append(errs, validateAnnotations(t.Annotations, p+".annotations")...)
	errs = append(errs, validatePodSpec(&t.Spec, p+".spec")...)
	if len(t.Spec.EphemeralContainers) > 0 {
		errs = append(errs, forbidden(p+".spec.ephemeralContainers", "ephemeral containers not allowed in pod template"))
	}
	return errs
}

func validatePodSpec(s *v1.PodSpec, p string) []fieldError {
	volumes, errs := validateVolumes(s.Volumes, p+".volumes")
	names := map[string]bool{}
	for i := range s.InitContainers {
		errs = append(errs, validateContainer(&s.InitContainers[i], fmt.Sprintf("%s.initContainers[%d]", p, i), names, volumes)...)
	}
	if len(s.Containers) == 0 {
		errs = append(errs, required(p+".containers", ""))
	}
	for i := range s.Containers {
		errs = append(errs, validateContainer(&s.Containers[i], fmt.Sprintf("%s.containers[%d]", p, i), names, volumes)...)
	}
	switch s.RestartPolicy {
	case "Always", "OnFailure", "Never":
	case "":
		errs = append(errs, required(p+".restartPolicy", ""))
	default:
		errs = append(errs, notSupported(p+".restartPolicy", s.RestartPolicy, "Always", "OnFailure", "Never"))
	}
	switch s.DNSPolicy {
	case "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None":
	case "":
		errs = append(errs, required(p+".dnsPolicy", ""))
	default:
		errs = append(errs, notSupported(p+".dnsPolicy", s.DNSPolicy, "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"))
	}
	if s.ActiveDeadlineSeconds != nil && (*s.ActiveDeadlineSeconds < 1 || *s.ActiveDeadlineSeconds > 2147483647) {
		errs = append(errs, invalid(p+".activeDeadlineSeconds", *s.ActiveDeadlineSeconds, "must be between 1 and 2147483647, inclusive"))
	}
	errs = append(errs, validateNames(p, s)...)
	errs = append(errs, validateLabels(s.NodeSelector, p+".nodeSelector")...)
	return errs
}

// validateNames: service account, hostname, subdomain, scheduler and
// priority class names.
func validateNames(p string, s *v1.PodSpec) []fieldError {
	var errs []fieldError
	check := func(field, v string, fn func(string) []string) {
		if v == "" {
			return
		}
		for _, msg := range fn(v) {
			errs = append(errs, invalid(p+"."+field, v, msg))
		}
	}
	check("serviceAccountName", s.ServiceAccountName, isDNS1123Subdomain)
	check("hostname", s.Hostname, isDNS1123Label)
	check("subdomain", s.Subdomain, isDNS1123Label)
	check("priorityClassName", s.PriorityClassName, isDNS1123Subdomain)
	return errs
}

// validateVolumes: names required, DNS labels, unique; one source each.
func validateVolumes(vols []v1.Volume, p string) (map[string]bool, []fieldError) {
	names := map[string]bool{}
	var errs []fieldError
	for i := range vols {
		vp := fmt.Sprintf("%s[%d]", p, i)
		n := vols[i].Name
		switch {
		case n == "":
			errs = append(errs, required(vp+".name", ""))
		case names[n]:
			errs = append(errs, fieldError{errDuplicate, vp + ".name", n, ""})
		default:
			for _, msg := range isDNS1123Label(n) {
				errs = append(errs, invalid(vp+".name", n, msg))
			}
		}
		names[n] = true
		if allNil(&vols[i].VolumeSource) {
			errs = append(errs, required(vp, "must specify a volume type"))
		} else if countSources(&vols[i].VolumeSource) > 1 {
			errs = append(errs, forbidden(vp, "may not specify more than 1 volume type"))
		}
	}
	return names, errs
}

func countSources(src *v1.VolumeSource) int {
	n := 0
	for _, set := range []bool{src.HostPath != nil, src.EmptyDir != nil, src.GCEPersistentDisk != nil,
		src.AWSElasticBlockStore != nil, src.GitRepo != nil, src.Secret != nil, src.NFS != nil, src.ISCSI != nil,
		src.Glusterfs != nil, src.PersistentVolumeClaim != nil, src.RBD != nil, src.FlexVolume != nil,
		src.Cinder != nil, src.CephFS != nil, src.Flocker != nil, src.DownwardAPI != nil, src.FC != nil,
		src.AzureFile != nil, src.ConfigMap != nil, src.VsphereVolume != nil, src.Quobyte != nil,
		src.AzureDisk != nil, src.PhotonPersistentDisk != nil, src.Projected != nil, src.PortworxVolume != nil,
		src.ScaleIO != nil, src.StorageOS != nil, src.CSI != nil, src.Ephemeral != nil, src.Image != nil} {
		if set {
			n++
		}
	}
	return n
}

// validateContainer: name, image, policies, ports, env names, volume mounts.
func validateContainer(c *v1.Container, p string, names, volumes map[string]bool) []fieldError {
	var errs []fieldError
	switch {
	case c.Name == "":
		errs = append(errs, required(p+".name", ""))
	case names[c.Name]:
		errs = append(errs, fieldError{errDuplicate, p + ".name", c.Name, ""})
	default:
		for _, msg := range isDNS1123Label(c.Name) {
			errs = append(errs, invalid(p+".name", c.Name, msg))
		}
	}
	names[c.Name] = true
	if c.Image == "" {
		errs = append(errs, required(p+".image", ""))
	}
	switch c.ImagePullPolicy {
	case "Always", "IfNotPresent", "Never":
	case "":
		errs = append(errs, required(p+".imagePullPolicy", ""))
	default:
		errs = append(errs, notSupported(p+".imagePullPolicy", c.ImagePullPolicy, "Always", "IfNotPresent", "Never"))
	}
	switch c.TerminationMessagePolicy {
	case "File", "FallbackToLogsOnError":
	case "":
		errs = append(errs, required(p+".terminationMessagePolicy", "must be 'File' or 'FallbackToLogsOnError'"))
	default:
		errs = append(errs, invalid(p+".terminationMessagePolicy", c.TerminationMessagePolicy, "must be 'File' or 'FallbackToLogsOnError'"))
	}
	errs = append(errs, validatePorts(c.Ports, p+".ports")...)
	for i, e := range c.Env {
		if e.Name == "" {
			errs = append(errs, required(fmt.Sprintf("%s.env[%d].name", p, i), ""))
		}
	}
	for i, m := range c.VolumeMounts {
		mp := fmt.Sprintf("%s.volumeMounts[%d]", p, i)
		if m.Name == "" {
			errs = append(errs, required(mp+".name", ""))
		} else if !volumes[m.Name] {
			errs = append(errs, fieldError{errNotFound, mp + ".name", m.Name, ""})
		}
		if m.MountPath == "" {
			errs = append(errs, required(mp+".mountPath", ""))
		}
	}
	return errs
}

func validatePorts(ports []v1.ContainerPort, p string) []fieldError {
	var errs []fieldError
	for i, port := range ports {
		pp := fmt.Sprintf("%s[%d]", p, i)
		if port.ContainerPort == 0 {
			errs = append(errs, required(pp+".containerPort", ""))
		} else if port.ContainerPort < 1 || port.ContainerPort > 65535 {
			errs = append(errs, invalid(pp+".containerPort", port.ContainerPort, "must be between 1 and 65535, inclusive"))
		}
		switch port.Protocol {
		case "TCP", "UDP", "SCTP":
		case "":
			errs = append(errs, required(pp+".protocol", ""))
		default:
			errs = append(errs, notSupported(pp+".protocol", port.Protocol, "SCTP", "TCP", "UDP"))
		}
	}
	return errs
}

// podTemplateWarnings: the imagePullSecrets warnings of warnings.go
// (duplicate names, empty names) for spec.template.
func podTemplateWarnings(s *v1.PodSpec, p string) []string {
	var out []string
	if len(s.ImagePullSecrets) > 1 {
		seen := map[string]bool{}
		for i, ref := range s.ImagePullSecrets {
			if seen[ref.Name] {
				out = append(out, fmt.Sprintf("%s.spec.imagePullSecrets[%d].name: duplicate name %q", p, i, ref.Name))
			}
			seen[ref.Name] = true
		}
	}
	for i, ref := range s.ImagePullSecrets {
		if ref.Name == "" {
			out = append(out, fmt.Sprintf("%s.spec.imagePullSecrets[%d].name: invalid empty name %q", p, i, ref.Name))
		}
	}
	return out
}
