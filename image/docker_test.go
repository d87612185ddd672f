package image

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// tag is the image the tests build and run.
const tag = "dataops:test"

var (
	buildOnce sync.Once
	buildErr  error
)

// imageUnderTest builds the image from the repository's Dockerfile, once
// per test run, and returns its tag. BuildKit's caches make a build after
// a change to one package a compile of that package and a link.
// DATAOPS_TEST_IMAGE names an image to test instead (a released one, say).
func imageUnderTest(t *testing.T) string {
	t.Helper()
	requireDocker(t)
	if image := os.Getenv("DATAOPS_TEST_IMAGE"); image != "" {
		return image
	}
	// go test caches a passing result keyed by the files a test reads: the
	// build context is read here, so that a change to the code builds and
	// tests the image again instead of reusing the last result.
	readContext(t)
	buildOnce.Do(func() { buildErr = buildImage() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return tag
}

// requireDocker skips the test, loudly, when no Docker daemon answers, or
// fails it under CI.
func requireDocker(t *testing.T) {
	t.Helper()
	out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("no Docker daemon answers (docker info: %v: %s); .ci/run starts one with ../shared/tools/docker-base-images.sh", err, bytes.TrimSpace(out))
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this fails instead of skipping)", msg)
	}
	fmt.Fprintf(os.Stderr, "SKIPPING the image tests: %s\n", msg)
	t.Skipf("SKIPPING: %s", msg)
}

// readContext reads every file the image's build may use.
func readContext(t *testing.T) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "target" || d.Name() == "dbt_packages") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			_, err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatalf("read the build context: %v", err)
	}
}

func buildImage() error {
	argv, env, err := buildKitClient()
	if err != nil {
		return err
	}
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	args := append(argv[1:], "--network", "host", "--build-arg", "VERSION=test", "-t", tag, root)
	cmd := exec.CommandContext(ctx, argv[0], args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker build: %v\n%s", err, tail(out.String(), 60))
	}
	fmt.Fprintf(os.Stderr, "image tests: built %s in %s\n", tag, time.Since(start).Round(time.Second))
	return nil
}

// buildKitClient finds a docker command that builds with BuildKit, which
// the Dockerfile's cache mounts need: docker buildx, or a docker client
// older than 23, which runs the daemon's own BuildKit when DOCKER_BUILDKIT=1
// (Debian's docker.io is one; newer clients hand BuildKit to buildx).
func buildKitClient() (argv, env []string, err error) {
	if exec.Command("docker", "buildx", "version").Run() == nil {
		return []string{"docker", "buildx", "build", "--load", "--allow", "network.host"}, nil, nil
	}
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		path := filepath.Join(dir, "docker")
		if seen[path] {
			continue
		}
		seen[path] = true
		out, err := exec.Command(path, "version", "--format", "{{.Client.Version}}").Output()
		if err != nil {
			continue
		}
		major, _ := strconv.Atoi(strings.SplitN(strings.TrimSpace(string(out)), ".", 2)[0])
		if major > 0 && major < 23 {
			return []string{path, "build"}, []string{"DOCKER_BUILDKIT=1"}, nil
		}
	}
	return nil, nil, fmt.Errorf("no docker command builds with BuildKit here: install the buildx plugin (docker-buildx-plugin), or Debian's docker.io, whose client does")
}

// docker runs the docker command and returns its standard output; a
// failure ends the test.
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := dockerCmd(args...)
	if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func dockerCmd(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// uniqueName names a container or volume of this test run.
func uniqueName(what string) string { return warehousetest.UniqueName("dataops-test-" + what + "-") }

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// ownAll gives a tree to uid:gid with the modes a runner's checkout has:
// folders 755, files 644.
func ownAll(t *testing.T, root string, uid, gid int) {
	t.Helper()
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if info.IsDir() {
			mode = 0o755
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}
