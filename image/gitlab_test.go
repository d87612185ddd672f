package image

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/report"
	"github.com/dataops-dev/dataops/internal/scm/gitlabtest"
	"github.com/dataops-dev/dataops/internal/warehouse/duckdb"
)

// gitlabJob is what GitLab reads of a job.
type gitlabJob struct {
	Stage string `yaml:"stage"`
	Image struct {
		Name       string   `yaml:"name"`
		Entrypoint []string `yaml:"entrypoint"`
	} `yaml:"image"`
	Variables map[string]string `yaml:"variables"`
	Script    []string          `yaml:"script"`
	Artifacts struct {
		Reports map[string]string `yaml:"reports"`
	} `yaml:"artifacts"`
}

var inputRef = regexp.MustCompile(`\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]`)

// component reads a CI/CD component as GitLab includes it: the spec
// header, then the configuration with every $[[ inputs.NAME ]] replaced
// by the given input or its default. An input the spec does not declare,
// or a required one not given, fails the test, as it fails a pipeline.
func component(t *testing.T, path string, given map[string]string) map[string]gitlabJob {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(data), "\n---\n")
	if !ok {
		t.Fatalf("%s: no spec header ending in ---", path)
	}
	var spec struct {
		Spec struct {
			Inputs map[string]*struct {
				Default     *string `yaml:"default"`
				Description string  `yaml:"description"`
			} `yaml:"inputs"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(header), &spec); err != nil {
		t.Fatalf("%s header: %v", path, err)
	}
	values := map[string]string{}
	for name, in := range spec.Spec.Inputs {
		if in == nil || in.Description == "" {
			t.Errorf("%s: input %s has no description", path, name)
			continue
		}
		if in.Default != nil {
			values[name] = *in.Default
		}
	}
	for name, v := range given {
		if _, ok := spec.Spec.Inputs[name]; !ok {
			t.Fatalf("%s: no input %s", path, name)
		}
		values[name] = v
	}
	body = inputRef.ReplaceAllStringFunc(body, func(ref string) string {
		name := inputRef.FindStringSubmatch(ref)[1]
		v, ok := values[name]
		if !ok {
			t.Errorf("%s: $[[ inputs.%s ]] has no value: declare it under spec:inputs, with a default", path, name)
		}
		return v
	})
	var jobs map[string]gitlabJob
	if err := yaml.Unmarshal([]byte(body), &jobs); err != nil {
		t.Fatalf("%s after inputs: %v", path, err)
	}
	return jobs
}

// shellDetection is what a GitLab runner's Docker executor runs in a job's
// container when the image's entrypoint is cleared: the first shell found,
// which then reads the job's script from standard input.
const shellDetection = `if [ -x /usr/local/bin/bash ]; then exec /usr/local/bin/bash
elif [ -x /usr/bin/bash ]; then exec /usr/bin/bash
elif [ -x /bin/bash ]; then exec /bin/bash
elif [ -x /usr/local/bin/sh ]; then exec /usr/local/bin/sh
elif [ -x /usr/bin/sh ]; then exec /usr/bin/sh
elif [ -x /bin/sh ]; then exec /bin/sh
else echo shell not found; exit 1; fi`

// The component's job, run as a GitLab runner's Docker executor runs it.
func TestGitLabJob(t *testing.T) {
	jobs := component(t, filepath.Join("..", "templates", "dataops.yml"), map[string]string{"stage": "verify"})
	job, ok := jobs["dataops"]
	if !ok || job.Stage != "verify" || len(job.Script) == 0 {
		t.Fatalf("the component's jobs: %+v", jobs)
	}
	if len(job.Image.Entrypoint) != 1 || job.Image.Entrypoint[0] != "" {
		t.Fatalf("entrypoint %q: GitLab runs the script with the image's shell, so the component clears the entrypoint", job.Image.Entrypoint)
	}
	built := imageUnderTest(t)
	docker(t, "tag", built, job.Image.Name)
	t.Cleanup(func() { dockerCmd("rmi", job.Image.Name) })

	const projectPath = "acme/shop"
	dir := filepath.Join(t.TempDir(), "builds", projectPath)
	base, head := projecttest.ShopPullRequest(t, dir, nil)
	ctx := context.Background()
	w, err := duckdb.Open(ctx, "duckdb://"+filepath.Join(dir, "warehouse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	m := projecttest.Compile(t, projecttest.Shop(t, nil), project.Target{Name: "prod", Schema: "main", Type: "duckdb"})
	all, _ := m.Select("", nil)
	if res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatalf("production build: %v", err)
	}
	w.Close()

	gl := gitlabtest.NewServer(t)
	gl.SetArchive(base, projecttest.Git(t, dir, "archive", "--format=tar.gz", "--prefix=shop-"+base+"/", base))
	p := gl.Project()
	gl.AddMergeRequest(gitlabtest.MergeRequest{IID: 7, Title: "card_amount", State: "opened", SourceBranch: "card-amount", TargetBranch: "main",
		SourceProjectID: p.ID, TargetProjectID: p.ID, SHA: head, BaseSHA: base})
	gl.AddCommit(head, "card-amount")

	projectDir := "/builds/" + projectPath
	env := map[string]string{
		"CI": "true", "GITLAB_CI": "true", "CI_SERVER": "yes", "CI_PROJECT_DIR": projectDir, "CI_BUILDS_DIR": "/builds",
		"CI_API_V4_URL": gl.BaseURL(), "CI_PROJECT_ID": strconv.Itoa(p.ID), "CI_PROJECT_PATH": p.Path,
		"CI_PIPELINE_SOURCE": "merge_request_event", "CI_PIPELINE_ID": "1001", "CI_JOB_ID": "2002", "CI_JOB_TOKEN": "job-token-0123456789",
		"CI_COMMIT_SHA": head, "CI_COMMIT_REF_NAME": "card-amount", "CI_MERGE_REQUEST_IID": "7",
		"CI_MERGE_REQUEST_DIFF_BASE_SHA": base, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
		"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "card-amount", "CI_MERGE_REQUEST_TITLE": "card_amount",
		"CI_MERGE_REQUEST_PROJECT_ID": strconv.Itoa(p.ID), "CI_MERGE_REQUEST_SOURCE_PROJECT_ID": strconv.Itoa(p.ID),
		"GITLAB_USER_LOGIN": "octocat",
		// The masked CI/CD variables the README asks for.
		"DATAOPS_GITLAB_TOKEN": gitlabtest.DefaultToken, "DATAOPS_WAREHOUSE_DSN": "duckdb://" + projectDir + "/warehouse.duckdb",
	}
	for k, v := range job.Variables {
		env[k] = v
	}
	args := []string{"run", "--rm", "-i", "--entrypoint", job.Image.Entrypoint[0], "--network", "host", "-v", dir + ":" + projectDir}
	for k := range env {
		args = append(args, "-e", k)
	}
	args = append(args, job.Image.Name, "sh", "-c", shellDetection)
	cmd := exec.Command("docker", args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// The runner's script: stop at the first failing line, from the
	// project's folder.
	cmd.Stdin = strings.NewReader("set -eo pipefail\ncd \"$CI_PROJECT_DIR\"\n" + strings.Join(job.Script, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the job failed: %v\n%s", err, out)
	}
	if strings.Contains(string(out), gitlabtest.DefaultToken) {
		t.Error("the token reached the job log")
	}

	var notes int
	for _, n := range gl.Notes(7) {
		if strings.Contains(n.Body, report.Marker) {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("%d dataops notes, want 1\n%s", notes, out)
	}
	statuses := gl.LatestStatuses(head)
	for _, name := range []string{"dataops/compile", "dataops/dry-run", "dataops/build", "dataops/diff", "dataops/gate"} {
		if st := statuses[name]; st.Status != "success" {
			t.Errorf("status %s = %+v", name, st)
		}
	}
	for kind, file := range job.Artifacts.Reports {
		if info, err := os.Stat(filepath.Join(dir, file)); err != nil || info.Size() == 0 {
			t.Errorf("the %s report %s: %v", kind, file, err)
		}
	}
}
