package main

import (
	"os"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// TestServeMasksSensitiveValues: a pull request whose seed holds emails in
// a column the project marks sensitive, with a failing test on it, and
// whose change samples customers' emails in its diffs. After the full run
// no request the bot made to GitHub (comment, check runs and their
// annotations, statuses), no line of its log and nothing in its store
// holds any of those emails; the report shows masks instead.
func TestServeMasksSensitiveValues(t *testing.T) {
	for _, e := range botEngines {
		t.Run(e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newDivergedBotFixture(t, w, dsn, "", projecttest.SensitiveBase, nil, projecttest.SensitiveChange)
			b := f.start(t)
			f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
			report := f.report(t)
			for _, want := range []string{"unique test on contacts.contact: 1 failing rows (e.g. " + mask.Prefix, "**`contact_list`** by `id`",
				"**`stg_customers`** by `customer_id`", "| `email` | " + mask.Prefix} {
				if !strings.Contains(report, want) {
					t.Errorf("the report lacks %q: the run did not reach what it checks\n%s", want, report)
				}
			}
			b.stop()
			values := projecttest.SensitiveValues(t)
			for _, r := range f.gh.Requests() {
				projecttest.CheckNoSensitiveValue(t, values, r.Method+" "+r.Path, string(r.Body))
			}
			projecttest.CheckNoSensitiveValue(t, values, "the bot's log", b.logs.String())
			store, err := os.ReadFile(f.cfg.Store)
			if err != nil {
				t.Fatal(err)
			}
			projecttest.CheckNoSensitiveValue(t, values, "the bot's store", string(store))
		})
	}
}
