package project

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestDatetimeArithmetic: modules.datetime's dates, datetimes and
// timedeltas add, subtract, scale, order and print as Python's do (real
// projects write `modules.datetime.date.today() - modules.datetime.timedelta(days=7)`).
// Every expression is evaluated by Python itself, with `modules.datetime`
// read as Python's datetime module, and the compiled model must print the
// same, or fail with Python's message.
func TestDatetimeArithmetic(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 to compare with")
	}
	const dt = "modules.datetime."
	exprs := []string{
		dt + "date(2024, 3, 1) - " + dt + "timedelta(days=1)",
		dt + "date(2024, 1, 31) + " + dt + "timedelta(days=30, hours=30)",
		dt + "timedelta(days=2) + " + dt + "date(2023, 12, 31)",
		dt + "datetime(2024, 1, 1, 12) - " + dt + "datetime(2023, 12, 31)",
		"(" + dt + "date(2024, 1, 1) - " + dt + "date(2024, 3, 1)).days",
		dt + "timedelta(hours=-1)",
		dt + "timedelta(hours=-1).days",
		dt + "timedelta(hours=-1, microseconds=5).seconds",
		dt + "timedelta(days=7) * 2",
		"3 * " + dt + "timedelta(hours=7, minutes=30)",
		dt + "timedelta(days=1) / " + dt + "timedelta(hours=6)",
		dt + "timedelta(days=1) // 5",
		dt + "timedelta(days=1) // " + dt + "timedelta(hours=7)",
		dt + "timedelta(days=1) % " + dt + "timedelta(hours=7)",
		"-" + dt + "timedelta(days=1, seconds=1)",
		dt + "date(2024, 1, 1) < " + dt + "date(2024, 1, 2)",
		dt + "date(2024, 1, 1) == " + dt + "date(2024, 1, 1)",
		dt + "date(2024, 1, 1) == " + dt + "datetime(2024, 1, 1)",
		dt + "timedelta(days=1) > " + dt + "timedelta(hours=23)",
		dt + "datetime(2024, 1, 1) + " + dt + "timedelta(microseconds=1500)",
		"(" + dt + "datetime(2024, 1, 1) - " + dt + "timedelta(days=7)).strftime('%Y-%m-%d')",
		"(" + dt + "date.today() - " + dt + "timedelta(days=7)) < " + dt + "date.today()",
		"[" + dt + "date(2024, 2, 1), " + dt + "date(2024, 1, 1)] | sort | first",
		dt + "date(2024, 1, 1) - 1",
		dt + "date(2024, 1, 1) - " + dt + "datetime(2024, 1, 1)",
		"1 - " + dt + "timedelta(days=1)",
		dt + "timedelta(days=1) / 0",
		dt + "timedelta(days=1) / 0.0",
	}
	// Python's answers, as str() prints them or the exception's message.
	script := `import datetime, json, sys
exprs = json.load(sys.stdin)
out = []
for e in exprs:
    e = e.replace("modules.datetime.", "datetime.")
    if "| sort | first" in e:
        e = "sorted(" + e.replace(" | sort | first", "") + ")[0]"
    try:
        v = eval(e)
        out.append({"ok": True, "out": str(v)})
    except Exception as x:
        out.append({"ok": False, "out": str(x)})
json.dump(out, sys.stdout)
`
	in, _ := json.Marshal(exprs)
	cmd := exec.Command(python, "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want []struct {
		OK  bool
		Out string
	}
	if err := json.Unmarshal(raw, &want); err != nil || len(want) != len(exprs) {
		t.Fatalf("python's answers: %v %s", err, raw)
	}
	files := map[string]string{}
	for i, e := range exprs {
		files[fmt.Sprintf("models/m%02d.sql", i)] = "{{ " + e + " }}"
	}
	m, ds := compileOpts(t, files, Options{})
	for i, e := range exprs {
		t.Run(e, func(t *testing.T) {
			name := fmt.Sprintf("m%02d", i)
			n, ok := m.Lookup(name)
			if want[i].OK {
				if !ok {
					t.Fatalf("did not compile: %v", ds)
				}
				if n.CompiledSQL != want[i].Out {
					t.Errorf("got %q, Python says %q", n.CompiledSQL, want[i].Out)
				}
				return
			}
			if ok {
				t.Fatalf("compiled to %q; Python fails: %s", n.CompiledSQL, want[i].Out)
			}
			found := false
			for _, d := range ds {
				found = found || (d.Path == "models/"+name+".sql" && strings.Contains(d.Message, want[i].Out))
			}
			if !found {
				t.Errorf("Python fails with %q; the problems: %v", want[i].Out, ds)
			}
		})
	}
}

// TestDefaultCrossDatabaseMacros: for an engine dataops does not build on
// (a manifest's snowflake, compared with dbt's SQL), dbt.dateadd and
// dbt.datediff are dbt's own default__ forms; PostgreSQL has its own.
func TestDefaultCrossDatabaseMacros(t *testing.T) {
	for _, tc := range []struct{ engine, want string }{
		{"snowflake", "datediff(\n        day,\n        a,\n        b\n        ) \n\n    dateadd(\n        month,\n        -1,\n        d\n        )"},
		{"postgres", "((b)::date - (a)::date) d + ((interval '1 month') * (-1))"},
		{"duckdb", "date_diff('day', (a)::timestamp, (b)::timestamp) date_add(d, interval (-1) month)"},
	} {
		t.Run(tc.engine, func(t *testing.T) {
			m, ds := compileOpts(t, map[string]string{"models/m.sql": "{{ dbt.datediff('a', 'b', 'day') }} {{ dbt.dateadd('month', -1, 'd') }}"},
				Options{Target: Target{Name: "prod", Schema: "s", Type: tc.engine}})
			n, ok := m.Lookup("m")
			if !ok {
				t.Fatal(ds)
			}
			if got := strings.TrimSpace(n.CompiledSQL); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
