package project

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// dbtVersion is what dbt_version reports: the dbt behaviour dataops follows.
const dbtVersion = "1.9.0"

// fn is shorthand for a template function.
type fn = func(c *jinja.Call, a jinja.Args) (jinja.Value, error)

// installGlobals gives templates dbt's context: the functions and values
// every render shares. What depends on the node rendered (this, model,
// execute, graph) is set per render; what the functions record goes to
// the render's state.
func (r *renderer) installGlobals() {
	c := r.c
	t := c.opts.Target
	target := jinja.NewDict()
	for _, kv := range [][2]any{{"name", t.Name}, {"schema", t.Schema}, {"type", t.Type}, {"database", t.Database},
		{"profile_name", c.p.ProfileName}, {"threads", int64(4)}, {"target_name", t.Name}} {
		target.SetString(kv[0].(string), kv[1])
	}
	if t.Type == "postgres" {
		target.SetString("dbname", t.Database)
	}
	g := r.env.Globals
	g["target"] = target.Freeze()
	g["project_name"] = c.p.Name
	g["dbt_version"] = dbtVersion
	g["invocation_id"] = c.opts.InvocationID
	g["run_started_at"] = newDatetime(c.opts.RunStartedAt)
	g["modules"] = pyModules()
	g["flags"] = flagsValue()
	g["ref"] = jinja.Func(r.ref)
	g["source"] = jinja.Func(r.source)
	g["config"] = &configObject{r: r}
	g["var"] = &varObject{r: r}
	g["env_var"] = jinja.Func(r.envVar)
	g["is_incremental"] = jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		return stateOf(c).incremental, nil
	})
	g["return"] = jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		var v jinja.Value
		if len(a.Pos) > 0 {
			v = a.Pos[0]
		}
		return nil, jinja.Return(v)
	})
	quiet := jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) { return "", nil })
	g["log"] = quiet
	g["print"] = quiet
	g["exceptions"] = &exceptionsObject{}
	g["tojson"] = jinja.Func(toJSON)
	g["fromjson"] = jinja.Func(fromJSON)
	g["toyaml"] = jinja.Func(toYAML)
	g["fromyaml"] = jinja.Func(fromYAML)
	g["zip"] = jinja.Func(zipValues)
	g["set"] = jinja.Func(newSet)
	g["set_strict"] = jinja.Func(newSet)
	g["zip_strict"] = jinja.Func(zipValues)
	// dbt's relations and model are mappings.
	isMapping := r.env.Tests["mapping"]
	r.env.Tests["mapping"] = func(c *jinja.Call, v jinja.Value, a jinja.Args) (bool, error) {
		switch v.(type) {
		case *relationValue, *lazyDict:
			return true, nil
		}
		return isMapping(c, v, a)
	}
	// dbt's markers for native rendering; printed, they are their value.
	for _, name := range []string{"as_bool", "as_native", "as_number", "as_text"} {
		r.env.Filters[name] = func(c *jinja.Call, v jinja.Value, a jinja.Args) (jinja.Value, error) { return v, nil }
	}
	g["local_md5"] = jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		p, err := a.Bind("local_md5", 1, "value")
		if err != nil {
			return nil, err
		}
		sum := md5.Sum([]byte(jinja.Str(p[0])))
		return hex.EncodeToString(sum[:]), nil
	})
	g["api"] = apiObject{}
	g["adapter"] = &adapterObject{r: r}
	g["run_query"] = jinja.Func(r.runQuery)
	g["statement"] = jinja.Func(r.statement)
	g["load_result"] = jinja.Func(r.loadResult)
	g["builtins"] = builtinsObject{"ref": g["ref"], "source": g["source"], "config": g["config"]}
	g["diff_of_two_dicts"] = jinja.Func(diffOfTwoDicts)
	g["doc"] = quiet
	g["env"] = jinja.NewDict().Freeze()
	g["selected_resources"] = jinja.NewList().Freeze()
	g["write"] = quiet
	g["render"] = jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		if len(a.Pos) == 0 {
			return "", nil
		}
		tpl, err := c.Env().Parse("render", jinja.Str(a.Pos[0]))
		if err != nil {
			return nil, err
		}
		return tpl.Render(c.Context(), nil)
	})
}

