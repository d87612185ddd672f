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
}

// HeadProblems are compile errors in the head revision: the pull request's
// own mistakes, reported with their positions.
type HeadProblems struct{ project.Diagnostics }

// CompileRevisions compiles the project in dir at git revision baseRev and
// at headRev (the work tree when empty), both for the same target.
func CompileRevisions(ctx context.Context, dir, baseRev, headRev, targetName string, vars map[string]any) (*Revisions, error) {
	var headFiles []project.File
	if headRev != "" {
		var err error
		if headFiles, err = ReadRevision(ctx, dir, headRev); err != nil {
			return nil, err
		}
	}
	head, err := compileFiles(ctx, dir, headFiles, headRev == "", targetName, vars)
	if err != nil {
		return nil, err
	}
	baseFiles, err := ReadRevision(ctx, dir, baseRev)
	if err != nil {
		return nil, err
	}
	base, err := compileFiles(ctx, dir, baseFiles, false, targetName, vars)
	if hp, ok := err.(HeadProblems); ok {
		// The base is what the pull request starts from; it is not the
		// pull request's fault, but nothing can be compared without it.
		return nil, fmt.Errorf("the base revision %s does not compile (%d problems; the first: %s): fix it there, or compare against another --base",
			baseRev, len(hp.Diagnostics), hp.Diagnostics[0])
	}
	if err != nil {
		return nil, fmt.Errorf("base revision %s: %w", baseRev, err)
	}
	return &Revisions{Base: base, Head: head, BaseRev: baseRev, HeadRev: headRev}, nil
}

func compileFiles(ctx context.Context, dir string, files []project.File, fromDisk bool, targetName string, vars map[string]any) (*project.Manifest, error) {
	var p *project.Project
	var ds project.Diagnostics
	if fromDisk {
		p, ds = project.Load(dir)
	} else {
		p, ds = project.LoadFiles(dir, files)
	}
	if p == nil {
		return nil, HeadProblems{ds}
	}
	target, err := p.Target(targetName)
	if err != nil {
		return nil, err
	}
	m, ds := project.Compile(ctx, p, project.Options{Target: target, Vars: vars})
	if errs := ds.Errors(); len(errs) > 0 {
		return nil, HeadProblems{errs}
	}
	return m, nil
}

func (h HeadProblems) Error() string { return h.Diagnostics.Error() }
