package web

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/golden"

	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/report"
)

// The documents the report package's golden tests write: a breaking change
// with its plan, lineage, diffs (a masked email among the samples) and a
// failing test, and the diffs of a profile comparison with its flags.
const (
	documentFile        = "../internal/report/testdata/document.json"
	documentProfileFile = "../internal/report/testdata/document-profile.json"
)

// TestRenderReportGolden: the report part of a run's page, rendered from
// stored documents, is what testdata/ holds (go test -update rewrites it):
// every section, every sample and profile row, the masks as they are.
func TestRenderReportGolden(t *testing.T) {
	var doc report.Document
	readJSON(t, documentFile, &doc)
	var profiled report.Document
	readJSON(t, documentFile, &profiled)
	profiled.Diffs = nil
	readJSON(t, documentProfileFile, &profiled.Diffs)
	for _, c := range []struct {
		name string
		doc  *report.Document
		has  []string // what the golden file must hold, so that -update cannot bless a page without it
	}{
		{"report.html", &doc, []string{`id="model-fct_orders"`, mask.Prefix + "3f2a91c0", "unique_contacts_email", `class="lineage"`}},
		{"report-profile.html", &profiled, []string{`id="model-fct_orders"`, "out_of_range", "new_value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			html, err := renderReport(c.doc, "/repos/github/acme%2Fshop/runs/r1", 0)
			if err != nil {
				t.Fatal(err)
			}
			got := string(html)
			for _, want := range c.has {
				if !strings.Contains(got, want) {
					t.Errorf("the rendered report lacks %q", want)
				}
			}
			golden.Check(t, c.name, []byte(got))
		})
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestDecodeDocument: a stored report decodes; one of a newer format says
// so, whether or not its fields still decode; one that is not JSON says it
// cannot be read.
func TestDecodeDocument(t *testing.T) {
	data, err := os.ReadFile(documentFile)
	if err != nil {
		t.Fatal(err)
	}
	newer := fmt.Sprintf(`{"version": %d, "project": "shop"}`, report.DocumentVersion+1)
	newerShape := fmt.Sprintf(`{"version": %d, "project": {"name": "shop"}}`, report.DocumentVersion+1)
	for _, c := range []struct {
		name, data, says string
	}{
		{"stored", string(data), ""},
		{"newer format", newer, fmt.Sprintf("stored by a newer dataops (format %d; this one reads %d)", report.DocumentVersion+1, report.DocumentVersion)},
		{"newer format, another shape", newerShape, "stored by a newer dataops"},
		{"not JSON", `{"version": 1, "project": `, "The stored report cannot be read: unexpected end of JSON input"},
		{"wrong shape", `{"version": 1, "project": 5}`, "The stored report cannot be read: json: cannot unmarshal number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, problem := decodeDocument([]byte(c.data))
			if c.says == "" {
				if doc == nil || problem != "" || doc.Project != "shop" {
					t.Errorf("got %v %q", doc, problem)
				}
				return
			}
			if doc != nil || !strings.Contains(problem, c.says) {
				t.Errorf("got %v %q, want %q", doc, problem, c.says)
			}
		})
	}
}
