package plan

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/dataops-dev/dataops/internal/project"
)

// Revisions is a project compiled at a pull request's base and head.
type Revisions struct {
	Base, Head       *project.Manifest
	BaseRev, HeadRev string // HeadRev is "" for the work tree
	// Problems sorts the head's compile errors into the pull request's and
	// those its base already had (see Attribute). Both manifests hold what
	// compiled; the nodes that did not are in their Skipped.
	Problems Attribution
	// NoBase, NoHead: that revision has no dbt_project.yml in the folder,
	// and is compiled as an empty project (see Plan.NoBase).
	NoBase, NoHead bool
}

// HeadProblems are problems that keep the head revision from being
// compiled at all (it is not a project, or its dbt_project.yml or
// profiles.yml cannot be used), reported with their positions.
type HeadProblems struct{ project.Diagnostics }

// RevisionOptions says how both revisions are compiled.
type RevisionOptions struct {
	// Target is the profiles.yml output to compile for ("" is the
	// profile's own target).
	Target string
	Vars   map[string]any
	// Warehouse answers the templates that query while compiling; without
	// one, the models that query are skipped as needing a warehouse.
	Warehouse project.Warehouse
}

// CompileRevisions compiles the project in dir at git revision baseRev and
// at headRev (the work tree when empty), both for the same target. Models
// that do not compile do not stop it, in either revision, as in a pull
// request's checks: their errors are sorted in Revisions.Problems. A
// revision without a project is an empty one, so that the change that
// adds the project adds every model; with none at either, it fails with
// NoProject.
func CompileRevisions(ctx context.Context, dir, baseRev, headRev string, opts RevisionOptions) (*Revisions, error) {
	revs := &Revisions{BaseRev: baseRev, HeadRev: headRev}
	var headFiles []project.File
	if headRev != "" {
		var err error
		if headFiles, err = ReadRevision(ctx, dir, headRev); err != nil {
			return nil, err
		}
		revs.NoHead = !HasProject(headFiles)
	} else {
		_, err := os.Stat(filepath.Join(dir, ProjectFile))
		revs.NoHead = errors.Is(err, fs.ErrNotExist)
	}
	baseFiles, err := ReadRevision(ctx, dir, baseRev)
	if err != nil {
		return nil, err
	}
	revs.NoBase = !HasProject(baseFiles)
	if revs.NoBase && revs.NoHead {
		return nil, NoProject{Folder: dir, Hint: "pass --project with the folder that holds it"}
	}
	var hds, bds project.Diagnostics
	revs.Head = &project.Manifest{}
	if !revs.NoHead {
		if revs.Head, hds, err = compileFiles(ctx, dir, headFiles, headRev == "", opts); err != nil {
			return nil, err
		}
	}
	revs.Base = &project.Manifest{Project: revs.Head.Project}
	if !revs.NoBase {
		revs.Base, bds, err = compileFiles(ctx, dir, baseFiles, false, opts)
		if hp, ok := err.(HeadProblems); ok {
			// The base is what the pull request starts from; it is not the
			// pull request's fault, but nothing can be compared without it.
			return nil, fmt.Errorf("the base revision %s does not compile (%d problems; the first: %s): fix it there, or compare against another --base",
				baseRev, len(hp.Diagnostics), hp.Diagnostics[0])
		}
		if err != nil {
			return nil, fmt.Errorf("base revision %s: %w", baseRev, err)
		}
	}
	if revs.NoHead {
		revs.Head.Project = revs.Base.Project
	}
	revs.Problems = Attribute(revs.Base, revs.Head, bds, hds)
	return revs, nil
}

// compileFiles compiles one revision. It fails only when the revision
// cannot be compiled at all; the problems of single models come back with
// the manifest of the rest.
func compileFiles(ctx context.Context, dir string, files []project.File, fromDisk bool, opts RevisionOptions) (*project.Manifest, project.Diagnostics, error) {
	var p *project.Project
	var ds project.Diagnostics
	if fromDisk {
		p, ds = project.Load(dir)
	} else {
		p, ds = project.LoadFiles(dir, files)
	}
	if p == nil {
		return nil, nil, HeadProblems{ds}
	}
	target, err := p.Target(opts.Target)
	if err != nil {
		return nil, nil, err
	}
	m, ds := project.Compile(ctx, p, project.Options{Target: target, Vars: opts.Vars, Warehouse: opts.Warehouse})
	if m == nil || ds.HasConfigErrors() {
		return nil, nil, HeadProblems{ds.Errors()}
	}
	return m, ds, nil
}

func (h HeadProblems) Error() string { return h.Diagnostics.Error() }

// ProjectFile is the file that makes a folder a dbt project.
const ProjectFile = "dbt_project.yml"

// HasProject reports whether a commit's files (those of the project
// folder) hold a project. A commit without dbt_project.yml there has no
// project yet (the pull request that adds it) or no more (the one that
// removes it); one whose dbt_project.yml is broken has a project that does
// not load, which is reported as such.
func HasProject(files []project.File) bool {
	for _, f := range files {
		if f.Path == ProjectFile {
			return true
		}
	}
	return false
}

// NoProject is a comparison with no project on either side. Folder is
// where dataops looked ("." for the root), Hint what to do.
type NoProject struct {
	Folder, Hint string
}

func (e NoProject) Error() string {
	msg := fmt.Sprintf("no %s in %s at either revision: there is no dbt project to check", ProjectFile, FolderName(e.Folder))
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// FolderName writes a project folder for messages: `.` is the
// repository's root.
func FolderName(dir string) string {
	if dir == "" || dir == "." {
		return "the repository's root"
	}
	return "`" + strings.TrimSuffix(dir, "/") + "/`"
}
