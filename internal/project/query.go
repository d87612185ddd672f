package project

import (
	"context"
	"fmt"
	"strings"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// Warehouse is what templates may ask of a warehouse while they compile:
// run_query, statement blocks, adapter.get_columns_in_relation and
// adapter.get_relation. The pipeline fills it with its warehouse;
// without one, a model that asks is skipped as needing a warehouse.
type Warehouse interface {
	// Query runs a statement and returns its column names and rows.
	Query(ctx context.Context, sql string) (columns []string, rows [][]any, err error)
	// Columns lists a relation's columns (name and type); found is false
	// when the relation does not exist.
	Columns(ctx context.Context, rel Relation) (cols []ColumnInfo, found bool, err error)
}

// ColumnInfo is a column as the warehouse describes it.
type ColumnInfo struct {
	Name, Type string
}

// warehouseFor returns the compile's warehouse, or stops the render when
// there is none: a second render (execute true) needs it, a first render
// never queries (dbt's statement does nothing while parsing).
func (r *renderer) warehouseFor(c *jinja.Call) (Warehouse, error) {
	st := stateOf(c)
	if r.c.opts.Warehouse == nil {
		st.needsWarehouse = true
		return nil, errNeedsWarehouse
	}
	return r.c.opts.Warehouse, nil
}

// querySQL resolves the relation placeholders in SQL a template runs at
// compile time: queries read the relations as the compile target has
// them, or production's when the compile says so (a pull request's
// environment does not hold its models yet).
func (r *renderer) querySQL(st *renderState, sql string) string {
	if !strings.Contains(sql, phOpen) || r.c.m == nil {
		return sql
	}
	resolve := func(n *Node) Ref { return Ref{Relation: n.Relation} }
	if prod := r.c.opts.QueryTarget; prod != nil {
		resolve = func(n *Node) Ref { return Ref{Relation: r.c.m.RelationIn(n, *prod)} }
	}
	if st.node == nil {
		return sql
	}
	// A reference made only while compiling (inside a statement block)
	// resolves here too; the compile then reports it, as dbt does.
	self := *st.node
	self.refIDs = map[string]string{}
	for k, v := range st.node.refIDs {
		self.refIDs[k] = v
	}
	for _, key := range append(append([]string(nil), st.refs...), st.sources...) {
		if _, ok := self.refIDs[key]; !ok {
			if id := r.c.refOrSource(st.node, key); id != "" {
				self.refIDs[key] = id
			}
		}
	}
	return r.c.m.substitute(&self, sql, resolve, nil, nil)
}

// statement is dbt's {% call statement(name, fetch_result=False) %}SQL
// {% endcall %}: while parsing it does nothing; when compiling it runs the
// SQL and keeps the result for load_result(name).
func (r *renderer) statement(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("statement", 0, "name", "fetch_result", "auto_begin", "language", "caller")
	if err != nil {
		return nil, err
	}
	name := "main"
	if p[0] != jinja.Missing && p[0] != nil {
		name = jinja.Str(p[0])
	}
	st := stateOf(c)
	if !st.execute {
		st.second = true
		return "", nil
	}
	if p[4] == jinja.Missing {
		return "", nil
	}
	body, err := c.Call(p[4], jinja.Args{})
	if err != nil {
		return nil, err
	}
	result, err := r.query(c, st, jinja.Str(body))
	if err != nil {
		return nil, err
	}
	if st.statements == nil {
		st.statements = map[string]*jinja.Dict{}
	}
	st.statements[name] = result
	return "", nil
}

// query runs SQL for a template and returns dbt's result dict: response,
// data (rows as tuples) and table (an agate-like table).
func (r *renderer) query(c *jinja.Call, st *renderState, sql string) (*jinja.Dict, error) {
	w, err := r.warehouseFor(c)
	if err != nil {
		return nil, err
	}
	cols, rows, err := w.Query(c.Context(), r.querySQL(st, sql))
	if err != nil {
		return nil, fmt.Errorf("a query at compile time failed: %v", err)
	}
	t := newTable(cols, rows)
	d := jinja.NewDict()
	resp := jinja.NewDict()
	resp.SetString("code", "SELECT")
	resp.SetString("rows_affected", int64(len(rows)))
	resp.SetString("_message", fmt.Sprintf("SELECT %d", len(rows)))
	d.SetString("response", resp)
	d.SetString("data", jinja.NewList(t.rowValues()...))
	d.SetString("table", t)
	return d, nil
}

func (r *renderer) loadResult(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("load_result", 1, "name")
	if err != nil {
		return nil, err
	}
	st := stateOf(c)
	if res, ok := st.statements[jinja.Str(p[0])]; ok {
		return res, nil
	}
	return nil, nil
}

// runQuery is dbt's run_query(sql): the result's table when compiling,
// None while parsing.
func (r *renderer) runQuery(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	p, err := a.Bind("run_query", 1, "sql")
	if err != nil {
		return nil, err
	}
	st := stateOf(c)
	if !st.execute {
		st.second = true
		return nil, nil
	}
	res, err := r.query(c, st, jinja.Str(p[0]))
	if err != nil {
		return nil, err
	}
	t, _ := res.Get("table")
	return t, nil
}

// tableValue is the part of agate's Table that dbt projects use:
// columns, column_names, rows, and indexing rows by position or name.
type tableValue struct {
	names []string
	rows  [][]jinja.Value
}

func newTable(cols []string, rows [][]any) *tableValue {
	t := &tableValue{names: cols}
	for _, row := range rows {
		vals := make([]jinja.Value, len(row))
		for i, v := range row {
			vals[i] = queryValue(v)
		}
		t.rows = append(t.rows, vals)
	}
	return t
}

// queryValue converts a driver value for templates.
func queryValue(v any) jinja.Value {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case fmt.Stringer:
		if _, isValue := v.(jinja.Object); !isValue {
			return x.String()
		}
	}
	return jinja.FromGo(v)
}

