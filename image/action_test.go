package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/build"
	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm/githubtest"
	"github.com/dataops-dev/dataops/internal/warehouse/duckdb"
)

const (
	repoName = "acme/shop"
	// runnerUID owns everything a GitHub-hosted runner mounts into a
	// container action: its user "runner".
	runnerUID = 1001
	token     = "ghs_imagetesttoken0123456789"
)

// actionYML is what the runner reads of action.yml.
type actionYML struct {
	Inputs map[string]struct {
		Default  string `yaml:"default"`
		Required bool   `yaml:"required"`
	} `yaml:"inputs"`
	Outputs map[string]any `yaml:"outputs"`
	Runs    struct {
		Using      string   `yaml:"using"`
		Image      string   `yaml:"image"`
		Entrypoint string   `yaml:"entrypoint"`
		Args       []string `yaml:"args"`
	} `yaml:"runs"`
}

func readActionYML(t *testing.T) actionYML {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionYML
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

// runner is a GitHub-hosted runner's work folder during one job, laid out
// as the runner lays it out and owned by its user: _work/_temp (RUNNER_TEMP)
// with _github_home, _github_workflow and _runner_file_commands in it, and
// the repository checked out in _work/shop/shop.
type runner struct {
	work, temp, workspace string
}

func newRunner(t *testing.T) *runner {
	t.Helper()
	work := filepath.Join(t.TempDir(), "_work")
	r := &runner{work: work, temp: filepath.Join(work, "_temp"), workspace: filepath.Join(work, "shop", "shop")}
	for _, dir := range []string{r.workspace, r.temp, r.home(), r.workflow(), r.fileCommands()} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Dir(work), 0o755)
	return r
}

func (r *runner) home() string         { return filepath.Join(r.temp, "_github_home") }
func (r *runner) workflow() string     { return filepath.Join(r.temp, "_github_workflow") }
func (r *runner) fileCommands() string { return filepath.Join(r.temp, "_runner_file_commands") }

// step is one run of the action by the runner.
type step struct {
	eventName string
	payload   []byte
	env       map[string]string // GITHUB_* that depend on the event
	with      map[string]string // the workflow's with:
	// oldRunner: a runner before v2.329, which does not mount its temp
	// folder at /github/runner_temp and passes RUNNER_TEMP untranslated.
	oldRunner bool
	// readOnlyFileCommands mounts /github/file_commands read-only, so no
	// file command can be written.
	readOnlyFileCommands bool
}

// result is what a step left behind.
type result struct {
	exit    int
	log     string
	outputs map[string]string
	summary string
}

