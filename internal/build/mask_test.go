package build_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/mask"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
)

// seedEmails are the addresses in examples/shop's customers seed.
func seedEmails(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(projecttest.ShopDir(), "seeds", "raw", "raw_customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	emails := regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+`).FindAllString(string(data), -1)
	if len(emails) < 50 {
		t.Fatalf("found %d emails in the seed", len(emails))
	}
	return emails
}

// TestBuildMasksSensitiveValues: failing tests on the shop's customers
// keep sample rows whose emails and names are masks, and an engine's
// error quoting an email masks it; the counts are real.
func TestBuildMasksSensitiveValues(t *testing.T) {
	changes := map[string]string{
		"tests/no_example_emails.sql": "select customer_id, email, first_name from {{ ref('stg_customers') }} where email like '%@example.com'\n",
		"models/bad_cast.sql":         "{{ config(materialized='table') }}\nselect cast(email as integer) as e from {{ source('shop', 'raw_customers') }}\n",
	}
	emails := seedEmails(t)
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			p := shop(t, changes)
			m := compile(t, p, prodTarget(w))
			set := mask.New(config.Default().Mask, m)
			res := run(t, build.Options{Manifest: m, Warehouse: w, Selection: selectAll(t, m, ""), Mask: &set})
			got := byName(res)
			test := got["no_example_emails"]
			if test.Status != build.StatusFail || test.Failures != 100 || test.Sample == nil || len(test.Sample.Values) != build.SampleRows {
				t.Fatalf("no_example_emails: %s, %d failing, sample %+v", test.Status, test.Failures, test.Sample)
			}
			for _, row := range test.Sample.Values {
				if _, isMask := row[1].(string); !isMask || !strings.HasPrefix(row[1].(string), mask.Prefix) || !strings.HasPrefix(row[2].(string), mask.Prefix) {
					t.Errorf("row not masked: %v", row)
				}
				if s, ok := row[0].(string); ok && strings.HasPrefix(s, mask.Prefix) {
					t.Errorf("customer_id masked: %v", row)
				}
			}
			if cast := got["bad_cast"]; cast.Status != build.StatusError || !strings.Contains(cast.Message, mask.Prefix) {
				t.Errorf("bad_cast: %s %s", cast.Status, cast.Message)
			}
			data, _ := json.Marshal(res)
			for _, email := range emails {
				if strings.Contains(string(data), email) {
					t.Fatalf("the build's result holds %s", email)
				}
			}
		})
	}
}