func (t *tableValue) rowValues() []jinja.Value {
	out := make([]jinja.Value, len(t.rows))
	for i, r := range t.rows {
		out[i] = jinja.Tuple(r)
	}
	return out
}

func (t *tableValue) Len() int                     { return len(t.rows) }
func (t *tableValue) Iter() ([]jinja.Value, error) { return t.rowObjects(), nil }

func (t *tableValue) rowObjects() []jinja.Value {
	out := make([]jinja.Value, len(t.rows))
	for i, r := range t.rows {
		out[i] = &rowValue{names: t.names, vals: r}
	}
	return out
}

func (t *tableValue) column(i int) *tableColumn {
	col := &tableColumn{name: t.names[i]}
	for _, r := range t.rows {
		col.vals = append(col.vals, r[i])
	}
	return col
}

func (t *tableValue) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "columns":
		cols := &tableColumns{t: t}
		return cols, true
	case "column_names":
		out := make(jinja.Tuple, len(t.names))
		for i, n := range t.names {
			out[i] = n
		}
		return out, true
	case "rows":
		return jinja.NewList(t.rowObjects()...), true
	case "print_table":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return nil, nil }), true
	}
	return nil, false
}

type tableColumns struct{ t *tableValue }

func (tc *tableColumns) Len() int { return len(tc.t.names) }
func (tc *tableColumns) Iter() ([]jinja.Value, error) {
	out := make([]jinja.Value, len(tc.t.names))
	for i := range tc.t.names {
		out[i] = tc.t.column(i)
	}
	return out, nil
}
func (tc *tableColumns) Attr(string) (jinja.Value, bool) { return nil, false }
func (tc *tableColumns) Item(key jinja.Value) (jinja.Value, bool) {
	switch k := key.(type) {
	case int64:
		if k < 0 {
			k += int64(len(tc.t.names))
		}
		if k >= 0 && int(k) < len(tc.t.names) {
			return tc.t.column(int(k)), true
		}
	case string:
		for i, n := range tc.t.names {
			if n == k {
				return tc.t.column(i), true
			}
		}
	}
	return nil, false
}

type tableColumn struct {
	name string
	vals []jinja.Value
}

func (c *tableColumn) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "name":
		return c.name, true
	case "values", "values_distinct", "values_without_nulls":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			out := make(jinja.Tuple, 0, len(c.vals))
			seen := map[string]bool{}
			for _, v := range c.vals {
				if name == "values_without_nulls" && v == nil {
					continue
				}
				if name == "values_distinct" {
					if seen[jinja.Repr(v)] {
						continue
					}
					seen[jinja.Repr(v)] = true
				}
				out = append(out, v)
			}
			return out, nil
		}), true
	}
	return nil, false
}
func (c *tableColumn) Len() int                     { return len(c.vals) }
func (c *tableColumn) Iter() ([]jinja.Value, error) { return c.vals, nil }
func (c *tableColumn) Item(key jinja.Value) (jinja.Value, bool) {
	if i, ok := key.(int64); ok && i >= 0 && int(i) < len(c.vals) {
		return c.vals[i], true
	}
	return nil, false
}

type rowValue struct {
	names []string
	vals  []jinja.Value
}

func (r *rowValue) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "values":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return jinja.Tuple(r.vals), nil }), true
	case "keys":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			out := make(jinja.Tuple, len(r.names))
			for i, n := range r.names {
				out[i] = n
			}
			return out, nil
		}), true
	case "dict":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			d := jinja.NewDict()
			for i, n := range r.names {
				d.SetString(n, r.vals[i])
			}
			return d, nil
		}), true
	}
	return r.Item(name)
}
func (r *rowValue) Len() int                     { return len(r.vals) }
func (r *rowValue) Iter() ([]jinja.Value, error) { return r.vals, nil }
func (r *rowValue) Item(key jinja.Value) (jinja.Value, bool) {
	switch k := key.(type) {
	case int64:
		if k < 0 {
			k += int64(len(r.vals))
		}
		if k >= 0 && int(k) < len(r.vals) {
			return r.vals[k], true
		}
	case string:
		for i, n := range r.names {
			if n == k {
				return r.vals[i], true
			}
		}
	}
	return nil, false
}

