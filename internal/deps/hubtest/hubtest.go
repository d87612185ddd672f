// Package hubtest is an httptest double of the dbt package hub's API for
// tests. Its documents have the shape hub.getdbt.com serves, learned from
// the hub's own repository (github.com/dbt-labs/hub.getdbt.com):
// source/api/v1/index.json.erb (a JSON list of "namespace/name"),
// source/api/v1/package.template.json.erb with config.rb's build_package
// (a package's index.json fields plus "versions" keyed by version without
// a leading "v") and data/packages/<ns>/<name>/versions/<v>.json (id, name,
// version, published_at, packages, require_dbt_version, works_with,
// _source, downloads{tarball, format, sha1}); and from what dbt-core's
// dbt/clients/registry.py requires of them. Tarballs are made here, shaped
// like GitHub's codeload tarballs: a pax global header and one top folder
// named <repo>-<version>/.
package hubtest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Version is one release of a hub package.
type Version struct {
	Version string
	// Name is the project name (dbt_project.yml's name); default the
	// package's name.
	Name string
	// Packages are the version's own requirements, as in packages.yml.
	Packages []map[string]any
	// RequireDBT is require_dbt_version (default [">=1.3.0", "<2.0.0"]).
	RequireDBT []string
	// Files are the tarball's files below its top folder; dbt_project.yml
	// is added when missing.
	Files map[string]string
	// Tarball, when set, replaces the generated archive (for bad archives).
	Tarball []byte
}

// Package is a hub package with its versions.
type Package struct {
	Namespace, Name string
	Versions        []Version
	// Redirect, when set, is the "namespace/name" the package moved to.
	Redirect string
}

// Hub is the running double.
type Hub struct {
	*httptest.Server
	mu       sync.Mutex
	packages map[string]Package
	requests []string
	tarballs map[string][]byte // made once per version
	// FailNext makes the next n requests answer 503 (to test retries).
	failNext int
}

// New starts a hub serving packages; it stops when the test ends.
func New(t testing.TB, packages ...Package) *Hub {
	h := &Hub{packages: map[string]Package{}}
	for _, p := range packages {
		h.packages[p.Namespace+"/"+p.Name] = p
	}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

// URL is the hub's base URL, as DBT_PACKAGE_HUB_URL takes it.
func (h *Hub) BaseURL() string { return h.Server.URL + "/" }

// Requests lists the paths asked for so far.
func (h *Hub) Requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.requests...)
}

// Fail makes the next n requests fail with 503.
func (h *Hub) Fail(n int) {
	h.mu.Lock()
	h.failNext = n
	h.mu.Unlock()
}

// Add adds or replaces a package while the hub runs (a new release).
func (h *Hub) Add(p Package) {
	h.mu.Lock()
	h.packages[p.Namespace+"/"+p.Name] = p
	for _, v := range p.Versions {
		delete(h.tarballs, p.Namespace+"/"+p.Name+"@"+v.Version)
	}
	h.mu.Unlock()
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.requests = append(h.requests, r.URL.Path)
	fail := h.failNext > 0
	if fail {
		h.failNext--
	}
	h.mu.Unlock()
	if fail {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	path := r.URL.Path
	switch {
	case path == "/api/v1/index.json":
		var names []string
		for n := range h.packages {
			names = append(names, n)
		}
		sort.Strings(names)
		writeJSON(w, names)
	case strings.HasPrefix(path, "/api/v1/") && strings.HasSuffix(path, ".json"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/api/v1/"), ".json")
		h.mu.Lock()
		p, ok := h.packages[name]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, h.document(p))
	case strings.HasPrefix(path, "/tarballs/"):
		// /tarballs/<ns>/<name>/<version>.tar.gz
		parts := strings.Split(strings.TrimPrefix(path, "/tarballs/"), "/")
		if len(parts) != 3 {
			http.NotFound(w, r)
			return
		}
		h.mu.Lock()
		p, ok := h.packages[parts[0]+"/"+parts[1]]
		h.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		for _, v := range p.Versions {
			if v.Version+".tar.gz" == parts[2] {
				w.Header().Set("Content-Type", "application/x-gzip")
				w.Write(h.tarball(p, v))
				return
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// document is the package's /api/v1/<ns>/<name>.json.
func (h *Hub) document(p Package) map[string]any {
	versions := map[string]any{}
	latest := ""
	for _, v := range p.Versions {
		name := v.Name
		if name == "" {
			name = p.Name
		}
		reqs := v.RequireDBT
		if reqs == nil {
			reqs = []string{">=1.3.0", "<2.0.0"}
		}
		pkgs := v.Packages
		if pkgs == nil {
			pkgs = []map[string]any{}
		}
		sum := sha1.Sum(h.tarball(p, v))
		repo := strings.ReplaceAll(p.Name, "_", "-")
		versions[v.Version] = map[string]any{
			"id":                  p.Namespace + "/" + p.Name + "/" + v.Version,
			"name":                name,
			"version":             v.Version,
			"published_at":        "1970-01-01T00:00:00.000000+00:00",
			"packages":            pkgs,
			"require_dbt_version": reqs,
			"works_with":          []string{},
			"_source": map[string]any{
				"type":   "github",
				"url":    "https://github.com/" + p.Namespace + "/" + repo + "/tree/" + v.Version + "/",
				"readme": "https://raw.githubusercontent.com/" + p.Namespace + "/" + repo + "/" + v.Version + "/README.md",
			},
			"downloads": map[string]any{
				"tarball": h.Server.URL + "/tarballs/" + p.Namespace + "/" + p.Name + "/" + v.Version + ".tar.gz",
				"format":  "tgz",
				"sha1":    hex.EncodeToString(sum[:]),
			},
		}
		latest = v.Version
	}
	doc := map[string]any{
		"name":        p.Name,
		"namespace":   p.Namespace,
		"description": "dbt models for " + p.Name,
		"latest":      latest,
		"assets":      map[string]any{"logo": "logos/placeholder.svg"},
		"versions":    versions,
	}
	if p.Redirect != "" {
		ns, n, _ := strings.Cut(p.Redirect, "/")
		doc["redirectnamespace"], doc["redirectname"] = ns, n
	}
	return doc
}

// tarball is a codeload-shaped .tar.gz of the version's files.
func (h *Hub) tarball(p Package, v Version) []byte {
	key := p.Namespace + "/" + p.Name + "@" + v.Version
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.tarballs[key]; ok {
		return b
	}
	b := makeTarball(p, v)
	if h.tarballs == nil {
		h.tarballs = map[string][]byte{}
	}
	h.tarballs[key] = b
	return b
}

func makeTarball(p Package, v Version) []byte {
	if v.Tarball != nil {
		return v.Tarball
	}
	name := v.Name
	if name == "" {
		name = p.Name
	}
	files := map[string]string{}
	for k, c := range v.Files {
		files[k] = c
	}
	if _, ok := files["dbt_project.yml"]; !ok {
		files["dbt_project.yml"] = "name: " + name + "\nversion: '" + v.Version + "'\nconfig-version: 2\n"
	}
	top := strings.ReplaceAll(p.Name, "_", "-") + "-" + v.Version
	return TarGz(top, files)
}

// TarGz makes a .tar.gz with files below one top folder, led by a pax
// global header as GitHub's are.
func TarGz(top string, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header",
		PAXRecords: map[string]string{"comment": "0123456789abcdef0123456789abcdef01234567"}})
	if top != "" {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: top + "/", Mode: 0o775})
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		full := n
		if top != "" {
			full = top + "/" + n
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: full, Mode: 0o664, Size: int64(len(files[n]))})
		tw.Write([]byte(files[n]))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}
