package datadiff

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dataops-dev/dataops/internal/warehouse"
	"github.com/dataops-dev/dataops/internal/warehouse/warehousetest"
)

// randomGenOptions picks generator options for one seed: sizes from 0 to
// 500 rows, either key shape, any mix of differences, sometimes NULL and
// duplicated keys, a subset of the column kinds, hostile names.
func randomGenOptions(rng *rand.Rand) genOptions {
	o := genOptions{
		Rows:      rng.IntN(501),
		Composite: rng.IntN(2) == 0,
		Remove:    rng.Float64() * 0.3,
		Add:       rng.Float64() * 0.3,
		Change:    rng.Float64() * 0.4,
		Nudge:     rng.Float64() * 0.2,
		NullFrac:  rng.Float64() * 0.3,
		Hostile:   rng.IntN(5) == 0,
	}
	switch rng.IntN(4) {
	case 0:
		o.Rows = rng.IntN(8) // tiny tables: empty, or fewer rows than samples
	case 1:
		o.Change = 0.9 // most rows changed
	}
	if rng.IntN(3) == 0 {
		o.NullKeys = 1 + rng.IntN(3)
	}
	if rng.IntN(3) == 0 {
		o.DupKeys = 1 + rng.IntN(4)
	}
	if rng.IntN(3) == 0 {
		for k := genKind(0); k < genKinds; k++ {
			if rng.IntN(2) == 0 {
				o.Kinds = append(o.Kinds, k)
			}
		}
		if len(o.Kinds) == 0 {
			o.Kinds = []genKind{genText}
		}
	}
	return o
}

