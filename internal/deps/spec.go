package deps

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/suggest"
	"gopkg.in/yaml.v3"
)

// The files dbt reads package requirements from.
const (
	PackagesFile     = "packages.yml"
	DependenciesFile = "dependencies.yml"
	LockFile         = "package-lock.yml"
)

// Kind is where a package comes from.
type Kind string

const (
	KindHub     Kind = "hub"
	KindGit     Kind = "git"
	KindLocal   Kind = "local"
	KindTarball Kind = "tarball"
)

// sourceKeys name a package's kind by the key that gives its source.
var sourceKeys = map[string]Kind{"package": KindHub, "git": KindGit, "local": KindLocal, "tarball": KindTarball}

// allowedKeys are dbt's package contracts (dbt/contracts/project.py).
var allowedKeys = map[Kind][]string{
	KindHub:     {"package", "version", "install_prerelease", "name"},
	KindGit:     {"git", "revision", "warn-unpinned", "subdirectory", "name"},
	KindLocal:   {"local", "name"},
	KindTarball: {"tarball", "name"},
}

// Spec is one entry of packages.yml, dependencies.yml or package-lock.yml.
type Spec struct {
	Kind Kind
	From Origin

	// Hub: "namespace/name" and the version requirements.
	Package           string
	Versions          []Constraint
	InstallPrerelease bool

	// Git: the URL (rendered, and as written, for the lock file and for
	// messages: it may hold a secret from env_var), a revision (tag, branch
	// or commit; "" is the default branch) and a folder inside the
	// repository.
	Git          string
	GitAsWritten string
	Revision     string
	Subdirectory string
	WarnUnpinned bool

	// Local: a folder, relative to the root project.
	Local string

	// Tarball: a URL and the package's name.
	Tarball          string
	TarballAsWritten string

	// Name is the package's project name when the entry gives it (lock
	// files do; tarball packages must).
	Name string

	// hashed is what dbt's PackageSpec.to_dict() gives for this entry, the
	// input of sha1_hash.
	hashed map[string]any
}

// Describe names the package for messages, without secrets.
func (s Spec) Describe() string {
	switch s.Kind {
	case KindHub:
		return s.Package
	case KindGit:
		d := s.GitAsWritten
		if s.Subdirectory != "" {
			d += " (subdirectory " + s.Subdirectory + ")"
		}
		return d
	case KindLocal:
		return s.Local
	}
	return s.TarballAsWritten
}

// specsFile is a parsed packages file.
type specsFile struct {
	Name  string // the file's name, for messages
	Specs []Spec
	Hash  string // package-lock.yml's sha1_hash
	// HasPackages says the file has a "packages" key (dbt picks the file
	// that has one).
	HasPackages bool
}

// fileRules says how a file is read: which top-level keys it may have, and
// whether Jinja is rendered (dbt renders packages.yml and the lock file,
// not dependencies.yml).
type fileRules struct {
	topKeys []string
	render  bool
}

var rulesFor = map[string]fileRules{
	PackagesFile:     {topKeys: []string{"packages"}, render: true},
	DependenciesFile: {topKeys: []string{"packages", "projects"}},
	LockFile:         {topKeys: []string{"packages", "sha1_hash"}, render: true},
}

// maxSpecs bounds the entries of one file, so a hostile file cannot make
// the resolver do unbounded work.
const maxSpecs = 1000

// parseSpecsFile reads one of the packages files. env renders
// {{ env_var(...) }}; secrets collects the values of DBT_ENV_SECRET_
// variables it used, to keep them out of messages.
func parseSpecsFile(name string, data []byte, env *renderer) (specsFile, error) {
	rules, ok := rulesFor[name]
	if !ok {
		rules = rulesFor[PackagesFile]
	}
	out := specsFile{Name: name}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlErrorAt(data, err)
		return out, &Error{File: name, Line: line, Message: "invalid YAML: " + msg, Config: true,
			Hint: "check the indentation; YAML needs spaces, not tabs, and each package is a list item starting with a dash"}
	}
	if len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	for root.Kind == yaml.AliasNode {
		root = root.Alias
	}
	if root.Kind == yaml.ScalarNode && pyScalar(root) == nil {
		return out, nil // a file holding only comments
	}
	if root.Kind != yaml.MappingNode {
		return out, configError(Origin{File: name, Line: root.Line}, "", "start the file with `packages:` and list the packages below it",
			"expected a mapping with a `packages:` key at the top of the file")
	}
	for _, kv := range mappingPairs(root) {
		key, val := kv[0], kv[1]
		if !contains(rules.topKeys, key.Value) {
			return out, unknownKey(Origin{File: name, Line: key.Line}, key.Value, "at the top of "+name, rules.topKeys)
		}
		switch key.Value {
		case "sha1_hash":
			out.Hash = strings.TrimSpace(pyStr(pyScalar(val)))
		case "packages":
			out.HasPackages = true
			specs, err := parseSpecList(name, val, rules.render, env)
			if err != nil {
				return out, err
			}
			out.Specs = specs
		}
	}
	return out, nil
}

