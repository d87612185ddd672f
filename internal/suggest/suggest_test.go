package suggest

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	long := strings.Repeat("a", maxRunes+1)
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"orders", "orders", 0},
		{"stg_order", "stg_orders", 1},
		{"kitten", "sitting", 3},
		{"", "abc", 3},
		{"héllo", "hello", 1},     // runes, not bytes
		{long, "a", maxRunes + 1}, // beyond the bound: the longer length
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Distance(c.b, c.a); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}
