package githubtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// SpecEnv names an environment variable that, when set, points at GitHub's
// OpenAPI description (gzipped JSON) instead of the shared fixture.
const SpecEnv = "DATAOPS_GITHUB_OPENAPI"

// specFile is the fixture's path relative to the module root.
const specFile = "../shared/fixtures/github/openapi/api.github.com.json.gz"

// The description is 13 MB of JSON. Loading all of it with kin-openapi takes
// about six seconds, so it is decoded once per process as plain JSON (a few
// hundred milliseconds), every path template is indexed for routing, and an
// operation is handed to kin-openapi only when a request first reaches it: a
// small document holding that operation and the components it refers to.
var (
	specOnce   sync.Once
	loadedSpec *spec
	specErr    error
	specLoadIn time.Duration
)

// LoadSpec loads GitHub's OpenAPI description, once per process, and reports
// how long that took the first time.
func LoadSpec() (time.Duration, error) {
	specOnce.Do(func() {
		start := time.Now()
		loadedSpec, specErr = loadSpec()
		specLoadIn = time.Since(start)
	})
	return specLoadIn, specErr
}

type spec struct {
	version string
	doc     map[string]any
	// routes by number of path segments
	routes map[int][]*route
}

type route struct {
	template string
	segments []string // a parameter segment is "{name}"
	ops      map[string]*operation
}

type operation struct {
	method   string // upper case
	template string
	id       string
	raw      map[string]any
	pathItem map[string]any

	once       sync.Once
	kinRoute   *routers.Route
	queryNames map[string]bool
	bodySchema map[string]any // resolved against the whole description
	loadErr    error
}

func specPath() (string, error) {
	if p := os.Getenv(SpecEnv); p != "" {
		return p, nil
	}
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				p := filepath.Join(d, filepath.FromSlash(specFile))
				if _, err := os.Stat(p); err == nil {
					return p, nil
				}
				break
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("githubtest: GitHub's OpenAPI description not found at <module root>/%s (.ci/fixtures downloads the fixtures there; or set %s to its path)", specFile, SpecEnv)
}

func loadSpec() (*spec, error) {
	p, err := specPath()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("githubtest: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("githubtest: read %s: %w", p, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("githubtest: read %s: %w", p, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("githubtest: decode %s: %w", p, err)
	}
	s := &spec{doc: doc, routes: map[int][]*route{}}
	if info, ok := doc["info"].(map[string]any); ok {
		s.version, _ = info["version"].(string)
	}
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		return nil, fmt.Errorf("githubtest: %s has no paths", p)
	}
	for template, v := range paths {
		item, _ := v.(map[string]any)
		r := &route{template: template, segments: splitPath(template), ops: map[string]*operation{}}
		for method, ov := range item {
			op, ok := ov.(map[string]any)
			if !ok || !isMethod(method) {
				continue
			}
			id, _ := op["operationId"].(string)
			r.ops[strings.ToUpper(method)] = &operation{
				method: strings.ToUpper(method), template: template, id: id, raw: op, pathItem: item,
			}
		}
		s.routes[len(r.segments)] = append(s.routes[len(r.segments)], r)
	}
	return s, nil
}

