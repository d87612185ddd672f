package jinja

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The host-facing API: functions, objects, custom tags, macros called from
// Go, native rendering, error positions.

func render(t *testing.T, env *Environment, src string, vars map[string]Value) string {
	t.Helper()
	tpl, err := env.Parse("t.sql", src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	out, err := tpl.Render(context.Background(), vars)
	if err != nil {
		t.Fatalf("render %q: %v", src, err)
	}
	return out
}

func renderErr(t *testing.T, env *Environment, name, src string, vars map[string]Value) *Error {
	t.Helper()
	tpl, err := env.Parse(name, src)
	if err == nil {
		_, err = tpl.Render(context.Background(), vars)
	}
	if err == nil {
		t.Fatalf("%q: expected an error", src)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%q: error %T is not an *Error: %v", src, err, err)
	}
	return e
}

type ctxKey struct{}

func TestHostFunctions(t *testing.T) {
	env := New()
	var seen []string
	env.Globals["f"] = Func(func(c *Call, a Args) (Value, error) {
		p, err := a.Bind("f", 1, "x", "y")
		if err != nil {
			return nil, err
		}
		seen = append(seen, fmt.Sprintf("%s %v %v %v", c.Position(), p[0], p[1] == Missing, c.Context().Value(ctxKey{})))
		return NewList(p[0], p[1]), nil
	})
	env.Globals["lookup"] = Func(func(c *Call, a Args) (Value, error) {
		v, ok := c.Lookup(pyStr(a.Pos[0]))
		return fmt.Sprintf("%s %v", pyStr(v), ok), nil
	})
	env.Globals["apply"] = Func(func(c *Call, a Args) (Value, error) {
		return c.Call(a.Pos[0], Args{Pos: a.Pos[1:]})
	})
	env.Globals["goslice"] = Func(func(c *Call, a Args) (Value, error) {
		return []string{"a", "b"}, nil // converted with FromGo
	})
	tpl, err := env.Parse("t.sql", "{{ f(1) }}\n  {{ f(x=2, y='z') }} {% set local = 5 %}{{ lookup('local') }} {{ lookup('nope') }} "+
		"{% macro twice(v) %}{{ v }}{{ v }}{% endmacro %}{{ apply(twice, 'ab') }} {{ goslice()|join }}")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, "ctxval")
	out, err := tpl.Render(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "[1, missing]\n  [2, 'z'] 5 true  false abab ab"; out != want {
		t.Errorf("output %q", out)
	}
	if want := []string{"t.sql:1:4 1 true ctxval", "t.sql:2:6 2 false ctxval"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("calls saw %q, want %q", seen, want)
	}
	e := renderErr(t, env, "t.sql", "{{ f() }}", nil)
	if e.Kind != KindType || !strings.Contains(e.Msg, "missing 1 required positional argument: 'x'") {
		t.Errorf("bind error: %v", e)
	}
	e = renderErr(t, env, "t.sql", "{{ f(1, z=2) }}", nil)
	if !strings.Contains(e.Msg, "unexpected keyword argument 'z'") {
		t.Errorf("bind error: %v", e)
	}
}

func TestHostErrorKeepsCause(t *testing.T) {
	env := New()
	cause := errors.New("warehouse unreachable")
	env.Globals["run_query"] = Func(func(c *Call, a Args) (Value, error) { return nil, cause })
	e := renderErr(t, env, "m.sql", "select\n  {{ run_query('x') }}", nil)
	if !errors.Is(e, cause) || e.Kind != KindHost || e.Pos != (Position{"m.sql", 2, 6}) {
		t.Errorf("got %#v", e)
	}
	if e.Error() != "m.sql:2:6: warehouse unreachable" {
		t.Errorf("message %q", e.Error())
	}
}

// relation is a host object like dbt's Relation.
type relation struct{ db, schema, name string }

func (r *relation) Attr(name string) (Value, bool) {
	switch name {
	case "database":
		return r.db, true
	case "schema":
		return r.schema, true
	case "identifier", "name":
		return r.name, true
	case "render":
		return Func(func(c *Call, a Args) (Value, error) { return r.String(), nil }), true
	}
	return nil, false
}

func (r *relation) String() string { return `"` + r.db + `"."` + r.schema + `"."` + r.name + `"` }

type columns []string

func (c columns) Attr(string) (Value, bool) { return nil, false }
func (c columns) Iter() ([]Value, error) {
	out := make([]Value, len(c))
	for i, s := range c {
		out[i] = s
	}
	return out, nil
}
func (c columns) Len() int                             { return len(c) }
func (c columns) Item(k Value) (Value, bool)           { i, ok := k.(int64); return c[i], ok && int(i) < len(c) }
func (c columns) CallJinja(*Call, Args) (Value, error) { return "called", nil }

func TestObjects(t *testing.T) {
	env := New()
	vars := map[string]Value{"this": &relation{"db", "dev", "orders"}, "cols": columns{"id", "amount"}}
	got := render(t, env, "{{ this }} {{ this.schema }}.{{ this.name }} {{ this.render() }} [{{ this.nope }}] {{ this.nope is defined }} "+
		"{{ cols|join(',') }} {{ cols|length }} {{ cols[1] }} {% for c in cols %}{{ loop.index }}{{ c }}{% endfor %} {{ cols() }} {{ [this] }}", vars)
	want := `"db"."dev"."orders" dev.orders "db"."dev"."orders" [] False id,amount 2 amount 1id2amount called ["db"."dev"."orders"]`
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	e := renderErr(t, env, "t.sql", "{{ this.nope.deeper }}", vars)
	if e.Kind != KindUndefined || e.Msg != "'jinja2.runtime.object object' has no attribute 'nope'" {
		t.Errorf("got %v", e)
	}
}

// meters is a host value with arithmetic (an Operand), as Python's
// datetime has: it adds to meters and scales by numbers, from either side.
type meters struct{ n int64 }

func (m meters) Attr(string) (Value, bool) { return nil, false }
func (m meters) String() string            { return fmt.Sprintf("%dm", m.n) }
func (m meters) TypeName() string          { return "meters" }
func (m meters) Equal(o Value) bool        { x, ok := o.(meters); return ok && x.n == m.n }
func (m meters) Negate() (Value, bool)     { return meters{-m.n}, true }
func (m meters) Compare(o Value) (int, bool) {
	x, ok := o.(meters)
	if !ok {
		return 0, false
	}
	return int(m.n - x.n), true
}
func (m meters) BinaryOp(op string, o Value, reflected bool) (Value, bool, error) {
	switch x := o.(type) {
	case meters:
		switch op {
		case "add":
			return meters{m.n + x.n}, true, nil
		case "sub":
			if reflected {
				return meters{x.n - m.n}, true, nil
			}
			return meters{m.n - x.n}, true, nil
		}
	case int64:
		switch {
		case op == "mul":
			return meters{m.n * x}, true, nil
		case op == "div" && !reflected && x == 0:
			return nil, true, errors.New("no zero")
		}
	}
	return nil, false, nil
}

// TestOperands: a host value's operators, asked of the left operand, then
// of the right one (Python's __rmul__), then a TypeError with Python's
// words; ordering, equality and unary minus through the same value.
func TestOperands(t *testing.T) {
	env := New()
	vars := map[string]Value{"a": meters{3}, "b": meters{5}}
	got := render(t, env, "{{ a + b }} {{ a - b }} {{ a * 2 }} {{ 2 * a }} {{ -a }} {{ +a }} {{ a < b }} {{ a == b }} {{ a == a }} "+
		"{{ [b, a] | sort | join(',') }} {{ [a, b] | max }}", vars)
	if want := "8m -2m 6m 6m -3m 3m True False True 3m,5m 5m"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for src, msg := range map[string]string{
		"{{ a + 1 }}":   "unsupported operand type(s) for +: 'meters' and 'int'",
		"{{ 'x' - a }}": "unsupported operand type(s) for -: 'str' and 'meters'",
		"{{ a < 1 }}":   "'<' not supported between instances of 'meters' and 'int'",
		"{{ a / 0 }}":   "no zero",
	} {
		if e := renderErr(t, env, "t.sql", src, vars); !strings.Contains(e.Error(), msg) {
			t.Errorf("%s: %v, want %q", src, e, msg)
		}
	}
}

// dbtTags are custom tags as dbt defines them, written with the Tag hook.
func dbtTags(env *Environment) {
	env.Tags["test"] = Tag{Parse: func(p *TagParser) (string, error) {
		name, err := p.Name()
		if err != nil {
			return "", err
		}
		return "test_" + name, p.Signature()
	}}
	env.Tags["docs"] = Tag{Parse: func(p *TagParser) (string, error) {
		name, err := p.Name()
		return "docs_" + name, err
	}}
	env.Tags["materialization"] = Tag{Parse: func(p *TagParser) (string, error) {
		name, err := p.Name()
		if err != nil {
			return "", err
		}
		adapter := "default"
		for p.Skip(",") {
			arg, err := p.Name()
			if err != nil {
				return "", err
			}
			switch arg {
			case "default":
			case "adapter":
				if err := p.Expect("="); err != nil {
					return "", err
				}
				v, err := p.Literal()
				if err != nil {
					return "", err
				}
				adapter = pyStr(v)
			case "supported_languages":
				if err := p.Param("supported_languages"); err != nil {
					return "", err
				}
			default:
				return "", p.Errorf("unexpected argument %s", arg)
			}
		}
		if !p.HasParam("supported_languages") {
			p.ParamDefault("supported_languages", NewList("sql"))
		}
		return "materialization_" + name + "_" + adapter, nil
	}}
}

func TestCustomTags(t *testing.T) {
	env := New()
	dbtTags(env)
	src := `{% test not_empty(model, column_name) %}select * from {{ model }} where {{ column_name }} is null{% endtest %}
{% docs orders %}The orders.{% enddocs %}
{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] %}{{ supported_languages|join('/') }}{% endmaterialization %}
{% materialization view, default %}view {{ supported_languages }}{% endmaterialization %}
{{ test_not_empty('t', 'c') }}|{{ docs_orders() }}|{{ materialization_table_duckdb() }}|{{ materialization_view_default() }}`
	tpl, err := env.Parse("macros/x.sql", src)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range tpl.Macros() {
		names = append(names, fmt.Sprintf("%s%v@%d", m.Name(), m.Params(), m.Position().Line))
	}
	want := []string{"test_not_empty[model column_name]@1", "docs_orders[]@2", "materialization_table_duckdb[supported_languages]@3", "materialization_view_default[supported_languages]@4"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("macros %q, want %q", names, want)
	}
	out, err := tpl.Render(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "select * from t where c is null|The orders.|sql/python|view ['sql']") {
		t.Errorf("output %q", out)
	}
	for _, bad := range []string{"{% test %}{% endtest %}", "{% test x(a) %}", "{% materialization m, bogus=1 %}{% endmaterialization %}", "{% docs x %}{% endtest %}"} {
		if _, err := env.Parse("bad.sql", bad); err == nil || asError(err).Kind != KindSyntax {
			t.Errorf("%q: want a syntax error, got %v", bad, err)
		}
	}
}

func TestMacrosFromAnotherTemplate(t *testing.T) {
	env := New()
	lib, err := env.Parse("macros/lib.sql", `{% macro greet(name) %}{{ prefix }}{{ name }}{{ helper() }}{% endmacro %}{% macro helper() %}!{% endmacro %}`)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]Value{"prefix": "hi "}
	for _, m := range lib.Macros() {
		vars[m.Name()] = m
	}
	// A macro resolves the names it does not define in the calling render's variables.
	if got := render(t, env, "{{ greet('you') }}", vars); got != "hi you!" {
		t.Errorf("got %q", got)
	}
	v, err := env.Call(context.Background(), vars["greet"], vars, Args{Kw: []KV{{"name", "go"}}})
	if err != nil || v != "hi go!" {
		t.Errorf("Call: %v %v", v, err)
	}
	mod, err := lib.Module(context.Background(), nil)
	if err != nil || !reflect.DeepEqual(mod.Names(), []string{"greet", "helper"}) {
		t.Errorf("module: %v %v", mod.Names(), err)
	}
}

