package project

import (
	"reflect"
	"strings"
	"testing"
)

// TestColumnMetaAndTags: the meta and tags that mark sensitive data are
// kept on columns (in every place dbt lets one write them) and on models,
// seeds and source tables.
func TestColumnMetaAndTags(t *testing.T) {
	m := mustCompile(t, map[string]string{
		"models/customers.sql": "select 1 as id, 'a@b.c' as email, '1' as phone, 'x' as name",
		"models/customers.yml": `version: 2
models:
  - name: customers
    meta: {owner: crm}
    columns:
      - name: email
        meta: {sensitive: true}
      - name: phone
        tags: [pii]
      - name: name
        config:
          meta: {pii: true}
          tags: pii
`,
		"seeds/people.csv": "id,ssn\n1,123\n",
		"seeds/people.yml": `version: 2
seeds:
  - name: people
    tags: [pii]
    columns:
      - name: ssn
        meta: {sensitive: true}
`,
		"models/sources.yml": `version: 2
sources:
  - name: crm
    tags: [raw]
    tables:
      - name: contacts
        meta: {sensitive: true}
        columns:
          - name: email
            tags: [pii]
`,
	}, Target{})
	cols := map[string]Column{}
	for _, c := range m.Nodes["model.p.customers"].Columns {
		cols[c.Name] = c
	}
	if !reflect.DeepEqual(cols["email"].Meta, map[string]any{"sensitive": true}) {
		t.Errorf("email meta %v", cols["email"].Meta)
	}
	if !reflect.DeepEqual(cols["phone"].Tags, []string{"pii"}) {
		t.Errorf("phone tags %v", cols["phone"].Tags)
	}
	if !reflect.DeepEqual(cols["name"].Meta, map[string]any{"pii": true}) || !reflect.DeepEqual(cols["name"].Tags, []string{"pii"}) {
		t.Errorf("name: meta %v tags %v (from config:)", cols["name"].Meta, cols["name"].Tags)
	}
	if meta := m.Nodes["model.p.customers"].Config.Extra["meta"]; !reflect.DeepEqual(meta, map[string]any{"owner": "crm"}) {
		t.Errorf("model meta %v", meta)
	}
	seed := m.Nodes["seed.p.people"]
	if !reflect.DeepEqual(seed.Config.Tags, []string{"pii"}) || !reflect.DeepEqual(seed.Columns[1].Meta, map[string]any{"sensitive": true}) {
		t.Errorf("seed: tags %v, columns %+v", seed.Config.Tags, seed.Columns)
	}
	src := m.Nodes["source.p.crm.contacts"]
	if !reflect.DeepEqual(src.Config.Tags, []string{"raw"}) || !reflect.DeepEqual(src.Config.Extra["meta"], map[string]any{"sensitive": true}) ||
		!reflect.DeepEqual(src.Columns[0].Tags, []string{"pii"}) {
		t.Errorf("source: config %+v, columns %+v", src.Config, src.Columns)
	}
}

func TestColumnMetaErrors(t *testing.T) {
	_, ds := compileFiles(t, map[string]string{
		"models/a.sql": "select 1 as id",
		"models/a.yml": "version: 2\nmodels:\n  - name: a\n    columns:\n      - name: id\n        meta: [sensitive]\n      - name: x\n        tags: {a: b}\n",
	}, Target{})
	got := ds.Error()
	for _, want := range []string{"models/a.yml:6", `meta: of column "id" must be a mapping`, "models/a.yml:8", `column "x": tags must be a string or a list of strings`} {
		if !strings.Contains(got, want) {
			t.Errorf("diagnostics lack %q:\n%s", want, got)
		}
	}
}