// ref is dbt's ref([package,] name, version=...).
func (r *renderer) ref(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	st := stateOf(c)
	var args []string
	for _, v := range a.Pos {
		args = append(args, jinja.Str(v))
	}
	for _, kv := range a.Kw {
		switch kv.Name {
		case "package":
			args = append([]string{jinja.Str(kv.Value)}, args...)
		case "v", "version":
		default:
			return nil, fmt.Errorf("ref() got an unexpected keyword argument %q", kv.Name)
		}
	}
	var key string
	switch len(args) {
	case 1:
		key = args[0]
	case 2:
		key = args[0] + "." + args[1]
	default:
		return nil, fmt.Errorf("ref() takes a model name, or a package and a model name")
	}
	if !contains(st.refs, key) {
		st.refs = append(st.refs, key)
	}
	_, name := splitRef(key)
	var target *Node
	if st.execute {
		target = r.c.refTarget(st.node, key)
	}
	return r.c.nodeRelation(st, "ref", key, target, name), nil
}

// source is dbt's source(source_name, table_name).
func (r *renderer) source(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("source", 2, "source_name", "table_name")
	if err != nil {
		return nil, err
	}
	st := stateOf(c)
	key := jinja.Str(p[0]) + "." + jinja.Str(p[1])
	if !contains(st.sources, key) {
		st.sources = append(st.sources, key)
	}
	var target *Node
	if st.execute {
		target = r.c.sourceTarget(st.node, key)
	}
	return r.c.nodeRelation(st, "src", key, target, jinja.Str(p[1])), nil
}

// varObject is dbt's var: var('x', default) and var.has_var('x').
type varObject struct{ r *renderer }

func (v *varObject) Attr(name string) (jinja.Value, bool) {
	if name == "has_var" {
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("has_var", 1, "var_name")
			if err != nil {
				return nil, err
			}
			_, ok := v.r.c.vars[v.pkgOf(c)][jinja.Str(p[0])]
			return ok, nil
		}), true
	}
	return nil, false
}

func (v *varObject) pkgOf(c *jinja.Call) string {
	if st := stateOf(c); st.node != nil && st.node.Package != "" {
		return st.node.Package
	}
	return v.r.c.p.Name
}

func (v *varObject) CallJinja(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	if len(a.Pos) == 0 {
		return nil, fmt.Errorf("var() takes a variable name")
	}
	name := jinja.Str(a.Pos[0])
	st := stateOf(c)
	st.vars[name] = true
	if val, ok := v.r.c.vars[v.pkgOf(c)][name]; ok {
		return jinja.FromGo(val), nil
	}
	if len(a.Pos) > 1 {
		return a.Pos[1], nil
	}
	if d, ok := a.Kwarg("default"); ok {
		return d, nil
	}
	st.problems = append(st.problems, renderProblem{fn: "var", arg: name,
		message: fmt.Sprintf("required var %q is not defined", name),
		hint:    "add it under vars: in dbt_project.yml, or give a default: var('" + name + "', ...)"})
	return "", nil
}

func (r *renderer) envVar(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	if len(a.Pos) == 0 {
		return nil, fmt.Errorf("env_var() takes a variable name")
	}
	name := jinja.Str(a.Pos[0])
	lookup := r.c.opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	if v, ok := lookup(name); ok {
		return v, nil
	}
	if len(a.Pos) > 1 {
		return a.Pos[1], nil
	}
	if d, ok := a.Kwarg("default"); ok {
		return d, nil
	}
	st := stateOf(c)
	st.problems = append(st.problems, renderProblem{fn: "env_var", arg: name,
		message: fmt.Sprintf("environment variable %s is not set", name),
		hint:    "set it, or give a default: env_var('" + name + "', ...)"})
	return "", nil
}

