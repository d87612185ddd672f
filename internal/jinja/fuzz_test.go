package jinja

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets. FuzzRender feeds arbitrary templates to the engine, which
// must answer with output or an *Error, within its limits, never a panic.
// FuzzLimits builds adversarial templates around the fuzzer's numbers.
// FuzzDifferential compares arbitrary templates with Jinja2.
//
//	go test ./internal/jinja -run '^$' -fuzz FuzzRender -fuzztime 2m

func fuzzEnv() *Environment {
	env := New()
	env.Limits = Limits{MaxCallDepth: 50, MaxMemory: 64 << 20, MaxOutput: 1 << 20}
	env.Loader = MapLoader{"inc.sql": "{{ x }}{% include 'inc.sql' ignore missing %}", "m.sql": "{% macro f(a) %}{{ a }}{% endmacro %}"}
	dbtTags(env)
	return env
}

func addSeeds(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.Source)
	}
	for seed := uint64(1); seed <= 200; seed++ {
		f.Add(generateTemplate(seed))
	}
}

// checkRender renders src and fails on anything but output or an *Error.
func checkRender(t *testing.T, env *Environment, src string) (string, *Error) {
	// Loops that only burn CPU are stopped by the deadline alone.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tpl, err := env.Parse("fuzz.sql", src)
	var out string
	if err == nil {
		out, err = tpl.Render(ctx, map[string]Value{"x": int64(1), "l": NewList("a", int64(2))})
		if err == nil {
			if _, nerr := tpl.RenderNative(ctx, nil); nerr != nil {
				var ne *Error
				if !errors.As(nerr, &ne) {
					t.Fatalf("native render error is not an *Error: %T %v", nerr, nerr)
				}
			}
		}
	}
	if err == nil {
		if int64(len(out)) > env.Limits.MaxOutput {
			t.Fatalf("output of %d bytes passed MaxOutput", len(out))
		}
		return out, nil
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is not an *Error: %T %v", err, err)
	}
	if e.Kind == "" || e.Msg == "" {
		t.Fatalf("error without kind or message: %#v", e)
	}
	if e.Kind == KindLimit && e.Limit == LimitDeadline && !errors.Is(e, context.DeadlineExceeded) {
		t.Fatalf("deadline error without the context's error: %v", e)
	}
	return "", e
}

func FuzzRender(f *testing.F) {
	addSeeds(f)
	env := fuzzEnv()
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		checkRender(t, env, src)
	})
}

// FuzzLimits wraps fuzzed numbers and bodies in the shapes that exhaust
// resources: nested loops, doubling, recursion, repetition, power.
func FuzzLimits(f *testing.F) {
	for k := uint8(0); k < 8; k++ {
		f.Add(k, uint32(1000), "x")
		f.Add(k, uint32(1<<31), "{{ s }}")
	}
	env := fuzzEnv()
	f.Fuzz(func(t *testing.T, kind uint8, n uint32, body string) {
		if len(body) > 200 || strings.Contains(body, "{%") {
			return
		}
		var src string
		switch kind % 8 {
		case 0:
			src = fmt.Sprintf("{%% for i in range(%d) %%}{%% for j in range(%d) %%}%s{%% endfor %%}{%% endfor %%}", n%100000, n%100000, body)
		case 1:
			src = fmt.Sprintf("{%% set ns = namespace(s=%q) %%}{%% for i in range(%d) %%}{%% set ns.s = ns.s ~ ns.s %%}{%% endfor %%}{{ ns.s|length }}", body, n%100)
		case 2:
			src = fmt.Sprintf("{%% macro m(k) %%}%s{%% if k > 0 %%}{{ m(k - 1) }}{%% endif %%}{%% endmacro %%}{{ m(%d) }}", body, n%1000)
		case 3:
			src = fmt.Sprintf("{{ %q * %d }}", body, n)
		case 4:
			src = fmt.Sprintf("{{ (2 ** (%d %% 70000)) %% 1000 }}", n)
		case 5:
			src = fmt.Sprintf("{%% set l = [%q] %%}{%% for i in range(%d) %%}{%% do l.extend(l) %%}{%% endfor %%}{{ l|length }}", body, n%80)
		case 6:
			src = fmt.Sprintf("{{ '%%*s' %% (%d, %q) }}", n, body)
		default:
			src = fmt.Sprintf("{{ %s%q%s }}", strings.Repeat("[", int(n%300)), body, strings.Repeat("]", int(n%300)))
		}
		checkRender(t, env, src)
	})
}

// FuzzDifferential compares arbitrary templates with Jinja2 (skipped
// without a Python that has it).
func FuzzDifferential(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 2000 || !utf8.ValidString(src) || strings.ContainsAny(src, "\x00\r") ||
			strings.Contains(src, "random") || strings.Contains(src, "lipsum") {
			return
		}
		c := oracleCase{ID: "fuzz", Source: src, Vars: []byte(genVars)}
		o := getOracle(t)
		want, err := o.run([]oracleCase{c})
		if err != nil {
			t.Fatal(err)
		}
		py, ours := want[0], renderCase(c)
		if ours.Kind == KindLimit || py.Kind == "RecursionError" || py.Kind == "MemoryError" || strings.Contains(py.Out, " at 0x") {
			return
		}
		// Jinja2's code generator writes a float constant that overflowed
		// (1E700) as the bare name inf or nan when it cannot fold the
		// expression around it, so Python fails with a NameError no
		// template author can write: a quirk of its compiler, not Jinja's
		// language. Ours must still fail.
		if py.Kind == "NameError" && (strings.Contains(py.Msg, "'inf'") || strings.Contains(py.Msg, "'nan'")) {
			if ours.OK {
				t.Fatalf("source: %q\njinja2: %s\nours:   %s", src, describeResult(py), describeResult(ours))
			}
			return
		}
		same := py.OK == ours.OK && (py.OK && py.Out == ours.Out || !py.OK && sameFailure(ours.Kind, py.Kind))
		if !same {
			t.Fatalf("source: %q\njinja2: %s\nours:   %s", src, describeResult(py), describeResult(ours))
		}
	})
}
