package deps_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/deps"
	"github.com/dataops-dev/dataops/internal/deps/hubtest"
)

// benchFiles is a package shaped like dbt_utils 1.3: about 300 files,
// 1.2 MB, in nested folders.
func benchFiles(name string, n int) map[string]string {
	files := map[string]string{}
	body := strings.Repeat("{% macro x() %} select 1 {% endmacro %}\n", 100) // 4 KB
	for i := 0; i < n; i++ {
		files[fmt.Sprintf("macros/group%02d/%s_%03d.sql", i%12, name, i)] = body
	}
	return files
}

// plainExtract is the baseline: a tar.gz written out with no checks at
// all (no name cleaning, no limits, no link handling).
func plainExtract(r io.Reader, dest string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		_, rest, _ := strings.Cut(h.Name, "/")
		p := filepath.Join(dest, rest)
		os.MkdirAll(filepath.Dir(p), 0o755)
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		io.Copy(f, tr)
		f.Close()
	}
}

func benchHub(b *testing.B) (*hubtest.Hub, []string) {
	pkgs := []hubtest.Package{
		{Namespace: "dbt-labs", Name: "dbt_utils", Versions: []hubtest.Version{{Version: "1.3.0", Files: benchFiles("utils", 300)}}},
		{Namespace: "calogica", Name: "dbt_expectations", Versions: []hubtest.Version{{Version: "0.10.4", Files: benchFiles("exp", 150),
			Packages: []map[string]any{{"package": "calogica/dbt_date", "version": []any{">=0.9.0", "<1.0.0"}}}}}},
		{Namespace: "calogica", Name: "dbt_date", Versions: []hubtest.Version{{Version: "0.9.2", Files: benchFiles("date", 60)}}},
	}
	hub := hubtest.New(b, pkgs...)
	var urls []string
	for _, p := range pkgs {
		urls = append(urls, hub.URL+"/tarballs/"+p.Namespace+"/"+p.Name+"/"+p.Versions[0].Version+".tar.gz")
	}
	return hub, urls
}

// BenchmarkInstall: dataops deps for three hub packages (one transitive),
// resolving and from the lock, each iteration next to the baseline of
// downloading the same three tarballs and writing them out with no checks;
// the metric x-baseline is the ratio of their summed times, interleaved so
// the shared machine's noise hits both alike.
func BenchmarkInstall(b *testing.B) {
	hub, urls := benchHub(b)
	packages := "packages:\n  - package: calogica/dbt_expectations\n    version: [\">=0.10.0\", \"<0.11.0\"]\n  - package: dbt-labs/dbt_utils\n    version: [\">=1.0.0\", \"<2.0.0\"]\n"
	// The baseline replaces its previous output too, as dataops deps
	// replaces dbt_packages/.
	dir := b.TempDir()
	baseline := func(b *testing.B) {
		os.RemoveAll(dir)
		for j, u := range urls {
			resp, err := http.Get(u)
			if err != nil {
				b.Fatal(err)
			}
			if err := plainExtract(resp.Body, filepath.Join(dir, fmt.Sprint(j))); err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	for _, mode := range []string{"resolve", "from-lock"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			os.WriteFile(filepath.Join(dir, "dbt_project.yml"), []byte("name: shop\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "packages.yml"), []byte(packages), 0o644)
			opts := deps.Options{HubURL: hub.BaseURL(), Upgrade: mode == "resolve"}
			if _, err := deps.Install(context.Background(), dir, opts); err != nil {
				b.Fatal(err)
			}
			var base, ours time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				baseline(b)
				t1 := time.Now()
				res, err := deps.Install(context.Background(), dir, opts)
				ours += time.Since(t1)
				base += t1.Sub(t0)
				if err != nil || len(res.Packages) != 3 || res.FromLock != (mode == "from-lock") {
					b.Fatalf("%+v %v", res, err)
				}
			}
			b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ms/install")
			b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "ms/baseline")
			b.ReportMetric(float64(ours)/float64(base), "x-baseline")
		})
	}
}

// BenchmarkExtract: the safe extractor (names, limits, links) next to the
// plain one, for one dbt_utils-sized archive already in memory.
func BenchmarkExtract(b *testing.B) {
	archive := hubtest.TarGz("dbt-utils-1.3.0", benchFiles("utils", 300))
	var base, ours time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := plainExtract(bytes.NewReader(archive), b.TempDir()); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := deps.ExtractTarGz(bytes.NewReader(archive), filepath.Join(b.TempDir(), "p"), deps.DefaultLimits); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(t1)
		base += t1.Sub(t0)
	}
	b.ReportMetric(float64(ours.Microseconds())/1000/float64(b.N), "ms/safe")
	b.ReportMetric(float64(base.Microseconds())/1000/float64(b.N), "ms/plain")
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
}
