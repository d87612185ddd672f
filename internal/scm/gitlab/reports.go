package gitlab

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/scm"
)

// GitLab shows findings in a merge request from CI report files a job
// declares under artifacts:reports, not from API calls:
//
//	dataops:
//	  artifacts:
//	    when: always
//	    reports:
//	      codequality: gl-code-quality-report.json
//	      junit: dataops-junit.xml
//
// WriteCodeQuality writes the compile and dry-run errors for the Code
// Quality widget (and the diff's gutter); WriteJUnit the tests for the test
// summary widget.

// codeQualityIssue is one finding of GitLab's Code Quality report format
// (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format),
// a subset of Code Climate's.
type codeQualityIssue struct {
	Description string              `json:"description"`
	CheckName   string              `json:"check_name"`
	Fingerprint string              `json:"fingerprint"`
	Severity    string              `json:"severity"` // info, minor, major, critical, blocker
	Location    codeQualityLocation `json:"location"`
}

type codeQualityLocation struct {
	Path  string           `json:"path"`
	Lines codeQualityLines `json:"lines"`
}

type codeQualityLines struct {
	Begin int `json:"begin"`
	End   int `json:"end,omitempty"`
}

// WriteCodeQuality writes annotations as a Code Quality report: a JSON
// array, empty when there are none. Each finding's fingerprint is a hash of
// its path, line and message, so the same finding keeps it from one
// pipeline to the next and GitLab can tell new ones from fixed ones; an
// exact duplicate is written once, as GitLab would show it once.
func WriteCodeQuality(w io.Writer, annotations []scm.Annotation) error {
	issues := make([]codeQualityIssue, 0, len(annotations))
	seen := map[string]bool{}
	for _, a := range annotations {
		p := cleanPath(a.Path)
		fp := fingerprint(p, a.Line, a.Message)
		if seen[fp] {
			continue
		}
		seen[fp] = true
		begin := max(a.Line, 1) // 0, the file as a whole, shows on its first line
		end := 0
		if a.EndLine > begin {
			end = a.EndLine
		}
		check := "dataops"
		if t := strings.TrimSpace(a.Title); t != "" {
			check = t
		}
		desc := strings.TrimSpace(plain(a.Message))
		if desc == "" {
			desc = strings.TrimSpace(a.Title)
		}
		if desc == "" {
			desc = "dataops finding"
		}
		issues = append(issues, codeQualityIssue{
			Description: desc,
			CheckName:   check,
			Fingerprint: fp,
			Severity:    severity(a.Level),
			Location:    codeQualityLocation{Path: p, Lines: codeQualityLines{Begin: begin, End: end}},
		})
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // messages quote SQL: keep "a -> b" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(issues); err != nil {
		return fmt.Errorf("gitlab: write code quality report: %w", err)
	}
	return nil
}

// ansi matches terminal colour and cursor sequences, which engines put in
// their errors and neither widget can show.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

func plain(s string) string { return ansi.ReplaceAllString(s, "") }

func fingerprint(path string, line int, message string) string {
	h := sha256.New()
	// NUL separators: "a.sql"+"12" and "a.sql1"+"2" must differ.
	fmt.Fprintf(h, "%s\x00%d\x00%s", path, line, message)
	return hex.EncodeToString(h.Sum(nil))
}

// severity maps annotation levels onto Code Quality severities. A failure
// blocks the merge request, so it is critical rather than major.
func severity(level string) string {
	switch level {
	case scm.LevelFailure:
		return "critical"
	case scm.LevelWarning:
		return "minor"
	case scm.LevelNotice:
		return "info"
	}
	return "major"
}

// cleanPath makes a path relative to the repository with forward slashes,
// as GitLab matches it against the diff.
func cleanPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	p = path.Clean(p)
	p = strings.TrimPrefix(p, "./")
	return strings.TrimPrefix(p, "/")
}

// TestSuite is one suite of a JUnit report, e.g. the tests of one model.
type TestSuite struct {
	Name  string
	Cases []TestCase
}

// TestCase is one test. At most one of Failure, Error and Skipped is
// expected; each is the message to show, its first line the summary.
type TestCase struct {
	Name      string
	Classname string
	File      string
	Line      int
	Time      time.Duration
	Failure   string // the test ran and failed: failing rows
	Error     string // the test could not run: a SQL error
	Skipped   string // the test did not run: why
}

type junitTestSuites struct {
	XMLName  xml.Name         `xml:"testsuites"`
	Name     string           `xml:"name,attr"`
	Tests    int              `xml:"tests,attr"`
	Failures int              `xml:"failures,attr"`
	Errors   int              `xml:"errors,attr"`
	Skipped  int              `xml:"skipped,attr"`
	Time     string           `xml:"time,attr"`
	Suites   []junitTestSuite `xml:"testsuite"`
}

type junitTestSuite struct {
	Name     string          `xml:"name,attr"`
	Tests    int             `xml:"tests,attr"`
	Failures int             `xml:"failures,attr"`
	Errors   int             `xml:"errors,attr"`
	Skipped  int             `xml:"skipped,attr"`
	Time     string          `xml:"time,attr"`
	Cases    []junitTestCase `xml:"testcase"`
}

type junitTestCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      string        `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Error     *junitMessage `xml:"error"`
	Skipped   *junitMessage `xml:"skipped"`
}

type junitMessage struct {
	Message string `xml:"message,attr,omitempty"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes suites as a JUnit XML report in the form GitLab's
// unit test report parser reads: testsuites, testsuite, testcase with
// failure, error or skipped. encoding/xml escapes every attribute and text
// and replaces characters XML cannot hold; terminal colour codes are
// dropped first.
func WriteJUnit(w io.Writer, suites []TestSuite) error {
	root := junitTestSuites{Name: "dataops"}
	var total time.Duration
	for _, s := range suites {
		js := junitTestSuite{Name: s.Name}
		var suiteTime time.Duration
		for _, c := range s.Cases {
			jc := junitTestCase{
				Name:      c.Name,
				Classname: c.Classname,
				File:      cleanPathOrEmpty(c.File),
				Time:      seconds(c.Time),
			}
			if jc.Classname == "" {
				jc.Classname = s.Name
			}
			if c.Line > 0 {
				jc.Line = strconv.Itoa(c.Line)
			}
			switch {
			case c.Error != "":
				jc.Error = &junitMessage{Message: firstLine(c.Error), Type: "error", Text: plain(c.Error)}
				js.Errors++
			case c.Failure != "":
				jc.Failure = &junitMessage{Message: firstLine(c.Failure), Type: "failure", Text: plain(c.Failure)}
				js.Failures++
			case c.Skipped != "":
				jc.Skipped = &junitMessage{Message: firstLine(c.Skipped)}
				js.Skipped++
			}
			js.Tests++
			suiteTime += c.Time
			js.Cases = append(js.Cases, jc)
		}
		js.Time = seconds(suiteTime)
		total += suiteTime
		root.Tests += js.Tests
		root.Failures += js.Failures
		root.Errors += js.Errors
		root.Skipped += js.Skipped
		root.Suites = append(root.Suites, js)
	}
	root.Time = seconds(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("gitlab: write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("gitlab: write junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("gitlab: write junit report: %w", err)
	}
	return nil
}

func cleanPathOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	return cleanPath(p)
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// firstLine is the summary GitLab shows of a failure.
func firstLine(s string) string {
	s = strings.TrimSpace(plain(s))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return cutRunes(s, 500)
}
