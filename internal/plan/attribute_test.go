package plan_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
)

func compileMap(t *testing.T, files map[string]string) (*project.Manifest, project.Diagnostics) {
	t.Helper()
	var list []project.File
	for path, content := range files {
		list = append(list, project.File{Path: path, Content: []byte(content)})
	}
	p, ds := project.LoadFiles("p", list)
	if p == nil {
		t.Fatal(ds)
	}
	m, cds := project.Compile(context.Background(), p, project.Options{Target: project.Target{Name: "pr_1", Schema: "pr_1", Type: "duckdb"}})
	return m, append(ds, cds...)
}

// TestAttribute: a pull request is blamed for the errors it brings (in
// nodes it adds or changes, or new since the base), not for those its base
// already had; the plan goes on with what compiled and does not call the
// nodes the head could not compile removed.
func TestAttribute(t *testing.T) {
	base := map[string]string{
		"dbt_project.yml":       "name: p\n",
		"models/legacy.sql":     "select * from {{ ref('gone_long_ago') }}",
		"models/uses_it.sql":    "select * from {{ ref('legacy') }}",
		"models/fine.sql":       "select 1 as id",
		"models/edited.sql":     "select 1 as id",
		"models/macro_user.sql": "select {{ helper() }} as id",
		"macros/h.sql":          "{% macro helper() %}1{% endmacro %}",
	}
	head := map[string]string{}
	for k, v := range base {
		head[k] = v
	}
	head["models/edited.sql"] = "select * from {{ ref('typo') }}"       // the PR breaks a model
	head["models/added.sql"] = "select {{ undefined_macro() }}"         // and adds a broken one
	head["macros/h.sql"] = "{% macro helper(x) %}{{ x }}{% endmacro %}" // and makes another fail
	head["models/fixed_later.sql"] = "select * from {{ ref('fine') }}"
	bm, bds := compileMap(t, base)
	hm, hds := compileMap(t, head)
	a := plan.Attribute(bm, hm, bds, hds)
	var introduced, existing []string
	for _, d := range a.Introduced {
		introduced = append(introduced, d.Path)
	}
	for _, d := range a.Existing {
		existing = append(existing, d.Path)
	}
	if got := strings.Join(existing, ","); got != "models/legacy.sql" {
		t.Errorf("existing = %s (%v)", got, a.Existing)
	}
	if got := strings.Join(introduced, ","); got != "models/added.sql,models/edited.sql" {
		t.Errorf("introduced = %s (%v)", got, a.Introduced)
	}
	// The same error in a model the pull request changed is its own.
	head["models/legacy.sql"] = "-- still broken\nselect * from {{ ref('gone_long_ago') }}"
	hm, hds = compileMap(t, head)
	a = plan.Attribute(bm, hm, bds, hds)
	if len(a.Existing) != 0 {
		t.Errorf("a changed model's error is the pull request's: %v", a.Existing)
	}
	pl := plan.Diff(bm, hm)
	for _, c := range pl.Changes {
		if c.Status == plan.Removed {
			t.Errorf("%s is not removed, it does not compile", c.Name)
		}
	}
	if got := strings.Join(pl.Build, ","); !strings.Contains(got, "model.p.fixed_later") || strings.Contains(got, "edited") {
		t.Errorf("build = %s", got)
	}
}