// configObject is dbt's config: config(key=value) records configuration
// while parsing; config.get and config.require read the node's resolved
// configuration when compiling (and give "" while parsing, as dbt does).
type configObject struct{ r *renderer }

func (o *configObject) CallJinja(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	st := stateOf(c)
	if st.execute {
		return "", nil
	}
	record := func(k string, v jinja.Value) {
		st.config = append(st.config, configEntry{key: k, value: normalize(jinja.ToGo(v))})
	}
	if len(a.Pos) == 1 {
		if d, ok := a.Pos[0].(*jinja.Dict); ok {
			for i, k := range d.Keys() {
				record(jinja.Str(k), d.Values()[i])
			}
		}
	}
	kw := append([]jinja.KV(nil), a.Kw...)
	sort.Slice(kw, func(i, j int) bool { return kw[i].Name < kw[j].Name })
	for _, kv := range kw {
		record(kv.Name, kv.Value)
	}
	return "", nil
}

func (o *configObject) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "get", "require", "meta_get", "meta_require":
		required := strings.HasSuffix(name, "require")
		meta := strings.HasPrefix(name, "meta")
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("config."+name, 1, "name", "default", "validator")
			if err != nil {
				return nil, err
			}
			st := stateOf(c)
			if !st.execute {
				st.second = true
				return "", nil
			}
			key := jinja.Str(p[0])
			var v any
			var ok bool
			if meta {
				if m, isMap := st.node.Config.Extra["meta"].(map[string]any); isMap {
					v, ok = m[key]
				}
			} else {
				v, ok = configLookup(st.node.Config, key)
			}
			if ok {
				return jinja.FromGo(v), nil
			}
			if required {
				return nil, fmt.Errorf("missing config: %q is required by this model's templates (set it with config(%s=...))", key, key)
			}
			if p[1] != jinja.Missing {
				return p[1], nil
			}
			return nil, nil
		}), true
	case "set":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("config.set", 2, "name", "value")
			if err != nil {
				return nil, err
			}
			return o.CallJinja(c, jinja.Args{Kw: []jinja.KV{{Name: jinja.Str(p[0]), Value: p[1]}}})
		}), true
	case "persist_relation_docs", "persist_column_docs":
		return jinja.Func(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return false, nil }), true
	}
	return nil, false
}

// configLookup reads a config key as dbt's config.get does.
func configLookup(cfg Config, key string) (any, bool) {
	key = strings.ReplaceAll(key, "-", "_")
	switch key {
	case "materialized":
		return cfg.Materialized, cfg.Materialized != ""
	case "schema":
		return cfg.Schema, cfg.Schema != ""
	case "alias":
		return cfg.Alias, cfg.Alias != ""
	case "tags":
		return append([]string{}, cfg.Tags...), true
	case "enabled":
		return cfg.Enabled, true
	case "unique_key":
		switch len(cfg.UniqueKey) {
		case 0:
			return nil, false
		case 1:
			return cfg.UniqueKey[0], true
		}
		return cfg.UniqueKey, true
	case "incremental_strategy":
		return cfg.IncrementalStrategy, cfg.IncrementalStrategy != ""
	case "pre_hook", "post_hook":
		hooks := cfg.PreHook
		if key == "post_hook" {
			hooks = cfg.PostHook
		}
		var out []any
		for _, h := range hooks {
			out = append(out, map[string]any{"sql": h, "transaction": true})
		}
		return out, true
	case "column_types":
		return cfg.ColumnTypes, cfg.ColumnTypes != nil
	case "severity":
		return cfg.Severity, cfg.Severity != ""
	case "where":
		return cfg.Where, cfg.Where != ""
	}
	v, ok := cfg.Extra[key]
	return v, ok
}

