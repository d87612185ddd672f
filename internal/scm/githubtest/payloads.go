package githubtest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// PayloadPR is the pull request a payload is about.
type PayloadPR struct {
	Number           int
	BaseSHA, HeadSHA string
	BaseRef, HeadRef string
	Author           string
}

// Payload reads one of GitHub's own example webhook payloads, beside its
// OpenAPI description (shared/fixtures/github/webhooks/NAME), and points
// it at repo (default branch main) and, for a payload with a pull_request,
// at pr: its number, base and head commits and branches, and author (in
// the base repository, not a fork). edit, when not nil, changes it
// further before it is encoded.
func Payload(t testing.TB, name, repo string, pr PayloadPR, edit func(map[string]any)) []byte {
	t.Helper()
	spec, err := specPath()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(spec)), "webhooks", name))
	if err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	var p map[string]any
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("githubtest: %s: %v", name, err)
	}
	r := p["repository"].(map[string]any)
	r["full_name"], r["name"], r["default_branch"] = repo, repo[strings.LastIndex(repo, "/")+1:], "main"
	if pull, ok := p["pull_request"].(map[string]any); ok {
		pull["number"], p["number"] = pr.Number, pr.Number
		base, head := pull["base"].(map[string]any), pull["head"].(map[string]any)
		base["sha"], base["ref"] = pr.BaseSHA, pr.BaseRef
		head["sha"], head["ref"] = pr.HeadSHA, pr.HeadRef
		head["repo"].(map[string]any)["full_name"] = repo
		base["repo"].(map[string]any)["full_name"] = repo
		if pr.Author != "" {
			pull["user"].(map[string]any)["login"] = pr.Author
		}
	}
	if edit != nil {
		edit(p)
	}
	out, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
