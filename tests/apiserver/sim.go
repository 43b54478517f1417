// SPDX-License-Identifier: Apache-2.0
//
// The simulator's state and its preparation of a request, as the create and
// update handlers do before admission: the objects read, their namespace
// defaulted and checked against the request's
// (rest.EnsureObjectNamespaceMatchesRequestNamespace), system fields wiped on
// CREATE (rest.WipeObjectMetaSystemFields), and for batch/v1 Job the typed
// decode (400 on a field the type lacks under fieldValidation Strict, or on
// a wrongly typed value) and defaulting of the object and of the stored
// --old object. Other kinds get the typed-encoding stubs only.
package main

import (
	"net/http"
	"net/url"

	v1 "admission-sim/k8s/v1"
)

type sim struct {
	c        *config
	kind     kindInfo
	ns, name string
	object   jmap    // as sent (nil for DELETE)
	old      jmap    // oldObject (nil for CREATE)
	typed    *v1.Job // object, typed (batch/v1 Job without --literal)
	oldTyped *v1.Job
	stubs    []stub
	client   *http.Client
	endpoint *url.URL
	warn     warnings
	calls    int
	status   *apiStatus // the request already failed before admission
}

// stub records a typed-serialization artifact admission-sim added to the
// object (so it can be taken out again before printing).
type stub struct {
	path    []string // the map holding the key
	key     string
	created bool // the whole map at path was created
}

func newSim(c *config, requestOnly bool) (*sim, int) {
	s := &sim{c: c}
	obj, err := readObject(c.file)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	s.kind, err = resolveKind(c, apiVersion, kind)
	if err != nil {
		return nil, usageErr("%s: %v", c.file, err)
	}
	if c.oldFile != "" {
		s.old, err = readObject(c.oldFile)
		if err != nil {
			return nil, usageErr("%v", err)
		}
		oav, _ := s.old["apiVersion"].(string)
		ok, _ := s.old["kind"].(string)
		if oav != apiVersion || ok != kind {
			return nil, usageErr("--old is %s %s but -f is %s %s", oav, ok, apiVersion, kind)
		}
	}
	if c.operation == "DELETE" {
		s.old, obj = obj, nil
	}
	if code := s.setNamespace(obj); code != exitOK {
		return nil, code
	}
	if obj != nil && c.operation == "CREATE" && !c.literal {
		// rest.WipeObjectMetaSystemFields, done by the create handler before admission.
		md := getMap(obj, "metadata")
		for _, k := range []string{"creationTimestamp", "uid", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"} {
			delete(md, k)
		}
	}
	s.object = obj
	if !c.literal {
		if isJobKind(s.kind) {
			if code := s.prepareTyped(); code != exitOK {
				return nil, code
			}
		} else {
			s.addStubsAll()
		}
	}
	if requestOnly || c.noWebhook || s.status != nil {
		return s, exitOK
	}
	if code := s.setupClient(); code != exitOK {
		return nil, code
	}
	return s, exitOK
}

// setNamespace: the request namespace comes from the URL; the object's is
// defaulted from it or must match it.
func (s *sim) setNamespace(obj jmap) int {
	c := s.c
	main := obj
	if main == nil {
		main = s.old
	}
	objNS := getString(main, "metadata", "namespace")
	if s.kind.namespaced {
		s.ns = c.namespace
		if s.ns == "" {
			s.ns = objNS
		}
		if s.ns == "" {
			s.ns = "default"
		}
		if objNS != "" && objNS != s.ns {
			return usageErr("the namespace of the provided object does not match the namespace sent on the request (%q vs --namespace %q)", objNS, s.ns)
		}
	} else if c.namespace != "" {
		return usageErr("%s is cluster-scoped; drop --namespace", s.kind.kind)
	}
	if obj != nil && s.old != nil {
		if on, nn := getString(s.old, "metadata", "name"), getString(obj, "metadata", "name"); on != nn {
			return usageErr("--old is named %q but -f is named %q", on, nn)
		}
		if ons := getString(s.old, "metadata", "namespace"); ons != "" && ons != objNS && objNS != "" {
			return usageErr("--old is in namespace %q but -f is in %q", ons, objNS)
		}
	}
	s.name = getString(main, "metadata", "name")
	if s.name == "" && c.operation != "CREATE" {
		return usageErr("%s: metadata.name is required for %s", c.file, c.operation)
	}
	if s.name == "" && getString(main, "metadata", "generateName") == "" {
		return usageErr("%s: metadata.name or metadata.generateName is required", c.file)
	}
	for _, o := range []jmap{obj, s.old} {
		if o == nil {
			continue
		}
		md := getMap(o, "metadata")
		if md == nil {
			md = jmap{}
			o["metadata"] = md
		}
		if s.kind.namespaced {
			md["namespace"] = s.ns
		} else {
			delete(md, "namespace")
		}
	}
	return exitOK
}

