package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/project/projecttest"
	"github.com/dataops-dev/dataops/internal/scm"
)

// TestCompare: a branch that conflicts with main falls back from the
// merge to the merge base, saying why; the repository is left as it was.
func TestCompare(t *testing.T) {
	dir := t.TempDir()
	write := func(content string) { os.WriteFile(filepath.Join(dir, "a.sql"), []byte(content), 0o644) }
	write("select 1 as a\n")
	branchPoint := projecttest.Commit(t, dir, "base")
	projecttest.Git(t, dir, "branch", "-M", "main")
	write("select 2 as a\n")
	tip := projecttest.Commit(t, dir, "main")
	projecttest.Git(t, dir, "checkout", "-q", "-b", "topic", branchPoint)
	write("select 3 as a\n")
	head := projecttest.Commit(t, dir, "topic")
	ctx := context.Background()

	got, err := Compare(ctx, dir, "main", "", scm.CompareMerge)
	if err != nil {
		t.Fatal(err)
	}
	want := scm.Comparison{Base: branchPoint, Mode: scm.CompareMergeBase, PullHead: head, WorkTree: true, Why: "the change conflicts with main"}
	if got != want {
		t.Errorf("conflict:\n got %+v\nwant %+v", got, want)
	}
	if got, _ := Compare(ctx, dir, "main", "topic", scm.CompareTip); got != (scm.Comparison{Base: tip, Head: head, Mode: scm.CompareTip, PullHead: head}) {
		t.Errorf("tip: %+v", got)
	}
	// Without the conflict the merge holds both.
	write("select 2 as a\n")
	merged, err := Compare(ctx, dir, "main", "", scm.CompareMerge)
	if err != nil || merged.Mode != scm.CompareMerge || merged.Base != tip || merged.Head == "" {
		t.Fatalf("merge: %+v %v", merged, err)
	}
	if parents := strings.Fields(string(projecttest.Git(t, dir, "rev-list", "--parents", "-n1", merged.Head))); len(parents) != 3 || parents[1] != tip {
		t.Errorf("the merge's parents: %v", parents)
	}
	if status := string(projecttest.Git(t, dir, "status", "--porcelain")); status != " M a.sql\n" {
		t.Errorf("the repository changed: %q", status)
	}
	if _, err := Compare(ctx, dir, "nope", "", scm.CompareMerge); err == nil || !strings.Contains(err.Error(), `unknown git revision "nope"`) {
		t.Errorf("unknown base: %v", err)
	}
}