func parseSpecList(file string, list *yaml.Node, render bool, env *renderer) ([]Spec, error) {
	for list.Kind == yaml.AliasNode {
		list = list.Alias
	}
	if list.Kind == yaml.ScalarNode && pyScalar(list) == nil {
		return nil, nil
	}
	if list.Kind != yaml.SequenceNode {
		return nil, configError(Origin{File: file, Line: list.Line}, "",
			"write each package as a list item, for example:\n    packages:\n      - package: dbt-labs/dbt_utils\n        version: [\">=1.0.0\", \"<2.0.0\"]",
			"`packages` must be a list")
	}
	if len(list.Content) > maxSpecs {
		return nil, configError(Origin{File: file, Line: list.Line}, "", "", "more than %d packages", maxSpecs)
	}
	var specs []Spec
	for _, item := range list.Content {
		for item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		at := Origin{File: file, Line: item.Line}
		if item.Kind != yaml.MappingNode {
			return nil, configError(at, "", "for example `- package: dbt-labs/dbt_utils` with `version:` on the next line",
				"each package must be a mapping with one of package:, git:, local: or tarball:")
		}
		lines := map[string]int{}
		for _, kv := range mappingPairs(item) {
			lines[kv[0].Value] = kv[0].Line
		}
		raw, err := pyValue(item)
		if err != nil {
			return nil, configError(at, "", "", "%v", err)
		}
		unrendered := raw.(map[string]any)
		rendered := unrendered
		if render {
			r, err := env.render(unrendered)
			if err != nil {
				return nil, &Error{File: file, Line: at.Line, Message: err.Error(), Config: true,
					Hint: "only {{ env_var('NAME') }} and {{ env_var('NAME', 'default') }} are supported in packages files"}
			}
			rendered = r.(map[string]any)
		}
		spec, err := specFromMap(rendered, unrendered, lines, at)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

var (
	hubNamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	// projectNamePattern is dbt's rule for a project name; it also keeps
	// the install folder inside dbt_packages/.
	projectNamePattern = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_]*$`)
)

// specFromMap builds a Spec from one entry: rendered holds the values used,
// unrendered the entry as written. lines maps keys to their lines (may be
// empty for entries from the hub's JSON).
func specFromMap(rendered, unrendered map[string]any, lines map[string]int, at Origin) (Spec, error) {
	keyAt := func(k string) Origin {
		if l, ok := lines[k]; ok {
			return Origin{File: at.File, Line: l, By: at.By}
		}
		return at
	}
	var kinds []string
	for k := range rendered {
		if _, ok := sourceKeys[k]; ok {
			kinds = append(kinds, k)
		}
	}
	sort.Strings(kinds)
	if _, ok := rendered["private"]; ok {
		return Spec{}, configError(keyAt("private"), fmt.Sprint(rendered["private"]),
			"use `git:` with an https URL instead (a token can come from {{ env_var('DBT_ENV_SECRET_...') }}), or install with `dbt deps` before dataops runs",
			"private packages (`private:`) are not supported by dataops deps")
	}
	switch len(kinds) {
	case 0:
		return Spec{}, configError(at, "", "for example `- package: dbt-labs/dbt_utils`, `- git: https://github.com/org/repo.git` or `- local: ../my_package`",
			"a package needs one of package:, git:, local: or tarball:")
	case 1:
	default:
		return Spec{}, configError(at, "", "write each source as its own list item",
			"a package has both %s: and %s:; use one", kinds[0], kinds[1])
	}
	s := Spec{Kind: sourceKeys[kinds[0]], From: at, WarnUnpinned: true}
	allowed := allowedKeys[s.Kind]
	for k := range rendered {
		if !contains(allowed, k) {
			return Spec{}, unknownKey(keyAt(k), k, "in a "+string(s.Kind)+" package", allowed)
		}
	}
	str := func(key string, required bool) (string, error) {
		v, ok := rendered[key]
		if !ok || v == nil {
			if required {
				return "", configError(at, "", "", "`%s:` is required", key)
			}
			return "", nil
		}
		sv, isStr := v.(string)
		if !isStr {
			return "", configError(keyAt(key), "", "put the value in quotes", "`%s:` must be a string, not %s", key, pyStr(v))
		}
		if required && strings.TrimSpace(sv) == "" {
			return "", configError(keyAt(key), "", "", "`%s:` is empty", key)
		}
		return sv, nil
	}
	boolean := func(key string, def bool) (bool, error) {
		v, ok := rendered[key]
		if !ok || v == nil {
			return def, nil
		}
		b, isBool := v.(bool)
		if !isBool {
			return false, configError(keyAt(key), "", "write true or false", "`%s:` must be true or false, not %s", key, pyStr(v))
		}
		return b, nil
	}
	var err error
	if s.Name, err = str("name", false); err != nil {
		return Spec{}, err
	}
	if s.Name != "" && !projectNamePattern.MatchString(s.Name) {
		return Spec{}, configError(keyAt("name"), "", "a package name is letters, digits and underscores, not starting with a digit", "`name: %s` is not a valid package name", s.Name)
	}
	hashed := map[string]any{}
	switch s.Kind {
	case KindHub:
		if s.Package, err = str("package", true); err != nil {
			return Spec{}, err
		}
		if !strings.Contains(s.Package, "/") {
			return Spec{}, configError(keyAt("package"), s.Package, "packages on the hub have a namespace, e.g. dbt-labs/dbt_utils",
				"not found in the package hub")
		}
		if !hubNamePattern.MatchString(s.Package) {
			return Spec{}, configError(keyAt("package"), s.Package, "write it as namespace/name, e.g. dbt-labs/dbt_utils", "is not a valid hub package name")
		}
		v, ok := rendered["version"]
		if !ok || v == nil || v == "" {
			return Spec{}, configError(at, s.Package, "for example `version: [\">=1.0.0\", \"<2.0.0\"]`",
				"`version:` is required for a package from the hub")
		}
		raws := []any{v}
		if list, isList := v.([]any); isList {
			raws = list
		}
		if len(raws) == 0 {
			return Spec{}, configError(keyAt("version"), s.Package, "for example `version: [\">=1.0.0\", \"<2.0.0\"]`", "`version:` is an empty list")
		}
		for _, rv := range raws {
			if _, isMap := rv.(map[string]any); isMap {
				return Spec{}, configError(keyAt("version"), s.Package, "", "`version:` must be a version or a list of versions")
			}
			text := pyStr(rv)
			if strings.Contains(text, ",") {
				return Spec{}, configError(keyAt("version"), s.Package, fmt.Sprintf("write a list: version: [%s]", quoteEach(strings.Split(text, ","))),
					"%q: one requirement per list item", text)
			}
			c, err := ParseConstraint(text)
			if err != nil {
				return Spec{}, configError(keyAt("version"), s.Package, "", "%v", err)
			}
			c.From = keyAt("version")
			s.Versions = append(s.Versions, c)
		}
		if s.InstallPrerelease, err = boolean("install_prerelease", false); err != nil {
			return Spec{}, err
		}
		hashed["package"] = rendered["package"]
		hashed["version"] = v
		ip, ok := rendered["install_prerelease"]
		if !ok {
			ip = false
		}
		hashed["install_prerelease"] = ip
	case KindGit:
		if s.Git, err = str("git", true); err != nil {
			return Spec{}, err
		}
		s.GitAsWritten = asWritten(unrendered, "git", s.Git)
		if rv, ok := rendered["revision"]; ok && rv != nil {
			if _, isScalar := rv.(map[string]any); isScalar {
				return Spec{}, configError(keyAt("revision"), s.GitAsWritten, "", "`revision:` must be a tag, branch or commit")
			}
			if _, isList := rv.([]any); isList {
				return Spec{}, configError(keyAt("revision"), s.GitAsWritten, "", "`revision:` must be one tag, branch or commit, not a list")
			}
			s.Revision = strings.TrimSpace(pyStr(rv))
		}
		if s.Subdirectory, err = str("subdirectory", false); err != nil {
			return Spec{}, err
		}
		if s.Subdirectory != "" {
			clean, ok := cleanRelative(s.Subdirectory)
			if !ok {
				return Spec{}, configError(keyAt("subdirectory"), s.GitAsWritten, "give a folder inside the repository, such as `packages/my_package`",
					"`subdirectory: %s` leaves the repository", s.Subdirectory)
			}
			s.Subdirectory = clean
		}
		if s.WarnUnpinned, err = boolean("warn-unpinned", true); err != nil {
			return Spec{}, err
		}
		hashed["git"] = rendered["git"]
		hashed["revision"] = rendered["revision"]
		hashed["warn-unpinned"] = rendered["warn-unpinned"]
		hashed["subdirectory"] = rendered["subdirectory"]
	case KindLocal:
		if s.Local, err = str("local", true); err != nil {
			return Spec{}, err
		}
		hashed["local"] = rendered["local"]
	case KindTarball:
		if s.Tarball, err = str("tarball", true); err != nil {
			return Spec{}, err
		}
		s.TarballAsWritten = asWritten(unrendered, "tarball", s.Tarball)
		if s.Name == "" {
			return Spec{}, configError(at, s.TarballAsWritten, "add `name:` with the package's project name", "a tarball package needs `name:`")
		}
		hashed["tarball"] = rendered["tarball"]
	}
	if s.Name != "" || s.Kind == KindTarball {
		hashed["name"] = rendered["name"]
	}
	hashed["unrendered"] = unrendered
	s.hashed = hashed
	return s, nil
}

