package build

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/dataops-dev/dataops/internal/project"
	"github.com/dataops-dev/dataops/internal/warehouse"
)

// A dry run loads no seed, yet the models it checks must read the seeds
// the build will load (a pull request's new seed is not in production, and
// a changed one has other columns there). So each selected seed is read
// from a query of no rows with the columns, names and types, that loading
// its CSV gives, put in front of the model as a CTE. Nothing is written,
// and the CLI's dry run, which has no environment, works the same.
//
// The manifest writes a reference as a relation, so the resolver points
// selected seeds at a stand-in relation whose quoted name no SQL holds, and
// withSeeds replaces it by the CTE's name.

// standInSchema is the schema of the stand-in relations.
const standInSchema = "__dataops_seed__"

// dryRunSeed is a selected seed as a dry run reads it.
type dryRunSeed struct {
	node  *project.Node
	cte   string // the CTE's name, quoted
	query string // the query of no rows
	err   error  // the CSV's problem, which fails the seed and what reads it
}

// standIn is the relation the resolver gives a selected seed in a dry run.
func standIn(n *project.Node) project.Relation {
	return project.Relation{Schema: standInSchema, Name: n.UniqueID}
}

// standInText is standIn as the manifest writes it into SQL: quoted the
// ANSI way, schema and name.
func standInText(n *project.Node) string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	r := standIn(n)
	return q(r.Schema) + "." + q(r.Name)
}

// prepareSeeds reads every selected seed's CSV, once, before the dry run
// starts: a model may read a seed through an ephemeral model that is not
// in the run, so it cannot wait for the seed's own node.
func (b *builder) prepareSeeds(order []string) {
	used := map[string]bool{}
	for _, id := range order {
		n := b.m.Nodes[id]
		if n.Kind != project.KindSeed {
			continue
		}
		// Named after the seed, to read well in the engine's errors, unless
		// too long or taken (seeds of two packages may share a name).
		name := "__dataops_seed__" + n.Name
		if len(name) > b.d.MaxIdentifierLength() || used[strings.ToLower(name)] {
			name = fmt.Sprintf("__dataops_seed_%d", len(b.seeds)+1)
		}
		used[strings.ToLower(name)] = true
		query, err := seedQuery(b.d, n.RawSQL, n.Config.ColumnTypes)
		b.seeds = append(b.seeds, &dryRunSeed{node: n, cte: b.d.QuoteIdent(name), query: query, err: err})
	}
}

// withSeeds puts the seeds sql reads in front of it as CTEs and points its
// references at them. The CTEs take one line, so the SQL's line numbers,
// which map errors to the template, do not change. It returns the seed
// that could not be read, if sql reads one.
func (b *builder) withSeeds(sql string) (string, *project.Node) {
	var ctes []string
	for _, s := range b.seeds {
		if !strings.Contains(sql, standInText(s.node)) {
			continue
		}
		if s.err != nil {
			return sql, s.node
		}
		sql = strings.ReplaceAll(sql, standInText(s.node), s.cte)
		ctes = append(ctes, s.cte+" as ("+s.query+")")
	}
	if len(ctes) == 0 {
		return sql, nil
	}
	block := strings.Join(ctes, ", ")
	if loc := leadingWithRE.FindStringIndex(sql); loc != nil {
		return sql[:loc[1]] + block + ", " + sql[loc[1]:], nil
	}
	at := len(sql) - len(strings.TrimLeft(sql, " \t\r\n"))
	return sql[:at] + "with " + block + " " + sql[at:], nil
}

// leadingWithRE finds a query's own WITH (after comments), and RECURSIVE,
// which then covers the seeds' CTEs too, harmlessly.
var leadingWithRE = regexp.MustCompile(`(?is)^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*with\s+(?:recursive\s+)?`)

// seedQuery is a query of no rows with the columns a seed's table gets
// when LoadSeed loads content: it checks the whole file as LoadSeed does,
// so a dry run reports the error the build would.
func seedQuery(d warehouse.Dialect, content string, columnTypes map[string]string) (string, error) {
	cols, records, lines, err := readSeed(content, d)
	if err != nil {
		return "", err
	}
	if err := typeSeedColumns(cols, records, columnTypes, d); err != nil {
		return "", err
	}
	if _, err := convertSeedRows(cols, records, lines); err != nil {
		return "", err
	}
	list := make([]string, len(cols))
	for i, c := range cols {
		list[i] = fmt.Sprintf("cast(null as %s) as %s", c.sqlType, d.QuoteIdent(c.name))
	}
	return "select " + strings.Join(list, ", ") + " where false", nil
}

// seed is the selected seed id as a dry run reads it.
func (b *builder) seed(id string) *dryRunSeed {
	for _, s := range b.seeds {
		if s.node.UniqueID == id {
			return s
		}
	}
	return nil
}