func isMethod(m string) bool {
	switch m {
	case "get", "put", "post", "delete", "options", "head", "patch", "trace":
		return true
	}
	return false
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

func isParam(seg string) bool {
	return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") && strings.Count(seg, "{") == 1
}

// A composite segment holds several parameters between literals, as
// "{base}...{head}" does.
func isComposite(seg string) bool { return strings.Contains(seg, "{") && !isParam(seg) }

var compositeParam = regexp.MustCompile(`\{([^{}]+)\}`)

// matchComposite matches a request's segment against a composite one and
// returns its parameters; each parameter takes at least one character,
// the shortest that lets the rest match.
func matchComposite(pattern, seg string) (map[string]string, bool) {
	var re strings.Builder
	re.WriteString("^")
	prev := 0
	for _, loc := range compositeParam.FindAllStringIndex(pattern, -1) {
		re.WriteString(regexp.QuoteMeta(pattern[prev:loc[0]]) + "(.+?)")
		prev = loc[1]
	}
	re.WriteString(regexp.QuoteMeta(pattern[prev:]) + "$")
	m := regexp.MustCompile(re.String()).FindStringSubmatch(seg)
	if m == nil {
		return nil, false
	}
	out := map[string]string{}
	for i, n := range compositeParam.FindAllStringSubmatch(pattern, -1) {
		out[n[1]] = unescape(m[i+1])
	}
	return out, true
}

// match finds the route for a request path; a literal segment wins over a
// parameter at the first place where two candidates differ, so
// /repos/o/r/pulls/comments is not taken for /repos/o/r/pulls/{pull_number}.
func (s *spec) match(path string) (*route, map[string]string) {
	segs := splitPath(path)
	var best *route
	for _, r := range s.routes[len(segs)] {
		ok := true
		for i, seg := range r.segments {
			if isParam(seg) {
				if segs[i] == "" {
					ok = false
					break
				}
			} else if isComposite(seg) {
				if _, match := matchComposite(seg, segs[i]); !match {
					ok = false
					break
				}
			} else if seg != segs[i] {
				ok = false
				break
			}
		}
		if ok && (best == nil || moreLiteral(r, best)) {
			best = r
		}
	}
	if best == nil {
		return nil, nil
	}
	params := map[string]string{}
	for i, seg := range best.segments {
		if isParam(seg) {
			params[seg[1:len(seg)-1]] = unescape(segs[i])
		}
		if isComposite(seg) {
			m, _ := matchComposite(seg, segs[i])
			for k, v := range m {
				params[k] = v
			}
		}
	}
	return best, params
}

func moreLiteral(a, b *route) bool {
	for i := range a.segments {
		pa, pb := isParam(a.segments[i]), isParam(b.segments[i])
		if pa != pb {
			return !pa // a literal or composite segment beats a lone parameter
		}
	}
	return false
}

// resolve follows a local $ref ("#/components/schemas/x").
func (s *spec) resolve(ref string) (any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("unsupported $ref %q", ref)
	}
	var cur any = s.doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("$ref %q: %q is not an object", ref, part)
		}
		if cur, ok = m[part]; !ok {
			return nil, fmt.Errorf("$ref %q: no %q", ref, part)
		}
	}
	return cur, nil
}

// deref returns v itself, or what its $ref points at (followed repeatedly).
func (s *spec) deref(v any) any {
	for i := 0; i < 32; i++ {
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		r, err := s.resolve(ref)
		if err != nil {
			return nil
		}
		v = r
	}
	return v
}

// load builds the operation's validator on first use.
func (s *spec) load(op *operation) error {
	op.once.Do(func() { op.loadErr = s.buildOperation(op) })
	return op.loadErr
}

