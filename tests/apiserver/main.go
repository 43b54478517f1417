// SPDX-License-Identifier: Apache-2.0
//
// Command admission-sim is hookwarden's stand-in for kube-apiserver around a
// mutating admission webhook call: it decodes and defaults a batch/v1 Job as
// the apiserver does, selects the webhook by its MutatingWebhookConfiguration,
// builds the AdmissionReview, calls the webhook over TLS the way the
// apiserver's webhook client does, judges the answer by the apiserver's rules,
// applies the JSONPatch with evanphx/json-patch (the library the apiserver
// uses), decodes and defaults the result again, validates the final Job as
// the Job strategy does and prints the object (and, with --stored, the object
// as a cluster would store it). See README.md for what is mirrored from which
// upstream file.
//
// Written from a reading of kube-apiserver's sources (no code copied):
//
//	staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/mutating/dispatcher.go
//	staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/request/admissionreview.go
//	staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/errors/statuserror.go
//	staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/{rules,namespace,object}/*.go
//	staging/src/k8s.io/apiserver/pkg/util/webhook/{client,authentication,validation,error}.go
//	staging/src/k8s.io/apiserver/pkg/endpoints/handlers/{create,update}.go
//	staging/src/k8s.io/apiserver/pkg/endpoints/filters/warning.go
//	staging/src/k8s.io/apiserver/pkg/registry/rest/{create,update}.go
//	pkg/apis/batch/v1/defaults.go, pkg/apis/core/v1/defaults.go (and their zz_generated.defaults.go)
//	pkg/apis/batch/validation/validation.go, pkg/registry/batch/job/strategy.go
//	pkg/api/pod/warnings.go
package main

import (
	"fmt"
	"os"
)

const (
	exitOK       = 0 // success
	exitUsage    = 1 // bad flags or unreadable/invalid local input
	exitFailed   = 2 // webhook call failed, or the apiserver would reject its answer
	exitDenied   = 3 // the webhook answered allowed=false
	exitReinvoke = 4 // --reinvoke: the second call changed the object again
	exitExpect   = 5 // --expect: final object differs from the expected one
	exitInvalid  = 6 // the apiserver refuses the object itself: decode (400), validation (422), conflict (409)
)

const (
	admissionGroup = "admission.k8s.io"
	userAgent      = "kube-apiserver-admission" // setGlobalDefaults in util/webhook/authentication.go
)

var verbose bool

func vlog(format string, a ...interface{}) {
	if verbose {
		fmt.Fprintf(os.Stderr, "admission-sim: "+format+"\n", a...)
	}
}

func note(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "admission-sim: "+format+"\n", a...)
}

func usageErr(format string, a ...interface{}) int {
	fmt.Fprintf(os.Stderr, "admission-sim: error: "+format+"\n", a...)
	return exitUsage
}

func main() {
	os.Exit(run(os.Args[1:]))
}

const topUsage = `admission-sim: kube-apiserver's part around a mutating admission webhook, for tests

Usage:
  admission-sim review  -f OBJECT [--url https://HOST:PORT/PATH | --webhook-config FILE --url https://HOST:PORT] [flags]
                        default, call the webhook (if selected), apply its patch, default again,
                        validate, print the object (--stored FILE: the object as stored)
  admission-sim request -f OBJECT [flags]                        print the AdmissionReview that would be sent
  admission-sim default -f OBJECT [-n NS]                        print the object as kube-apiserver defaults it
  admission-sim patch   -f OBJECT --patch PATCH [--expect FILE]  apply a JSONPatch offline with the apiserver's library
  admission-sim help

Without --url and --webhook-config, review only defaults, validates and
stores (a Job created before any webhook was installed).
Run "admission-sim review -h" for the flags. Exit codes: 0 ok, 1 usage/input,
2 call failed or answer rejected, 3 denied, 4 not idempotent (--reinvoke),
5 differs from --expect, 6 refused by the apiserver itself (400/409/422).
`

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, topUsage)
		return exitUsage
	}
	switch args[0] {
	case "review":
		return runReview(args[1:], false)
	case "request":
		return runReview(args[1:], true)
	case "default":
		return runDefault(args[1:])
	case "patch":
		return runPatch(args[1:])
	case "help", "-h", "--help":
		fmt.Print(topUsage)
		return exitOK
	default:
		fmt.Fprint(os.Stderr, topUsage)
		return usageErr("unknown command %q", args[0])
	}
}