func TestReturn(t *testing.T) {
	env := New()
	env.Globals["return"] = Func(func(c *Call, a Args) (Value, error) { return nil, Return(a.Pos[0]) })
	got := render(t, env, `{% macro cols() %}ignored{{ return(['a', 'b']) }}never{% endmacro %}{{ cols()|join('+') }} {{ cols() is string }}`, nil)
	if got != "a+b False" {
		t.Errorf("got %q", got)
	}
	e := renderErr(t, env, "t.sql", "{{ return(1) }}", nil)
	if e.Kind != KindRuntime {
		t.Errorf("return outside a macro: %v", e)
	}
}

func TestNative(t *testing.T) {
	env := New()
	for _, tc := range []struct {
		src  string
		want Value
	}{
		{"{{ 1 + 2 }}", int64(3)},
		{"{{ [1, 'a'] }}", NewList(int64(1), "a")},
		{"{{ x }}", true},
		{"{{ '1' }}{{ '2' }}", int64(12)},
		{"{{ 'abc' }}", "abc"},
		{" {{ 5 }}", " 5"},
		{"[{{ 1 }}, 2]", NewList(int64(1), int64(2))},
		{"", nil},
	} {
		tpl, err := env.Parse("v", tc.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.RenderNative(context.Background(), map[string]Value{"x": true})
		if err != nil || !equal(got, tc.want) || typeName(got) != typeName(tc.want) {
			t.Errorf("%q: got %v (%T) %v, want %v", tc.src, repr(got), got, err, repr(tc.want))
		}
	}
	tpl, _ := env.Parse("v", "a{{ 1 }}{{ [2] }}")
	parts, err := tpl.RenderParts(context.Background(), nil)
	if err != nil || len(parts) != 3 || parts[1] != int64(1) {
		t.Errorf("parts %v %v", parts, err)
	}
	for in, want := range map[string]Value{"1_000": int64(1000), "0x10": int64(16), "-1.5": -1.5, "'a' 'b'": "ab",
		"{'a': (1,)}": func() Value { d := NewDict(); d.SetString("a", Tuple{int64(1)}); return d }(), "None": nil,
		"[1, 2,]": NewList(int64(1), int64(2)), "123456789012345678901234567890": func() Value { b, _ := new(big.Int).SetString("123456789012345678901234567890", 10); return b }()} {
		got, err := LiteralEval(in)
		if err != nil || !equal(got, want) {
			t.Errorf("LiteralEval(%q) = %v, %v; want %v", in, repr(got), err, repr(want))
		}
	}
	for _, bad := range []string{" 1", "a", "1 + 2", "--1", "{1, 2}", "b'x'", "1j", "[1", ""} {
		if _, err := LiteralEval(bad); err == nil {
			t.Errorf("LiteralEval(%q) should fail", bad)
		}
	}
}

func TestErrorPositions(t *testing.T) {
	env := New()
	env.Loader = MapLoader{"inc.sql": "line one\n  {{ 1 + 'a' }}"}
	lib, err := env.Parse("macros/m.sql", "{% macro outer(x) %}\n  {{ inner(x) }}\n{% endmacro %}\n{% macro inner(y) %}\n\n  {{ y.nope.deeper }}\n{% endmacro %}")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]Value{}
	for _, m := range lib.Macros() {
		vars[m.Name()] = m
	}
	for _, tc := range []struct {
		src   string
		kind  string
		pos   Position
		stack []string
	}{
		{"select 1\n  {{ outer({}) }}", KindUndefined, Position{"macros/m.sql", 6, 12},
			[]string{"macro inner (macros/m.sql:4:4) from macros/m.sql:2:6", "macro outer (macros/m.sql:1:4) from models/a.sql:2:6"}},
		{"{% include 'inc.sql' %}", KindType, Position{"inc.sql", 2, 6}, []string{"include 'inc.sql' (inc.sql:1:1) from models/a.sql:1:4"}},
		{"{{ foo(", KindSyntax, Position{"models/a.sql", 1, 7}, nil},
		{"a\n\n   {% for x in 1 %}{% endfor %}", KindType, Position{"models/a.sql", 3, 7}, nil},
		{"{{ missing.attr }}", KindUndefined, Position{"models/a.sql", 1, 11}, nil},
		{"{% if true %}\n{% endfor %}", KindSyntax, Position{"models/a.sql", 2, 4}, nil},
		{"ok\n{{ 'a' ~\n'b' + 1 }}", KindType, Position{"models/a.sql", 2, 4}, nil},
		{"{{ x|nofilter }}", KindAssertion, Position{"models/a.sql", 1, 6}, nil},
		{"{{ 'é' ~ 1/0 }}", KindZeroDivision, Position{"models/a.sql", 1, 10}, nil},
	} {
		e := renderErr(t, env, "models/a.sql", tc.src, vars)
		var stack []string
		for _, f := range e.Stack {
			stack = append(stack, fmt.Sprintf("%s (%s) from %s", f.Name, f.Def, f.Call))
		}
		if e.Kind != tc.kind || e.Pos != tc.pos || !reflect.DeepEqual(stack, tc.stack) {
			t.Errorf("%q:\ngot  %s %v %q\nwant %s %v %q", tc.src, e.Kind, e.Pos, stack, tc.kind, tc.pos, tc.stack)
		}
	}
}

