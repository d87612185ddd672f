package action

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// reportName is the file the full report is written to (report-path).
const reportName = "dataops-report.md"

// The runner's folders as a container action sees them.
const (
	containerRunnerTemp = "/github/runner_temp" // runners from v2.329
	containerHome       = "/github/home"        // every runner: its temp folder's _github_home
)

// writeReport writes the full report where the job's later steps can read
// it and returns the path to give them (report-path).
//
// The place is the runner's temp folder, RUNNER_TEMP. Runners from v2.329
// mount it into a container action at /github/runner_temp and set
// RUNNER_TEMP to that; older ones leave RUNNER_TEMP naming the host's
// folder, which does not exist in the container (and must not be created
// there: nothing would see it). Then the report goes to /github/home, which
// every runner mounts from its temp folder, and failing all else to the
// container's own temp folder. A path inside one of the runner's mounts is
// returned as the host names it, since later steps run on the host.
func writeReport(env environment, report string) (string, error) {
	var errs []error
	for _, dir := range []string{env.get("RUNNER_TEMP"), containerRunnerTemp, containerHome, os.TempDir()} {
		if dir == "" {
			continue
		}
		path := filepath.Join(dir, reportName)
		if err := os.WriteFile(path, []byte(report), 0o644); err != nil {
			errs = append(errs, err)
			continue
		}
		return hostPath(env, path), nil
	}
	return "", errors.Join(errs...)
}

// hostPath turns a path in the runner's temp folder mounts into the host's
// path. The runner keeps its temp folder beside the repository's folder in
// its work folder (_work/_temp next to _work/REPO, which RUNNER_WORKSPACE
// names and which no mount translates); without that, the path is left as
// it is.
func hostPath(env environment, path string) string {
	workspace := env.get("RUNNER_WORKSPACE")
	if !filepath.IsAbs(workspace) || strings.HasPrefix(workspace, "/github/") {
		return path
	}
	temp := filepath.Join(filepath.Dir(workspace), "_temp")
	for _, m := range []struct{ container, host string }{
		{containerRunnerTemp, temp},
		{containerHome, filepath.Join(temp, "_github_home")},
	} {
		if rest, ok := strings.CutPrefix(path, m.container+"/"); ok {
			return filepath.Join(m.host, rest)
		}
	}
	return path
}