func (s *spec) buildOperation(op *operation) error {
	// Examples are dropped so that they do not drag their components in.
	trimmed := map[string]any{
		"operationId": op.id,
		"responses":   stripExamples(op.raw["responses"], false),
	}
	if v, ok := op.raw["parameters"]; ok {
		trimmed["parameters"] = stripExamples(v, false)
	}
	if v, ok := op.raw["requestBody"]; ok {
		trimmed["requestBody"] = stripExamples(v, false)
	}
	item := map[string]any{strings.ToLower(op.method): trimmed}
	if v, ok := op.pathItem["parameters"]; ok {
		item["parameters"] = stripExamples(v, false)
	}

	components := map[string]any{}
	var walkErr error
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
				if len(parts) != 3 || parts[0] != "components" {
					walkErr = fmt.Errorf("unsupported $ref %q", ref)
					return
				}
				kind, _ := components[parts[1]].(map[string]any)
				if kind == nil {
					kind = map[string]any{}
					components[parts[1]] = kind
				}
				if _, seen := kind[parts[2]]; seen {
					return
				}
				target, err := s.resolve(ref)
				if err != nil {
					walkErr = err
					return
				}
				target = stripExamples(target, false)
				kind[parts[2]] = target
				walk(target)
				return
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(item)
	if walkErr != nil {
		return fmt.Errorf("%s %s: %w", op.method, op.template, walkErr)
	}
	mini := map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "GitHub REST API: " + op.id, "version": s.version},
		"paths":      map[string]any{op.template: item},
		"components": components,
	}
	data, err := json.Marshal(mini)
	if err != nil {
		return err
	}
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return fmt.Errorf("load %s %s: %w", op.method, op.template, err)
	}
	pathItem := doc.Paths.Value(op.template)
	kop := pathItem.GetOperation(op.method)
	if kop == nil {
		return fmt.Errorf("load %s %s: operation missing after loading", op.method, op.template)
	}
	op.kinRoute = &routers.Route{Spec: doc, Path: op.template, PathItem: pathItem, Method: op.method, Operation: kop}

	op.queryNames = map[string]bool{}
	for _, list := range []any{op.pathItem["parameters"], op.raw["parameters"]} {
		params, _ := list.([]any)
		for _, p := range params {
			pm, _ := s.deref(p).(map[string]any)
			if pm["in"] == "query" {
				name, _ := pm["name"].(string)
				op.queryNames[name] = true
			}
		}
	}
	if rb, ok := s.deref(op.raw["requestBody"]).(map[string]any); ok {
		content, _ := rb["content"].(map[string]any)
		if js, ok := content["application/json"].(map[string]any); ok {
			op.bodySchema, _ = s.deref(js["schema"]).(map[string]any)
		}
	}
	return nil
}

// stripExamples copies v without "example" and "examples" keys, except where
// they name properties of a schema.
func stripExamples(v any, inProperties bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if !inProperties && (k == "example" || k == "examples") {
				continue
			}
			out[k] = stripExamples(x, !inProperties && k == "properties")
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = stripExamples(x, false)
		}
		return out
	}
	return v
}

// validate checks a request against its operation and returns what is
// wrong, one problem per string.
func (s *spec) validate(op *operation, r *http.Request, pathParams map[string]string, body []byte) []string {
	if err := s.load(op); err != nil {
		return []string{fmt.Sprintf("cannot build a validator for the operation: %v", err)}
	}
	var problems []string

	for name := range r.URL.Query() {
		if !op.queryNames[name] {
			problems = append(problems, fmt.Sprintf("query parameter %q is not a parameter of %s (%s %s)", name, op.id, op.method, op.template))
		}
	}

	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: pathParams,
		Route:      op.kinRoute,
		Options: &openapi3filter.Options{
			MultiError:          true,
			SkipSettingDefaults: true,
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		problems = append(problems, flattenErrors(err)...)
	}

	if op.bodySchema != nil && len(body) > 0 {
		var v any
		if json.Unmarshal(body, &v) == nil {
			s.unknownProperties(op.bodySchema, v, "body", &problems)
		}
	}
	sort.Strings(problems)
	return problems
}

// validateResponse checks a response of the fake against the operation:
// the fake's own mistakes, which would make clients decode what GitHub
// never sends.
func (s *spec) validateResponse(op *operation, r *http.Request, pathParams map[string]string, status int, header http.Header, body []byte) []string {
	if err := s.load(op); err != nil {
		return []string{err.Error()}
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: pathParams, Route: op.kinRoute,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return flattenErrors(err)
	}
	return nil
}

func flattenErrors(err error) []string {
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []string
		for _, e := range me {
			out = append(out, flattenErrors(e)...)
		}
		return out
	}
	return []string{oneLine(err.Error())}
}

