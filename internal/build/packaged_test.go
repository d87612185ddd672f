package build_test

import (
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
)

// TestPackagedProject builds internal/project/testdata/packaged (a local
// package with dispatch, a generic test, a package model, and dbt's
// cross-database macros as dataops writes them) on DuckDB and PostgreSQL,
// and checks what the macros computed: a golden file shows the SQL is as
// expected, this shows the SQL does what dbt's macros are meant to do.
func TestPackagedProject(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p, ds := project.Load("../project/testdata/packaged")
			if p == nil {
				t.Fatal(ds)
			}
			m := compile(t, p, prodTarget(w))
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, ""), Threads: 2})
			for _, n := range res.Nodes {
				if n.Status != build.StatusSuccess && n.Status != build.StatusPass {
					t.Errorf("%s %s: %s %s", n.Kind, n.Name, n.Status, n.Message)
				}
			}
			if len(res.Nodes) != 10 {
				t.Errorf("built %d nodes, want 4 models, 1 seed and 5 tests", len(res.Nodes))
			}
			for sql, want := range map[string]string{
				`select days_to_ship from "analytics"."fct_orders" where id = 2`:                        "20",
				`select count(*) from "analytics"."fct_orders" where days_to_ship is null`:              "1",
				`select cast(due_at as date) from "analytics"."fct_orders" where id = 1`:                "2024-02-14",
				`select cast(order_month as date) from "analytics"."fct_orders" where id = 3`:           "2024-02-01",
				`select month_end from "analytics"."fct_orders" where id = 3`:                           "2024-02-29",
				`select count(distinct order_key) from "analytics"."fct_orders"`:                        "3",
				`select length(order_key) from "analytics"."fct_orders" where id = 1`:                   "32",
				`select order_ids from "analytics"."customers" where customer = 'ana'`:                  "1,3",
				`select cast(ever_gift as varchar) from "analytics"."customers" where customer = 'ana'`: "true",
				`select note from "analytics"."customers" where customer = 'bo'`:                        "it's",
				`select first_tag from "analytics"."stg_orders" where id = 1`:                           "a",
				`select count(*) from "toolkit"."toolkit_months"`:                                       "3",
				`select cast(max(month_start) as date) from "toolkit"."toolkit_months"`:                 "2024-03-01",
			} {
				if got := scalar(t, w, sql); !sameDate(got, want) {
					t.Errorf("%s = %s, want %s", sql, got, want)
				}
			}
		})
	}
}

// sameDate compares a value with a date or text as drivers print them
// (a time.Time prints with its clock).
func sameDate(got, want string) bool {
	return got == want || len(got) > len(want) && got[:len(want)] == want && got[len(want)] == ' '
}
