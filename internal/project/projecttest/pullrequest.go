package projecttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ShopPullRequest makes dir a git repository of examples/shop with two
// commits, the pull request the end-to-end tests check: the base, then a
// head that renames fct_orders.credit_card_amount to card_amount (a
// breaking change) and adds orders_per_month downstream of it. extra are
// files added to the base (a dataops.yml, say). It leaves the head checked
// out.
func ShopPullRequest(t testing.TB, dir string, extra map[string]string) (baseSHA, headSHA string) {
	t.Helper()
	write := func(path, content string) {
		p := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range Shop(t, nil) {
		write(f.Path, string(f.Content))
	}
	for path, content := range extra {
		write(path, content)
	}
	baseSHA = Commit(t, dir, "base")
	fct := filepath.Join(dir, "models", "marts", "fct_orders.sql")
	data, err := os.ReadFile(fct)
	if err != nil {
		t.Fatal(err)
	}
	write("models/marts/fct_orders.sql", strings.Replace(string(data), "as numeric(12, 2)) as credit_card_amount,", "as numeric(12, 2)) as card_amount,", 1))
	write("models/marts/orders_per_month.sql", "select cast(date_trunc('month', ordered_at) as date) as month, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n")
	headSHA = Commit(t, dir, "head")
	return baseSHA, headSHA
}
