package jinja

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The differential test: the same cases rendered by Python's Jinja2
// (testdata/oracle.py) and by this package must give the same output, or
// fail the same way.

// oracleCase is one template to render, with everything Jinja2 needs.
type oracleCase struct {
	ID                  string            `json:"id"`
	Source              string            `json:"source"`
	Vars                json.RawMessage   `json:"vars,omitempty"`
	Files               map[string]string `json:"files,omitempty"`
	Mode                string            `json:"mode,omitempty"`
	Undefined           string            `json:"undefined,omitempty"`
	TrimBlocks          bool              `json:"trim_blocks,omitempty"`
	LstripBlocks        bool              `json:"lstrip_blocks,omitempty"`
	KeepTrailingNewline bool              `json:"keep_trailing_newline,omitempty"`
}

type oracleResult struct {
	ID   string `json:"id"`
	OK   bool   `json:"ok"`
	Out  string `json:"out"`
	Type string `json:"type"`
	Repr string `json:"repr"`
	Kind string `json:"kind"`
	Msg  string `json:"msg"`
}

// oracle is a running testdata/oracle.py.
type oracle struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

var (
	oracleOnce sync.Once
	theOracle  *oracle
	oracleErr  error
)

// pythonWithJinja finds an interpreter that can import jinja2.
func pythonWithJinja() (string, error) {
	var tried []string
	candidates := []string{"python3", "/usr/bin/python3", "python"}
	if py := os.Getenv("JINJA_PYTHON"); py != "" {
		// JINJA_PYTHON=/usr/bin/python3 tests against Debian's Jinja2.
		candidates = []string{py}
	}
	for _, py := range candidates {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		tried = append(tried, path)
		if exec.Command(path, "-c", "import jinja2, sys; sys.exit(0 if jinja2.__version__.startswith('3.') else 1)").Run() == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("no Python with Jinja2 3.x (tried %v); install one with: apt-get install python3-jinja2", tried)
}

// getOracle starts the oracle once per test binary; the test skips (or
// fails under CI=true) when there is no Python with Jinja2.
func getOracle(t testing.TB) *oracle {
	t.Helper()
	oracleOnce.Do(func() {
		py, err := pythonWithJinja()
		if err != nil {
			oracleErr = err
			return
		}
		cmd := exec.Command(py, filepath.Join("testdata", "oracle.py"))
		in, err := cmd.StdinPipe()
		if err != nil {
			oracleErr = err
			return
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			oracleErr = err
			return
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			oracleErr = err
			return
		}
		o := &oracle{cmd: cmd, in: in, out: bufio.NewReaderSize(stdout, 1<<20)}
		if _, err := o.out.ReadString('\n'); err != nil {
			oracleErr = fmt.Errorf("oracle did not start: %w", err)
			return
		}
		theOracle = o
	})
	if oracleErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the differential test needs Jinja2 under CI: %v", oracleErr)
		}
		t.Skipf("SKIPPING the differential test against Jinja2: %v", oracleErr)
	}
	return theOracle
}

// run renders cases with Jinja2, all in one round trip.
func (o *oracle) run(cases []oracleCase) ([]oracleResult, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	errc := make(chan error, 1)
	go func() {
		w := bufio.NewWriter(o.in)
		enc := json.NewEncoder(w)
		for _, c := range cases {
			if err := enc.Encode(c); err != nil {
				errc <- err
				return
			}
		}
		errc <- w.Flush()
	}()
	out := make([]oracleResult, len(cases))
	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		for range cases {
			line, err := o.out.ReadBytes('\n')
			if err != nil {
				readErr <- err
				return
			}
			lines <- line
		}
	}()
	for i := range cases {
		var line []byte
		select {
		case line = <-lines:
		case err := <-readErr:
			return nil, fmt.Errorf("oracle: %w", err)
		case <-time.After(60 * time.Second):
			// Jinja2 hangs on some templates (a loop over a list it grows):
			// stop it rather than the test.
			_ = o.cmd.Process.Kill()
			oracleErr = fmt.Errorf("oracle killed: no answer in 60s for case %s", cases[i].ID)
			return nil, oracleErr
		}
		if err := json.Unmarshal(line, &out[i]); err != nil {
			return nil, fmt.Errorf("oracle: %w: %s", err, line)
		}
	}
	return out, <-errc
}

// decodeVars decodes JSON vars keeping the order of object keys, as
// Python's json does; {"$tuple": [...]} is a tuple.
func decodeVars(raw json.RawMessage) (map[string]Value, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	v, err := decodeJSONValue(dec)
	if err != nil {
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, errors.New("vars must be an object")
	}
	out := map[string]Value{}
	for i, k := range d.keys {
		out[k.(string)] = d.vals[i]
	}
	return out, nil
}