// run starts the action's image as the runner's ContainerActionHandler
// and DockerCommandManager.DockerRun do (actions/runner): docker run with
// --workdir /github/workspace --rm, each variable passed by name (-e NAME,
// its value in docker's own environment), GITHUB_ACTIONS=true and CI=true,
// the job's network (here the host's, where the test doubles listen), the
// runner's folders mounted at /github/*, the image from action.yml and its
// args.
func (r *runner) run(t *testing.T, a actionYML, image string, s step) result {
	t.Helper()
	id := uniqueName("step")
	files := map[string]string{}
	for variable, prefix := range map[string]string{"GITHUB_OUTPUT": "set_output_", "GITHUB_STEP_SUMMARY": "step_summary_",
		"GITHUB_ENV": "set_env_", "GITHUB_PATH": "add_path_", "GITHUB_STATE": "save_state_"} {
		name := prefix + id
		path := filepath.Join(r.fileCommands(), name)
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		files[variable] = path
	}
	if err := os.WriteFile(filepath.Join(r.workflow(), "event.json"), s.payload, 0o644); err != nil {
		t.Fatal(err)
	}
	ownAll(t, r.temp, runnerUID, runnerUID)

	env := map[string]string{
		"HOME": "/github/home", "GITHUB_JOB": "dataops", "GITHUB_REPOSITORY": repoName, "GITHUB_REPOSITORY_OWNER": "acme",
		"GITHUB_RUN_ID": "4242", "GITHUB_RUN_NUMBER": "7", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_RETENTION_DAYS": "90",
		"GITHUB_ACTOR": "octocat", "GITHUB_TRIGGERING_ACTOR": "octocat", "GITHUB_WORKFLOW": "dataops",
		"GITHUB_EVENT_NAME": s.eventName, "GITHUB_EVENT_PATH": "/github/workflow/event.json",
		"GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": s.env["GITHUB_API_URL"], "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql",
		"GITHUB_WORKSPACE": "/github/workspace", "GITHUB_ACTION": "dataops", "GITHUB_ACTION_REPOSITORY": "dataops-dev/dataops",
		"GITHUB_ACTION_REF": "v1", "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_NAME": "GitHub Actions 2",
		"RUNNER_ENVIRONMENT": "github-hosted", "RUNNER_TOOL_CACHE": "/opt/hostedtoolcache", "RUNNER_TEMP": "/github/runner_temp",
		"RUNNER_WORKSPACE": filepath.Dir(r.workspace), "ACTIONS_RUNTIME_URL": "https://pipelines.actions.githubusercontent.com/x/",
		"ACTIONS_RUNTIME_TOKEN": "runtime-token-0123456789", "ACTIONS_RESULTS_URL": "https://results-receiver.actions.githubusercontent.com/",
	}
	for k, v := range s.env {
		env[k] = v
	}
	if s.oldRunner {
		env["RUNNER_TEMP"] = r.temp
	}
	for variable, path := range files {
		env[variable] = "/github/file_commands/" + filepath.Base(path)
	}
	// Every input action.yml declares, as the runner passes them: its
	// name upper-cased, hyphens kept.
	for name, in := range a.Inputs {
		v, ok := s.with[name]
		if !ok {
			v = strings.ReplaceAll(in.Default, "${{ github.token }}", token)
		}
		env["INPUT_"+strings.ToUpper(name)] = v
	}

	args := []string{"run", "--name", id, "--label", "dataops-image-test", "--workdir", "/github/workspace", "--rm"}
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-e", k)
	}
	args = append(args, "-e", "GITHUB_ACTIONS=true", "-e", "CI=true", "--network", "host",
		"-v", "/var/run/docker.sock:/var/run/docker.sock")
	if !s.oldRunner {
		args = append(args, "-v", r.temp+":/github/runner_temp")
	}
	fileCommands := r.fileCommands() + ":/github/file_commands"
	if s.readOnlyFileCommands {
		fileCommands += ":ro"
	}
	args = append(args, "-v", r.home()+":/github/home", "-v", r.workflow()+":/github/workflow",
		"-v", fileCommands, "-v", r.workspace+":/github/workspace", image)
	args = append(args, a.Runs.Args...)

	cmd := exec.Command("docker", args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	res := result{log: string(out), outputs: map[string]string{}}
	if exit, ok := err.(*exec.ExitError); ok {
		res.exit = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("docker run: %v", err)
	}
	if data, err := os.ReadFile(files["GITHUB_OUTPUT"]); err == nil {
		res.outputs = parseOutputs(t, string(data))
	}
	summary, _ := os.ReadFile(files["GITHUB_STEP_SUMMARY"])
	res.summary = string(summary)
	return res
}

// parseOutputs reads GITHUB_OUTPUT as the runner does: name=value lines
// and name<<DELIMITER blocks.
func parseOutputs(t *testing.T, data string) map[string]string {
	t.Helper()
	out := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if name, delimiter, ok := strings.Cut(line, "<<"); ok {
			var value []string
			for i++; i < len(lines) && lines[i] != delimiter; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				t.Fatalf("GITHUB_OUTPUT: %s has no closing delimiter:\n%s", name, data)
			}
			out[name] = strings.Join(value, "\n")
		} else if name, value, ok := strings.Cut(line, "="); ok {
			out[name] = value
		}
	}
	return out
}

// pullRequest is pull request 7 of acme/shop in a runner's workspace,
// checked out as actions/checkout does on pull_request: the merge commit
// GitHub makes of the head and the base (refs/pull/7/merge), detached;
// production is built from the base in a DuckDB file in the workspace.
type pullRequest struct {
	base, head, merge string
	gh                *githubtest.Server
	workspace         string
}

