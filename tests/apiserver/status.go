// SPDX-License-Identifier: Apache-2.0
//
// Errors and warnings as kube-apiserver returns them and kubectl prints them:
// the Status (reason, code, message), "Error from server (Reason): ..." lines
// and the apiserver's deduplicating, truncating warning recorder.
package main

import (
	"fmt"
	"os"
	"unicode"
	"unicode/utf8"
)

// apiStatus is the error kube-apiserver would return to kubectl.
type apiStatus struct {
	reason  string
	code    int
	message string
	exit    int
}

func internalError(err error) *apiStatus {
	return &apiStatus{"InternalError", 500, "Internal error occurred: " + err.Error(), exitFailed}
}

func badRequest(msg string) *apiStatus {
	return &apiStatus{"BadRequest", 400, msg, exitFailed}
}

// panicStatus is what kubectl shows when a request made kube-apiserver panic.
func panicStatus() *apiStatus {
	return &apiStatus{"InternalError", 500, `an error on the server ("This request caused apiserver to panic. Look in the logs for details.") has prevented the request from succeeding`, exitFailed}
}

// callError mirrors webhookutil.ErrCallingWebhook.
type callError struct {
	webhook string
	reason  error
}

func (e *callError) Error() string {
	return fmt.Sprintf("failed calling webhook %q: %v", e.webhook, e.reason)
}

func (c *config) printStatus(st *apiStatus) {
	prefix := ""
	switch c.operation {
	case "CREATE":
		prefix = fmt.Sprintf("error when creating %q: ", c.source)
	case "UPDATE":
		prefix = fmt.Sprintf("error when replacing %q: ", c.source)
	}
	if st.reason != "" {
		fmt.Fprintf(os.Stderr, "Error from server (%s): %s%s\n", st.reason, prefix, st.message)
	} else {
		fmt.Fprintf(os.Stderr, "Error from server: %s%s\n", prefix, st.message)
	}
}

// warnings mirrors the apiserver's deduplicating, truncating warning recorder
// (endpoints/filters/warning.go) and kubectl printing "Warning: ...".
type warnings struct {
	recorded   map[string]bool
	ordered    []string
	out        []string
	written    int
	truncating bool
}

const (
	warnTotalRunes = 4 * 1024
	warnItemRunes  = 256
)

func truncRunes(s string) (string, int) {
	n := utf8.RuneCountInString(s)
	if n > warnItemRunes {
		return string([]rune(s)[:warnItemRunes]), warnItemRunes
	}
	return s, n
}

// validWarning is apimachinery's NewWarningHeader rule: a text that is not
// valid UTF-8 or has a control character (unicode.IsControl) is dropped.
func validWarning(text string) bool {
	if !utf8.ValidString(text) {
		return false
	}
	for _, r := range text {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (w *warnings) add(text string) {
	if text == "" || (w.written >= warnTotalRunes && w.truncating) {
		return
	}
	if w.recorded == nil {
		w.recorded = map[string]bool{}
	}
	if w.recorded[text] {
		return
	}
	w.recorded[text] = true
	w.ordered = append(w.ordered, text)
	n := utf8.RuneCountInString(text)
	if w.truncating && n > warnItemRunes {
		text, n = truncRunes(text)
	}
	if !validWarning(text) {
		return
	}
	if w.written+n <= warnTotalRunes || w.truncating {
		w.written += n
		w.out = append(w.out, text)
		return
	}
	w.truncating = true
	w.written = 0
	w.out = nil
	for _, t := range w.ordered {
		t, n := truncRunes(t)
		if validWarning(t) {
			w.written += n
			w.out = append(w.out, t)
		}
	}
}

func (w *warnings) flush() {
	for _, t := range w.out {
		fmt.Fprintf(os.Stderr, "Warning: %s\n", t)
	}
	w.out = nil
}
