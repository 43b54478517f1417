// SPDX-License-Identifier: Apache-2.0
//
// The warning recorder: what kube-apiserver keeps of a webhook's warnings.
package main

import (
	"strings"
	"testing"
)

// The recorder keeps what kube-apiserver's warning filter keeps: valid UTF-8
// without control characters, each text once, cut to 256 runes only once the
// 4096-rune budget is spent.
func TestWarningsRecorder(t *testing.T) {
	var w warnings
	for _, text := range []string{
		"plain",
		"hook value \"pre-install\u020cpost-install\" is not one Helm knows", // kept: a letter
		"emoji \U0001F600 kept",
		"plain",          // duplicate: once
		"",               // empty: dropped
		"tab\there",      // C0: dropped
		"next\u0085line", // C1: dropped
		"del\x7f",        // DEL: dropped
		"bad \xc3 utf-8", // invalid UTF-8: dropped
	} {
		w.add(text)
	}
	want := []string{"plain", "hook value \"pre-install\u020cpost-install\" is not one Helm knows", "emoji \U0001F600 kept"}
	if strings.Join(w.out, "|") != strings.Join(want, "|") {
		t.Fatalf("kept %q, want %q", w.out, want)
	}

	var big warnings
	long := strings.Repeat("x", 300)
	for i := 0; i < 20; i++ {
		big.add(long + string(rune('a'+i)))
	}
	if len(big.out) == 0 {
		t.Fatal("over the budget every warning was dropped")
	}
	for _, o := range big.out {
		if n := len([]rune(o)); n != 256 {
			t.Fatalf("over the budget a warning has %d runes, want 256", n)
		}
	}
	if len(big.out)*256 > 4096 {
		t.Fatalf("%d warnings of 256 runes pass the 4096-rune budget", len(big.out))
	}
}
