package deps

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// rootProject is what Install needs to know about the project.
type rootProject struct {
	dir         string // absolute
	name        string
	installPath string // absolute
	specs       *specsFile
	lockPath    string
}

const projectFile = "dbt_project.yml"

// DefaultInstallPath is dbt's packages-install-path.
const DefaultInstallPath = "dbt_packages"

// maxControlFile bounds dbt_project.yml and the packages files.
const maxControlFile = 4 << 20

func readControl(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := readBounded(f, maxControlFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return b, nil
}

// projectHeader is the part of a dbt_project.yml deps reads.
type projectHeader struct {
	name        string
	installPath string
}

func readProjectHeader(display string, data []byte) (projectHeader, error) {
	h := projectHeader{installPath: DefaultInstallPath}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorAt(data, err)
		return h, &Error{File: display, Line: line, Message: "invalid YAML: " + msg, Config: true}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return h, &Error{File: display, Message: "expected a mapping with `name:` at the top", Config: true}
	}
	for _, kv := range mappingPairs(doc.Content[0]) {
		switch kv[0].Value {
		case "name":
			h.name = strings.TrimSpace(pyStr(pyScalar(kv[1])))
			if !projectNamePattern.MatchString(h.name) {
				return h, &Error{File: display, Line: kv[1].Line, Config: true,
					Message: fmt.Sprintf("`name: %s` is not a valid project name", h.name),
					Hint:    "a project name is letters, digits and underscores, not starting with a digit"}
			}
		case "packages-install-path":
			if v := strings.TrimSpace(pyStr(pyScalar(kv[1]))); v != "" && kv[1].Kind == yaml.ScalarNode {
				h.installPath = v
			}
		}
	}
	if h.name == "" {
		return h, &Error{File: display, Message: "`name:` is missing", Config: true}
	}
	return h, nil
}

// readSpecs reads packages.yml or dependencies.yml of a project folder, as
// dbt picks between them: dependencies.yml when it has `packages`, else
// packages.yml; both having `packages` is an error. label prefixes file
// names in messages (for a package's own files).
func readSpecs(dir, label string, env *renderer) (*specsFile, error) {
	var files [2]*specsFile
	for i, name := range []string{PackagesFile, DependenciesFile} {
		data, err := readControl(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		f, err := parseSpecsFile(label+name, data, env)
		if err != nil {
			return nil, err
		}
		files[i] = &f
	}
	pk, dp := files[0], files[1]
	switch {
	case pk != nil && dp != nil && pk.HasPackages && dp.HasPackages:
		return nil, &Error{File: label + DependenciesFile, Config: true,
			Message: "`packages` is in both packages.yml and dependencies.yml",
			Hint:    "keep the packages in one of the two files"}
	case dp != nil && dp.HasPackages:
		return dp, nil
	case pk != nil:
		return pk, nil
	}
	return nil, nil
}

func readRoot(dir string, env *renderer, untrusted bool) (*rootProject, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	data, err := readControl(filepath.Join(abs, projectFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{Message: fmt.Sprintf("no %s in %s", projectFile, dir), Config: true,
			Hint: "pass --project with the folder that holds dbt_project.yml"}
	}
	if err != nil {
		return nil, err
	}
	h, err := readProjectHeader(projectFile, data)
	if err != nil {
		return nil, err
	}
	p := &rootProject{dir: abs, name: h.name, lockPath: filepath.Join(abs, LockFile)}
	install := filepath.FromSlash(h.installPath)
	if !filepath.IsAbs(install) {
		install = filepath.Join(abs, install)
	}
	if untrusted || !filepath.IsAbs(filepath.FromSlash(h.installPath)) {
		if !within(abs, install) || install == abs {
			return nil, &Error{File: projectFile, Config: true,
				Message: fmt.Sprintf("packages-install-path %q is not a folder inside the project", h.installPath),
				Hint:    "use a folder below the project, such as dbt_packages"}
		}
	}
	p.installPath = install
	if p.specs, err = readSpecs(abs, "", env); err != nil {
		return nil, err
	}
	return p, nil
}

// readLock reads package-lock.yml; nil when there is none.
func readLock(path string, env *renderer) (*specsFile, error) {
	data, err := readControl(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	f, err := parseSpecsFile(LockFile, data, env)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Hint == "" {
			e.Hint = "fix or delete package-lock.yml, or run `dataops deps --upgrade` to write a new one"
		}
		return nil, err
	}
	return &f, nil
}

// readPackageMeta reads an installed-to-be package's name and its own
// requirements.
func readPackageMeta(dir, describe string, env *renderer) (string, []Spec, error) {
	label := describe + ": "
	data, err := readControl(filepath.Join(dir, projectFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, &Error{Package: describe, Config: true,
			Message: "is not a dbt package: it has no dbt_project.yml",
			Hint:    "for a git package whose dbt project is in a folder, set `subdirectory:`"}
	}
	if err != nil {
		return "", nil, err
	}
	h, err := readProjectHeader(label+projectFile, data)
	if err != nil {
		return "", nil, err
	}
	f, err := readSpecs(dir, label, env)
	if err != nil || f == nil {
		return h.name, nil, err
	}
	for i := range f.Specs {
		f.Specs[i].From.By = describe
	}
	return h.name, f.Specs, nil
}
