package deps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Options says how Install works.
type Options struct {
	// Upgrade resolves again even when package-lock.yml matches (dbt deps
	// --upgrade); LockOnly resolves and writes package-lock.yml without
	// installing (dbt deps --lock).
	Upgrade  bool
	LockOnly bool

	// HubURL is the package hub; empty means DBT_PACKAGE_HUB_URL, else
	// https://hub.getdbt.com/.
	HubURL string
	// HTTPClient fetches from the hub (nil: a client with timeouts).
	HTTPClient *http.Client
	// LookupEnv is what {{ env_var() }} reads (nil: the process
	// environment). The bot gives one that reads only DBT_ variables.
	LookupEnv func(string) (string, bool)

	// Untrusted is for a pull request's files: git URLs only over https://
	// or git:// to public hosts without the machine's git configuration,
	// tarballs only over https to public addresses, local packages and the
	// install path only inside the project (or LocalRoot).
	Untrusted bool
	LocalRoot string

	Limits Limits
	// Timeout bounds the whole run when ctx has no deadline (default 15
	// minutes).
	Timeout time.Duration
	// TempDir holds downloads while a run works (default: the system's).
	TempDir string

	// Progress, when set, is told about each package as it is installed.
	Progress func(Installed)
}

// Installed is one package of a run.
type Installed struct {
	Name     string // the folder under dbt_packages/
	Kind     Kind
	Source   string // hub package, git URL (as written), local path or tarball URL
	Version  string // hub: the version; git: the commit
	Revision string // git: the revision asked for ("" = default branch)
	Latest   string // hub: the newest installable version
}

func (i Installed) String() string {
	switch i.Kind {
	case KindHub:
		s := i.Source + " " + i.Version
		if i.Latest != "" && i.Latest != i.Version {
			s += " (" + i.Latest + " available)"
		}
		return s
	case KindGit:
		rev, short := i.Revision, i.Version[:min(len(i.Version), 10)]
		switch rev {
		case "":
			rev = "HEAD"
		case i.Version:
			return i.Source + " at " + short
		}
		return fmt.Sprintf("%s at %s (%s)", i.Source, rev, short)
	case KindLocal:
		return "local " + i.Source
	}
	return "tarball " + i.Source
}

// Result is what a run did.
type Result struct {
	Packages    []Installed
	InstallPath string // absolute
	// FromLock: the lock file matched and was installed as it is.
	FromLock bool
	// LockWritten: package-lock.yml was written (new or changed).
	LockWritten bool
	// Nothing: the project declares no packages; nothing was touched.
	Nothing  bool
	Warnings []string
}

func (o Options) hubURL() string {
	if o.HubURL != "" {
		return o.HubURL
	}
	if u := os.Getenv("DBT_PACKAGE_HUB_URL"); u != "" {
		return u
	}
	return DefaultHubURL
}

func (o Options) lookupEnv() func(string) (string, bool) {
	if o.LookupEnv != nil {
		return o.LookupEnv
	}
	return os.LookupEnv
}

