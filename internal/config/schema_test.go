package config

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestSchemaCoversConfig keeps the JSON Schema for editors in step with
// the fields dataops reads: every yaml field is documented there, and the
// schema documents nothing dataops would reject.
func TestSchemaCoversConfig(t *testing.T) {
	data, err := os.ReadFile("schema/dataops.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("the schema is not JSON: %v", err)
	}
	var walk func(typ reflect.Type, node map[string]any, path string)
	walk = func(typ reflect.Type, node map[string]any, path string) {
		props, _ := node["properties"].(map[string]any)
		fields := map[string]bool{}
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			fields[name] = true
			sub, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("the schema lacks %s%s", path, name)
				continue
			}
			if sub["description"] == nil && f.Type.Kind() != reflect.Struct && path == "" {
				t.Errorf("%s%s has no description", path, name)
			}
			if f.Type.Kind() == reflect.Struct && f.Type.Name() != "Duration" {
				walk(f.Type, sub, path+name+".")
			}
		}
		for name := range props {
			if !fields[name] {
				t.Errorf("the schema documents %s%s, which dataops does not read", path, name)
			}
		}
		if node["additionalProperties"] != false {
			t.Errorf("%s: the schema should reject unknown fields, as dataops does", path)
		}
	}
	walk(reflect.TypeOf(Config{}), schema, "")
}

// TestSchemaProfileFlags keeps the flag names editors offer equal to those
// dataops accepts.
func TestSchemaProfileFlags(t *testing.T) {
	data, err := os.ReadFile("schema/dataops.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs struct {
			ProfileFlag struct {
				Enum []string `json:"enum"`
			} `json:"profileFlag"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(schema.Defs.ProfileFlag.Enum, ProfileFlags) {
		t.Errorf("schema flags %v, dataops accepts %v", schema.Defs.ProfileFlag.Enum, ProfileFlags)
	}
}
