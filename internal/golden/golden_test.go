package golden

import "testing"

func TestFirstDifference(t *testing.T) {
	cases := []struct {
		got, want string
		line      int
	}{
		{"a\nb\nc", "a\nx\nc", 2},
		{"a\nb", "a\nb\nc", 3},
		{"a\nb\n", "a\nb", 3},
		{"", "a", 1},
	}
	for _, c := range cases {
		if line, _, _ := firstDifference([]byte(c.got), []byte(c.want)); line != c.line {
			t.Errorf("firstDifference(%q, %q) = line %d, want %d", c.got, c.want, line, c.line)
		}
	}
}
