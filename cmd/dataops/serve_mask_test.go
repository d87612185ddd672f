package main

import (
	"html"
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
// annotations, statuses), no web page (the run's full report, which cuts
// nothing, and the others), no line of its log and nothing in its store
// holds any of those emails; the report and the run's page show masks
// instead.
func TestServeMasksSensitiveValues(t *testing.T) {
	for _, e := range botEngines {
		t.Run(e.name, func(t *testing.T) {
			w, dsn := e.open(t)
			f := newDivergedBotFixture(t, w, dsn, "", projecttest.SensitiveBase, nil, projecttest.SensitiveChange)
			f.withWeb(t)
			b := f.start(t)
			f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
			report := f.report(t)
			values := projecttest.SensitiveValues(t)
			link := runLink.FindStringSubmatch(f.commentsWith(reportMarker)[0].Body)
			if link == nil {
				t.Fatalf("the comment does not link to the run's page:\n%s", report)
			}
			runPath := strings.TrimPrefix(link[1], f.cfg.PublicURL)
			visitor := f.signIn(t, b.url, "visitor")
			status, page := fetch(t, visitor, b.url+runPath)
			// The run's page has every sample the report has: the failing
			// test's rows, the diffs' changed values, the profiles' values.
			for _, want := range []string{`id="model-contact_list"`, `id="model-stg_customers"`, "contacts.contact", mask.Prefix} {
				if status != 200 || !strings.Contains(page, want) {
					t.Errorf("the run's page (%d) lacks %q: the test does not reach what it checks", status, want)
				}
			}
			repo := "/repos/github/acme%2Fshop"
			for _, path := range []string{runPath, "/", "/queue", repo, repo + "/pulls/7", repo + "/environments", repo + "/deploys"} {
				status, page := fetch(t, visitor, b.url+path)
				if status != 200 {
					t.Errorf("%s: %d", path, status)
				}
				projecttest.CheckNoSensitiveValue(t, values, "the page "+path, html.UnescapeString(page))
			}
			for _, want := range []string{"unique test on contacts.contact: 1 failing rows (e.g. " + mask.Prefix, "**`contact_list`** by `id`",
				"**`stg_customers`** by `customer_id`", "| `email` | " + mask.Prefix} {
				if !strings.Contains(report, want) {
					t.Errorf("the report lacks %q: the run did not reach what it checks\n%s", want, report)
				}
			}
			b.stop()
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
