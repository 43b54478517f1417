// SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by the package's tests.
package main

import (
	"testing"

	jsonpatch "github.com/evanphx/json-patch"
)

func mustDecodePatch(t *testing.T, p string) jsonpatch.Patch {
	t.Helper()
	patch, err := jsonpatch.DecodePatch([]byte(p))
	if err != nil {
		t.Fatal(err)
	}
	return patch
}
