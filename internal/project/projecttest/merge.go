package projecttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Edits replace, in files of a project, one text by another; an empty old
// text writes the file anew.
type Edits map[string][2]string

// Apply makes the edits in the project folder dir.
func (e Edits) Apply(t testing.TB, dir string) {
	t.Helper()
	for path, change := range e {
		full := filepath.Join(dir, path)
		data, _ := os.ReadFile(full)
		content := change[1]
		if change[0] != "" {
			if !strings.Contains(string(data), change[0]) {
				t.Fatalf("%s does not contain %q", path, change[0])
			}
			content = strings.Replace(string(data), change[0], change[1], 1)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// The pull request the bot's, the Action's and dataops check's tests
// check, on examples/shop: it renames a column of fct_orders (a breaking
// change) and adds a model downstream of it.
var CardAmount = Edits{
	"models/marts/fct_orders.sql":       {"as numeric(12, 2)) as credit_card_amount,", "as numeric(12, 2)) as card_amount,"},
	"models/marts/orders_per_month.sql": {"", "select cast(date_trunc('month', ordered_at) as date) as month, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n"},
}

// The merge scenario: main gains a change to product_sales (a new column,
// channel) after the pull request branched; the pull request changes
// fct_orders and, in a second case, also product_sales, on another line.
var (
	MainMovesOn = Edits{"models/marts/product_sales.sql": {"    products.price,\n    cast(count(", "    products.price,\n    'web' as channel,\n    cast(count("}}
	AlsoEditsX  = Edits{"models/marts/product_sales.sql": {
		"order by coalesce(sum(sold_lines.line_total), 0) desc, products.product_id",
		"order by coalesce(sum(sold_lines.line_total), 0) asc, products.product_id"}}
)

// CardAmountBuilds is what CardAmount builds in an environment: fct_orders
// and everything downstream, comma-separated.
const CardAmountBuilds = "customer_segments,daily_revenue,dim_customers,fct_orders,monthly_revenue_by_region,orders_per_month"

// CheckOnlyItsChange checks the report (comment and check texts) of the
// merge scenario and the relations its environment holds: only the pull
// request's change is planned, built and diffed; main's change to
// product_sales nowhere shows as the pull request's.
func CheckOnlyItsChange(t testing.TB, report, environment string, alsoX bool) {
	t.Helper()
	if strings.Contains(unchangedProfileRowsOut(report, "channel"), "channel") {
		t.Errorf("the report shows main's change to product_sales (its new column channel) as the pull request's:\n%s", report)
	}
	want := CardAmountBuilds
	if alsoX {
		want += ",product_sales"
		if !strings.Contains(report, "| 🟠 | `product_sales` | modified: sql |") || !strings.Contains(report, "**`product_sales`** by `product_id`") {
			t.Errorf("the pull request's own edit of product_sales is not reported:\n%s", report)
		}
	} else if strings.Contains(report, "product_sales") {
		t.Errorf("the report mentions product_sales, which only main changed:\n%s", report)
	}
	if environment != want {
		t.Errorf("the environment holds %s, want %s", environment, want)
	}
	if !strings.Contains(report, "| 🟠 | `fct_orders` | modified: sql |") {
		t.Errorf("the pull request's change to fct_orders is not reported:\n%s", report)
	}
}

// unchangedProfileRowsOut drops the profile table rows of column that
// show it unchanged (no "production → here"): a profile lists every
// column of a model it compares, main's included, which is no change of
// the pull request's.
func unchangedProfileRowsOut(report, column string) string {
	var keep []string
	// Reports inside JSON (--json) hold their newlines escaped.
	report = strings.ReplaceAll(report, `\n`, "\n")
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "| `"+column+"` |") && !strings.Contains(line, "→") {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}