// oneLine keeps what is wrong and the offending value of a kin-openapi
// error and drops the schema it prints in between.
func oneLine(s string) string {
	if i := strings.Index(s, "\nSchema:"); i >= 0 {
		rest := s[i:]
		s = s[:i]
		if j := strings.Index(rest, "\nValue:"); j >= 0 {
			v := strings.Join(strings.Fields(rest[j+len("\nValue:"):]), " ")
			if len(v) > 200 {
				v = v[:200] + "..."
			}
			s += " (value: " + v + ")"
		}
	}
	return strings.Join(strings.Fields(s), " ")
}

// unknownProperties reports body properties the schema does not declare.
// GitHub ignores them, so a typo in a field name would pass unnoticed; its
// schemas rarely say additionalProperties: false, hence this check. A
// property declared by any branch of allOf/anyOf/oneOf counts as declared,
// and a schema that allows additional properties is not checked.
func (s *spec) unknownProperties(schema map[string]any, v any, at string, problems *[]string) {
	schema, _ = s.deref(schema).(map[string]any)
	if schema == nil {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		props := map[string]map[string]any{}
		open := false
		s.collectProperties(schema, props, &open, 0)
		if open || len(props) == 0 {
			return
		}
		for k, x := range v {
			ps, ok := props[k]
			if !ok {
				*problems = append(*problems, fmt.Sprintf("%s: property %q is not in the operation's schema", at, k))
				continue
			}
			s.unknownProperties(ps, x, at+"."+k, problems)
		}
	case []any:
		items, _ := s.deref(schema["items"]).(map[string]any)
		if items == nil {
			return
		}
		for i, x := range v {
			s.unknownProperties(items, x, fmt.Sprintf("%s[%d]", at, i), problems)
		}
	}
}

func (s *spec) collectProperties(schema map[string]any, props map[string]map[string]any, open *bool, depth int) {
	if depth > 16 {
		*open = true
		return
	}
	if ap, ok := schema["additionalProperties"]; ok && ap != false {
		*open = true
	}
	if pm, ok := schema["properties"].(map[string]any); ok {
		for k, x := range pm {
			if xs, ok := s.deref(x).(map[string]any); ok {
				if prev, dup := props[k]; dup {
					// Declared by two branches: check against neither's nested
					// properties rather than guess which branch applies.
					_ = prev
					props[k] = map[string]any{}
					continue
				}
				props[k] = xs
			}
		}
	}
	for _, key := range []string{"allOf", "anyOf", "oneOf"} {
		list, _ := schema[key].([]any)
		for _, b := range list {
			if bs, ok := s.deref(b).(map[string]any); ok {
				s.collectProperties(bs, props, open, depth+1)
			}
		}
	}
}

// example returns a fresh copy of the operation's example response for
// status, or nil when the description has none.
func (s *spec) example(op *operation, status int) any {
	responses, _ := op.raw["responses"].(map[string]any)
	resp, _ := s.deref(responses[fmt.Sprint(status)]).(map[string]any)
	content, _ := resp["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	if js == nil {
		return nil
	}
	var ex any
	if examples, ok := js["examples"].(map[string]any); ok && len(examples) > 0 {
		names := make([]string, 0, len(examples))
		for k := range examples {
			names = append(names, k)
		}
		sort.Strings(names)
		pick := names[0]
		if _, ok := examples["default"]; ok {
			pick = "default"
		}
		if e, ok := s.deref(examples[pick]).(map[string]any); ok {
			ex = e["value"]
		}
	} else if e, ok := js["example"]; ok {
		ex = e
	}
	if ex == nil {
		return nil
	}
	data, err := json.Marshal(ex)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(data, &out) != nil {
		return nil
	}
	return out
}

// operationFor finds the operation for a method and path.
func (s *spec) operationFor(method, path string) (*operation, map[string]string, *route) {
	r, params := s.match(path)
	if r == nil {
		return nil, nil, nil
	}
	return r.ops[method], params, r
}

// unescape undoes the percent-encoding of one path parameter.
func unescape(v string) string {
	if u, err := url.PathUnescape(v); err == nil {
		return u
	}
	return v
}
