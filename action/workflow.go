package action

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// workflow speaks to the GitHub runner: workflow commands on stdout
// (annotations, notices, masks) and file commands (outputs, the step
// summary). Nothing here panics, unlike go-githubactions, whose SetOutput
// panics when GITHUB_OUTPUT cannot be written: a file command that fails
// is said once, in one line, and the run goes on, since the checks and the
// comment it reports on are already posted.
//
// Everything written goes through the secrets' scrubber, except the masks
// themselves.
type workflow struct {
	getenv  func(string) string
	out     io.Writer // the log, scrubbed
	raw     io.Writer // the log as is, for ::add-mask::
	secrets *secrets
	warned  map[string]bool
}

func newWorkflow(getenv func(string) string, stdout io.Writer, s *secrets) *workflow {
	return &workflow{getenv: getenv, out: s.writer(stdout), raw: stdout, secrets: s, warned: map[string]bool{}}
}

// input reads an action input as the runner passes it: INPUT_ and the
// name in upper case, spaces as underscores and hyphens kept
// (INPUT_WAREHOUSE-DSN).
func (w *workflow) input(name string) string {
	return strings.TrimSpace(w.getenv("INPUT_" + strings.ToUpper(strings.ReplaceAll(name, " ", "_"))))
}

// mask asks the runner to hide a value in the log, line by line as it
// requires.
func (w *workflow) mask(value string) {
	for _, line := range strings.Split(value, "\n") {
		if strings.TrimSpace(line) != "" {
			fmt.Fprintf(w.raw, "::add-mask::%s\n", escapeData(line))
		}
	}
}

// command writes one workflow command: ::name k=v,k=v::message.
func (w *workflow) command(name string, props map[string]string, message string) {
	var b strings.Builder
	b.WriteString("::" + name)
	keys := make([]string, 0, len(props))
	for k, v := range props {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i == 0 {
			b.WriteString(" ")
		} else {
			b.WriteString(",")
		}
		b.WriteString(k + "=" + escapeProperty(props[k]))
	}
	b.WriteString("::" + escapeData(message) + "\n")
	io.WriteString(w.out, b.String())
}

// info writes a plain line to the log.
func (w *workflow) info(format string, args ...any) {
	fmt.Fprintf(w.out, format+"\n", args...)
}

func (w *workflow) notice(format string, args ...any) {
	w.command("notice", nil, fmt.Sprintf(format, args...))
}

func (w *workflow) warning(format string, args ...any) {
	w.command("warning", nil, fmt.Sprintf(format, args...))
}

func (w *workflow) error(format string, args ...any) {
	w.command("error", nil, fmt.Sprintf(format, args...))
}

// setOutput adds a step output (GITHUB_OUTPUT), in the multi-line form
// with a delimiter no value can contain.
func (w *workflow) setOutput(name, value string) {
	delimiter := "ghadelimiter_" + randomHex(16)
	w.appendFile("GITHUB_OUTPUT", "the step's outputs", fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delimiter, w.secrets.scrub(value), delimiter))
}

// addSummary appends markdown to the job's summary (GITHUB_STEP_SUMMARY).
func (w *workflow) addSummary(markdown string) {
	w.appendFile("GITHUB_STEP_SUMMARY", "the step summary", w.secrets.scrub(markdown)+"\n")
}

// appendFile appends to the file a file command's variable names. A
// missing variable or a file that cannot be written is said once per
// variable, as a warning that names what is lost.
func (w *workflow) appendFile(variable, what, content string) {
	path := w.getenv(variable)
	err := fmt.Errorf("%s is not set", variable)
	if path != "" {
		err = appendTo(path, content)
	}
	if err == nil || w.warned[variable] {
		return
	}
	w.warned[variable] = true
	w.warning("dataops: could not write %s (%s): %v; the run goes on without them", what, variable, err)
}

func appendTo(path, content string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// escapeData and escapeProperty encode a workflow command's message and
// property values as the runner decodes them (actions/toolkit's
// command.ts).
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
