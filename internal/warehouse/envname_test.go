package warehouse

import (
	"strings"
	"testing"
)

// limitDialect stands in for an engine's identifier limit; only
// MaxIdentifierLength matters to EnvironmentName.
type limitDialect struct{ max int }

func (limitDialect) Name() string                  { return "test" }
func (limitDialect) QuoteIdent(s string) string    { return QuoteIdentANSI(s) }
func (limitDialect) QuoteRelation(Relation) string { return "" }
func (limitDialect) Placeholder(int) string        { return "?" }
func (d limitDialect) MaxIdentifierLength() int    { return d.max }
func (limitDialect) Type(t Type) string            { return string(t) }

func TestEnvironmentName(t *testing.T) {
	pg := limitDialect{63}
	tests := []struct {
		name, template, prefix string
		pr                     int
		want                   string
	}{
		{"default template", "", "", 12, "pr_12"},
		{"template", "pr_{number}", "", 7, "pr_7"},
		{"prefix prepended", "pr_{number}", "ci_", 7, "ci_pr_7"},
		{"prefix placed", "{prefix}_env_{number}", "Analytics", 7, "analytics_env_7"},
		{"number appended when missing", "dev", "", 7, "dev_7"},
		{"unsafe characters", "PR-{number} ü\"x", "", 3, "pr_3___x"},
		{"leading digit", "{number}_pr", "", 3, "_3_pr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := EnvironmentName(tt.template, tt.pr, tt.prefix, pg); got != tt.want {
				t.Errorf("EnvironmentName(%q, %d, %q) = %q, want %q", tt.template, tt.pr, tt.prefix, got, tt.want)
			}
		})
	}
}

func TestEnvironmentNameCut(t *testing.T) {
	pg := limitDialect{63}
	long := strings.Repeat("very_long_team_prefix_", 4) // 88 bytes
	tests := []struct {
		name string
		a, b string // templates that must give distinct names
		prA  int
		prB  int
	}{
		{"differ only at the end", long + "a_{number}", long + "b_{number}", 1, 1},
		{"differ by number past the cut", long + "{number}", long + "{number}", 123, 124},
		{"one exactly at the limit, one over", strings.Repeat("x", 60) + "{number}", strings.Repeat("x", 60) + "{number}", 100, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := EnvironmentName(tt.a, tt.prA, "", pg)
			b := EnvironmentName(tt.b, tt.prB, "", pg)
			if a == b {
				t.Fatalf("names collide: %q", a)
			}
			for _, n := range []string{a, b} {
				if len(n) > 63 {
					t.Errorf("%q is %d bytes, over 63", n, len(n))
				}
			}
			// Deterministic: the same PR always maps to the same schema.
			if again := EnvironmentName(tt.a, tt.prA, "", pg); again != a {
				t.Errorf("not deterministic: %q then %q", a, again)
			}
		})
	}
	if got := EnvironmentName(strings.Repeat("x", 60)+"{number}", 100, "", pg); got != strings.Repeat("x", 60)+"100" {
		t.Errorf("a name exactly at the limit must not be cut, got %q", got)
	}
}
