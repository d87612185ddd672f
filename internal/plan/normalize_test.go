package plan

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"select a, b from t", "SELECT a,\n    b\nFROM   t", true},
		{"select a -- why\nfrom t", "select a from t", true},
		{"select /* note */ a from t", "select a from t", true},
		{"select {# jinja note #} a from {{ ref('t') }}", "select a from {{ref('t')}}", true},
		{"select 'A' from t", "select 'a' from t", false},
		{"select 'a  b' from t", "select 'a b' from t", false},
		{"select '--not a comment' from t", "select '' from t", false},
		{`select "Mixed Case" from t`, `select "mixed case" from t`, false},
		{"select 'it''s' from t", "select 'it''s'  from t", true},
		{"select a from t", "select b from t", false},
		{"select a from t", "selecta from t", false},
		{"select 1 as x", "select 1 as x -- unterminated", true},
		{"select 'unterminated", "select 'unterminated", true},
	}
	for _, tc := range tests {
		if got := normalize(tc.a) == normalize(tc.b); got != tc.same {
			t.Errorf("%q vs %q: same = %v, want %v (%q / %q)", tc.a, tc.b, got, tc.same, normalize(tc.a), normalize(tc.b))
		}
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("select 'a' -- b\n/* c */ {# d #}")
	f.Fuzz(func(t *testing.T, s string) {
		n := normalize(s)
		if normalize(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, normalize(n))
		}
	})
}
