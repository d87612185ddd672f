package project

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Keys dbt defines in properties files; anything else is a typo worth
// reporting, because dbt would reject it too.
var (
	propertiesKeys = []string{"version", "models", "sources", "seeds", "macros", "exposures", "metrics",
		"semantic_models", "saved_queries", "snapshots", "analyses", "groups", "unit_tests", "data_tests"}
	modelKeys = []string{"name", "description", "config", "columns", "tests", "data_tests", "docs", "meta",
		"access", "constraints", "latest_version", "versions", "group", "deprecation_date", "tags", "time_spine"}
	columnKeys = []string{"name", "description", "data_type", "tests", "data_tests", "meta", "quote", "tags",
		"constraints", "policy_tags", "granularity", "config", "docs"}
	sourceKeys = []string{"name", "description", "database", "schema", "loader", "loaded_at_field", "tables",
		"meta", "tags", "config", "freshness", "quoting", "overrides"}
	sourceTableKeys = []string{"name", "description", "identifier", "columns", "tests", "data_tests", "meta",
		"tags", "config", "loaded_at_field", "freshness", "quoting", "external"}
	testOptionKeys = []string{"name", "config", "severity", "where", "tags", "arguments", "description", "meta",
		"error_if", "warn_if", "limit", "store_failures", "enabled"}
)

// genericTests are the tests dataops compiles itself.
var genericTests = []string{"unique", "not_null", "accepted_values", "relationships"}

// patch is what properties YAML says about one model or seed.
type patch struct {
	name        string
	path        string
	line        int
	description string
	columns     []Column
	config      []configEntry
	tests       []testDecl
	used        bool // a node took it
}

type configEntry struct {
	key   string
	value any
	node  *yaml.Node
}

// testDecl is a generic test as declared, before it becomes a node.
type testDecl struct {
	path   string
	node   *yaml.Node
	kind   string // unique, not_null, ...
	name   string // custom name, if given
	column string
	args   map[string]any
	config []configEntry
}

type sourceDecl struct {
	path        string
	line        int
	source      string
	table       string
	database    string
	enabled     bool
	schema      string
	identifier  string
	description string
	columns     []Column
	tests       []testDecl
	// tags and meta of the source and of the table, in that order.
	config []configEntry
}

// properties collects every properties file of the project.
type properties struct {
	models    map[string]*patch
	seeds     map[string]*patch
	snapshots map[string]*patch
	sources   []sourceDecl
}

func (pkg *Package) readProperties() (properties, Diagnostics) {
	props := properties{models: map[string]*patch{}, seeds: map[string]*patch{}, snapshots: map[string]*patch{}}
	var ds Diagnostics
	for _, f := range pkg.properties {
		if f.root == nil {
			continue
		}
		ds = append(ds, checkKeys(f.path, f.root, "a properties file", propertiesKeys)...)
		for _, section := range []string{"models", "seeds", "snapshots"} {
			list := lookup(f.root, section)
			if list == nil {
				continue
			}
			if list.Kind != yaml.SequenceNode {
				ds = append(ds, at(f.path, list, "%s: must be a list of entries with name:", section))
				continue
			}
			target := map[string]map[string]*patch{"models": props.models, "seeds": props.seeds, "snapshots": props.snapshots}[section]
			for _, entry := range list.Content {
				pt, eds := readPatch(f.path, entry, section[:len(section)-1])
				ds = append(ds, eds...)
				if pt == nil {
					continue
				}
				if prev, dup := target[pt.name]; dup {
					ds = append(ds, Diagnostic{Path: f.path, Line: entry.Line, Col: entry.Column,
						Message: fmt.Sprintf("%s %q is described twice", section[:len(section)-1], pt.name),
						Hint:    fmt.Sprintf("the other description is at %s:%d", prev.path, prev.line)})
					continue
				}
				target[pt.name] = pt
			}
		}
		if list := lookup(f.root, "sources"); list != nil {
			srcs, sds := readSources(f.path, list)
			props.sources = append(props.sources, srcs...)
			ds = append(ds, sds...)
		}
	}
	return props, ds
}

func readPatch(path string, entry *yaml.Node, what string) (*patch, Diagnostics) {
	name, ds := namedEntry(path, entry, what, modelKeys)
	if name == "" {
		return nil, ds
	}
	pt := &patch{path: path, line: entry.Line, name: name}
	if d := lookup(entry, "description"); d != nil {
		pt.description = d.Value
	}
	cfg, cds := readConfigBlock(path, lookup(entry, "config"))
	pt.config = cfg
	ds = append(ds, cds...)
	for _, key := range []string{"tags", "meta"} {
		if n := lookup(entry, key); n != nil {
			v, _ := plain(n)
			pt.config = append(pt.config, configEntry{key, v, n})
		}
	}
	tests, tds := readTests(path, entry, "")
	pt.tests = tests
	ds = append(ds, tds...)
	cols, cds2, ctests := readColumns(path, lookup(entry, "columns"))
	pt.columns = cols
	pt.tests = append(pt.tests, ctests...)
	ds = append(ds, cds2...)
	return pt, ds
}