// exceptionsObject is dbt's exceptions namespace.
type exceptionsObject struct{}

func (exceptionsObject) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "warn":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) > 0 {
				st := stateOf(c)
				st.warnings = append(st.warnings, jinja.Str(a.Pos[0]))
			}
			return "", nil
		}), true
	case "raise_compiler_error", "raise_not_implemented", "raise_fail_fast_error", "raise_database_error",
		"raise_dependency_error", "raise_contract_error", "column_type_missing", "relation_wrong_type",
		"raise_ambiguous_alias", "raise_ambiguous_catalog_match", "raise_duplicate_resource_name":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			msg := name
			if len(a.Pos) > 0 {
				msg = jinja.Str(a.Pos[0])
			}
			return nil, fmt.Errorf("%s", msg)
		}), true
	}
	return nil, false
}

// builtinsObject is dbt's builtins: the original ref, source and config
// for projects that override them with macros.
type builtinsObject map[string]jinja.Value

func (b builtinsObject) Attr(name string) (jinja.Value, bool) {
	v, ok := b[name]
	return v, ok
}

// flagsValue is dbt's flags, as a compile sees them.
func flagsValue() jinja.Value {
	d := jinja.NewDict()
	for k, v := range map[string]any{"WHICH": "compile", "FULL_REFRESH": false, "STORE_FAILURES": false,
		"WARN_ERROR": false, "STRICT_MODE": false, "USE_COLORS": false, "DEBUG": false, "EMPTY": false,
		"INTROSPECT": true, "WRITE_JSON": true, "PARTIAL_PARSE": false, "STATIC_PARSER": true} {
		d.SetString(k, v)
	}
	return flagsObject{d.Freeze()}
}

type flagsObject struct{ d *jinja.Dict }

func (f flagsObject) Attr(name string) (jinja.Value, bool) {
	if v, ok := f.d.Get(name); ok {
		return v, true
	}
	return nil, true // dbt's flags are None when unset
}

// apiObject is dbt's api: api.Relation.create(...) and api.Column.
type apiObject struct{}

func (apiObject) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "Relation":
		return relationClass{}, true
	case "Column":
		return columnClass{}, true
	}
	return nil, false
}

type relationClass struct{}

func (relationClass) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "create":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) { return relationFromParts(a), nil }), true
	case "add_ephemeral_prefix":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			name := ""
			if len(a.Pos) > 0 {
				name = jinja.Str(a.Pos[0])
			}
			return "__dbt__cte__" + name, nil
		}), true
	}
	return nil, false
}

type columnClass struct{}

func (columnClass) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "create":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("Column.create", 2, "name", "label_or_dtype")
			if err != nil {
				return nil, err
			}
			return &columnValue{name: jinja.Str(p[0]), dtype: jinja.Str(p[1])}, nil
		}), true
	case "translate_type":
		return jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return "", nil
			}
			return translateType(jinja.Str(a.Pos[0])), nil
		}), true
	}
	return nil, false
}

// translateType maps a generic type name to the engine's, as dbt's
// Column.translate_type does.
func translateType(t string) string {
	switch strings.ToUpper(t) {
	case "STRING":
		return "TEXT"
	}
	return t
}

// columnValue is dbt's Column: a relation's column as the warehouse
// describes it.
type columnValue struct{ name, dtype string }

func (col *columnValue) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "name", "column":
		return col.name, true
	case "quoted":
		return quoteIdent(col.name), true
	case "data_type", "dtype":
		return col.dtype, true
	case "is_string":
		return jinja.Func(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return isStringType(col.dtype), nil }), true
	case "is_number", "is_numeric":
		return jinja.Func(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return isNumberType(col.dtype), nil }), true
	case "is_integer":
		return jinja.Func(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return isIntegerType(col.dtype), nil }), true
	case "is_float":
		return jinja.Func(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			return isNumberType(col.dtype) && !isIntegerType(col.dtype), nil
		}), true
	case "char_size", "numeric_precision", "numeric_scale":
		return nil, true
	}
	return nil, false
}

