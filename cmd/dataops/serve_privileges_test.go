package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/bot"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// readmeChecksRoleSQL is the SQL of README.md's "A least-privilege role
// for the checks", statement by statement.
func readmeChecksRoleSQL(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "<!-- checks-role-sql -->\n```sql\n")
	block, _, closed := strings.Cut(rest, "```")
	if !ok || !closed {
		t.Fatal("README.md has no checks-role-sql block")
	}
	var stmts []string
	for _, stmt := range strings.Split(block, ";") {
		var lines []string
		for _, l := range strings.Split(stmt, "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "--") {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			stmts = append(stmts, strings.Join(lines, " "))
		}
	}
	return stmts
}

// TestServeChecksRoleLeastPrivilege runs README's least-privilege role on
// PostgreSQL: the checks run as it (create their environment, read
// production) while the deploy runs as the owner of production; the role
// cannot write production, and the bot warns at start of a checks role
// that can (a superuser) and not of this one.
func TestServeChecksRoleLeastPrivilege(t *testing.T) {
	w, dsn := warehousetest.PostgresDatabase(t)
	f := newBotFixture(t, w, dsn, "")
	ctx := context.Background()
	admin, err := warehouse.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	database := strings.TrimPrefix(u.Path, "/")
	role := warehousetest.UniqueName("dataops_checks")
	const password = "least-privilege-pw"
	t.Cleanup(func() {
		// Roles outlive databases: drop what it owns here, then the role.
		a, err := warehouse.Open(context.Background(), dsn)
		if err != nil {
			t.Errorf("drop role %s: %v", role, err)
			return
		}
		defer a.Close()
		for _, stmt := range []string{"drop owned by " + role, "drop role " + role} {
			if err := a.Exec(context.Background(), stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
	})
	// Production is every schema the fixture built (main, raw, ...): the
	// README says to repeat the schema's lines for each.
	rows, err := admin.Query(ctx, `select nspname from pg_namespace where nspname not like 'pg\_%' and nspname not in ('information_schema', 'public')`)
	if err != nil {
		t.Fatal(err)
	}
	replacer := strings.NewReplacer("dataops_checks", role, "change-me", password, "analytics", database, "dataops_deploy", u.User.Username())
	for _, stmt := range readmeChecksRoleSQL(t) {
		stmt = replacer.Replace(stmt)
		each := []string{stmt}
		if strings.Contains(stmt, " schema main ") {
			each = nil
			for _, r := range rows.Values {
				each = append(each, strings.ReplaceAll(stmt, " schema main ", " schema "+admin.Dialect().QuoteIdent(r[0].(string))+" "))
			}
		}
		for _, stmt := range each {
			if err := admin.Exec(ctx, stmt); err != nil {
				t.Fatalf("README's SQL: %s: %v", stmt, err)
			}
		}
	}
	checks := *u
	checks.User = url.UserPassword(role, password)

	// The checks role cannot write production, and is not warned of.
	cw, err := warehouse.Open(ctx, checks.String())
	if err != nil {
		t.Fatal(err)
	}
	what, err := bot.WritableBeyondEnvironments(ctx, cw)
	if err != nil || len(what) != 0 {
		t.Errorf("the README's role can write %v (%v), want nothing beyond its environments", what, err)
	}
	for _, stmt := range []string{`create table "main"."intruder" (i int)`, `delete from "main"."fct_orders"`, `drop table "main"."fct_orders"`} {
		if err := cw.Exec(ctx, stmt); err == nil {
			t.Errorf("the checks role could %s", stmt)
		}
	}
	cw.Close()
	if what, err := bot.WritableBeyondEnvironments(ctx, admin); err != nil || len(what) != 1 || !strings.Contains(what[0], "superuser") {
		t.Errorf("a superuser can write %v (%v), want everything", what, err)
	}

	f.cfg.Warehouse = config.ServeWarehouse{ChecksDSNEnv: "TEST_CHECKS_DSN", DeployDSNEnv: "TEST_DEPLOY_DSN"}
	f.env["TEST_CHECKS_DSN"], f.env["TEST_DEPLOY_DSN"] = checks.String(), dsn
	b := f.start(t)
	waitFor(t, "the start's check", func() bool { return len(b.logs.Lines("checks' warehouse role")) == 1 })
	if line := b.logs.Lines("checks' warehouse role")[0]; !strings.Contains(line, "writes only its environments") {
		t.Errorf("the least-privilege role was warned of: %s", line)
	}
	f.send(t, b, "pull_request", f.payload(t, "pull_request.opened.json", nil))
	waitFor(t, "the gate", func() bool { return strings.HasPrefix(f.gate(f.headSHA), "completed/") })
	if g := f.gate(f.headSHA); g != "completed/success" {
		for _, run := range f.gh.CheckRuns(botRepo) {
			t.Logf("%s %s %s %+v", run.Name, run.Conclusion, run.Summary, run.Annotations)
		}
		t.Fatalf("gate %s with the least-privilege role: checks %v", g, f.checks(f.headSHA))
	}
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops deploy"))
	waitFor(t, "the deploy", func() bool {
		return strings.Contains(f.reply(), "Deployed") && hasColumn(columnsOf(t, b, "main", "fct_orders"), "card_amount")
	})
	// The checks role reads what the deploy created.
	f.send(t, b, "issue_comment", f.comment(t, "octocat", "/dataops rerun"))
	waitFor(t, "the rerun", func() bool { return len(b.logs.Lines(`"msg":"job done"`)) == 3 })
	if g := f.gate(f.headSHA); g != "completed/success" {
		t.Errorf("gate %s after the deploy: checks %v", g, f.checks(f.headSHA))
	}
	b.stop()

	// The same bot with a superuser for the checks is warned of.
	f.env["TEST_CHECKS_DSN"] = dsn
	b = f.start(t)
	waitFor(t, "the start's check", func() bool { return len(b.logs.Lines("checks' warehouse role")) == 1 })
	if line := b.logs.Lines("checks' warehouse role")[0]; !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, "superuser") {
		t.Errorf("a superuser for the checks was not warned of: %s", line)
	}
}