// prepareTyped decodes and defaults the Job (and the stored one) as the
// handler's decoder does; the request fails with 400 when it cannot.
func (s *sim) prepareTyped() int {
	if s.object != nil {
		job, unknown, err := mapToJob(s.object)
		switch {
		case err != nil:
			s.status = strictDecodeError(nil, err)
			return exitOK
		case len(unknown) > 0 && s.c.fieldValidation == "Strict":
			s.status = strictDecodeError(unknown, nil)
			return exitOK
		case len(unknown) > 0 && s.c.fieldValidation == "Warn":
			for _, u := range unknown {
				s.warn.add(u)
			}
		}
		defaultJob(job)
		s.typed = job
		s.object = jobToMap(job)
	}
	if s.old != nil {
		old, _, err := mapToJob(s.old)
		if err != nil {
			return usageErr("--old %s: not a batch/v1 Job a cluster could hold: %v", s.c.oldFile, err)
		}
		defaultJob(old) // a cluster holds its objects defaulted
		s.oldTyped = old
		s.old = jobToMap(old)
	}
	s.stubs = jobStubs()
	return exitOK
}

// addStubsAll adds the typed-encoding stubs to a kind without a typed model.
func (s *sim) addStubsAll() {
	if s.object != nil {
		s.stubs = addStubs(s.object, s.kind)
	}
	if s.old != nil {
		addStubs(s.old, s.kind)
	}
}

// addStubs adds what kube's typed JSON encoding always emits but a hand-written
// manifest usually lacks: "creationTimestamp": null in each ObjectMeta and
// "status": {} for kinds whose status is a struct of optional fields.
func addStubs(obj jmap, k kindInfo) []stub {
	var stubs []stub
	metas := append([][]string{{"metadata"}}, k.templates...)
	for _, p := range metas {
		parent := getMap(obj, p[:len(p)-1]...)
		if parent == nil {
			continue
		}
		last := p[len(p)-1]
		md, ok := parent[last].(jmap)
		created := false
		if !ok {
			if _, present := parent[last]; present {
				continue
			}
			md = jmap{}
			parent[last] = md
			created = true
		}
		if _, present := md["creationTimestamp"]; !present {
			md["creationTimestamp"] = nil
			stubs = append(stubs, stub{p, "creationTimestamp", created})
		}
	}
	if k.statusStub {
		if _, present := obj["status"]; !present {
			obj["status"] = jmap{}
			stubs = append(stubs, stub{nil, "status", false})
		}
	}
	return stubs
}

// stripStubs removes the artifacts addStubs added, where they are unchanged.
func stripStubs(obj jmap, stubs []stub) jmap {
	out := deepCopyJSON(obj).(jmap)
	for _, st := range stubs {
		if st.key == "status" {
			if m, ok := out["status"].(jmap); ok && len(m) == 0 {
				delete(out, "status")
			}
			continue
		}
		md := getMap(out, st.path...)
		if md == nil {
			continue
		}
		if v, ok := md[st.key]; ok && v == nil {
			delete(md, st.key)
		}
		if st.created && len(md) == 0 {
			if parent := getMap(out, st.path[:len(st.path)-1]...); parent != nil {
				delete(parent, st.path[len(st.path)-1])
			}
		}
	}
	return out
}
