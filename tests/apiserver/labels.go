// SPDX-License-Identifier: Apache-2.0
//
// Label selectors as metav1.LabelSelectorAsSelector evaluates them (used by
// the Job validation and by the webhook's objectSelector and
// namespaceSelector): matchLabels and matchExpressions In, NotIn, Exists,
// DoesNotExist, all ANDed; an empty selector matches everything.
package main

import (
	"fmt"

	v1 "admission-sim/k8s/v1"
)

// selectorMatches reports whether labels satisfy sel. A nil selector matches
// nothing (LabelSelectorAsSelector(nil) is labels.Nothing()).
func selectorMatches(sel *v1.LabelSelector, labels map[string]string) (bool, error) {
	if sel == nil {
		return false, nil
	}
	for k, v := range sel.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false, nil
		}
	}
	for _, r := range sel.MatchExpressions {
		ok, err := requirementMatches(r, labels)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

func requirementMatches(r v1.LabelSelectorRequirement, labels map[string]string) (bool, error) {
	v, has := labels[r.Key]
	in := false
	for _, x := range r.Values {
		if x == v {
			in = true
		}
	}
	switch r.Operator {
	case "In":
		if len(r.Values) == 0 {
			return false, fmt.Errorf("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty")
		}
		return has && in, nil
	case "NotIn":
		if len(r.Values) == 0 {
			return false, fmt.Errorf("values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty")
		}
		return !has || !in, nil
	case "Exists":
		return has, nil
	case "DoesNotExist":
		return !has, nil
	}
	return false, fmt.Errorf("%q is not a valid label selector operator", r.Operator)
}