// namedEntry checks one entry of a list like models:, columns: or tables:
// - a mapping with a name: and only the keys dbt defines for it - and
// returns its name, or "" with the problems.
func namedEntry(path string, n *yaml.Node, what string, keys []string) (string, Diagnostics) {
	if n.Kind != yaml.MappingNode {
		return "", Diagnostics{at(path, n, "each %s must be a mapping with name:", what)}
	}
	ds := Diagnostics(checkKeys(path, n, what+" properties", keys))
	name := lookup(n, "name")
	if name == nil || name.Value == "" {
		return "", append(ds, at(path, n, "%s entry without name:", what))
	}
	return name.Value, ds
}

func readConfigBlock(path string, n *yaml.Node) ([]configEntry, Diagnostics) {
	if n == nil {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, Diagnostics{at(path, n, "config: must be a mapping")}
	}
	var out []configEntry
	var ds Diagnostics
	for _, kv := range pairs(n) {
		v, err := plain(kv[1])
		if err != nil {
			ds = append(ds, at(path, kv[1], "config %s: %v", kv[0].Value, err))
			continue
		}
		out = append(out, configEntry{kv[0].Value, v, kv[0]})
	}
	return out, ds
}

func readColumns(path string, n *yaml.Node) ([]Column, Diagnostics, []testDecl) {
	if n == nil {
		return nil, nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, Diagnostics{at(path, n, "columns: must be a list of entries with name:")}, nil
	}
	var cols []Column
	var ds Diagnostics
	var tests []testDecl
	for _, c := range n.Content {
		name, eds := namedEntry(path, c, "column", columnKeys)
		ds = append(ds, eds...)
		if name == "" {
			continue
		}
		col := Column{Name: name}
		if d := lookup(c, "description"); d != nil {
			col.Description = d.Value
		}
		if d := lookup(c, "data_type"); d != nil {
			col.DataType = d.Value
		}
		mds := readColumnMeta(path, c, &col)
		ds = append(ds, mds...)
		if cfg := lookup(c, "config"); cfg != nil && cfg.Kind == yaml.MappingNode {
			ds = append(ds, readColumnMeta(path, cfg, &col)...)
		}
		cols = append(cols, col)
		t, tds := readTests(path, c, col.Name)
		tests = append(tests, t...)
		ds = append(ds, tds...)
	}
	return cols, ds, tests
}

// readColumnMeta reads the meta: and tags: of a column entry, or of its
// config: block.
func readColumnMeta(path string, n *yaml.Node, col *Column) Diagnostics {
	var ds Diagnostics
	if m := lookup(n, "meta"); m != nil {
		v, err := plain(m)
		meta, ok := v.(map[string]any)
		switch {
		case err != nil || (!ok && v != nil):
			ds = append(ds, at(path, m, "meta: of column %q must be a mapping", col.Name))
		case ok:
			if col.Meta == nil {
				col.Meta = map[string]any{}
			}
			for k, x := range meta {
				col.Meta[k] = x
			}
		}
	}
	if t := lookup(n, "tags"); t != nil {
		v, _ := plain(t)
		tags, err := asStrings("tags", v)
		if err != nil {
			ds = append(ds, at(path, t, "column %q: %v", col.Name, err))
		}
		for _, tag := range tags {
			if !contains(col.Tags, tag) {
				col.Tags = append(col.Tags, tag)
			}
		}
	}
	return ds
}