// asWritten is a value before rendering, for the lock file and messages.
func asWritten(unrendered map[string]any, key, rendered string) string {
	if s, ok := unrendered[key].(string); ok {
		return s
	}
	return rendered
}

func quoteEach(parts []string) string {
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = fmt.Sprintf("%q", strings.TrimSpace(p))
	}
	return strings.Join(q, ", ")
}

// unknownKey names the key, where it is, the closest allowed key and all
// allowed keys.
func unknownKey(at Origin, key, where string, allowed []string) *Error {
	hint := "allowed: " + strings.Join(allowed, ", ")
	if best := closest(key, allowed); best != "" {
		hint = fmt.Sprintf("did you mean `%s`? (%s)", best, hint)
	}
	return configError(at, "", hint, "unknown key `%s` %s", key, where)
}

// closest returns the candidate nearest to s by edit distance, if near.
func closest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		d := suggest.Distance(strings.ToLower(s), strings.ToLower(c))
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || bestD > max(2, len(s)/3) {
		return ""
	}
	return best
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cleanRelative cleans a slash path and reports whether it stays inside
// its base (not absolute, no "..").
func cleanRelative(p string) (string, bool) {
	p = strings.ReplaceAll(p, "\\", "/")
	if strings.HasPrefix(p, "/") {
		return "", false
	}
	clean := path.Clean(p)
	if clean == ".." || strings.HasPrefix(clean, "../") || clean == "." || strings.ContainsRune(clean, 0) {
		return "", false
	}
	return clean, true
}

