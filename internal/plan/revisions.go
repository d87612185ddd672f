package plan

import (
	"context"
	"fmt"

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
// request's checks: their errors are sorted in Revisions.Problems.
func CompileRevisions(ctx context.Context, dir, baseRev, headRev string, opts RevisionOptions) (*Revisions, error) {
	var headFiles []project.File
	if headRev != "" {
		var err error
		if headFiles, err = ReadRevision(ctx, dir, headRev); err != nil {
			return nil, err
		}
	}
	head, hds, err := compileFiles(ctx, dir, headFiles, headRev == "", opts)
	if err != nil {
		return nil, err
	}
	baseFiles, err := ReadRevision(ctx, dir, baseRev)
	if err != nil {
		return nil, err
	}
	base, bds, err := compileFiles(ctx, dir, baseFiles, false, opts)
	if hp, ok := err.(HeadProblems); ok {
		// The base is what the pull request starts from; it is not the
		// pull request's fault, but nothing can be compared without it.
		return nil, fmt.Errorf("the base revision %s does not compile (%d problems; the first: %s): fix it there, or compare against another --base",
			baseRev, len(hp.Diagnostics), hp.Diagnostics[0])
	}
	if err != nil {
		return nil, fmt.Errorf("base revision %s: %w", baseRev, err)
	}
	return &Revisions{Base: base, Head: head, BaseRev: baseRev, HeadRev: headRev, Problems: Attribute(base, head, bds, hds)}, nil
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
