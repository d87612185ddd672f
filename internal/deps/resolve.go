package deps

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Resolution follows dbt-core's (deps/resolver.py): requirements are
// merged per package, level by level from the project down; each package
// is resolved as soon as it is met (hub: the newest version in the merged
// range; git: the one revision asked for) and its own requirements join
// the next level. A package met again with narrower requirements is
// resolved again. Unlike dbt, a package is not revisited when its
// resolution did not change, so cycles end.

// want is every requirement on one package.
type want struct {
	key   string
	specs []Spec
}

func (w *want) first() Spec { return w.specs[0] }

// pin is a resolved package: what to install and under which name.
type pin struct {
	kind Kind
	spec Spec // the first requirement: the source to install from
	name string

	version, latest string // hub
	tarball         string // hub: the download URL
	revision        string // git: as asked for ("" is the default branch)
	sha             string // git: the commit
	content         string // git, tarball: extracted files; local: the source folder
	deps            []Spec
}

// identity is what makes two resolutions of a package the same.
func (p *pin) identity() string {
	switch p.kind {
	case KindHub:
		return p.spec.Package + "@" + p.version
	case KindGit:
		return gitKey(p.spec) + "@" + p.revision
	case KindLocal:
		return "local:" + p.content
	}
	return "tarball:" + p.spec.Tarball
}

// describe names the resolved package in messages and progress lines.
func (p *pin) describe() string {
	switch p.kind {
	case KindHub:
		return p.spec.Package + "@" + p.version
	case KindGit:
		rev := p.revision
		if rev == "" {
			rev = "HEAD"
		}
		return p.spec.Describe() + "@" + rev
	}
	return p.spec.Describe()
}

func gitKey(s Spec) string {
	k := strings.TrimSuffix(strings.TrimSuffix(s.Git, "/"), ".git")
	if s.Subdirectory != "" {
		k += "//" + s.Subdirectory
	}
	return "git:" + k
}

type resolver struct {
	root     *rootProject
	opts     *Options
	env      *renderer
	hub      *hubClient
	git      *gitClient
	download downloader
	budget   *budget
	tmp      string
	pins     map[string]*pin // by identity: each package fetched once
	n        int
	warnings []string
}

func (r *resolver) keyOf(s Spec) (string, error) {
	switch s.Kind {
	case KindHub:
		return "hub:" + s.Package, nil
	case KindGit:
		return gitKey(s), nil
	case KindLocal:
		p, err := r.localPath(s)
		return "local:" + p, err
	}
	return "tarball:" + s.Tarball, nil
}

// resolve finds every package the project needs, from its requirements.
func (r *resolver) resolve(ctx context.Context, root []Spec) ([]*pin, error) {
	wants := map[string]*want{}
	var order []string
	done := map[string]string{} // key -> identity whose requirements were followed
	pending := root
	for len(pending) > 0 {
		var next []Spec
		for _, s := range pending {
			key, err := r.keyOf(s)
			if err != nil {
				return nil, err
			}
			w := wants[key]
			if w == nil {
				if len(order) >= r.budget.limits.Packages {
					return nil, &Error{Message: fmt.Sprintf("more than %d packages in the dependency tree", r.budget.limits.Packages), Config: true}
				}
				w = &want{key: key}
				wants[key] = w
				order = append(order, key)
			}
			w.specs = append(w.specs, s)
			p, err := r.pinFor(ctx, w)
			if err != nil {
				return nil, err
			}
			if done[key] == p.identity() {
				continue
			}
			done[key] = p.identity()
			next = append(next, p.deps...)
		}
		pending = next
	}
	pins := make([]*pin, 0, len(order))
	for _, key := range order {
		p, err := r.pinFor(ctx, wants[key])
		if err != nil {
			return nil, err
		}
		pins = append(pins, p)
	}
	return pins, r.checkNames(pins)
}

