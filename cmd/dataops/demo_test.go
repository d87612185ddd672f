package main

import (
	"strings"
	"testing"
)

// TestDemo runs the README's first command and checks what it shows.
func TestDemo(t *testing.T) {
	code, out, errOut := runCLI("demo", "--dir", t.TempDir())
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"<!-- dataops:report -->",
		"renamed `credit_card_amount` → `card_amount`",
		"🟢 | `orders_per_customer_month` | added",
		"| `net_revenue` | 28 |", // the changed values, by column
		// each built model's profile: what changed, the rest folded
		"Profile (production → here): 500 rows, 3 columns of 17 changed.",
		"| `net_revenue` | decimal(12,2) | 0 | 273 → 280 |",
		"Profile: 370 rows, 4 columns; new, nothing in production to compare with.",
		"dataops/gate     success",
		"What happened, in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
}