// adapterObject is dbt's adapter.
type adapterObject struct{ r *renderer }

func (ad *adapterObject) Attr(name string) (jinja.Value, bool) {
	r := ad.r
	switch name {
	case "dispatch":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("dispatch", 1, "macro_name", "macro_namespace", "packages")
			if err != nil {
				return nil, err
			}
			macroName := jinja.Str(p[0])
			if strings.Contains(macroName, ".") {
				return nil, fmt.Errorf("In dispatch: the macro name %q cannot contain a dot; give its namespace as macro_namespace", macroName)
			}
			ns := ""
			if p[1] != jinja.Missing && p[1] != nil {
				ns = jinja.Str(p[1])
			}
			from := r.c.p.Name
			if st := stateOf(c); st.node != nil {
				from = st.node.Package
			}
			d, tried := r.dispatch(from, macroName, ns)
			if d == nil {
				return nil, fmt.Errorf("In dispatch: No macro named %q found within namespace: %q\n    Searched for: %s", macroName, ns,
					"'"+strings.Join(tried, "', '")+"'")
			}
			return d.macro, nil
		}), true
	case "quote":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return "", nil
			}
			return quoteIdent(jinja.Str(a.Pos[0])), nil
		}), true
	case "quote_as_configured", "quote_seed_column":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return "", nil
			}
			return jinja.Str(a.Pos[0]), nil
		}), true
	case "type":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return r.c.opts.Target.Type, nil }), true
	case "get_columns_in_relation":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			st := stateOf(c)
			if !st.execute {
				st.second = true
				return jinja.NewList(), nil
			}
			if len(a.Pos) == 0 {
				return nil, fmt.Errorf("get_columns_in_relation() takes a relation")
			}
			w, err := r.warehouseFor(c)
			if err != nil {
				return nil, err
			}
			rel := r.queryRelation(st, a.Pos[0])
			cols, _, err := w.Columns(c.Context(), rel)
			if err != nil {
				return nil, fmt.Errorf("reading the columns of %s: %v", quoteRelation(rel), err)
			}
			out := make([]jinja.Value, len(cols))
			for i, col := range cols {
				out[i] = &columnValue{name: col.Name, dtype: col.Type}
			}
			return jinja.NewList(out...), nil
		}), true
	case "get_relation", "get_relation_or_none":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind(name, 3, "database", "schema", "identifier")
			if err != nil {
				return nil, err
			}
			st := stateOf(c)
			if !st.execute {
				st.second = true
				return nil, nil
			}
			w, err := r.warehouseFor(c)
			if err != nil {
				return nil, err
			}
			rel := relationFromParts(jinja.Args{Kw: []jinja.KV{{Name: "database", Value: p[0]}, {Name: "schema", Value: p[1]}, {Name: "identifier", Value: p[2]}}})
			_, found, err := w.Columns(c.Context(), *rel.parts)
			if err != nil {
				return nil, err
			}
			if !found {
				return nil, nil
			}
			return rel, nil
		}), true
	case "check_schema_exists", "already_exists":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			st := stateOf(c)
			if !st.execute {
				st.second = true
				return false, nil
			}
			if _, err := r.warehouseFor(c); err != nil {
				return nil, err
			}
			return true, nil
		}), true
	case "get_missing_columns", "expand_target_column_types", "drop_relation", "truncate_relation",
		"rename_relation", "create_schema", "drop_schema", "list_relations_without_caching":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			st := stateOf(c)
			if !st.execute {
				st.second = true
				return jinja.NewList(), nil
			}
			return nil, fmt.Errorf("adapter.%s changes or lists the warehouse, which a compile does not do", name)
		}), true
	}
	return nil, false
}

// queryRelation is where a relation a template passes to the adapter is
// in the warehouse.
func (r *renderer) queryRelation(st *renderState, v jinja.Value) Relation {
	rel, ok := v.(*relationValue)
	if !ok {
		parts := strings.Split(jinja.Str(v), ".")
		out := Relation{Name: identifierOf(parts[len(parts)-1])}
		if len(parts) > 1 {
			out.Schema = identifierOf(parts[len(parts)-2])
		}
		return out
	}
	if rel.kind == "" {
		return rel.resolved()
	}
	sql := r.querySQL(st, rel.String())
	parts := strings.Split(sql, ".")
	out := Relation{Name: identifierOf(parts[len(parts)-1])}
	if len(parts) > 1 {
		out.Schema = identifierOf(parts[len(parts)-2])
	}
	if len(parts) > 2 {
		out.Database = identifierOf(parts[0])
	}
	return out
}
