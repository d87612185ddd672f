package bot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dataops-dev/dataops/internal/deps"
	"github.com/dataops-dev/dataops/internal/plan"
	"github.com/dataops-dev/dataops/internal/project"
)

// PackageSources installs a commit's dbt packages when it declares some
// (packages.yml or dependencies.yml) but has no dbt_packages/, as a team
// that runs `dbt deps` before dbt would expect: files read into memory
// (the bot's archives, the Action's base) get the packages' files added
// under dbt_packages/; a work tree on disk (Dir, when Sources answers
// "read it from disk") gets dbt_packages/ installed in it.
//
// The files come from a pull request, so the rules for untrusted input
// apply (deps.Options.Untrusted): git over https:// or git:// to public
// hosts only, without this machine's git configuration or credentials;
// local packages only inside Root; every download bounded in size and
// time.
type PackageSources struct {
	Sources
	// Dir is the project folder on disk, for the work tree.
	Dir string
	// Root bounds local packages (the checkout's root, so a monorepo's
	// shared package is found); empty: the project folder.
	Root string
	// LookupEnv is what {{ env_var() }} in packages.yml reads; the bot
	// gives DBTEnvOnly, as for models.
	LookupEnv func(string) (string, bool)
	Logger    *slog.Logger

	mu    sync.Mutex
	cache map[string][]project.File // by deps.FilesKey: base and head mostly agree
}

// packagesTimeout bounds installing one commit's packages.
const packagesTimeout = 5 * time.Minute

func (s *PackageSources) options() deps.Options {
	return deps.Options{Untrusted: true, LocalRoot: s.Root, LookupEnv: s.LookupEnv}
}

func (s *PackageSources) Files(ctx context.Context, sha string) ([]project.File, error) {
	files, err := s.Sources.Files(ctx, sha)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, packagesTimeout)
	defer cancel()
	if files == nil {
		if s.Dir == "" {
			return nil, nil
		}
		if _, err := os.Stat(filepath.Join(s.Dir, plan.ProjectFile)); errors.Is(err, fs.ErrNotExist) {
			// No project to install packages for: the pipeline says so.
			return nil, nil
		}
		res, err := deps.Ensure(ctx, s.Dir, s.options())
		if err != nil {
			return nil, fmt.Errorf("install the dbt packages (dbt deps): %w", err)
		}
		s.log(sha, res)
		return nil, nil
	}
	if !deps.NeededFiles(files) {
		return files, nil
	}
	key := deps.FilesKey(files)
	s.mu.Lock()
	cached, ok := s.cache[key]
	s.mu.Unlock()
	if !ok {
		var res *deps.Result
		cached, res, err = deps.InstallFiles(ctx, files, s.options())
		if err != nil {
			return nil, fmt.Errorf("install the dbt packages (dbt deps) of %s: %w", short(sha), err)
		}
		s.log(sha, res)
		s.mu.Lock()
		if s.cache == nil {
			s.cache = map[string][]project.File{}
		}
		s.cache[key] = cached
		s.mu.Unlock()
	}
	return append(files[:len(files):len(files)], cached...), nil
}

func (s *PackageSources) log(sha string, res *deps.Result) {
	if res == nil || res.Nothing {
		return
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	names := make([]string, len(res.Packages))
	for i, p := range res.Packages {
		names[i] = p.Name + " " + p.String()
	}
	log.Info("installed dbt packages", "sha", short(sha), "packages", names, "from_lock", res.FromLock)
	for _, w := range res.Warnings {
		log.Warn("dbt packages", "sha", short(sha), "warning", w)
	}
}
