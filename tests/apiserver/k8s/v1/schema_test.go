// SPDX-License-Identifier: Apache-2.0
//
// The Go types against the committed OpenAPI extract (schema/job-v1.schema.json,
// from the kubernetes-models npm package): every definition reachable from
// batch/v1 Job must have a Go struct with exactly its JSON field names and a
// matching JSON kind, and required fields must not be omitempty. A field the
// types lack would be dropped silently by the typed decode, so this is what
// keeps the decode from eating real fields.
package v1

import (
	"encoding/json"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
)

type schemaNode struct {
	Type   string      `json:"type"`
	Ref    string      `json:"$ref"`
	Items  *schemaNode `json:"items"`
	Values *schemaNode `json:"values"`
}

type schemaDef struct {
	Properties map[string]*schemaNode `json:"properties"`
	Required   []string               `json:"required"`
}

type schemaFile struct {
	Root        string               `json:"root"`
	Definitions map[string]schemaDef `json:"definitions"`
}

// Required in the OpenAPI but omitempty in k8s.io/api (checked upstream).
var requiredButOmitempty = map[string]bool{
	"batch/v1.Job.apiVersion":                     true, // TypeMeta
	"batch/v1.Job.kind":                           true,
	"core/v1.PodCertificateProjection.keyType":    true,
	"core/v1.PodCertificateProjection.signerName": true,
	"core/v1.PodTemplateSpec.spec":                true, // struct: always encoded anyway
	"core/v1.PersistentVolumeClaimTemplate.spec":  false,
}

type jsonField struct {
	name      string
	omitempty bool
	typ       reflect.Type
}

// jsonFields lists a struct's JSON fields, inline embedded structs flattened.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" {
			continue
		}
		if name == "" && f.Anonymous {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name, strings.Contains(opts, "omitempty"), f.Type})
	}
	return out
}

func checkKind(t *testing.T, where string, n *schemaNode, typ reflect.Type, seen map[string]reflect.Type) {
	for typ.Kind() == reflect.Ptr {
		typ = typ.Elem()
	}
	switch {
	case n.Ref != "":
		if typ.Kind() != reflect.Struct {
			t.Errorf("%s: schema has object %s, Go has %s", where, n.Ref, typ)
			return
		}
		if prev, ok := seen[n.Ref]; ok {
			if prev != typ && !(n.Ref == "core/v1.Container" || n.Ref == "meta/v1.ObjectMeta") {
				t.Errorf("%s: %s is Go %s here and %s elsewhere", where, n.Ref, typ, prev)
			}
			return
		}
		seen[n.Ref] = typ
	case n.Type == "string":
		if typ.Kind() != reflect.String {
			t.Errorf("%s: schema string, Go %s", where, typ)
		}
	case n.Type == "number":
		switch typ.Kind() {
		case reflect.Int32, reflect.Int64, reflect.Float64:
		default:
			t.Errorf("%s: schema number, Go %s", where, typ)
		}
	case n.Type == "boolean":
		if typ.Kind() != reflect.Bool {
			t.Errorf("%s: schema boolean, Go %s", where, typ)
		}
	case n.Type == "array":
		if typ.Kind() != reflect.Slice {
			t.Errorf("%s: schema array, Go %s", where, typ)
			return
		}
		checkKind(t, where+"[]", n.Items, typ.Elem(), seen)
	case n.Type == "map":
		if typ.Kind() != reflect.Map || typ.Key().Kind() != reflect.String {
			t.Errorf("%s: schema map, Go %s", where, typ)
			return
		}
		checkKind(t, where+"{}", n.Values, typ.Elem(), seen)
	case n.Type == "quantity":
		if typ != reflect.TypeOf(Quantity{}) {
			t.Errorf("%s: schema quantity, Go %s", where, typ)
		}
	case n.Type == "int-or-string":
		if typ != reflect.TypeOf(IntOrString{}) {
			t.Errorf("%s: schema int-or-string, Go %s", where, typ)
		}
	case n.Type == "time":
		if typ != reflect.TypeOf(Time{}) {
			t.Errorf("%s: schema time, Go %s", where, typ)
		}
	default:
		t.Errorf("%s: unknown schema node %+v", where, n)
	}
}

func TestTypesMatchOpenAPISchema(t *testing.T) {
	data, err := os.ReadFile("../../schema/job-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s schemaFile
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	seen := map[string]reflect.Type{s.Root: reflect.TypeOf(Job{})}
	done := map[string]bool{}
	for len(done) < len(seen) {
		var names []string
		for n := range seen {
			if !done[n] {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			done[name] = true
			def, ok := s.Definitions[name]
			if !ok {
				t.Errorf("definition %s missing from the schema", name)
				continue
			}
			fields := map[string]jsonField{}
			for _, f := range jsonFields(seen[name]) {
				fields[f.name] = f
			}
			for p, node := range def.Properties {
				f, ok := fields[p]
				if !ok {
					t.Errorf("%s.%s: in the schema, missing from Go %s", name, p, seen[name])
					continue
				}
				checkKind(t, name+"."+p, node, f.typ, seen)
			}
			for p := range fields {
				if _, ok := def.Properties[p]; !ok {
					t.Errorf("%s.%s: in Go %s, not in the schema", name, p, seen[name])
				}
			}
			for _, r := range def.Required {
				if f, ok := fields[r]; ok && f.omitempty && !requiredButOmitempty[name+"."+r] &&
					f.typ.Kind() != reflect.Struct {
					t.Errorf("%s.%s: required in the schema but omitempty in Go", name, r)
				}
			}
		}
	}
	if len(done) != len(s.Definitions) {
		t.Errorf("reached %d of the schema's %d definitions from Job", len(done), len(s.Definitions))
	}
}
