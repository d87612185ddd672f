package gitlabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The endpoints dataops may call, as GitLab's REST API documentation
// describes them (https://docs.gitlab.com/api/). Every request the fake
// receives is checked against this table: an endpoint that is not here, a
// parameter the endpoint does not document, a missing required parameter or
// a value of the wrong type, outside its enum or over its length limit fails
// the test. Keep each entry as the documentation words it, not as dataops
// happens to use it, so the table catches a client that drifts from the API.

// paramType is a documented parameter type.
type paramType int

const (
	tString    paramType = iota
	tInteger             // integer
	tBoolean             // boolean
	tFloat               // float
	tIntArray            // array of integers (sent as name[] in a query)
	tStrArray            // array of strings (sent as name[] in a query)
	tProjectID           // integer or string: an ID or URL-encoded path
)

func (t paramType) String() string {
	switch t {
	case tString:
		return "string"
	case tInteger:
		return "integer"
	case tBoolean:
		return "boolean"
	case tFloat:
		return "float"
	case tIntArray:
		return "array of integers"
	case tStrArray:
		return "array of strings"
	case tProjectID:
		return "integer or string"
	}
	return "unknown"
}

type param struct {
	Name     string
	Type     paramType
	Required bool
	Enum     []string
	MaxLen   int  // in characters, as GitLab counts them
	URL      bool // must be an absolute http(s) URL
	Min      int  // for integers, when non-zero
	Max      int  // for integers, when non-zero
}

type endpoint struct {
	Method string
	// Pattern is the path as the documentation writes it, relative to
	// /api/v4. ":name" is a path parameter; "[.format]" an optional suffix.
	Pattern string
	Doc     string
	Path    []param // path parameters
	Params  []param // query (GET) or body/query (POST, PUT) parameters
	// Paginated endpoints take page and per_page.
	Paginated bool

	handle func(s *Server, c *call) response
	re     *regexp.Regexp
}

var pagination = []param{
	{Name: "page", Type: tInteger, Min: 1},
	{Name: "per_page", Type: tInteger, Min: 1, Max: 100},
}

// Commit status states, from "Set the pipeline status of a commit". The
// documentation of current GitLab also lists skipped; older self-managed
// versions reject it, which is why dataops never sends it.
var statusStates = []string{"pending", "running", "success", "failed", "canceled", "skipped"}

// Archive formats, from "Get file archive".
var archiveFormats = []string{"bz2", "tar", "tar.bz2", "tar.gz", "tb2", "tbz", "tbz2", "zip"}

