// SPDX-License-Identifier: Apache-2.0
//
// The review flow: the request prepared (sim.go), the webhook selected by its
// registration and called (with --reinvoke, called again on its own output),
// then for a Job what the registry does after admission (store.go): system
// fields, strategy, validation, storage. stdout gets the admitted object
// (defaulted, patched, defaulted again, without typed-encoding stubs);
// --stored gets the object as a read from the cluster would return it.
package main

import (
	"fmt"
	"os"
	"strings"

	v1 "admission-sim/k8s/v1"
)

func (s *sim) review() int {
	c := s.c
	defer s.warn.flush()
	if s.status != nil {
		return s.fail(s.status)
	}
	if c.stored != "" && s.typed == nil {
		return usageErr("--stored needs a batch/v1 Job (without --literal)")
	}
	out, called := s.admit()
	if out.status != nil {
		return s.fail(out.status)
	}
	final := out.object
	if final == nil { // DELETE
		return exitOK
	}
	code, diffMsg := exitOK, []string(nil)
	if c.reinvoke && called {
		if code, diffMsg, out.status = s.reinvokeCheck(out); out.status != nil {
			return s.fail(out.status)
		}
	}
	shown := stripStubs(final, s.stubs)
	if out.typed != nil {
		if st := s.persist(out.typed); st != nil {
			return s.fail(st)
		}
	}
	if !c.raw {
		printObject(shown)
	}
	s.warn.flush()
	if code == exitReinvoke {
		note("not idempotent: calling the webhook again with its own output changed the object (reinvocationPolicy IfNeeded would apply this):\n%s", strings.Join(diffMsg, "\n"))
		return code
	}
	if c.stored != "" {
		if err := os.WriteFile(c.stored, indentJSON(encodeObject(jobToMap(readBack(out.typed)), false)), 0o644); err != nil {
			return usageErr("--stored: %v", err)
		}
	}
	if c.expect != "" {
		return compareExpect(c.expect, shown)
	}
	return exitOK
}

func (s *sim) fail(st *apiStatus) int {
	s.warn.flush()
	s.c.printStatus(st)
	return st.exit
}

// admit runs mutating admission: no webhook, a webhook its registration
// does not select, or the call. called says whether the webhook was called.
func (s *sim) admit() (outcome, bool) {
	c := s.c
	unchanged := outcome{object: s.object, typed: s.typed}
	if c.noWebhook {
		vlog("no webhook configured: defaulting and validation only")
		return unchanged, false
	}
	if reason := s.skipReason(); reason != "" {
		note("webhook %q not called: %s", c.webhookName, reason)
		return unchanged, false
	}
	out := s.invoke(s.object, s.typed)
	if out.failedOpen != nil {
		s.warn.flush()
		note("failurePolicy Ignore: failing open: %v", out.failedOpen)
	}
	return out, true
}

// reinvokeCheck calls the webhook with its own output; exitReinvoke and a
// diff when that changes the object.
func (s *sim) reinvokeCheck(first outcome) (int, []string, *apiStatus) {
	vlog("reinvoking with the patched object")
	var typed *v1.Job
	if first.typed != nil {
		typed, _, _ = mapToJob(first.object)
	}
	again := s.invoke(deepCopyJSON(first.object).(jmap), typed)
	if again.failedOpen != nil {
		s.warn.flush()
		note("failurePolicy Ignore: failing open on reinvocation: %v", again.failedOpen)
	}
	if again.status != nil {
		return exitOK, nil, again.status
	}
	if jsonEqual(first.object, again.object) {
		return exitOK, nil, nil
	}
	var diff []string
	jsonDiff("", stripStubs(first.object, s.stubs), stripStubs(again.object, s.stubs), &diff, reinvokeWords)
	return exitReinvoke, diff, nil
}

// persist is the registry after admission: CREATE and UPDATE of a Job.
func (s *sim) persist(j *v1.Job) *apiStatus {
	switch s.c.operation {
	case "CREATE":
		return s.persistCreate(j)
	case "UPDATE":
		return s.persistUpdate(j, s.oldTyped)
	}
	return nil
}

func compareExpect(file string, got interface{}) int {
	want, err := readDoc(file)
	if err != nil {
		return usageErr("--expect: %v", err)
	}
	if jsonEqual(want, got) {
		return exitOK
	}
	var lines []string
	jsonDiff("", want, got, &lines, expectWords)
	fmt.Fprintf(os.Stderr, "admission-sim: result differs from %s (- expected only, + result only, ~ changed):\n%s\n", file, strings.Join(lines, "\n"))
	return exitExpect
}