// TestJoinMatchesReference: for many random table pairs, Join's counts
// equal the in-memory reference's exactly, and its samples are real rows of
// their category with the right values.
func TestJoinMatchesReference(t *testing.T) {
	for _, e := range []struct {
		name  string
		open  func(testing.TB) warehouse.Warehouse
		seeds int
	}{
		{"duckdb", warehousetest.DuckDB, 30},
		{"postgres", warehousetest.Postgres, 15},
	} {
		t.Run(e.name, func(t *testing.T) {
			w := e.open(t)
			for seed := range e.seeds {
				t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(seed), 0xd1ff))
					gen := randomGenOptions(rng)
					base, head := genPair(rng, gen)
					schema := warehousetest.Schema(t, w)
					opts := Options{Base: warehouse.Relation{Schema: schema, Name: base.Name}, Head: warehouse.Relation{Schema: schema, Name: head.Name}, Key: base.Key}
					// Now and then one relation is missing (a new or a dropped model).
					switch missing := rng.IntN(12); {
					case missing == 0:
						base = genTable{Name: base.Name}
					case missing == 1:
						head = genTable{Name: head.Name}
					}
					for _, tbl := range []genTable{base, head} {
						if len(tbl.Columns) > 0 {
							load(t, w, schema, tbl)
						}
					}
					switch rng.IntN(4) {
					case 0:
						opts.Tolerance = []float64{0.01, 0.5, 2, 1e-6}[rng.IntN(4)]
					case 1:
						opts.Sample = 1 + rng.IntN(8)
					}
					t.Logf("options %+v, tolerance %v, sample %d", gen, opts.Tolerance, opts.Sample)
					got, err := Join(testContext(t), w, opts)
					if err != nil {
						t.Fatal(err)
					}
					checkAgainstReference(t, got, base, head, opts)
				})
			}
		})
	}
}

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// checkAgainstReference compares a diff of base and head with
// referenceDiff: every count exactly, the schema by column names, and
// every sample against the generated rows (a real row of its category,
// with its values; a changed row with exactly its differing columns, base
// and head side by side), Sample of them or all the category has.
func checkAgainstReference(t *testing.T, got *Result, base, head genTable, opts Options) {
	t.Helper()
	want := referenceDiff(base, head, opts)
	for _, s := range []struct {
		name      string
		got, want Side
	}{{"base", got.Base, want.Base}, {"head", got.Head, want.Head}} {
		if s.got.Exists != s.want.Exists || s.got.Rows != s.want.Rows || s.got.NullKeys != s.want.NullKeys || s.got.DuplicateKeys != s.want.DuplicateKeys {
			t.Errorf("%s: exists %v, rows %d, NULL keys %d, duplicated keys %d; want %v, %d, %d, %d", s.name,
				s.got.Exists, s.got.Rows, s.got.NullKeys, s.got.DuplicateKeys, s.want.Exists, s.want.Rows, s.want.NullKeys, s.want.DuplicateKeys)
		}
	}
	if got.OnlyInBase != want.OnlyInBase || got.OnlyInHead != want.OnlyInHead || got.Changed != want.Changed || got.Unchanged != want.Unchanged {
		t.Errorf("only in base %d, only in head %d, changed %d, unchanged %d; want %d, %d, %d, %d",
			got.OnlyInBase, got.OnlyInHead, got.Changed, got.Unchanged, want.OnlyInBase, want.OnlyInHead, want.Changed, want.Unchanged)
	}
	if len(got.Columns) != len(want.Columns) {
		t.Errorf("columns %+v, want %+v", got.Columns, want.Columns)
	} else {
		for i := range want.Columns {
			g, w := got.Columns[i], want.Columns[i]
			if g.Name != w.Name || g.Changed != w.Changed || math.Abs(g.MatchPercent-w.MatchPercent) > 1e-9 {
				t.Errorf("column %d: %+v, want %+v", i, g, w)
			}
		}
	}
	names := func(cols []warehouse.Column) (out []string) {
		for _, c := range cols {
			out = append(out, c.Name)
		}
		return out
	}
	retyped := func(rs []Retyped) (out []string) {
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	if !slices.Equal(names(got.Schema.Added), names(want.Schema.Added)) || !slices.Equal(names(got.Schema.Removed), names(want.Schema.Removed)) ||
		!slices.Equal(retyped(got.Schema.Retyped), retyped(want.Schema.Retyped)) {
		t.Errorf("schema %+v, want %+v", got.Schema, want.Schema)
	}
	checkSamples(t, got, base, head, opts, want)
}

// refRows are a side's rows by key, for checking samples: the valid ones
// (non-NULL, unique key), and the duplicated keys.
type refRows struct {
	t     genTable
	valid map[string][]any
	dups  map[string]bool
}

func newRefRows(t genTable) refRows {
	r := refRows{t: t, valid: map[string][]any{}, dups: map[string]bool{}}
	seen := map[string]int{}
	for _, row := range t.Rows {
		if k, null := t.keyOf(row); !null {
			seen[k]++
			r.valid[k] = row
		}
	}
	for k, n := range seen {
		if n > 1 {
			r.dups[k] = true
			delete(r.valid, k)
		}
	}
	return r
}

// sampleKey encodes a sample's key as genTable.keyOf does.
func (r refRows) sampleKey(key []any) string {
	var b strings.Builder
	for _, v := range key {
		fmt.Fprintf(&b, "%T:%q|", v, fmt.Sprint(v))
	}
	return b.String()
}

func checkSamples(t *testing.T, got *Result, base, head genTable, opts Options, want *Result) {
	t.Helper()
	n := opts.Sample
	if n == 0 {
		n = 5
	}
	n = max(n, 0)
	b, h := newRefRows(base), newRefRows(head)
	onlyIn := func(name string, samples []Row, side, other refRows, count int64) {
		if int64(len(samples)) != min(int64(n), count) {
			t.Errorf("%d samples only in %s, want %d of %d", len(samples), name, min(int64(n), count), count)
		}
		seen := map[string]bool{}
		for _, s := range samples {
			k := side.sampleKey(s.Key)
			row, ok := side.valid[k]
			if !ok || other.valid[k] != nil || seen[k] {
				t.Errorf("sample only in %s %v: not a row only in %s (or twice)", name, s.Key, name)
				continue
			}
			seen[k] = true
			for _, c := range want.Columns {
				j := side.t.columnIndex(c.Name)
				if !sampleValueIs(side.t.Columns[j].Kind, row[j], s.Values[c.Name]) {
					t.Errorf("sample only in %s %v: %s = %#v, want %#v", name, s.Key, c.Name, s.Values[c.Name], row[j])
				}
			}
			if len(s.Values) != len(want.Columns) {
				t.Errorf("sample only in %s %v: %d values, want %d", name, s.Key, len(s.Values), len(want.Columns))
			}
		}
	}
	if got.Base.Exists {
		onlyIn("base", got.Samples.OnlyInBase, b, h, want.OnlyInBase)
	}
	if got.Head.Exists {
		onlyIn("head", got.Samples.OnlyInHead, h, b, want.OnlyInHead)
	}
	if int64(len(got.Samples.Changed)) != min(int64(n), want.Changed) {
		t.Errorf("%d changed samples, want %d of %d", len(got.Samples.Changed), min(int64(n), want.Changed), want.Changed)
	}
	seen := map[string]bool{}
	for _, s := range got.Samples.Changed {
		k := b.sampleKey(s.Key)
		br, hr := b.valid[k], h.valid[k]
		if br == nil || hr == nil || seen[k] {
			t.Errorf("changed sample %v: not a key in both (or twice)", s.Key)
			continue
		}
		seen[k] = true
		var differing []string
		for _, c := range want.Columns {
			bi, hi := base.columnIndex(c.Name), head.columnIndex(c.Name)
			kind := base.Columns[bi].Kind
			tol := opts.Tolerance
			if !kind.Numeric() {
				tol = 0
			}
			if genEqual(kind, br[bi], hr[hi], tol) {
				continue
			}
			differing = append(differing, c.Name)
			pair, ok := s.Changes[c.Name]
			if !ok {
				continue
			}
			if !sampleValueIs(kind, br[bi], pair[0]) || !sampleValueIs(head.Columns[hi].Kind, hr[hi], pair[1]) {
				t.Errorf("changed sample %v: %s = %#v, want [%#v %#v]", s.Key, c.Name, pair, br[bi], hr[hi])
			}
		}
		var gotNames []string
		for name := range s.Changes {
			gotNames = append(gotNames, name)
		}
		slices.Sort(gotNames)
		slices.Sort(differing)
		if !slices.Equal(gotNames, differing) {
			t.Errorf("changed sample %v: changes in %q, want %q", s.Key, gotNames, differing)
		}
	}
	for _, s := range []struct {
		name string
		side Side
		rows refRows
	}{{"base", got.Base, b}, {"head", got.Head, h}} {
		if int64(len(s.side.DuplicateSample)) != min(int64(n), s.side.DuplicateKeys) {
			t.Errorf("%s: %d duplicated key samples, want %d", s.name, len(s.side.DuplicateSample), min(int64(n), s.side.DuplicateKeys))
		}
		for _, k := range s.side.DuplicateSample {
			if !s.rows.dups[s.rows.sampleKey(k)] {
				t.Errorf("%s: duplicated key sample %v is not duplicated", s.name, k)
			}
		}
	}
}

// sampleValueIs reports whether a sample value (as Join and HashDiff
// return it) is the generated value v of kind k.
func sampleValueIs(k genKind, v, sample any) bool {
	if v == nil || sample == nil {
		return v == nil && sample == nil
	}
	switch k {
	case genInteger, genBigint:
		s, ok := sample.(int64)
		return ok && s == v.(int64)
	case genDecimal:
		s, ok := sample.(string)
		return ok && s == warehousetest.DecimalText(v.(int64))
	case genDouble:
		s, ok := sample.(float64)
		x := v.(float64)
		return ok && (s == x || math.IsNaN(s) && math.IsNaN(x))
	case genDate, genTimestamp:
		s, ok := sample.(time.Time)
		return ok && s.Equal(v.(time.Time))
	}
	return sample == v
}
