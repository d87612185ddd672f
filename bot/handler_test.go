package bot

import "testing"

func TestDBTEnvOnly(t *testing.T) {
	t.Setenv("DBT_REGION", "eu")
	t.Setenv("DBT_ENV_SECRET_KEY", "s")
	t.Setenv("DATAOPS_GITHUB_PRIVATE_KEY", "k")
	for _, c := range []struct {
		name string
		want string
		ok   bool
	}{
		{"DBT_REGION", "eu", true},
		{"DBT_ENV_SECRET_KEY", "", false},
		{"DATAOPS_GITHUB_PRIVATE_KEY", "", false},
		{"DBT_UNSET", "", false},
	} {
		if v, ok := DBTEnvOnly(c.name); v != c.want || ok != c.ok {
			t.Errorf("DBTEnvOnly(%s) = %q, %v", c.name, v, ok)
		}
	}
}
