package project_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// TestManifestWire: a Manifest sent across a process boundary comes back
// whole, every field (unexported ones included) as compiled. A field
// added to Manifest or Node and not to wire.go fails here.
func TestManifestWire(t *testing.T) {
	vars := "vars:\n  n: 3\n  f: 1.5\n  s: text\n  none: null\n  l: [1, two, {k: v}]\n  m: {a: [1], b: {c: true}}\n"
	for name, files := range map[string][]project.File{
		"shop":      projecttest.Shop(t, nil),
		"shop+vars": projecttest.Shop(t, map[string]string{"dbt_project.yml": shopProject(t) + vars}),
		"synthetic": projecttest.Synthetic(60, 7),
		// The project names production's schemas itself: the macro stays
		// in the child, the relations it decided cross.
		"shop+naming": projecttest.Shop(t, map[string]string{"macros/generate_schema_name.sql": "{% macro generate_schema_name(custom_schema_name, node) -%}\n" +
			"{%- if target.name == 'prod' -%} mart_{{ node.name }} {%- else -%} {{ target.schema }} {%- endif -%}\n{%- endmacro %}\n"}),
	} {
		t.Run(name, func(t *testing.T) {
			m := projecttest.Compile(t, files, project.Target{Name: "pr_7", Schema: "pr_7", Type: "postgres"})
			m.PlaceIn(prod)
			data, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var back project.Manifest
			if err := back.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			if diff := differ(reflect.ValueOf(m).Elem(), reflect.ValueOf(&back).Elem(), "Manifest"); diff != "" {
				t.Errorf("the manifest changed on the wire: %s", diff)
			}
			for id, n := range m.Nodes {
				if got, want := back.RelationIn(back.Nodes[id], prod), m.RelationIn(n, prod); got != want {
					t.Errorf("%s in production: %v on the wire, %v compiled", id, got, want)
				}
			}
		})
	}
}

var prod = project.Target{Name: "prod", Schema: "analytics", Type: "postgres"}

// notSent are the fields that stay in the compiling process, by design
// (wire.go): a test's macro call, the project's naming macros (sent as
// the relations PlaceIn asked for) and the targets PlaceIn named.
var notSent = map[string]bool{"testCall": true, "namer": true, "placeIn": true}

func shopProject(t *testing.T) string {
	for _, f := range projecttest.Shop(t, nil) {
		if f.Path == "dbt_project.yml" {
			return string(f.Content)
		}
	}
	t.Fatal("shop has no dbt_project.yml")
	return ""
}

// differ names the first difference between a and b, reading unexported
// fields too; a nil and an empty slice or map are the same (gob sends
// neither).
func differ(a, b reflect.Value, path string) string {
	if a.Kind() != b.Kind() {
		return fmt.Sprintf("%s: %s vs %s", path, a.Kind(), b.Kind())
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return path + ": nil vs not"
			}
			return ""
		}
		if a.Kind() == reflect.Interface && a.Elem().Type() != b.Elem().Type() {
			return fmt.Sprintf("%s: %s vs %s", path, a.Elem().Type(), b.Elem().Type())
		}
		return differ(a.Elem(), b.Elem(), path)
	case reflect.Struct:
		for i := range a.NumField() {
			if notSent[a.Type().Field(i).Name] {
				continue
			}
			if d := differ(a.Field(i), b.Field(i), path+"."+a.Type().Field(i).Name); d != "" {
				return d
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d items", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if d := differ(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: %d vs %d keys", path, a.Len(), b.Len())
		}
		for _, k := range a.MapKeys() {
			bv := b.MapIndex(k)
			if !bv.IsValid() {
				return fmt.Sprintf("%s[%v]: missing", path, k)
			}
			if d := differ(a.MapIndex(k), bv, fmt.Sprintf("%s[%v]", path, k)); d != "" {
				return d
			}
		}
	case reflect.String:
		if a.String() != b.String() {
			return fmt.Sprintf("%s: %q vs %q", path, a.String(), b.String())
		}
	case reflect.Bool:
		if a.Bool() != b.Bool() {
			return path + ": differs"
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if a.Int() != b.Int() {
			return fmt.Sprintf("%s: %d vs %d", path, a.Int(), b.Int())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if a.Uint() != b.Uint() {
			return fmt.Sprintf("%s: %d vs %d", path, a.Uint(), b.Uint())
		}
	case reflect.Float32, reflect.Float64:
		if a.Float() != b.Float() {
			return fmt.Sprintf("%s: %v vs %v", path, a.Float(), b.Float())
		}
	default:
		return fmt.Sprintf("%s: cannot compare a %s", path, a.Kind())
	}
	return ""
}
