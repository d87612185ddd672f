package image

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"

	"github.com/dataops-dev/dataops/action"
)

// These tests check the files that publish the image, without Docker:
// the workflows, action.yml and the README's workflow through actionlint,
// and the one pinned version every reference to the image names.

// lint runs actionlint, with shellcheck on run: scripts when it is
// installed, and fails the test with every error it finds.
func lint(t *testing.T, root string, files ...string) {
	t.Helper()
	opts := &actionlint.LinterOptions{WorkingDir: root}
	if path, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = path
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, opts)
	if err != nil {
		t.Fatal(err)
	}
	project, err := actionlint.NewProject(root)
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, project)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Errorf("actionlint found %d problems:\n%s", len(errs), out.String())
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestWorkflowsLint(t *testing.T) {
	root := repoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, ".github", "workflows", "*.yml"))
	if len(files) < 2 {
		t.Fatalf("workflows: %v, want ci.yml and release.yml", files)
	}
	lint(t, root, files...)
}

// readmeWorkflow is the README's GitHub Action workflow: the first yaml
// block after the "## GitHub Action" heading.
func readmeWorkflow(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## GitHub Action\n")
	if !ok {
		t.Fatal(`README.md has no "## GitHub Action" section`)
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	block, _, closed := strings.Cut(block, "```")
	if !ok || !closed {
		t.Fatal("README.md's GitHub Action section has no yaml block")
	}
	return block
}

// action.yml, linted as the action a workflow uses: actionlint reads a
// local action's metadata (name, inputs, outputs, runs) and checks each
// use of it. The workflow is the README's, so its inputs and outputs are
// checked against action.yml too.
func TestActionMetadataLint(t *testing.T) {
	workflow := readmeWorkflow(t)
	uses := regexp.MustCompile(`uses: dataops-dev/dataops@v[0-9][^\s]*`)
	if !uses.MatchString(workflow) {
		t.Fatalf("the README's workflow should use a released version (dataops-dev/dataops@vX.Y.Z):\n%s", workflow)
	}
	dir := t.TempDir()
	metadata, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ".github", "workflows"), 0o755)
	os.WriteFile(filepath.Join(dir, "action.yml"), metadata, 0o644)
	path := filepath.Join(dir, ".github", "workflows", "dataops.yml")
	os.WriteFile(path, []byte(uses.ReplaceAllString(workflow, "uses: ./")), 0o644)
	lint(t, dir, path)
}

// action.yml declares the inputs the action reads, and no other.
func TestActionInputs(t *testing.T) {
	a := readActionYML(t)
	var declared []string
	for name := range a.Inputs {
		declared = append(declared, name)
	}
	sort.Strings(declared)
	read := append([]string(nil), action.Inputs...)
	sort.Strings(read)
	if strings.Join(declared, ",") != strings.Join(read, ",") {
		t.Errorf("action.yml declares %v; the action reads %v", declared, read)
	}
	for _, out := range []string{"environment", "status", "report-path"} {
		if _, ok := a.Outputs[out]; !ok {
			t.Errorf("action.yml does not declare the output %s", out)
		}
	}
}

// pinned finds every reference to a released image or to a release's
// action and templates.
var pinned = []struct {
	file string
	re   *regexp.Regexp
}{
	{"action.yml", regexp.MustCompile(`image: docker://ghcr\.io/dataops-dev/dataops:(\S+)`)},
	{"templates/dataops.yml", regexp.MustCompile(`(?s)image-version:.*?default: "([^"]+)"`)},
	{"templates/dataops.yml", regexp.MustCompile(`dataops/dataops@v(\S+)`)},
	{"ci/gitlab/dataops.gitlab-ci.yml", regexp.MustCompile(`name: ghcr\.io/dataops-dev/dataops:(\S+)`)},
	{"ci/gitlab/dataops.gitlab-ci.yml", regexp.MustCompile(`dataops-dev/dataops/v([^/\s]+)/ci/gitlab`)},
	{"README.md", regexp.MustCompile(`dataops-dev/dataops@v(\S+)`)},
	{"README.md", regexp.MustCompile(`dataops-dev/dataops/dataops@v(\S+)`)},
	{"README.md", regexp.MustCompile(`ghcr\.io/dataops-dev/dataops:(\d\S*)`)},
}

// versions returns the versions pinned under root, by file.
func versions(t *testing.T, root string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range pinned {
		data, err := os.ReadFile(filepath.Join(root, p.file))
		if err != nil {
			t.Fatal(err)
		}
		matches := p.re.FindAllStringSubmatch(string(data), -1)
		if len(matches) == 0 {
			t.Errorf("%s: no reference matching %s", p.file, p.re)
		}
		for _, m := range matches {
			out[p.file] = append(out[p.file], strings.TrimRight(m[1], "`'\"),."))
		}
	}
	return out
}

// Every reference names the same released version, never latest, and the
// release's script moves them all.
func TestPinnedVersion(t *testing.T) {
	root := repoRoot(t)
	semver := regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$`)
	var want string
	for file, vs := range versions(t, root) {
		for _, v := range vs {
			if !semver.MatchString(v) {
				t.Errorf("%s pins %q: want a released version like 1.2.3, never latest", file, v)
			}
			if want == "" {
				want = v
			}
			if v != want {
				t.Errorf("%s pins %s, elsewhere %s: one version everywhere", file, v, want)
			}
		}
	}

	dir := t.TempDir()
	for _, f := range []string{".github/release-version.sh", "action.yml", "templates/dataops.yml", "ci/gitlab/dataops.gitlab-ci.yml", "README.md"} {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), data, 0o755)
	}
	for _, next := range []string{"12.34.567", "2.0.0-rc.1"} {
		if out, err := exec.Command("bash", filepath.Join(dir, ".github", "release-version.sh"), next).CombinedOutput(); err != nil {
			t.Fatalf("release-version.sh %s: %v\n%s", next, err, out)
		}
		for file, vs := range versions(t, dir) {
			for _, v := range vs {
				if v != next {
					t.Errorf("after release-version.sh %s, %s pins %s", next, file, v)
				}
			}
		}
	}
	if out, err := exec.Command("bash", filepath.Join(dir, ".github", "release-version.sh"), "latest").CombinedOutput(); err == nil {
		t.Errorf("release-version.sh latest should refuse: %s", out)
	}
}
