package commitgraph

import "testing"

func TestMergeBase(t *testing.T) {
	// a - b - c (main)      criss-cross: x and y both merge b and d
	//      \
	//       d - e (topic)
	g := Graph{"a": nil, "b": {"a"}, "c": {"b"}, "d": {"b"}, "e": {"d"}, "m": {"c", "e"}, "x": {"b", "d"}, "y": {"d", "b"}, "z": nil}
	tests := []struct {
		shas []string
		want string
	}{
		{[]string{"c", "e"}, "b"},
		{[]string{"m", "e"}, "e"},
		{[]string{"m", "c"}, "c"},
		{[]string{"c", "c"}, "c"},
		{[]string{"x", "y"}, "d"}, // b is an ancestor of d, so d is the best
		{[]string{"c", "z"}, ""},
		{[]string{"c", "e", "a"}, "a"},
	}
	for _, tc := range tests {
		if got := g.MergeBase(tc.shas...); got != tc.want {
			t.Errorf("MergeBase(%v) = %q, want %q", tc.shas, got, tc.want)
		}
	}
}