// push commits a file to the head branch, as a push to the pull request
// does, and checks out the new merge commit.
func (pr *pullRequest) push(t *testing.T, path, content string) {
	t.Helper()
	git := func(args ...string) []byte { return projecttest.Git(t, pr.workspace, args...) }
	git("checkout", "-q", pr.head)
	if err := os.WriteFile(filepath.Join(pr.workspace, path), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", path)
	git("commit", "-q", "-m", "push "+path)
	pr.head = strings.TrimSpace(string(git("rev-parse", "HEAD")))
	pr.checkoutMerge(t)
	ownAll(t, pr.workspace, runnerUID, runnerUID)
}

// checkoutMerge makes GitHub's test merge of the head into the base
// (refs/pull/7/merge) and checks it out, detached, as actions/checkout
// does; the fake serves every commit, with its parents and archive.
func (pr *pullRequest) checkoutMerge(t *testing.T) {
	t.Helper()
	pr.merge = projecttest.TestMerge(t, pr.workspace, pr.base, pr.head, "refs/pull/7/merge")
	projecttest.Git(t, pr.workspace, "checkout", "-q", "--detach", pr.merge)
	serveHistory(t, pr.gh, pr.workspace)
	pr.gh.AddPullRequest(repoName, githubtest.PullRequest{Number: 7, Title: "card_amount", Author: "octocat",
		BaseRef: "main", BaseSHA: pr.base, HeadRef: "card-amount", HeadSHA: pr.head, MergeCommitSHA: pr.merge})
}

// serveHistory has the GitHub fake serve every commit of the repository in
// dir, with its parents and its archive.
func serveHistory(t *testing.T, gh *githubtest.Server, dir string) {
	t.Helper()
	projecttest.History(t, dir, func(sha string, parents []string, archive []byte) {
		gh.AddCommit(sha, parents...)
		gh.SetArchive(sha, archive)
	})
}

func newPullRequest(t *testing.T, r *runner) *pullRequest {
	t.Helper()
	pr := &pullRequest{gh: githubtest.NewServer(t), workspace: r.workspace}
	pr.base, pr.head = projecttest.ShopPullRequest(t, r.workspace, nil)
	projecttest.Git(t, r.workspace, "branch", "-M", "card-amount")
	pr.checkoutMerge(t)
	pr.gh.SetPermission("octocat", "write")

	ctx := context.Background()
	w, err := duckdb.Open(ctx, "duckdb://"+filepath.Join(r.workspace, "warehouse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	m := projecttest.Compile(t, projecttest.Shop(t, nil), project.Target{Name: "prod", Schema: "main", Type: "duckdb"})
	all, _ := m.Select("", nil)
	if res, err := build.Run(ctx, build.Options{Manifest: m, Warehouse: w, Selection: all}); err != nil || res.Failed() {
		t.Fatalf("production build: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ownAll(t, r.workspace, runnerUID, runnerUID)
	return pr
}

// payload is a GitHub example payload about pull request 7.
func (pr *pullRequest) payload(t *testing.T, name string, edit func(map[string]any)) []byte {
	t.Helper()
	return githubtest.Payload(t, name, repoName, githubtest.PayloadPR{Number: 7, BaseSHA: pr.base, BaseRef: "main",
		HeadSHA: pr.head, HeadRef: "card-amount", Author: "octocat"}, edit)
}

// opened is the step of a pull_request opened event.
func (pr *pullRequest) opened(t *testing.T) step { return pr.event(t, "pull_request.opened.json") }

// event is the step of a pull_request event from GitHub's example payload.
func (pr *pullRequest) event(t *testing.T, example string) step {
	return step{eventName: "pull_request", payload: pr.payload(t, example, nil),
		env: map[string]string{"GITHUB_API_URL": pr.gh.APIURL(), "GITHUB_REF": "refs/pull/7/merge", "GITHUB_REF_NAME": "7/merge",
			"GITHUB_REF_TYPE": "branch", "GITHUB_SHA": pr.merge, "GITHUB_HEAD_REF": "card-amount", "GITHUB_BASE_REF": "main"},
		with: map[string]string{"warehouse-dsn": "duckdb:///github/workspace/warehouse.duckdb"}}
}

func (pr *pullRequest) checks() map[string]string {
	out := map[string]string{}
	for _, run := range pr.gh.CheckRuns(repoName) {
		if run.HeadSHA == pr.head {
			out[run.Name] = run.Status + "/" + run.Conclusion
		}
	}
	return out
}

// The Action's image, run as the GitHub runner runs it.
func TestGitHubAction(t *testing.T) {
	a := readActionYML(t)
	if a.Runs.Using != "docker" || !strings.HasPrefix(a.Runs.Image, "docker://ghcr.io/dataops-dev/dataops:") {
		t.Fatalf("action.yml runs %s %s: want the published image, docker://ghcr.io/dataops-dev/dataops:VERSION", a.Runs.Using, a.Runs.Image)
	}
	// The runner's checkout belongs to its user, which git (here, the
	// test's) refuses unless told.
	t.Setenv("GIT_CONFIG_COUNT", "1")
	t.Setenv("GIT_CONFIG_KEY_0", "safe.directory")
	t.Setenv("GIT_CONFIG_VALUE_0", "*")
	built := imageUnderTest(t)
	// The image as action.yml names it, so the runner's docker run is
	// exactly the one users get.
	image := strings.TrimPrefix(a.Runs.Image, "docker://")
	docker(t, "tag", built, image)
	t.Cleanup(func() { dockerCmd("rmi", image) })

	wantChecks := map[string]string{"dataops/compile": "completed/success", "dataops/dry-run": "completed/success",
		"dataops/build": "completed/success", "dataops/diff": "completed/neutral", "dataops/gate": "completed/success"}

	t.Run("runner", func(t *testing.T) {
		r := newRunner(t)
		pr := newPullRequest(t, r)
		res := r.run(t, a, image, pr.opened(t))
		if res.exit != 0 || strings.Contains(res.log, "panic") {
			t.Fatalf("exit %d\n%s", res.exit, res.log)
		}
		if got := pr.checks(); fmt.Sprint(got) != fmt.Sprint(wantChecks) {
			t.Errorf("checks on the head: %v, want %v\n%s", got, wantChecks, res.log)
		}
		comments := pr.gh.Comments(repoName, 7)
		if len(comments) != 1 || !strings.Contains(comments[0].Body, "card_amount") {
			t.Fatalf("comments: %+v", comments)
		}
		if res.outputs["environment"] != "pr_7" || res.outputs["status"] != "success" {
			t.Errorf("outputs %v", res.outputs)
		}
		// report-path names the file as the job's later steps, on the
		// host, see it: in the runner's temp folder.
		if want := filepath.Join(r.temp, "dataops-report.md"); res.outputs["report-path"] != want {
			t.Errorf("report-path %q, want %s", res.outputs["report-path"], want)
		}
		if data, err := os.ReadFile(res.outputs["report-path"]); err != nil || !strings.Contains(string(data), "fct_orders") {
			t.Errorf("the report file: %v", err)
		}
		if !strings.Contains(res.summary, "fct_orders") {
			t.Errorf("step summary: %q", res.summary)
		}
		if strings.Contains(res.log, token) && !strings.Contains(res.log, "::add-mask::"+token) {
			t.Error("the token is in the log unmasked")
		}
		if got := environmentTables(t, r); !strings.Contains(got, "orders_per_month") {
			t.Errorf("pr_7 in the workspace's warehouse holds %s", got)
		}

		// A push: the next run edits the same comment.
		pr.push(t, "models/marts/orders_per_day.sql", "select cast(ordered_at as date) as day, count(*) as orders\nfrom {{ ref('fct_orders') }}\ngroup by 1\n")
		res = r.run(t, a, image, pr.event(t, "pull_request.synchronize.json"))
		if res.exit != 0 {
			t.Fatalf("second run: exit %d\n%s", res.exit, res.log)
		}
		after := pr.gh.Comments(repoName, 7)
		if len(after) != 1 || after[0].ID != comments[0].ID || after[0].Edits == 0 || !strings.Contains(after[0].Body, "orders_per_day") {
			t.Errorf("after the push: %d comments (%+v), want the first one edited", len(after), after)
		}
		if got := pr.checks(); fmt.Sprint(got) != fmt.Sprint(wantChecks) {
			t.Errorf("checks on the pushed head: %v", got)
		}
	})

	t.Run("runner before v2.329", func(t *testing.T) {
		r := newRunner(t)
		pr := newPullRequest(t, r)
		s := pr.opened(t)
		s.oldRunner = true
		res := r.run(t, a, image, s)
		if res.exit != 0 {
			t.Fatalf("exit %d\n%s", res.exit, res.log)
		}
		// RUNNER_TEMP names a host folder the container does not have: the
		// report goes to /github/home, the runner's _temp/_github_home.
		if want := filepath.Join(r.home(), "dataops-report.md"); res.outputs["report-path"] != want {
			t.Errorf("report-path %q, want %s", res.outputs["report-path"], want)
		}
		if _, err := os.Stat(res.outputs["report-path"]); err != nil {
			t.Errorf("report-path: %v", err)
		}
	})

	t.Run("file commands that cannot be written", func(t *testing.T) {
		r := newRunner(t)
		pr := newPullRequest(t, r)
		s := pr.opened(t)
		s.readOnlyFileCommands = true
		res := r.run(t, a, image, s)
		if res.exit != 0 || strings.Contains(res.log, "goroutine") {
			t.Fatalf("exit %d\n%s", res.exit, res.log)
		}
		if n := strings.Count(res.log, "could not write the step's outputs"); n != 1 {
			t.Errorf("said %d times that the outputs could not be written, want once:\n%s", n, res.log)
		}
		if got := pr.checks(); fmt.Sprint(got) != fmt.Sprint(wantChecks) {
			t.Errorf("checks: %v", got)
		}
	})
}

// environmentTables lists the pull request's environment in the
// workspace's warehouse after a run.
func environmentTables(t *testing.T, r *runner) string {
	t.Helper()
	ctx := context.Background()
	w, err := duckdb.Open(ctx, "duckdb://"+filepath.Join(r.workspace, "warehouse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rows, err := w.Query(ctx, "select table_name from information_schema.tables where table_schema = "+w.Dialect().Placeholder(1)+" order by 1", "pr_7")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range rows.Values {
		names = append(names, fmt.Sprint(row[0]))
	}
	return strings.Join(names, ",")
}
