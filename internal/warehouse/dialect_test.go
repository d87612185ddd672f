package warehouse

import "testing"

func TestQuoteIdentANSI(t *testing.T) {
	tests := []struct{ in, want string }{
		{"orders", `"orders"`},
		{`a"b`, `"a""b"`},
		{`""`, `""""""`},
		{"with space", `"with space"`},
		{"select", `"select"`},
		{"üñí", `"üñí"`},
		{"nul\x00byte", `"nulbyte"`},
		{"", `""`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := QuoteIdentANSI(tt.in); got != tt.want {
				t.Errorf("QuoteIdentANSI(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
