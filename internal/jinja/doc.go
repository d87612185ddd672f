// Package jinja is a template engine true to Jinja2 3.1 as dbt configures it:
// a sandboxed environment with the do and loopcontrols extensions, Jinja2's
// default Undefined, and Jinja2's default lexer options (no trim_blocks, no
// lstrip_blocks, the final newline dropped). It knows nothing of dbt; the
// host (internal/project) supplies dbt's functions as globals, filters and
// custom tags.
//
// Exact means byte for byte: the lexer and parser follow Jinja2's lexer.py
// and parser.py rule by rule, the evaluator gives values Python's semantics
// (arbitrary-precision ints, floor division, str/list/dict methods,
// %-formatting and str.format, Python's str() and repr()), and every Jinja2
// built-in filter, test and global is here. A differential test renders a
// corpus with Python's Jinja2 and with this package and requires identical
// output or the same failure (testdata/oracle.py).
//
// # Using it
//
//	env := jinja.New()                          // built-ins, default limits
//	env.Globals["ref"] = jinja.Func(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {...})
//	env.Filters["as_bool"] = func(c *jinja.Call, v jinja.Value, a jinja.Args) (jinja.Value, error) {...}
//	env.Tags["test"] = jinja.Tag{Parse: ...}    // {% test name(args) %}...{% endtest %}
//	env.Loader = jinja.MapLoader{...}           // for include, import, extends
//
//	tpl, err := env.Parse("models/orders.sql", src)   // parse once...
//	out, err := tpl.Render(ctx, vars)                 // ...render many times, concurrently
//	v, err := tpl.RenderNative(ctx, vars)             // Jinja2's NativeEnvironment
//	parts, err := tpl.RenderParts(ctx, vars)          // top-level output as values
//	mod, err := tpl.Module(ctx, vars)                 // what the template exports
//	for _, m := range tpl.Macros() { ... }            // its top-level macros
//	v, err := env.Call(ctx, macro, vars, jinja.Args{Pos: ...})  // call a macro from Go
//
// Configure the environment (globals, filters, tests, tags, options) before
// parsing: Jinja2 checks filter and test names when it compiles a template,
// and so does Parse. A parsed Template is immutable.
//
// # Values
//
// Templates work with the Go types listed at Value: nil, bool, int64 (and
// *big.Int), float64, string, Markup, *List, Tuple, *Dict, Undefined, Range,
// *Macro and callables. FromGo converts ordinary Go values (ints, slices,
// maps with string keys) and ToGo converts back. Values passed in vars are
// shared with the template, which may change lists and dicts (as Jinja2
// allows); Freeze a value shared by concurrent renders.
//
// Host code extends templates with:
//
//   - Func: a function called with positional and keyword Args and a *Call
//     that gives the render's context.Context, the call's Position, the
//     call chain, name lookup and calls back into templates.
//   - Object: a value with attributes (x.name); optional interfaces give it
//     items, iteration, length, truth, printing and calls.
//   - Filter and Test.
//   - Tag: a custom block tag that defines a macro under a name the tag
//     chooses, like dbt's {% test %}, {% materialization %}, {% docs %},
//     {% snapshot %}.
//   - Return(v) as a Func's error ends the innermost macro with value v
//     (dbt's return()).
//
// Macros from Template.Macros resolve the names they do not define in the
// variables of the render that calls them, as dbt's macros see the context
// of the node being rendered.
//
// # Errors
//
// Every error is an *Error: a Kind named after the Python exception Jinja2
// raises (KindSyntax, KindUndefined, KindType...), a message, the Position
// (template name, line, column) where it happened, and the Stack of macro
// calls and includes it passed through, innermost first. Host function
// errors are kept as Err. The engine never panics on input.
//
// # Limits
//
// Templates from a pull request are untrusted, so every render runs under
// Limits: the context's deadline and cancellation (checked in loops and
// calls), a call depth (macros calling themselves, includes, recursive
// loops), a parser nesting depth, an output size, and a memory ceiling that
// counts the bytes of strings, lists and dicts the render creates and
// refuses an operation before it allocates past it ('x' * 10**10,
// 2**10**10, ever-doubling strings). Any of them fails the render with an
// *Error of Kind KindLimit; the process is never at risk.
//
// # Where it differs from Jinja2 on purpose
//
//   - Limits: Jinja2 has none besides the sandbox's MAX_RANGE (which range()
//     keeps). Python stops deep recursion with RecursionError where this
//     engine reports KindLimit, at a similar depth.
//   - Memory is counted as created, not as live: a template that builds and
//     drops many large strings can hit MaxMemory although Python would run it.
//   - Loops read their iterable once, before the first iteration: a loop that
//     appends to the list it walks ends here and never ends in Python.
//   - Generators from filters (map, select, ...) print as "<generator
//     object>" without an address.
//   - Python's complex numbers, sets, bytes and \N{name} escapes do not
//     exist here: where Jinja2 would produce one the engine fails.
//   - Unicode case mapping is Go's (with ß and the common ligatures mapped
//     as Python does), and str.isprintable is Go's unicode.IsPrint.
package jinja
