package projecttest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// SensitiveBase adds to examples/shop a seed of contacts whose contact
// column the project marks sensitive (meta: {sensitive: true}), with a
// unique test on it, and a table model reading it.
var SensitiveBase = Edits{
	"seeds/contacts.csv": {"", "id,contact,nickname\n1,ann@contacts.test,Ann\n2,bob@contacts.test,Bob\n"},
	"seeds/contacts.yml": {"", `version: 2
seeds:
  - name: contacts
    columns:
      - name: contact
        meta: {sensitive: true}
        data_tests:
          - unique:
              config:
                severity: warn
`},
	"models/marts/contact_list.sql": {"", "{{ config(materialized='table', unique_key='id') }}\nselect id, contact, nickname from {{ ref('contacts') }}\n"},
}

// SensitiveChange is a pull request on SensitiveBase that puts sensitive
// values in every place a sample comes from: contacts gains a row that
// repeats a contact, so the unique test fails (a warning, so the build goes
// on to the diff) and the diff of contact_list samples the added rows; and
// stg_customers changes its email, a column the default mask patterns
// name, so the diffs of it and of dim_customers sample changed emails.
var SensitiveChange = Edits{
	"seeds/contacts.csv":               {"2,bob@contacts.test,Bob\n", "2,bob@contacts.test,Bob\n3,ann@contacts.test,Annie\n4,cy@contacts.test,Cy\n"},
	"models/staging/stg_customers.sql": {"lower(trim(email)) as email", "upper(trim(email)) as email"},
}

// SensitiveValues are the email addresses SensitiveChange's outputs must
// never hold: the contacts seed's and examples/shop's customers'. Compare
// case-insensitively: the change upper-cases the customers'.
func SensitiveValues(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(ShopDir(), "seeds", "raw", "raw_customers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"ann@contacts.test", "bob@contacts.test", "cy@contacts.test"}
	for _, e := range regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+`).FindAllString(string(data), -1) {
		out = append(out, strings.ToLower(e))
	}
	return out
}

// CheckNoSensitiveValue fails the test for every sensitive value found in
// an output; what names the output.
func CheckNoSensitiveValue(t testing.TB, values []string, what, output string) {
	t.Helper()
	lower := strings.ToLower(output)
	for _, v := range values {
		if i := strings.Index(lower, v); i >= 0 {
			t.Errorf("%s holds the sensitive value %s: …%s…", what, v, output[max(0, i-200):min(len(output), i+len(v)+50)])
			return
		}
	}
}