func decodeJSONValue(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '[':
			l := &List{}
			for dec.More() {
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				l.Items = append(l.Items, v)
			}
			_, err := dec.Token()
			return l, err
		case '{':
			d := &Dict{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeJSONValue(dec)
				if err != nil {
					return nil, err
				}
				_ = d.set(kt.(string), v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if d.Len() == 1 && d.keys[0] == "$tuple" {
				if l, ok := d.vals[0].(*List); ok {
					return Tuple(l.Items), nil
				}
			}
			return d, nil
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		if b, ok := new(big.Int).SetString(x.String(), 10); ok {
			return b, nil
		}
		f, err := x.Float64()
		return f, err
	case string, bool, nil:
		return x, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// renderCase renders a case with this package, in the oracle's result form.
func renderCase(c oracleCase) oracleResult {
	res := oracleResult{ID: c.ID}
	fail := func(err error) oracleResult {
		e := asError(err)
		res.Kind, res.Msg = e.Kind, e.Error()
		return res
	}
	env := New()
	env.Loader = MapLoader(c.Files)
	env.TrimBlocks, env.LstripBlocks, env.KeepTrailingNewline = c.TrimBlocks, c.LstripBlocks, c.KeepTrailingNewline
	if c.Undefined == "strict" {
		env.Undefined = UndefinedStrict
	}
	vars, err := decodeVars(c.Vars)
	if err != nil {
		return fail(err)
	}
	tpl, err := env.Parse("<template>", c.Source)
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if c.Mode == "native" {
		v, err := tpl.RenderNative(ctx, vars)
		if err != nil {
			return fail(err)
		}
		res.OK, res.Type, res.Repr = true, typeName(v), repr(v)
		return res
	}
	out, err := tpl.Render(ctx, vars)
	if err != nil {
		return fail(err)
	}
	res.OK, res.Out = true, out
	return res
}

// sameFailure tells whether our error kind is the failure Jinja2 raised.
func sameFailure(ours, theirs string) bool {
	if ours == theirs {
		return true
	}
	norm := func(k string) string {
		switch k {
		case "TemplateAssertionError", "TemplateSyntaxError", "SyntaxError":
			return "syntax"
		case "TemplatesNotFound", "TemplateNotFound":
			return "notfound"
		}
		return k
	}
	if norm(ours) == norm(theirs) {
		return true
	}
	// Our limits stand where Python runs out of stack or memory.
	if ours == KindLimit {
		switch theirs {
		case "RecursionError", "MemoryError", "OverflowError":
			return true
		}
	}
	return false
}

// compareWithOracle renders every case both ways and reports differences.
func compareWithOracle(t *testing.T, cases []oracleCase, report func(c oracleCase, py, ours oracleResult)) int {
	t.Helper()
	o := getOracle(t)
	want, err := o.run(cases)
	if err != nil {
		t.Fatal(err)
	}
	diffs := 0
	for i, c := range cases {
		got := renderCase(c)
		py := want[i]
		same := py.OK == got.OK
		if same && py.OK {
			if c.Mode == "native" {
				same = py.Type == got.Type && py.Repr == got.Repr
			} else {
				same = py.Out == got.Out
			}
		} else if same {
			same = sameFailure(got.Kind, py.Kind)
		}
		if !same {
			diffs++
			report(c, py, got)
		}
	}
	return diffs
}

func describeResult(r oracleResult) string {
	if !r.OK {
		return fmt.Sprintf("fails: %s: %s", r.Kind, r.Msg)
	}
	if r.Type != "" {
		return fmt.Sprintf("%s %s", r.Type, r.Repr)
	}
	return fmt.Sprintf("%q", r.Out)
}

// loadCorpus reads testdata/corpus/*.txt: cases separated by "~~~~ case:
// name" lines, with optional "~~~~ vars", "~~~~ file: name" and
// "~~~~ option: native|strict|trim|lstrip|keepnl" sections.
func loadCorpus(t testing.TB) []oracleCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "corpus", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files: %v", err)
	}
	var cases []oracleCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := parseCorpus(filepath.Base(f), string(data))
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, cs...)
	}
	return cases
}

func parseCorpus(file, data string) ([]oracleCase, error) {
	var cases []oracleCase
	var cur *oracleCase
	section, name := "", ""
	var buf []string
	flush := func() error {
		if cur == nil {
			return nil
		}
		text := strings.Join(buf, "\n")
		switch section {
		case "source":
			cur.Source = text
		case "vars":
			if !json.Valid([]byte(text)) {
				return fmt.Errorf("%s: case %s: vars are not JSON", file, cur.ID)
			}
			cur.Vars = json.RawMessage(text)
		case "file":
			if cur.Files == nil {
				cur.Files = map[string]string{}
			}
			cur.Files[name] = text
		}
		buf = nil
		return nil
	}
	for _, line := range strings.Split(data, "\n") {
		if !strings.HasPrefix(line, "~~~~ ") {
			buf = append(buf, line)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		head := strings.TrimPrefix(line, "~~~~ ")
		key, val, _ := strings.Cut(head, ":")
		val = strings.TrimSpace(val)
		switch strings.TrimSpace(key) {
		case "case":
			if cur != nil {
				cases = append(cases, *cur)
			}
			cur = &oracleCase{ID: file + ":" + val}
			section = "source"
		case "vars":
			section = "vars"
		case "file":
			section, name = "file", val
		case "option":
			for _, o := range strings.Fields(val) {
				switch o {
				case "native":
					cur.Mode = "native"
				case "strict":
					cur.Undefined = "strict"
				case "trim":
					cur.TrimBlocks = true
				case "lstrip":
					cur.LstripBlocks = true
				case "keepnl":
					cur.KeepTrailingNewline = true
				default:
					return nil, fmt.Errorf("%s: unknown option %q", file, o)
				}
			}
			section = ""
		default:
			return nil, fmt.Errorf("%s: unknown section %q", file, line)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if cur != nil {
		cases = append(cases, *cur)
	}
	return cases, nil
}

func TestCorpusAgainstJinja2(t *testing.T) {
	cases := loadCorpus(t)
	diffs := compareWithOracle(t, cases, func(c oracleCase, py, ours oracleResult) {
		t.Errorf("%s\nsource: %q\njinja2: %s\nours:   %s", c.ID, c.Source, describeResult(py), describeResult(ours))
	})
	t.Logf("%d corpus cases, %d differ", len(cases), diffs)
}