// Install installs the packages of the dbt project in dir into its
// packages-install-path (dbt_packages/), as `dbt deps` does: from
// package-lock.yml when it matches packages.yml (or dependencies.yml),
// else by resolving the requirements and writing package-lock.yml. The
// packages are assembled in a new folder that replaces the old one only
// when all of them are in place, so a failure leaves the previous
// dbt_packages/ as it was.
func Install(ctx context.Context, dir string, opts Options) (*Result, error) {
	if _, ok := ctx.Deadline(); !ok {
		timeout := opts.Timeout
		if timeout <= 0 {
			timeout = 15 * time.Minute
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	env := &renderer{lookup: opts.lookupEnv()}
	root, err := readRoot(dir, env, opts.Untrusted)
	if err != nil {
		return nil, err
	}
	res := &Result{InstallPath: root.installPath}
	if root.specs == nil || len(root.specs.Specs) == 0 {
		res.Nothing = true
		return res, nil
	}
	hash := SpecsHash(root.specs.Specs)
	var lock *specsFile
	if !opts.Upgrade {
		if lock, err = readLock(root.lockPath, env); err != nil {
			return nil, err
		}
	}
	res.FromLock = lock != nil && lock.Hash == hash && len(lock.Specs) > 0
	if res.FromLock && opts.LockOnly {
		// As dbt deps --lock: a lock that matches is left alone, unfetched.
		for _, s := range lock.Specs {
			p := Installed{Name: s.Name, Kind: s.Kind, Source: s.Describe(), Revision: s.Revision}
			switch s.Kind {
			case KindHub:
				p.Version = strings.TrimPrefix(s.Versions[0].String(), "=")
			case KindGit:
				p.Version = s.Revision
			}
			res.Packages = append(res.Packages, p)
		}
		return res, nil
	}

	tmp, err := os.MkdirTemp(opts.TempDir, "dataops-deps-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	client := opts.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Minute}
	}
	r := &resolver{
		root: root, opts: &opts, env: env, tmp: tmp, pins: map[string]*pin{},
		hub:      newHubClient(opts.hubURL(), client),
		git:      &gitClient{tmp: tmp, untrusted: opts.Untrusted, limits: opts.Limits.orDefault(), mask: env.mask},
		download: downloader{client: client},
		budget:   &budget{limits: opts.Limits.orDefault()},
	}
	var pins []*pin
	if res.FromLock {
		pins, err = r.fromLock(ctx, lock.Specs)
	} else {
		pins, err = r.resolve(ctx, root.specs.Specs)
	}
	res.Warnings = r.warnings
	if err != nil {
		return res, maskError(err, env)
	}
	lockText := renderLock(pins, hash)

	if !opts.LockOnly {
		if err := r.installAll(ctx, pins, res); err != nil {
			return res, maskError(err, env)
		}
	} else {
		res.Packages = installedList(pins)
	}
	res.Warnings = r.warnings
	if res.FromLock {
		return res, nil // the lock is left as it was written, by dbt or by us
	}
	if old, err := os.ReadFile(root.lockPath); err != nil || !bytes.Equal(old, lockText) {
		if err := writeFileAtomic(root.lockPath, lockText); err != nil {
			return res, fmt.Errorf("write %s: %w", LockFile, err)
		}
		res.LockWritten = true
	}
	return res, nil
}

func installedList(pins []*pin) []Installed {
	out := make([]Installed, len(pins))
	for i, p := range pins {
		out[i] = Installed{Name: p.name, Kind: p.kind, Source: p.spec.Describe(), Latest: p.latest}
		switch p.kind {
		case KindHub:
			out[i].Version = p.version
		case KindGit:
			out[i].Version, out[i].Revision = p.sha, p.revision
		}
	}
	return out
}

// installAll puts every package into a new folder next to the install
// path, then swaps it in.
func (r *resolver) installAll(ctx context.Context, pins []*pin, res *Result) error {
	parent := filepath.Dir(r.root.installPath)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(r.root.installPath)+".new-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	list := installedList(pins)
	for i, p := range pins {
		if r.opts.Progress != nil {
			r.opts.Progress(list[i])
		}
		dest := filepath.Join(stage, p.name)
		if err := r.install(ctx, p, dest, stage); err != nil {
			return err
		}
	}
	res.Packages = list
	return swapIn(stage, r.root.installPath)
}

func (r *resolver) install(ctx context.Context, p *pin, dest, stage string) error {
	switch p.kind {
	case KindHub:
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return err
		}
		w := r.budget.newWriter(dest, p.describe())
		if err := r.download.extract(ctx, p.tarball, w, r.budget.limits.DownloadBytes); err != nil {
			if errors.Is(err, errTooBig) || IsConfig(err) {
				return err
			}
			return &Error{Package: p.describe(), Err: err, Message: fmt.Sprintf("cannot download the package: %v", err),
				Hint: "check the network; to use a mirror of the hub, set DBT_PACKAGE_HUB_URL"}
		}
		r.warnings = append(r.warnings, w.warnings...)
		return nil
	case KindLocal:
		w := r.budget.newWriter(dest, p.spec.Local)
		// A package that contains the project (`local: ../`) must not copy
		// the project, its packages or the folder being filled.
		skip := map[string]bool{}
		for _, d := range []string{r.root.dir, r.root.installPath, stage, r.tmp} {
			skip[d] = true
			if real, err := filepath.EvalSymlinks(d); err == nil {
				skip[real] = true
			}
		}
		err := w.copyTree(p.content, func(abs string) bool { return skip[abs] })
		r.warnings = append(r.warnings, w.warnings...)
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return err
		}
		return err
	}
	return moveDir(p.content, dest)
}

// swapIn replaces target with stage; on failure target is as it was.
func swapIn(stage, target string) error {
	old := ""
	if _, err := os.Lstat(target); err == nil {
		old = fmt.Sprintf("%s.old-%d", target, time.Now().UnixNano())
		if err := os.Rename(target, old); err != nil {
			return fmt.Errorf("replace %s: %w", target, err)
		}
	}
	if err := os.Rename(stage, target); err != nil {
		if old != "" {
			os.Rename(old, target)
		}
		return fmt.Errorf("replace %s: %w", target, err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// moveDir renames, or copies when src and dst are on different devices.
func moveDir(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// maskError hides rendered secrets in an error's text.
func maskError(err error, env *renderer) error {
	if len(env.secrets) == 0 {
		return err
	}
	var e *Error
	if errors.As(err, &e) {
		e.Message, e.Hint = env.mask(e.Message), env.mask(e.Hint)
		return err
	}
	return errors.New(env.mask(err.Error()))
}

// Needed reports whether the project in dir declares packages (a
// packages.yml or dependencies.yml with a `packages:` key) and has none
// installed (no packages-install-path folder, or an empty one). It does
// not judge the packages files: Install reports their problems.
func Needed(dir string) (bool, error) {
	data, err := readControl(filepath.Join(dir, projectFile))
	if err != nil {
		return false, &Error{Message: fmt.Sprintf("no %s in %s", projectFile, dir), Config: true, Err: err}
	}
	install := DefaultInstallPath
	if h, err := readProjectHeader(projectFile, data); err == nil {
		install = h.installPath
	}
	declares := false
	for _, name := range []string{PackagesFile, DependenciesFile} {
		if b, err := readControl(filepath.Join(dir, name)); err == nil && declaresPackages(b) {
			declares = true
		}
	}
	if !declares {
		return false, nil
	}
	if !filepath.IsAbs(install) {
		install = filepath.Join(dir, filepath.FromSlash(install))
	}
	entries, err := os.ReadDir(install)
	if err != nil {
		return true, nil
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			return false, nil
		}
	}
	return true, nil
}

// declaresPackages reports whether a packages file has a non-empty
// `packages:` list, without rendering or judging the entries.
func declaresPackages(data []byte) bool {
	var doc struct {
		Packages []any `yaml:"packages"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return true // broken: let Install say what is wrong
	}
	return len(doc.Packages) > 0
}

// Ensure installs the packages when Needed says so; it returns nil and no
// error when nothing had to be done.
func Ensure(ctx context.Context, dir string, opts Options) (*Result, error) {
	need, err := Needed(dir)
	if err != nil || !need {
		return nil, err
	}
	return Install(ctx, dir, opts)
}