// fromLock pins exactly what package-lock.yml lists.
func (r *resolver) fromLock(ctx context.Context, locked []Spec) ([]*pin, error) {
	var pins []*pin
	seen := map[string]bool{}
	for _, s := range locked {
		key, err := r.keyOf(s)
		if err != nil {
			return nil, err
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		if s.Kind == KindHub && (len(s.Versions) != 1 || s.Versions[0].Op != "=") {
			return nil, configError(s.From, s.Package, "run `dataops deps --upgrade` to write the lock file again", "a locked hub package needs one exact version")
		}
		p, err := r.pinFor(ctx, &want{key: key, specs: []Spec{s}})
		if err != nil {
			return nil, err
		}
		pins = append(pins, p)
	}
	return pins, r.checkNames(pins)
}

func (r *resolver) pinFor(ctx context.Context, w *want) (*pin, error) {
	switch w.first().Kind {
	case KindHub:
		return r.pinHub(ctx, w)
	case KindGit:
		return r.pinGit(ctx, w)
	case KindLocal:
		return r.pinLocal(w)
	}
	return r.pinTarball(ctx, w)
}

func (r *resolver) cached(id string, make func() (*pin, error)) (*pin, error) {
	if p, ok := r.pins[id]; ok {
		return p, nil
	}
	p, err := make()
	if err != nil {
		return nil, err
	}
	r.pins[id] = p
	return p, nil
}

func (r *resolver) pinHub(ctx context.Context, w *want) (*pin, error) {
	first := w.first()
	name := first.Package
	var cs []Constraint
	prerelease := first.InstallPrerelease // dbt keeps the first requirement's flag
	for _, s := range w.specs {
		for _, c := range s.Versions {
			cs = append(cs, c)
			prerelease = prerelease || c.V.Pre != ""
		}
	}
	rng, err := Reduce(cs)
	if err != nil {
		return nil, configError(first.From, name, "change the range in your packages file, or choose versions of the packages that require it whose ranges agree",
			"the version requirements conflict: %v", err)
	}
	doc, err := r.hub.pkg(ctx, name, first.From)
	if err != nil {
		return nil, err
	}
	if doc.RedirectName != "" || doc.RedirectNamespace != "" {
		ns, n := doc.Namespace, doc.Name
		if doc.RedirectNamespace != "" {
			ns = doc.RedirectNamespace
		}
		if doc.RedirectName != "" {
			n = doc.RedirectName
		}
		r.warn(fmt.Sprintf("%s has moved to %s/%s on the hub: update %s", name, ns, n, first.From))
	}
	var raws []string
	incompatible := 0
	for v, entry := range doc.Versions {
		if !entry.compatible() {
			incompatible++
			continue
		}
		raws = append(raws, v)
	}
	var installable []parsedVersion
	for _, pv := range sortVersions(raws) {
		if prerelease || pv.v.Pre == "" {
			installable = append(installable, pv)
		}
	}
	var target *parsedVersion
	for i := range installable {
		if rng.Contains(installable[i].v) {
			target = &installable[i]
		}
	}
	if target == nil {
		return nil, noVersion(first, name, rng, installable, incompatible, w.specs)
	}
	return r.cached(name+"@"+target.raw, func() (*pin, error) {
		entry := doc.Versions[target.raw]
		p := &pin{kind: KindHub, spec: first, version: target.raw, latest: installable[len(installable)-1].raw, name: entry.Name}
		if !projectNamePattern.MatchString(p.name) {
			return nil, &Error{Package: p.describe(), Message: fmt.Sprintf("the hub gives it the invalid project name %q", p.name)}
		}
		u, err := url.Parse(entry.Downloads.Tarball)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			return nil, &Error{Package: p.describe(), Message: fmt.Sprintf("the hub gives no usable download URL (%q)", entry.Downloads.Tarball)}
		}
		p.tarball = entry.Downloads.Tarball
		for i, raw := range entry.Packages {
			m, _ := jsonToPy(raw).(map[string]any)
			if m == nil {
				continue
			}
			s, err := specFromMap(m, m, nil, Origin{By: p.describe()})
			if err != nil {
				return nil, fmt.Errorf("%s: requirement %d: %w", p.describe(), i+1, err)
			}
			p.deps = append(p.deps, s)
		}
		return p, nil
	})
}

// noVersion explains why no version fits: the range, who asked for what,
// and the versions there are.
func noVersion(first Spec, name string, rng Range, installable []parsedVersion, incompatible int, specs []Spec) error {
	var asked []string
	for _, s := range specs {
		var parts []string
		for _, c := range s.Versions {
			parts = append(parts, c.String())
		}
		from := s.From
		if len(s.Versions) > 0 {
			from = s.Versions[0].From
		}
		asked = append(asked, fmt.Sprintf("%s (%s)", strings.Join(parts, ", "), from))
	}
	var avail []string
	for _, v := range installable {
		avail = append(avail, v.raw)
	}
	if len(avail) > 20 {
		avail = append([]string{fmt.Sprintf("(%d older)", len(avail)-20)}, avail[len(avail)-20:]...)
	}
	hint := "available: " + strings.Join(avail, ", ")
	if len(avail) == 0 {
		hint = "the hub lists no installable version"
	}
	if incompatible > 0 {
		hint += fmt.Sprintf(" (%d more need a dbt other than %s)", incompatible, dbtVersion)
	}
	hint += "; change the version range"
	return configError(first.From, name, hint, "no version matches %s, asked for as %s", rng, strings.Join(asked, " and "))
}