func (col *columnValue) String() string { return "<Column " + col.name + " (" + col.dtype + ")>" }

func isStringType(t string) bool {
	t = strings.ToLower(t)
	return strings.Contains(t, "char") || strings.Contains(t, "text") || t == "string"
}

func isIntegerType(t string) bool {
	t = strings.ToLower(t)
	return strings.Contains(t, "int")
}

func isNumberType(t string) bool {
	t = strings.ToLower(t)
	for _, s := range []string{"int", "numeric", "decimal", "double", "real", "float"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}

// values lists what a template value iterates over.
func values(v jinja.Value) ([]jinja.Value, error) {
	switch x := v.(type) {
	case *jinja.List:
		return x.Items, nil
	case jinja.Tuple:
		return x, nil
	case *jinja.Dict:
		return x.Keys(), nil
	case string:
		var out []jinja.Value
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	case jinja.Range:
		out := make([]jinja.Value, 0, x.Len())
		for i := int64(0); i < x.Len(); i++ {
			out = append(out, x.At(i))
		}
		return out, nil
	case *jinja.Iterator:
		var out []jinja.Value
		for {
			item, ok, err := x.Next()
			if err != nil {
				return nil, err
			}
			if !ok {
				return out, nil
			}
			out = append(out, item)
		}
	case interface{ Iter() ([]jinja.Value, error) }:
		return x.Iter()
	case nil, jinja.Undefined:
		return nil, nil
	}
	return nil, fmt.Errorf("TypeError: '%T' object is not iterable", v)
}

func zipValues(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	var lists [][]jinja.Value
	for _, p := range a.Pos {
		items, err := values(p)
		if err != nil {
			return nil, err
		}
		lists = append(lists, items)
	}
	if len(lists) == 0 {
		return jinja.NewList(), nil
	}
	n := len(lists[0])
	for _, l := range lists {
		n = min(n, len(l))
	}
	out := make([]jinja.Value, n)
	for i := 0; i < n; i++ {
		t := make(jinja.Tuple, len(lists))
		for j, l := range lists {
			t[j] = l[i]
		}
		out[i] = t
	}
	return jinja.NewList(out...), nil
}

// toJSON is dbt's tojson(value, default=None, sort_keys=False).
func toJSON(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("tojson", 1, "value", "default", "sort_keys")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	if err := writeJSON(&b, p[0], p[2] != jinja.Missing && jinja.Truth(p[2])); err != nil {
		if p[1] != jinja.Missing {
			return p[1], nil
		}
		return nil, nil
	}
	return b.String(), nil
}

// writeJSON writes a value as Python's json.dumps does (", " and ": ").
func writeJSON(b *strings.Builder, v jinja.Value, sortKeys bool) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64, *big.Int:
		b.WriteString(jinja.Str(x))
	case float64:
		b.WriteString(jinja.Repr(x))
	case string, jinja.Markup:
		out, _ := json.Marshal(jinja.Str(x))
		b.WriteString(pythonJSONEscape(string(out)))
	case *jinja.List, jinja.Tuple:
		items, _ := values(x)
		b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeJSON(b, it, sortKeys); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case *jinja.Dict:
		idx := make([]int, x.Len())
		for i := range idx {
			idx[i] = i
		}
		if sortKeys {
			sort.SliceStable(idx, func(i, j int) bool { return jinja.Str(x.Keys()[idx[i]]) < jinja.Str(x.Keys()[idx[j]]) })
		}
		b.WriteByte('{')
		for n, i := range idx {
			if n > 0 {
				b.WriteString(", ")
			}
			key, _ := json.Marshal(jinja.Str(x.Keys()[i]))
			b.WriteString(pythonJSONEscape(string(key)))
			b.WriteString(": ")
			if err := writeJSON(b, x.Values()[i], sortKeys); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("Object of type %T is not JSON serializable", v)
	}
	return nil
}