var endpoints = []*endpoint{
	{
		Method:  http.MethodGet,
		Pattern: "/projects/:id/merge_requests/:merge_request_iid",
		Doc:     "https://docs.gitlab.com/api/merge_requests/#get-single-mr",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}},
		Params: []param{
			{Name: "render_html", Type: tBoolean},
			{Name: "include_diverged_commits_count", Type: tBoolean},
			{Name: "include_rebase_in_progress", Type: tBoolean},
		},
		handle: (*Server).getMergeRequest,
	},
	{
		Method:    http.MethodGet,
		Pattern:   "/projects/:id/merge_requests/:merge_request_iid/diffs",
		Doc:       "https://docs.gitlab.com/api/merge_requests/#list-merge-request-diffs",
		Path:      []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}},
		Params:    []param{{Name: "unidiff", Type: tBoolean}},
		Paginated: true,
		handle:    (*Server).listDiffs,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/projects/:id/merge_requests/:merge_request_iid/notes",
		Doc:     "https://docs.gitlab.com/api/notes/#list-all-merge-request-notes",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}},
		Params: []param{
			{Name: "sort", Type: tString, Enum: []string{"asc", "desc"}},
			{Name: "order_by", Type: tString, Enum: []string{"created_at", "updated_at"}},
		},
		Paginated: true,
		handle:    (*Server).listNotes,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/projects/:id/merge_requests/:merge_request_iid/notes/:note_id",
		Doc:     "https://docs.gitlab.com/api/notes/#get-single-merge-request-note",
		Path: []param{
			{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger},
			{Name: "note_id", Type: tInteger},
		},
		handle: (*Server).getNote,
	},
	{
		Method:  http.MethodPost,
		Pattern: "/projects/:id/merge_requests/:merge_request_iid/notes",
		Doc:     "https://docs.gitlab.com/api/notes/#create-new-merge-request-note",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}},
		Params: []param{
			{Name: "body", Type: tString, Required: true, MaxLen: 1_000_000},
			{Name: "created_at", Type: tString},
			{Name: "internal", Type: tBoolean},
			{Name: "merge_request_diff_head_sha", Type: tString},
		},
		handle: (*Server).createNote,
	},
	{
		Method:  http.MethodPut,
		Pattern: "/projects/:id/merge_requests/:merge_request_iid/notes/:note_id",
		Doc:     "https://docs.gitlab.com/api/notes/#modify-existing-merge-request-note",
		Path: []param{
			{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger},
			{Name: "note_id", Type: tInteger},
		},
		Params: []param{
			{Name: "body", Type: tString, Required: true, MaxLen: 1_000_000},
			{Name: "confidential", Type: tBoolean}, // deprecated, still documented
		},
		handle: (*Server).updateNote,
	},
	{
		Method:  http.MethodPost,
		Pattern: "/projects/:id/statuses/:sha",
		Doc:     "https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "sha", Type: tString}},
		Params: []param{
			{Name: "state", Type: tString, Required: true, Enum: statusStates},
			{Name: "ref", Type: tString, MaxLen: 255},
			{Name: "name", Type: tString},
			{Name: "context", Type: tString},
			{Name: "target_url", Type: tString, MaxLen: 255, URL: true},
			{Name: "description", Type: tString, MaxLen: 255},
			{Name: "coverage", Type: tFloat},
			{Name: "pipeline_id", Type: tInteger},
		},
		handle: (*Server).setCommitStatus,
	},
	{
		Method:    http.MethodGet,
		Pattern:   "/projects/:id/merge_requests/:merge_request_iid/notes/:note_id/award_emoji",
		Doc:       "https://docs.gitlab.com/api/emoji_reactions/#list-a-comments-emoji-reactions",
		Path:      []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}, {Name: "note_id", Type: tInteger}},
		Paginated: true,
		handle:    (*Server).listAwardEmoji,
	},
	{
		Method:  http.MethodPost,
		Pattern: "/projects/:id/merge_requests/:merge_request_iid/notes/:note_id/award_emoji",
		Doc:     "https://docs.gitlab.com/api/emoji_reactions/#add-a-new-emoji-reaction-to-a-comment",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "merge_request_iid", Type: tInteger}, {Name: "note_id", Type: tInteger}},
		Params:  []param{{Name: "name", Type: tString, Required: true}},
		handle:  (*Server).createAwardEmoji,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/projects/:id/members/all",
		Doc:     "https://docs.gitlab.com/api/members/#list-all-members-of-a-group-or-project-including-inherited-and-invited-members",
		Path:    []param{{Name: "id", Type: tProjectID}},
		Params: []param{
			{Name: "query", Type: tString},
			{Name: "user_ids", Type: tIntArray},
			{Name: "show_seat_info", Type: tBoolean},
			{Name: "state", Type: tString, Enum: []string{"awaiting", "active"}},
		},
		Paginated: true,
		handle:    (*Server).listAllMembers,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/projects/:id/members/all/:user_id",
		Doc:     "https://docs.gitlab.com/api/members/#get-a-member-of-a-group-or-project-including-inherited-and-invited-members",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "user_id", Type: tInteger}},
		handle:  (*Server).getInheritedMember,
	},
	{
		Method:  http.MethodGet,
		Pattern: "/projects/:id/repository/archive[.format]",
		Doc:     "https://docs.gitlab.com/api/repositories/#get-file-archive",
		Path:    []param{{Name: "id", Type: tProjectID}, {Name: "format", Type: tString, Enum: archiveFormats}},
		Params: []param{
			{Name: "sha", Type: tString},
			{Name: "path", Type: tString},
			{Name: "include_lfs_blobs", Type: tBoolean},
			{Name: "exclude_paths", Type: tString},
		},
		handle: (*Server).getArchive,
	},
}

