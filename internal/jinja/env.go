package jinja

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Environment holds what templates share: loader, globals, filters, tests,
// custom tags, limits and lexer options. Configure it before parsing; after
// that it is safe for concurrent use.
type Environment struct {
	// Loader finds templates by name for include, import, extends and
	// Environment.Template. Nil means there are none.
	Loader Loader
	// Globals are visible to every template (Jinja2's Environment.globals).
	Globals map[string]Value
	// Filters and Tests start as Jinja2's built-ins; add or replace entries
	// before parsing (Jinja2 checks filter names when it compiles).
	Filters map[string]Filter
	Tests   map[string]Test
	// Tags are block tags that define a macro, like dbt's
	// {% test name(args) %}...{% endtest %}.
	Tags map[string]Tag
	// Limits bound every render; zero fields take the defaults.
	Limits Limits
	// Undefined chooses what a missing name or attribute does.
	Undefined UndefinedBehavior
	// Jinja2's lexer options, false by default as in Jinja2 (and dbt).
	TrimBlocks, LstripBlocks, KeepTrailingNewline bool

	cache sync.Map // name -> *cachedTemplate
}

// UndefinedBehavior is the class of Jinja2's undefined values.
type UndefinedBehavior int

const (
	// UndefinedDefault is jinja2.Undefined (what dbt renders with): prints
	// as empty, is falsy, iterates as empty, fails on anything else.
	UndefinedDefault UndefinedBehavior = iota
	// UndefinedStrict is jinja2.StrictUndefined: printing, iterating and
	// testing truth fail too.
	UndefinedStrict
	// UndefinedCapture is what dbt parses with: attribute access, item
	// access and calls on an undefined value give undefined again.
	UndefinedCapture
)

// Limits bound the resources one render may use. A render that exceeds one
// fails with an *Error of Kind KindLimit naming it; the process is never at
// risk. Zero values mean the defaults below; negative values mean no limit.
type Limits struct {
	// MaxCallDepth bounds nested macro calls, caller() calls, recursive
	// loops, includes and imports (Jinja2 stops at Python's recursion limit,
	// roughly 150 to 300 macro calls deep).
	MaxCallDepth int
	// MaxNesting bounds how deeply expressions and blocks nest in a
	// template's source (Python's parser stops at about 70 to 100).
	MaxNesting int
	// MaxOutput bounds the bytes a render returns.
	MaxOutput int64
	// MaxMemory bounds the bytes of strings, lists and dicts a render
	// creates, counted as they are created (a total, not what is live at
	// the end), so that no template can exhaust memory.
	MaxMemory int64
}

// Default limits.
const (
	DefaultMaxCallDepth = 200
	DefaultMaxNesting   = 100
	DefaultMaxOutput    = 32 << 20
	DefaultMaxMemory    = 512 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxCallDepth == 0 {
		l.MaxCallDepth = DefaultMaxCallDepth
	}
	if l.MaxNesting == 0 {
		l.MaxNesting = DefaultMaxNesting
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.MaxMemory == 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	if l.MaxCallDepth < 0 {
		l.MaxCallDepth = 1 << 30
	}
	if l.MaxNesting < 0 {
		// The parser recurses: keep a bound so the Go stack cannot overflow.
		l.MaxNesting = 10000
	}
	if l.MaxOutput < 0 {
		l.MaxOutput = 1 << 62
	}
	if l.MaxMemory < 0 {
		l.MaxMemory = 1 << 62
	}
	return l
}

// Loader finds template sources by name.
type Loader interface {
	// Load returns the source of the named template, or an error wrapping
	// ErrTemplateNotFound when there is none.
	Load(name string) (string, error)
}

// ErrTemplateNotFound is what a Loader's error wraps for a missing template.
var ErrTemplateNotFound = errors.New("template not found")

// MapLoader loads templates from a map of name to source.
type MapLoader map[string]string

// Load implements Loader.
func (m MapLoader) Load(name string) (string, error) {
	src, ok := m[name]
	if !ok {
		return "", fmt.Errorf("%s: %w", name, ErrTemplateNotFound)
	}
	return src, nil
}

// New returns an environment with Jinja2's built-in filters, tests and
// globals, the do and loopcontrols extensions (always on), and default limits.
func New() *Environment {
	e := &Environment{
		Globals: map[string]Value{},
		Filters: map[string]Filter{},
		Tests:   map[string]Test{},
		Tags:    map[string]Tag{},
	}
	for k, v := range builtinFilters {
		e.Filters[k] = v
	}
	for k, v := range builtinTests {
		e.Tests[k] = v
	}
	for k, v := range builtinGlobals {
		e.Globals[k] = v
	}
	return e
}

// Parse parses a template's source. name is used in error positions and is
// how the template refers to itself.
func (e *Environment) Parse(name, source string) (*Template, error) {
	limits := e.Limits.withDefaults()
	src := normalizeSource(source, e.KeepTrailingNewline)
	toks, err := tokenize(name, src, e)
	if err != nil {
		return nil, err
	}
	last := token{typ: tEOF, line: 1, col: 1}
	if len(toks) > 0 {
		l := toks[len(toks)-1]
		last.line, last.col = l.line, l.col
	}
	toks = append(toks, last)
	t := &Template{env: e, name: name}
	p := &parser{env: e, name: name, toks: toks, maxDepth: limits.MaxNesting, tmpl: t}
	body, err := p.parseTemplate()
	if err != nil {
		return nil, err
	}
	// Long chains (a.b.c..., 1+1+..., x|f|f...) parse in loops but nest
	// the tree: bound its depth before anything walks it recursively.
	if err := checkDepth(name, body, 10*limits.MaxNesting); err != nil {
		return nil, err
	}
	if err := checkTemplate(name, body, e); err != nil {
		return nil, err
	}
	t.body = body
	t.frame = analyzeTemplate(body)
	t.collect()
	return t, nil
}

type cachedTemplate struct {
	once sync.Once
	t    *Template
	err  error
}

// Template loads (through the Loader) and parses a template once; later
// calls return the same *Template.
func (e *Environment) Template(name string) (*Template, error) {
	v, _ := e.cache.LoadOrStore(name, &cachedTemplate{})
	c := v.(*cachedTemplate)
	c.once.Do(func() {
		if e.Loader == nil {
			c.err = &Error{Kind: KindNotFound, Msg: name, Err: ErrTemplateNotFound}
			return
		}
		src, err := e.Loader.Load(name)
		if err != nil {
			if errors.Is(err, ErrTemplateNotFound) {
				c.err = &Error{Kind: KindNotFound, Msg: name, Err: err}
			} else {
				c.err = &Error{Kind: KindHost, Msg: err.Error(), Err: err}
			}
			return
		}
		c.t, c.err = e.Parse(name, src)
	})
	return c.t, c.err
}

// Call calls a template value (a macro or function) from Go under the
// environment's limits, with globals as the render's variables.
func (e *Environment) Call(ctx context.Context, fn Value, globals map[string]Value, args Args) (Value, error) {
	r := e.newRenderer(ctx, globals)
	v, err := r.call(fn, args, Position{}, nil)
	if err != nil {
		return nil, r.finishError(err)
	}
	return v, nil
}