// pythonJSONEscape makes Go's JSON string escapes Python's: Go escapes
// <, > and & for HTML and leaves non-ASCII as is; Python escapes
// non-ASCII as \uXXXX and leaves <, > and & alone.
func pythonJSONEscape(s string) string {
	s = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		}
	}
	return b.String()
}

func fromJSON(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("fromjson", 1, "string", "default")
	if err != nil {
		return nil, err
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(jinja.Str(p[0])))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		if p[1] != jinja.Missing {
			return p[1], nil
		}
		return nil, nil
	}
	return fromPlain(v), nil
}

// fromPlain converts decoded JSON or YAML to template values, keeping the
// order of YAML mappings where it has them.
func fromPlain(v any) jinja.Value {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		out := make([]jinja.Value, len(x))
		for i, it := range x {
			out[i] = fromPlain(it)
		}
		return jinja.NewList(out...)
	case map[string]any:
		d := jinja.NewDict()
		for _, k := range sortedKeys(x) {
			d.SetString(k, fromPlain(x[k]))
		}
		return d
	case int:
		return int64(x)
	}
	return jinja.FromGo(v)
}

func toYAML(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("toyaml", 1, "value", "default", "sort_keys")
	if err != nil {
		return nil, err
	}
	out, err := yaml.Marshal(jinja.ToGo(p[0]))
	if err != nil {
		if p[1] != jinja.Missing {
			return p[1], nil
		}
		return nil, nil
	}
	return string(out), nil
}

func fromYAML(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("fromyaml", 1, "value", "default")
	if err != nil {
		return nil, err
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(jinja.Str(p[0])), &n); err != nil {
		if p[1] != jinja.Missing {
			return p[1], nil
		}
		return nil, nil
	}
	if len(n.Content) == 0 {
		return nil, nil
	}
	return yamlValue(n.Content[0]), nil
}

// yamlValue converts a YAML node keeping mapping order, as Python's
// dicts keep it.
func yamlValue(n *yaml.Node) jinja.Value {
	switch n.Kind {
	case yaml.MappingNode:
		d := jinja.NewDict()
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.Set(yamlValue(n.Content[i]), yamlValue(n.Content[i+1]))
		}
		return d
	case yaml.SequenceNode:
		out := make([]jinja.Value, len(n.Content))
		for i, c := range n.Content {
			out[i] = yamlValue(c)
		}
		return jinja.NewList(out...)
	case yaml.AliasNode:
		return yamlValue(n.Alias)
	}
	var v any
	if n.Decode(&v) != nil {
		return n.Value
	}
	return jinja.FromGo(v)
}

// diffOfTwoDicts is dbt's diff_of_two_dicts: the keys of a whose values
// are not in b's.
func diffOfTwoDicts(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("diff_of_two_dicts", 2, "dict_a", "dict_b")
	if err != nil {
		return nil, err
	}
	da, _ := p[0].(*jinja.Dict)
	db, _ := p[1].(*jinja.Dict)
	out := jinja.NewDict()
	if da == nil {
		return out, nil
	}
	for i, k := range da.Keys() {
		av, _ := values(da.Values()[i])
		var bv []jinja.Value
		if db != nil {
			if x, ok := db.Get(k); ok {
				bv, _ = values(x)
			}
		}
		var diff []jinja.Value
		for _, x := range av {
			found := false
			for _, y := range bv {
				if strings.EqualFold(jinja.Str(x), jinja.Str(y)) {
					found = true
				}
			}
			if !found {
				diff = append(diff, x)
			}
		}
		if len(diff) > 0 {
			out.Set(k, jinja.NewList(diff...))
		}
	}
	return out, nil
}
