package warehouse

import (
	"testing"
	"time"
)

func TestMarkerRoundTrip(t *testing.T) {
	m := EnvironmentMarker{PR: 12, HeadSHA: "abc123", Owner: `o"wner 'x' \ ü`, CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)}
	text := EncodeMarker(m)
	if want := `dataops:env {"pr":12,`; text[:len(want)] != want {
		t.Fatalf("EncodeMarker = %q, want prefix %q", text, want)
	}
	got, ok := DecodeMarker(text)
	if !ok || got != m {
		t.Fatalf("DecodeMarker(%q) = %+v, %v; want %+v", text, got, ok, m)
	}
}

func TestDecodeMarkerRejects(t *testing.T) {
	for _, text := range []string{"", "owned by the finance team", "dataops:env", "dataops:env {broken", `dataops:env{"pr":1}`} {
		t.Run(text, func(t *testing.T) {
			if _, ok := DecodeMarker(text); ok {
				t.Errorf("DecodeMarker(%q) accepted a non-marker", text)
			}
		})
	}
}

func TestLineColumn(t *testing.T) {
	q := "select 1,\n  ü from\n nope"
	tests := []struct {
		pos, line, col int
	}{
		{0, 0, 0},
		{1, 1, 1},
		{10, 1, 10}, // the newline itself
		{11, 2, 1},
		{13, 2, 3}, // ü, one character though two bytes
		{21, 3, 2},
		{25, 3, 6}, // just past the end
		{26, 0, 0},
	}
	for _, tt := range tests {
		if line, col := LineColumn(q, tt.pos); line != tt.line || col != tt.col {
			t.Errorf("LineColumn(%d) = %d:%d, want %d:%d", tt.pos, line, col, tt.line, tt.col)
		}
	}
}
