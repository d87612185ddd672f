package jinja

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Every limit of issue 15 fails the render with a clear error, never the
// process: deadline, call depth, nesting, output size, memory.

func limitEnv() *Environment {
	env := New()
	env.Limits = Limits{MaxMemory: 32 << 20, MaxOutput: 4 << 20}
	env.Loader = MapLoader{
		"self.sql": "x{% include 'self.sql' %}",
		"a.sql":    "{% import 'b.sql' as b %}",
		"b.sql":    "{% import 'a.sql' as a %}",
		"ext.sql":  "{% extends 'ext.sql' %}",
	}
	return env
}

func TestLimits(t *testing.T) {
	for _, tc := range []struct {
		name, src, limit string
	}{
		{"recursive macro", "{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(0) }}", LimitCallDepth},
		{"mutually recursive macros", "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}", LimitCallDepth},
		{"self include", "{% include 'self.sql' %}", LimitCallDepth},
		{"import cycle", "{% import 'a.sql' as a %}", LimitCallDepth},
		{"extends itself", "{% extends 'ext.sql' %}", LimitCallDepth},
		{"recursive loop on itself", "{% set l = [] %}{% do l.append(l) %}{% for x in l recursive %}{{ loop(x) }}{% endfor %}", LimitCallDepth},
		{"caller calling itself", "{% macro m() %}{{ caller() }}{% endmacro %}{% macro r() %}{% call m() %}{{ r() }}{% endcall %}{% endmacro %}{{ r() }}", LimitCallDepth},
		{"nested parentheses", "{{ " + strings.Repeat("(", 500) + "1" + strings.Repeat(")", 500) + " }}", LimitNesting},
		{"nested blocks", strings.Repeat("{% if true %}", 300) + strings.Repeat("{% endif %}", 300), LimitNesting},
		{"long attribute chain", "{{ a" + strings.Repeat(".b", 5000) + " }}", LimitNesting},
		{"long operator chain", "{{ 1" + strings.Repeat(" + 1", 5000) + " }}", LimitNesting},
		{"output", "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", LimitOutput},
		{"string doubling", "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", LimitMemory},
		{"string repetition", "{{ 'x' * 10**12 }}", LimitMemory},
		{"list repetition", "{% set l = [0] * 10**10 %}", LimitMemory},
		{"list growth", "{% set l = [] %}{% for i in range(100000) %}{% for j in range(100) %}{% do l.append(j) %}{% endfor %}{% endfor %}", LimitMemory},
		{"list doubling", "{% set l = [1] %}{% for i in range(64) %}{% do l.extend(l) %}{% endfor %}", LimitMemory},
		{"huge power", "{{ 2 ** (10 ** 10) }}", LimitMemory},
		{"repeated huge power", "{{ 10 ** 1000000 }}", LimitMemory},
		{"center width", "{{ 'x'.center(10**12) }}", LimitMemory},
		{"percent width", "{{ '%*d' % (10**9, 1) }}", LimitMemory},
		{"format width", "{{ '{:1000000000}'.format(1) }}", LimitMemory},
		{"lipsum", "{{ lipsum(10**9) }}", LimitMemory},
		{"join of repeated string", "{% set s = 'x' * 1000000 %}{{ ([s] * 1000)|join }}", LimitMemory},
		{"repr of repeated string", "{% set s = 'x' * 1000000 %}{{ [s] * 1000 }}", LimitMemory},
		{"tojson of repeated string", "{% set s = 'x' * 1000000 %}{{ ([s] * 1000)|tojson }}", LimitMemory},
		{"replace growth", "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s.replace('a', 'aa') %}{% endfor %}", LimitMemory},
		{"block set in nested loops", "{% set x %}{% for i in range(100000) %}{% for j in range(1000) %}xxxxxxxxxx{% endfor %}{% endfor %}{% endset %}", LimitMemory},
		{"format with many arguments", "{% set s = 'x' * 1000000 %}{{ ('%s' * 1000) % ((s,) * 1000) }}", LimitMemory},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tpl, err := limitEnv().Parse("t.sql", tc.src)
			if err == nil {
				_, err = tpl.Render(ctx, nil)
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindLimit || e.Limit != tc.limit {
				t.Fatalf("want a %s limit error, got %v", tc.limit, err)
			}
			if e.Pos.Line == 0 {
				t.Errorf("the error has no position: %v", e)
			}
		})
	}
}

func TestSandboxRange(t *testing.T) {
	// Jinja2's sandbox caps range() itself; the engine keeps its error.
	e := renderErr(t, New(), "t.sql", "{{ range(10**9)|length }}", nil)
	if e.Kind != KindOverflow {
		t.Errorf("got %v", e)
	}
}

func TestDeadline(t *testing.T) {
	tpl, err := New().Parse("t.sql", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = tpl.Render(ctx, nil)
	var e *Error
	if !errors.As(err, &e) || e.Limit != LimitDeadline || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the deadline error, got %v", err)
	}
	cancelled, stop := context.WithCancel(context.Background())
	stop()
	tpl, _ = New().Parse("t.sql", "{% macro m() %}x{% endmacro %}{{ m() }}")
	if _, err := tpl.Render(cancelled, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled context must stop the render, got %v", err)
	}
}

func TestLimitsDoNotHinderRealTemplates(t *testing.T) {
	// A deep but legitimate macro chain and a large output still render.
	env := New()
	src := "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{% else %}done{% endif %}{% endmacro %}{{ m(150) }}" +
		"{% for i in range(20000) %}{{ 'select ' ~ i ~ ' as c' ~ i ~ ',\n' }}{% endfor %}"
	tpl, err := env.Parse("t.sql", src)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(context.Background(), nil)
	if err != nil || !strings.HasPrefix(out, "done") || strings.Count(out, "\n") != 20000 {
		t.Fatalf("render failed: %v", err)
	}
}