// readTests reads the tests: or data_tests: list of a model, column or
// source table, in every form dbt accepts: a bare name, or a name mapping
// to its arguments (optionally nested under arguments:) and options.
func readTests(path string, owner *yaml.Node, column string) ([]testDecl, Diagnostics) {
	var out []testDecl
	var ds Diagnostics
	for _, key := range []string{"tests", "data_tests"} {
		list := lookup(owner, key)
		if list == nil || list.Kind == yaml.ScalarNode && list.Tag == "!!null" {
			continue // tests: with nothing under it, as dbt reads it
		}
		if list.Kind != yaml.SequenceNode {
			ds = append(ds, at(path, list, "%s: must be a list", key))
			continue
		}
		for _, item := range list.Content {
			t := testDecl{path: path, node: item, column: column, args: map[string]any{}}
			switch item.Kind {
			case yaml.ScalarNode:
				t.kind = item.Value
			case yaml.MappingNode:
				if len(item.Content) != 2 {
					ds = append(ds, at(path, item, "a test entry must be one test name mapping to its arguments, like `- accepted_values: {values: [a, b]}`"))
					continue
				}
				t.kind = item.Content[0].Value
				body := item.Content[1]
				if body.Kind == yaml.MappingNode {
					for _, kv := range pairs(body) {
						k := kv[0].Value
						switch k {
						case "name":
							t.name = kv[1].Value
						case "config":
							cfg, cds := readConfigBlock(path, kv[1])
							t.config = append(t.config, cfg...)
							ds = append(ds, cds...)
						case "severity", "where", "tags", "enabled", "limit", "warn_if", "error_if", "fail_calc",
							"store_failures", "store_failures_as", "meta":
							v, _ := plain(kv[1])
							t.config = append(t.config, configEntry{k, v, kv[0]})
						case "arguments":
							v, _ := plain(kv[1])
							m, ok := v.(map[string]any)
							if !ok {
								ds = append(ds, at(path, kv[1], "arguments: must be a mapping"))
								continue
							}
							for ak, av := range m {
								t.args[ak] = av
							}
						default:
							if contains(testOptionKeys, k) {
								continue
							}
							v, _ := plain(kv[1])
							t.args[k] = v
						}
					}
				} else if body.Kind != yaml.ScalarNode || body.Value != "" {
					ds = append(ds, at(path, body, "the arguments of test %q must be a mapping", t.kind))
					continue
				}
			default:
				ds = append(ds, at(path, item, "a test entry must be a name or a mapping"))
				continue
			}
			t.config = append(t.config, testConfigFromArgs(t.args)...)
			out = append(out, t)
		}
	}
	return out, ds
}

func readSources(path string, list *yaml.Node) ([]sourceDecl, Diagnostics) {
	if list.Kind != yaml.SequenceNode {
		return nil, Diagnostics{at(path, list, "sources: must be a list of entries with name:")}
	}
	var out []sourceDecl
	var ds Diagnostics
	for _, s := range list.Content {
		source, eds := namedEntry(path, s, "source", sourceKeys)
		ds = append(ds, eds...)
		if source == "" {
			continue
		}
		schema := source
		if n := lookup(s, "schema"); n != nil && n.Value != "" {
			schema = n.Value
		}
		database := ""
		if n := lookup(s, "database"); n != nil {
			database = n.Value
		}
		enabled := enabledIn(lookup(s, "config"), true)
		tables := lookup(s, "tables")
		if tables == nil || tables.Kind != yaml.SequenceNode {
			d := at(path, s, "source %q has no tables: list, so it declares nothing", source)
			d.Warning = true
			ds = append(ds, d)
			continue
		}
		for _, t := range tables.Content {
			table, eds := namedEntry(path, t, "source table", sourceTableKeys)
			ds = append(ds, eds...)
			if table == "" {
				continue
			}
			decl := sourceDecl{path: path, line: t.Line, source: source, table: table,
				schema: schema, database: database, identifier: table, enabled: enabledIn(lookup(t, "config"), enabled)}
			if n := lookup(t, "identifier"); n != nil && n.Value != "" {
				decl.identifier = n.Value
			}
			if n := lookup(t, "description"); n != nil {
				decl.description = n.Value
			}
			for _, owner := range []*yaml.Node{s, t} {
				for _, key := range []string{"tags", "meta"} {
					if n := lookup(owner, key); n != nil {
						v, _ := plain(n)
						decl.config = append(decl.config, configEntry{key, v, n})
					}
				}
			}
			tests, tds := readTests(path, t, "")
			ds = append(ds, tds...)
			cols, cds, ctests := readColumns(path, lookup(t, "columns"))
			ds = append(ds, cds...)
			decl.columns = cols
			decl.tests = append(tests, ctests...)
			out = append(out, decl)
		}
	}
	return out, ds
}

// enabledIn reads enabled: from a config block, def when absent.
func enabledIn(cfg *yaml.Node, def bool) bool {
	if n := lookup(cfg, "enabled"); n != nil {
		var b bool
		if n.Decode(&b) == nil {
			return b
		}
	}
	return def
}

// testConfigArgs are the arguments dbt takes as a test's configuration
// wherever they are written, arguments: included.
var testConfigArgs = []string{"severity", "tags", "enabled", "where", "limit", "warn_if", "error_if", "fail_calc",
	"store_failures", "store_failures_as", "meta", "database", "schema", "alias"}

// testConfigFromArgs moves config: and the configuration keys out of a
// test's arguments.
func testConfigFromArgs(args map[string]any) []configEntry {
	var out []configEntry
	if cfg, ok := args["config"].(map[string]any); ok {
		for _, k := range sortedKeys(cfg) {
			out = append(out, configEntry{key: k, value: cfg[k]})
		}
		delete(args, "config")
	}
	for _, k := range testConfigArgs {
		if v, ok := args[k]; ok {
			out = append(out, configEntry{key: k, value: v})
			delete(args, k)
		}
	}
	return out
}