func init() {
	for _, e := range endpoints {
		e.re = compilePattern(e.Pattern)
	}
}

// compilePattern turns a documented path into a regular expression over the
// escaped request path, so that an encoded project path ("group%2Fproject")
// stays one segment.
func compilePattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	rest := p
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "[.format]"):
			b.WriteString(`(?:\.(?P<format>[^/]+))?`)
			rest = rest[len("[.format]"):]
		case rest[0] == ':':
			n := 1
			for n < len(rest) && (rest[n] == '_' || rest[n] >= 'a' && rest[n] <= 'z') {
				n++
			}
			fmt.Fprintf(&b, `(?P<%s>[^/]+)`, rest[1:n])
			rest = rest[n:]
		default:
			b.WriteString(regexp.QuoteMeta(rest[:1]))
			rest = rest[1:]
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// lookup finds the endpoint for a method and an escaped path below the API
// root, with its path parameters unescaped.
func lookup(method, escapedPath string) (*endpoint, map[string]string) {
	for _, e := range endpoints {
		if e.Method != method {
			continue
		}
		m := e.re.FindStringSubmatch(escapedPath)
		if m == nil {
			continue
		}
		vars := map[string]string{}
		for i, name := range e.re.SubexpNames() {
			if name == "" || m[i] == "" {
				continue
			}
			v, err := url.PathUnescape(m[i])
			if err != nil {
				v = m[i]
			}
			vars[name] = v
		}
		return e, vars
	}
	return nil, nil
}

// endpointFor finds an endpoint by its documented pattern, for the knobs.
func endpointFor(method, pattern string) *endpoint {
	for _, e := range endpoints {
		if e.Method == method && e.Pattern == pattern {
			return e
		}
	}
	return nil
}

// value is one parameter as received: from a query string or form (text)
// or from a JSON body (decoded).
type value struct {
	text   []string // query or form values
	json   any      // JSON value when the body was JSON
	isJSON bool
}

// readParams gathers a request's parameters the way GitLab's API (Grape)
// does: from the query string, and for POST and PUT also from a JSON or
// form-encoded body.
func readParams(r *http.Request, body []byte) (map[string]value, []string) {
	var problems []string
	params := map[string]value{}
	for k, v := range r.URL.Query() {
		params[strings.TrimSuffix(k, "[]")] = value{text: v}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return params, nil
	}
	if r.Method == http.MethodGet {
		problems = append(problems, "a GET request with a body")
		return params, problems
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			problems = append(problems, fmt.Sprintf("the JSON body does not parse as an object: %v", err))
			return params, problems
		}
		for k, v := range m {
			params[k] = value{json: v, isJSON: true}
		}
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			problems = append(problems, fmt.Sprintf("the form body does not parse: %v", err))
			return params, problems
		}
		for k, v := range form {
			params[strings.TrimSuffix(k, "[]")] = value{text: v}
		}
	default:
		problems = append(problems, fmt.Sprintf("a body with Content-Type %q (want application/json or a form)", r.Header.Get("Content-Type")))
	}
	return params, problems
}

// validate checks path variables and parameters against the endpoint's
// documentation and returns the decoded parameters and every problem.
func (e *endpoint) validate(vars map[string]string, params map[string]value) (map[string]any, []string) {
	var problems []string
	for _, p := range e.Path {
		v, ok := vars[p.Name]
		if !ok {
			continue // optional suffix such as [.format]
		}
		if _, err := p.check(value{text: []string{v}}); err != nil {
			problems = append(problems, fmt.Sprintf("path parameter %s: %v", p.Name, err))
		}
	}
	all := e.Params
	if e.Paginated {
		all = append(slices.Clone(all), pagination...)
	}
	out := map[string]any{}
	for _, p := range all {
		v, ok := params[p.Name]
		if !ok {
			if p.Required {
				problems = append(problems, fmt.Sprintf("required parameter %s is missing", p.Name))
			}
			continue
		}
		d, err := p.check(v)
		if err != nil {
			problems = append(problems, fmt.Sprintf("parameter %s: %v", p.Name, err))
			continue
		}
		out[p.Name] = d
	}
	for name := range params {
		if !slices.ContainsFunc(all, func(p param) bool { return p.Name == name }) {
			problems = append(problems, fmt.Sprintf("parameter %s is not documented for %s %s", name, e.Method, e.Pattern))
		}
	}
	slices.Sort(problems)
	return out, problems
}

