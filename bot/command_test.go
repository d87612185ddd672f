package bot

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		body    string
		ok      bool
		verb    Verb
		args    string
		unknown string
	}{
		{"/dataops rerun", true, VerbRerun, "", ""},
		{"LGTM\n/dataops diff fct_orders dim_customers\nthanks", true, VerbDiff, "fct_orders,dim_customers", ""},
		{"/dataops", true, VerbHelp, "", ""},
		{"/dataops DEPLOY", true, VerbDeploy, "", ""},
		{"/dataops deplyo", true, VerbHelp, "", "deplyo"},
		{"please /dataops rerun", false, "", "", ""},
		{"/dataopsrerun", false, "", "", ""},
		{"", false, "", "", ""},
	}
	for _, tc := range tests {
		c, ok := ParseCommand(tc.body)
		if ok != tc.ok || c.Verb != tc.verb || strings.Join(c.Args, ",") != tc.args || c.Unknown != tc.unknown {
			t.Errorf("%q: %+v %v", tc.body, c, ok)
		}
	}
	if !strings.Contains(Help("deplyo"), "`deplyo` is not a dataops command") || !strings.Contains(Help(""), "/dataops teardown") {
		t.Error(Help("deplyo"))
	}
	if (Command{Verb: VerbPlan}).TouchesWarehouse() || !(Command{Verb: VerbDeploy}).TouchesWarehouse() {
		t.Error("warehouse commands")
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add("/dataops diff a b\n/dataops rerun")
	f.Fuzz(func(t *testing.T, body string) {
		c, ok := ParseCommand(body)
		if ok && c.Verb == "" {
			t.Fatalf("a command without a verb: %q", body)
		}
	})
}
