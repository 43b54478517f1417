// SPDX-License-Identifier: Apache-2.0
//
// Field errors and the 422 Invalid Status, as k8s.io/apimachinery's
// util/validation/field (Error, ErrorBody, NotSupported, TooLong, ...) and
// api/errors.NewInvalid write them, plus the name and label syntax checks of
// util/validation (IsDNS1123Subdomain, IsDNS1123Label, IsQualifiedName,
// IsValidLabelValue) with their messages.
package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

type fieldError struct {
	typ    string // "Required value", "Invalid value", ...
	field  string
	value  interface{}
	detail string
}

const (
	errRequired     = "Required value"
	errInvalid      = "Invalid value"
	errNotSupported = "Unsupported value"
	errDuplicate    = "Duplicate value"
	errNotFound     = "Not found"
	errTooLong      = "Too long"
	errForbidden    = "Forbidden"
)

// Error is field.Error.Error: "<field>: <ErrorBody>".
func (e fieldError) Error() string {
	return e.field + ": " + e.body()
}

// body is field.Error.ErrorBody: no value for Required, Forbidden and Too
// long; otherwise the value (pointers dereferenced, strings quoted, numbers
// and bools plain, anything else as Go's %#v would print it; here structs are
// printed as JSON, which is the one place this differs).
func (e fieldError) body() string {
	s := e.typ
	switch e.typ {
	case errRequired, errForbidden, errTooLong:
	default:
		s += ": " + formatBadValue(e.value)
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

func formatBadValue(v interface{}) string {
	rv := reflect.ValueOf(v)
	if v == nil || (rv.Kind() == reflect.Ptr && rv.IsNil()) {
		return "null"
	}
	if rv.Kind() == reflect.Ptr {
		rv = rv.Elem()
		v = rv.Interface()
	}
	switch rv.Kind() {
	case reflect.Int32, reflect.Int64, reflect.Int, reflect.Float64, reflect.Bool:
		return fmt.Sprintf("%v", v)
	case reflect.String:
		return strconv.Quote(rv.String())
	case reflect.Map:
		if m, ok := v.(map[string]string); ok {
			return fmt.Sprintf("%#v", m)
		}
	}
	if s, ok := v.(fmt.Stringer); ok {
		return s.String()
	}
	b, _ := json.Marshal(v)
	return fmt.Sprintf("%T%s", v, b)
}

func required(f, detail string) fieldError { return fieldError{errRequired, f, nil, detail} }
func invalid(f string, v interface{}, detail string) fieldError {
	return fieldError{errInvalid, f, v, detail}
}
func forbidden(f, detail string) fieldError { return fieldError{errForbidden, f, nil, detail} }

// notSupported is field.NotSupported: detail `supported values: "a", "b"`.
func notSupported(f string, v interface{}, valid ...string) fieldError {
	q := make([]string, len(valid))
	for i, s := range valid {
		q[i] = strconv.Quote(s)
	}
	return fieldError{errNotSupported, f, v, "supported values: " + strings.Join(q, ", ")}
}

// invalidStatus is errors.NewInvalid(Job.batch, name, errs): 422 with the
// aggregate message (one error plain, several in brackets, duplicates once).
func invalidStatus(name string, errs []fieldError) *apiStatus {
	var msgs []string
	seen := map[string]bool{}
	for _, e := range errs {
		if m := e.Error(); !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	agg := msgs[0]
	if len(msgs) > 1 {
		agg = "[" + strings.Join(msgs, ", ") + "]"
	}
	return &apiStatus{"Invalid", 422, fmt.Sprintf("Job.batch %q is invalid: %s", name, agg), exitInvalid}
}

var (
	dns1123LabelRE     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123SubdomainRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	qualifiedNameRE    = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)
	labelValueRE       = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`)
)

const (
	dns1123LabelMsg     = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
	dns1123SubdomainMsg = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	qualifiedNameMsg    = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
	labelValueMsg       = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

func isDNS1123Label(v string) []string {
	var errs []string
	if len(v) > 63 {
		errs = append(errs, "must be no more than 63 characters")
	}
	if !dns1123LabelRE.MatchString(v) {
		errs = append(errs, dns1123LabelMsg)
	}
	return errs
}

func isDNS1123Subdomain(v string) []string {
	var errs []string
	if len(v) > 253 {
		errs = append(errs, "must be no more than 253 characters")
	}
	if !dns1123SubdomainRE.MatchString(v) {
		errs = append(errs, dns1123SubdomainMsg)
	}
	return errs
}

func isQualifiedName(v string) []string {
	var errs []string
	parts := strings.Split(v, "/")
	name := v
	switch len(parts) {
	case 1:
	case 2:
		prefix := parts[0]
		name = parts[1]
		if prefix == "" {
			errs = append(errs, "prefix part must be non-empty")
		} else {
			for _, m := range isDNS1123Subdomain(prefix) {
				errs = append(errs, "prefix part "+m)
			}
		}
	default:
		return []string{"a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"}
	}
	if name == "" {
		errs = append(errs, "name part must be non-empty")
	} else if len(name) > 63 {
		errs = append(errs, "name part must be no more than 63 characters")
	}
	if name != "" && !qualifiedNameRE.MatchString(name) {
		errs = append(errs, qualifiedNameMsg)
	}
	return errs
}

func isValidLabelValue(v string) []string {
	var errs []string
	if len(v) > 63 {
		errs = append(errs, "must be no more than 63 characters")
	}
	if !labelValueRE.MatchString(v) {
		errs = append(errs, labelValueMsg)
	}
	return errs
}
