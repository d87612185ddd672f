package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/report"
)

// FuzzOpenCookie: whatever a browser sends as a cookie, it does not open
// (nor panic) unless this server sealed it.
func FuzzOpenCookie(f *testing.F) {
	// A key of this process's own: values sealed in another process (the
	// fuzzing workers') must not open here either.
	s, err := newSealer([]byte(randomString(32)))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := s.seal(sessionCookie, session{Login: "ann", Expires: 1})
	f.Add(good)
	f.Add(good[:len(good)-2] + "AA")
	f.Add("")
	f.Add("not base64 !!!")
	f.Add(strings.Repeat("A", 5000))
	f.Fuzz(func(t *testing.T, value string) {
		var sess session
		if err := s.open(sessionCookie, value, &sess); err == nil && value != good {
			t.Fatalf("a cookie this server did not seal opened: %q", value)
		}
		var in signIn
		if err := s.open(oauthCookie, value, &in); err == nil {
			t.Fatalf("a session cookie opened as a sign-in: %q", value)
		}
	})
}

// FuzzReport: any stored report that decodes renders without a panic,
// and no text of it reaches the page as markup.
func FuzzReport(f *testing.F) {
	doc := report.Document{Version: 1, Headline: "h", Checks: nil,
		Plan:    &report.DocPlan{Changes: []report.DocChange{{Name: "a", Status: "modified"}}},
		Lineage: &report.Graph{Nodes: []report.GraphNode{{Name: "a"}, {Name: "b"}}, Edges: [][2]int{{0, 1}, {1, 0}, {0, 7}}},
		Diffs: []report.DocDiff{{Model: "a", Compared: true, Keyed: true, OnlyInBase: &report.DocTable{Columns: []string{"x"}, Rows: []report.DocRow{{Values: nil}}},
			Profile: &report.DocProfile{Columns: []report.DocProfileColumn{{Name: "<c>"}}}}},
		Failures: []report.DocFailure{{Name: "t", Sample: &report.DocTable{Columns: []string{"c"}}}}}
	seed, _ := json.Marshal(doc)
	f.Add(seed)
	f.Add([]byte(`{"version":1,"diffs":[{"model":"<script>x</script>","compared":true,"changed_values":[{"key":"<b>"}]}]}`))
	f.Add([]byte(`{"version":1,"lineage":{"nodes":[{"name":"a"}],"edges":[[-1,5]]}}`))
	f.Add([]byte(`{"version":99}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, _ := decodeDocument(data)
		if d == nil {
			return
		}
		html, err := renderReport(d, "/repos/github/a%2Fb/runs/r", 0)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		if strings.Contains(string(html), "<script") || strings.Contains(string(html), "<b>") {
			t.Fatalf("text reached the page as markup:\n%s", html)
		}
	})
}