// yamlErrorAt finds the line of a YAML error. yaml.v3 names the line where
// the enclosing block starts, not the bad line, for "did not find
// expected" errors; the bad line is the first one that makes the
// document up to it unreadable.
func yamlErrorAt(data []byte, err error) (int, string) {
	line, msg := yamlErrorLine(err)
	if line == 0 || !strings.Contains(msg, "did not find expected") || len(data) > 256<<10 {
		return line, msg
	}
	lines := strings.SplitAfter(string(data), "\n")
	var doc yaml.Node
	for k := line + 1; k <= len(lines) && k <= line+500; k++ {
		if yaml.Unmarshal([]byte(strings.Join(lines[:k], "")), &doc) != nil {
			return k, fmt.Sprintf("%s (in the block starting at line %d)", msg, line)
		}
	}
	return line, msg
}

// yamlErrorLine splits yaml.v3's "yaml: line N: msg".
func yamlErrorLine(err error) (int, string) {
	msg := err.Error()
	rest, ok := strings.CutPrefix(msg, "yaml: line ")
	if !ok {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	n, after, found := strings.Cut(rest, ":")
	if !found {
		return 0, msg
	}
	line := 0
	fmt.Sscanf(n, "%d", &line)
	return line, strings.TrimSpace(after)
}