func TestUndefinedCapture(t *testing.T) {
	env := New()
	env.Undefined = UndefinedCapture
	// dbt parses with this: unknown macros and their results are undefined.
	got := render(t, env, "{{ unknown_macro(1).attr['x']() }}|{{ dbt_utils.star(ref('x')) }}|{% if unknown %}x{% endif %}", nil)
	if got != "||" {
		t.Errorf("got %q", got)
	}
}

func TestFreezeAndConversions(t *testing.T) {
	env := New()
	shared := FromGo(map[string]any{"b": []any{1, "x"}, "a": map[string]string{"k": "v"}}).(*Dict)
	shared.Freeze()
	if got := render(t, env, "{{ g }} {{ g.b[0] + 1 }}", map[string]Value{"g": shared}); got != "{'a': {'k': 'v'}, 'b': [1, 'x']} 2" {
		t.Errorf("got %q", got)
	}
	e := renderErr(t, env, "t.sql", "{% do g.update({'c': 1}) %}", map[string]Value{"g": shared})
	if e.Kind != KindType {
		t.Errorf("frozen dict changed: %v", e)
	}
	back := ToGo(shared)
	if !reflect.DeepEqual(back, map[string]any{"a": map[string]any{"k": "v"}, "b": []any{int64(1), "x"}}) {
		t.Errorf("ToGo: %#v", back)
	}
}

func TestConcurrentRenders(t *testing.T) {
	env := benchEnv()
	tpl, err := env.Parse("model.sql", benchModel)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tpl.Render(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				got, err := tpl.Render(context.Background(), nil)
				if err != nil || got != want {
					errs <- fmt.Errorf("concurrent render differs: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestTemplateCache(t *testing.T) {
	env := New()
	env.Loader = MapLoader{"a.sql": "{{ 1 }}"}
	a1, err1 := env.Template("a.sql")
	a2, err2 := env.Template("a.sql")
	if err1 != nil || err2 != nil || a1 != a2 {
		t.Errorf("not cached: %v %v", err1, err2)
	}
	if _, err := env.Template("missing.sql"); !errors.Is(err, ErrTemplateNotFound) || asError(err).Kind != KindNotFound {
		t.Errorf("missing template: %v", err)
	}
}