func (r *resolver) pinGit(ctx context.Context, w *want) (*pin, error) {
	first := w.first()
	revs := map[string][]Spec{}
	var order []string
	unpinnedOK := false
	for _, s := range w.specs {
		unpinnedOK = unpinnedOK || !s.WarnUnpinned
		if s.Revision == "" {
			continue
		}
		if _, ok := revs[s.Revision]; !ok {
			order = append(order, s.Revision)
		}
		revs[s.Revision] = append(revs[s.Revision], s)
	}
	if len(order) > 1 {
		var parts []string
		for _, rev := range order {
			parts = append(parts, fmt.Sprintf("%s (%s)", rev, revs[rev][0].From))
		}
		return nil, configError(first.From, first.Describe(), "require one revision of a git package everywhere it is used",
			"more than one revision is required: %s", strings.Join(parts, " and "))
	}
	rev := ""
	if len(order) == 1 {
		rev = order[0]
	}
	return r.cached(gitKey(first)+"@"+rev, func() (*pin, error) {
		p := &pin{kind: KindGit, spec: first, revision: rev}
		dir := r.newContentDir()
		wr := r.budget.newWriter(dir, p.describe())
		sha, err := r.git.checkout(ctx, first.Git, rev, first.Subdirectory, wr, first.From, first.Describe())
		r.warnings = append(r.warnings, wr.warnings...)
		if err != nil {
			return nil, err
		}
		p.sha, p.content = sha, dir
		if shown := rev; !unpinnedOK && (rev == "" || rev == "HEAD" || rev == "main" || rev == "master") {
			if shown == "" {
				shown = "HEAD"
			}
			r.warn(fmt.Sprintf("%s is not pinned (revision %s): set `revision:` to a tag or commit (%s), or `warn-unpinned: false`", first.Describe(), shown, first.From))
		}
		p.name, p.deps, err = readPackageMeta(dir, p.describe(), r.env)
		return p, err
	})
}

// localPath is a local package's folder: relative paths are from the root
// project (for transitive local packages too, as in dbt). In a pull
// request it must stay inside the project.
func (r *resolver) localPath(s Spec) (string, error) {
	p := filepath.FromSlash(s.Local)
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.root.dir, p)
	}
	p = filepath.Clean(p)
	if r.opts.Untrusted {
		real, err := filepath.EvalSymlinks(p)
		boundary := r.opts.LocalRoot
		if boundary == "" {
			boundary = r.root.dir
		}
		realBoundary, berr := filepath.EvalSymlinks(boundary)
		if err != nil || berr != nil || !within(realBoundary, real) {
			return "", configError(s.From, s.Local, "in a pull request a local package must be a folder inside the project", "is outside the project")
		}
	}
	return p, nil
}

func (r *resolver) pinLocal(w *want) (*pin, error) {
	first := w.first()
	dir, err := r.localPath(first)
	if err != nil {
		return nil, err
	}
	return r.cached("local:"+dir, func() (*pin, error) {
		info, err := os.Stat(dir)
		if err != nil || !info.IsDir() {
			return nil, configError(first.From, first.Local, "the path is relative to the root project's folder", "no such folder")
		}
		p := &pin{kind: KindLocal, spec: first, content: dir}
		p.name, p.deps, err = readPackageMeta(dir, first.Local, r.env)
		return p, err
	})
}

func (r *resolver) pinTarball(ctx context.Context, w *want) (*pin, error) {
	first := w.first()
	return r.cached("tarball:"+first.Tarball, func() (*pin, error) {
		u, err := url.Parse(first.Tarball)
		if err != nil || u.Host == "" || (u.Scheme != "https" && (r.opts.Untrusted || u.Scheme != "http")) {
			return nil, configError(first.From, first.Describe(), "", "`tarball:` must be an https URL")
		}
		p := &pin{kind: KindTarball, spec: first, name: first.Name}
		dir := r.newContentDir()
		wr := r.budget.newWriter(dir, first.Describe())
		d := r.download
		if r.opts.Untrusted {
			d = downloader{client: publicOnlyClient()}
		}
		if err := d.extract(ctx, first.Tarball, wr, r.budget.limits.DownloadBytes); err != nil {
			if IsConfig(err) {
				return nil, err
			}
			return nil, &Error{File: first.From.File, Line: first.From.Line, Package: first.Describe(), Err: err,
				Message: r.env.mask(err.Error()), Hint: "check the URL and that this machine can reach it"}
		}
		r.warnings = append(r.warnings, wr.warnings...)
		p.content = dir
		_, p.deps, err = readPackageMeta(dir, first.Describe(), r.env)
		return p, err
	})
}

func (r *resolver) newContentDir() string {
	r.n++
	return filepath.Join(r.tmp, fmt.Sprintf("pkg-%d", r.n))
}

func (r *resolver) warn(msg string) {
	for _, w := range r.warnings {
		if w == msg {
			return
		}
	}
	r.warnings = append(r.warnings, msg)
}

// checkNames refuses two packages installing under one name, or one under
// the project's own name (dbt: DuplicateProjectDependencyError).
func (r *resolver) checkNames(pins []*pin) error {
	seen := map[string]*pin{}
	for _, p := range pins {
		if p.name == r.root.name {
			return configError(p.spec.From, p.describe(), "rename the project or drop the package",
				"its project name %q is the name of this project", p.name)
		}
		if q, ok := seen[p.name]; ok {
			return configError(p.spec.From, p.describe(), "keep one of them; a hub package and a git URL of the same project are the same package",
				"installs as %q, as does %s (%s)", p.name, q.describe(), q.spec.From)
		}
		seen[p.name] = p
	}
	return nil
}
