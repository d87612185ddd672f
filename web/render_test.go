package web

import (
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{span(850 * time.Millisecond), "850ms"},
		{span(12340 * time.Millisecond), "12.3s"},
		{span(4*time.Minute + 5*time.Second), "4m05s"},
		{span(3*time.Hour + 12*time.Minute), "3h12m"},
		{span(7 * 24 * time.Hour), "7d"},
		{span(50 * time.Hour), "2d2h"},
		{num(-1), "—"},
		{num(0), "0"},
		{num(1234567), "1,234,567"},
		{size(-1), "—"},
		{size(512), "512 B"},
		{size(1536), "1.5 KiB"},
		{size(5 << 30), "5 GiB"},
		{firstLine("<!-- dataops:deploy -->\n✅ Deployed `abc` to production (`main`): 3 models.\n\nmore"), "Deployed abc to production (main): 3 models."},
		{anchor("model", "fct_orders"), "model-fct_orders"},
		{state("completed", "failure"), "failure"},
		{state("in_progress", ""), "running"},
		{state("superseded", ""), "cancelled"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if a, b := anchor("model", "a b"), anchor("model", "a/b"); a == b || a == "model-a-b" {
		t.Errorf("names that clean alike must stay apart: %q %q", a, b)
	}
}

func TestEscape(t *testing.T) {
	o := newOut(0)
	o.text(`<a href="x" onclick='y'>&` + "\x00")
	if got, want := string(o.html()), "&lt;a href=&#34;x&#34; onclick=&#39;y&#39;&gt;&amp;\uFFFD"; got != want {
		t.Errorf("escaped %q, want %q", got, want)
	}
}
