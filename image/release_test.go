package image

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflowFile is what these tests read of a workflow.
type workflowFile struct {
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		Uses  string `yaml:"uses"`
		Needs any    `yaml:"needs"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func readWorkflow(t *testing.T, name string) workflowFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".github", "workflows", name))
	if err != nil {
		t.Fatal(err)
	}
	var w workflowFile
	if err := yaml.Unmarshal(data, &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w
}

// The release does what the Action's users rely on, beyond what actionlint
// can tell: on a version tag, the tests first; the image for both
// platforms, pushed with provenance; the binaries with their checksums on
// the release; and action.yml moved to the new image. CI runs .ci/run on
// pull requests.
func TestReleaseWorkflow(t *testing.T) {
	ci := readWorkflow(t, "ci.yml")
	if _, ok := ci.On["pull_request"]; !ok {
		t.Error("ci.yml does not run on pull_request")
	}
	ranCI := false
	for _, s := range ci.Jobs["ci"].Steps {
		ranCI = ranCI || strings.Contains(s.Run, ".ci/run")
	}
	if !ranCI {
		t.Error("ci.yml does not run .ci/run")
	}

	r := readWorkflow(t, "release.yml")
	push, _ := r.On["push"].(map[string]any)
	if tags, _ := push["tags"].([]any); len(tags) == 0 || !strings.HasPrefix(tags[0].(string), "v") {
		t.Errorf("release.yml runs on %v, want push of version tags v…", r.On)
	}
	if r.Jobs["test"].Uses != "./.github/workflows/ci.yml" {
		t.Errorf("release.yml's test job uses %q, want the CI workflow", r.Jobs["test"].Uses)
	}
	// Every job that publishes waits for the tests, directly or through
	// one that does.
	for _, name := range []string{"image", "binaries"} {
		if needs, _ := r.Jobs[name].Needs.(string); needs != "test" {
			t.Errorf("release.yml's %s job needs %v, want test", name, r.Jobs[name].Needs)
		}
	}
	var image, moved, released, summed bool
	for _, s := range r.Jobs["image"].Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			w := s.With
			image = strings.Contains(w["platforms"], "linux/amd64") && strings.Contains(w["platforms"], "linux/arm64") &&
				w["push"] == "true" && w["provenance"] != "" && w["provenance"] != "false"
		}
	}
	for _, s := range r.Jobs["binaries"].Steps {
		summed = summed || strings.Contains(s.Run, "SHA256SUMS")
	}
	for _, s := range r.Jobs["publish"].Steps {
		moved = moved || strings.Contains(s.Run, ".github/release-version.sh")
		released = released || (strings.Contains(s.Run, "gh release create") && strings.Contains(s.Run, "dist/"))
	}
	for what, ok := range map[string]bool{
		"pushes the image for linux/amd64 and linux/arm64 with provenance": image,
		"sums the binaries (SHA256SUMS)":                                   summed,
		"attaches the binaries to the release":                             released,
		"moves action.yml to the new image (.github/release-version.sh)":   moved,
	} {
		if !ok {
			t.Errorf("release.yml no longer %s", what)
		}
	}
}

// The plain GitLab template (for GitLab before components) runs the job
// the component runs with its defaults: the same image, entrypoint, script
// and reports, so that what TestGitLabJob runs holds for both.
func TestGitLabPlainTemplateIsTheComponent(t *testing.T) {
	root := repoRoot(t)
	comp := component(t, filepath.Join(root, "templates", "dataops.yml"), nil)["dataops"]
	data, err := os.ReadFile(filepath.Join(root, "ci", "gitlab", "dataops.gitlab-ci.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var plain map[string]gitlabJob
	if err := yaml.Unmarshal(data, &plain); err != nil {
		t.Fatalf("ci/gitlab/dataops.gitlab-ci.yml: %v", err)
	}
	job, ok := plain["dataops"]
	if !ok {
		t.Fatal("ci/gitlab/dataops.gitlab-ci.yml has no dataops job")
	}
	same := func(what string, a, b any) {
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s: the plain template has %v, the component %v", what, a, b)
		}
	}
	same("stage", job.Stage, comp.Stage)
	same("image", job.Image.Name, comp.Image.Name)
	same("entrypoint", fmt.Sprintf("%q", job.Image.Entrypoint), fmt.Sprintf("%q", comp.Image.Entrypoint))
	same("script", job.Script, comp.Script)
	same("reports", job.Artifacts.Reports, comp.Artifacts.Reports)
}