// check decodes one value as its documented type and checks its limits.
func (p param) check(v value) (any, error) {
	var d any
	var err error
	if v.isJSON {
		d, err = p.fromJSON(v.json)
	} else {
		d, err = p.fromText(v.text)
	}
	if err != nil {
		return nil, err
	}
	if s, ok := d.(string); ok {
		if p.MaxLen > 0 && utf8.RuneCountInString(s) > p.MaxLen {
			return nil, fmt.Errorf("%d characters, over the documented limit of %d", utf8.RuneCountInString(s), p.MaxLen)
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			return nil, fmt.Errorf("%q is not one of %s", s, strings.Join(p.Enum, ", "))
		}
		if p.URL {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("%q is not a valid URL", s)
			}
		}
	}
	if n, ok := d.(int); ok {
		if p.Min != 0 && n < p.Min {
			return nil, fmt.Errorf("%d is below the minimum %d", n, p.Min)
		}
		if p.Max != 0 && n > p.Max {
			return nil, fmt.Errorf("%d is above the maximum %d", n, p.Max)
		}
	}
	return d, nil
}

func (p param) fromText(vs []string) (any, error) {
	if p.Type == tStrArray {
		return append([]string(nil), vs...), nil
	}
	if p.Type == tIntArray {
		out := make([]int, 0, len(vs))
		for _, s := range vs {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", s)
			}
			out = append(out, n)
		}
		return out, nil
	}
	if len(vs) != 1 {
		return nil, fmt.Errorf("given %d times", len(vs))
	}
	s := vs[0]
	switch p.Type {
	case tString:
		return s, nil
	case tProjectID:
		if s == "" {
			return nil, fmt.Errorf("empty")
		}
		return s, nil
	case tInteger:
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return n, nil
	case tBoolean:
		switch s {
		case "true", "1":
			return true, nil
		case "false", "0":
			return false, nil
		}
		return nil, fmt.Errorf("%q is not a boolean", s)
	case tFloat:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	}
	return nil, fmt.Errorf("unknown type")
}

func (p param) fromJSON(v any) (any, error) {
	switch p.Type {
	case tString:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case tProjectID:
		switch v := v.(type) {
		case string:
			return v, nil
		case json.Number:
			return v.String(), nil
		}
	case tInteger:
		switch v := v.(type) {
		case json.Number:
			if n, err := strconv.Atoi(v.String()); err == nil {
				return n, nil
			}
		case string: // Grape coerces numeric strings
			if n, err := strconv.Atoi(v); err == nil {
				return n, nil
			}
		}
	case tBoolean:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case tFloat:
		if n, ok := v.(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				return f, nil
			}
		}
	case tStrArray:
		if a, ok := v.([]any); ok {
			out := make([]string, 0, len(a))
			for _, x := range a {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("%v is not an array of strings", v)
				}
				out = append(out, s)
			}
			return out, nil
		}
	case tIntArray:
		if a, ok := v.([]any); ok {
			out := make([]int, 0, len(a))
			for _, x := range a {
				n, ok := x.(json.Number)
				if !ok {
					return nil, fmt.Errorf("%v is not an array of integers", v)
				}
				i, err := strconv.Atoi(n.String())
				if err != nil {
					return nil, fmt.Errorf("%v is not an array of integers", v)
				}
				out = append(out, i)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s is not a %s", jsonText(v), p.Type)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
