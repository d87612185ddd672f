// Package mask keeps the values of sensitive columns from leaving the
// warehouse. A Policy tells which columns are sensitive: those the project
// marks (meta: {sensitive: true} or a pii tag, on the column or on its
// model, seed or source table, and the same column names downstream of
// them) and those whose names match dataops.yml's mask: patterns (by
// default the obvious ones: email, phone, ssn, password, token, iban, card
// number...). A Masker turns their values into a short keyed hash: equal
// values give equal masks within one report, so a reviewer still sees
// "changed" or "the same", but the key is new for every run, so a mask
// cannot be looked up in another report or guessed from a list of emails.
//
// Samples are masked where they are made (internal/datadiff's sample rows,
// internal/build's failing test rows), so every output after them - the
// comment, check runs, annotations, step summaries, report files, --json,
// logs, the bot's store - only ever holds masks. Counts and match
// percentages are computed in the warehouse from the real values.
package mask

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/config"
	"github.com/dataops-dev/dataops/internal/project"
)

// DefaultPatterns are the column names masked unless dataops.yml turns
// them off (mask.defaults: false): case-insensitive globs matched against
// whole names.
var DefaultPatterns = []string{
	"*email*", "*e_mail*",
	"*phone*", "*mobile*",
	"ssn", "*_ssn", "ssn_*", "*social_security*",
	"*password*", "*passwd*", "*secret*", "*token*",
	"*api_key*", "*apikey*", "*access_key*", "*private_key*",
	"*iban*", "*card_number*", "*cardnumber*", "*card_num", "*cc_number*", "*cvv*", "*cvc*",
	"*first_name*", "*firstname*", "*last_name*", "*lastname*", "*full_name*", "*fullname*", "*surname*",
	"*birth*", "dob", "*_dob",
	"*passport*", "*tax_id*", "*national_id*",
	"*address", "*address_line*", "*ip_addr*",
}

// Prefix starts every masked value.
const Prefix = "masked:"

// Markers say a column or node is sensitive: a tag, or a meta key set to
// true.
var (
	sensitiveTags = []string{"pii", "sensitive"}
	sensitiveMeta = []string{"sensitive", "pii", "contains_pii"}
)

// Policy tells which columns are sensitive.
type Policy struct {
	patterns, except []string
	// names are the sensitive column names (lower case) of each node: its
	// own marked columns and those of everything upstream.
	names map[string]map[string]bool
	// whole marks nodes whose every column is sensitive.
	whole map[string]bool
}

// NewPolicy reads the marks of the projects' manifests (give the base and
// the head revision: a pull request cannot unmark what the base marks) and
// the patterns of cfg. With no manifest, only names decide.
func NewPolicy(cfg config.Mask, manifests ...*project.Manifest) *Policy {
	p := &Policy{names: map[string]map[string]bool{}, whole: map[string]bool{}}
	if cfg.Defaults {
		p.patterns = append(p.patterns, DefaultPatterns...)
	}
	for _, s := range cfg.Columns {
		p.patterns = append(p.patterns, strings.ToLower(strings.TrimSpace(s)))
	}
	for _, s := range cfg.Except {
		p.except = append(p.except, strings.ToLower(strings.TrimSpace(s)))
	}
	for _, m := range manifests {
		if m != nil {
			p.read(m)
		}
	}
	return p
}

// read adds one manifest's marks, parents before children, so each node
// inherits the sensitive names of everything upstream.
func (p *Policy) read(m *project.Manifest) {
	for _, id := range m.Order() {
		n := m.Nodes[id]
		names := p.names[id]
		if names == nil {
			names = map[string]bool{}
			p.names[id] = names
		}
		whole := marked(n.Config.Tags, meta(n.Config.Extra))
		if whole {
			p.whole[id] = true
		}
		for _, c := range n.Columns {
			if whole || marked(c.Tags, c.Meta) {
				names[strings.ToLower(c.Name)] = true
			}
		}
		for _, parent := range m.Parents(id) {
			for name := range p.names[parent] {
				names[name] = true
			}
		}
	}
}

func meta(extra map[string]any) map[string]any {
	m, _ := extra["meta"].(map[string]any)
	return m
}

func marked(tags []string, meta map[string]any) bool {
	for _, t := range tags {
		for _, s := range sensitiveTags {
			if strings.EqualFold(t, s) {
				return true
			}
		}
	}
	for _, k := range sensitiveMeta {
		switch v := meta[k].(type) {
		case bool:
			if v {
				return true
			}
		case string:
			if b, err := strconv.ParseBool(v); (err == nil && b) || strings.EqualFold(v, "yes") {
				return true
			}
		}
	}
	return false
}

// Named reports whether the patterns name a column sensitive.
func (p *Policy) Named(column string) bool {
	name := strings.ToLower(column)
	hit := false
	for _, pat := range p.patterns {
		if ok, _ := path.Match(pat, name); ok {
			hit = true
			break
		}
	}
	if !hit {
		return false
	}
	for _, pat := range p.except {
		if ok, _ := path.Match(pat, name); ok {
			return false
		}
	}
	return true
}

// Column reports whether column of node nodeID is sensitive ("" for a
// relation that is no node: only names decide).
func (p *Policy) Column(nodeID, column string) bool {
	if p.whole[nodeID] || p.names[nodeID][strings.ToLower(column)] {
		return true
	}
	return p.Named(column)
}

// Columns is the predicate for one node's relation.
func (p *Policy) Columns(nodeID string) func(column string) bool {
	return func(column string) bool { return p.Column(nodeID, column) }
}

// TestColumns is the predicate for the failing rows of a test. A test of
// a sensitive column masks every column of its rows: dbt's tests rename
// the column they test (unique_field, value_field, from_field). Other
// tests mask a column when it is sensitive in what the test reads.
func (p *Policy) TestColumns(test *project.Node, m *project.Manifest) func(column string) bool {
	var reads []string
	if test.Test != nil && test.Test.AttachTo != "" {
		reads = []string{test.Test.AttachTo}
		if test.Test.Column != "" && p.Column(test.Test.AttachTo, test.Test.Column) {
			return func(string) bool { return true }
		}
	} else if m != nil {
		reads = m.Parents(test.UniqueID)
	}
	for _, id := range reads {
		if p.whole[id] {
			return func(string) bool { return true }
		}
	}
	return func(column string) bool {
		for _, id := range reads {
			if p.names[id][strings.ToLower(column)] {
				return true
			}
		}
		return p.Named(column)
	}
}

// Masker hashes values with a key of its own: make one per report.
type Masker struct{ key []byte }

// NewMasker makes a masker with a fresh random key.
func NewMasker() *Masker {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		// crypto/rand does not fail on supported platforms; should it,
		// masks must still never be the values.
		panic(fmt.Sprintf("mask: no randomness for the key: %v", err))
	}
	return &Masker{key: key}
}

// Mask returns the mask of v: Prefix and eight hex digits. NULL stays NULL:
// that a value is missing is not the value. A nil Masker has no key, and
// masks every value the same.
func (k *Masker) Mask(v any) any {
	if v == nil {
		return nil
	}
	if k == nil {
		return Prefix + "********"
	}
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte(text(v)))
	return Prefix + hex.EncodeToString(mac.Sum(nil)[:4])
}

// text is the value as a person would read it, so that values shown the
// same mask the same, whichever side or driver type they came from.
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return fmt.Sprint(v)
}

// Columns masks the values of one relation's sensitive columns with one
// report's key. The zero Columns masks every value, keyless.
type Columns struct {
	sensitive func(column string) bool
	masker    *Masker
}

// NewColumns pairs a predicate with a masker.
func NewColumns(sensitive func(column string) bool, k *Masker) Columns {
	return Columns{sensitive: sensitive, masker: k}
}

// Defaults masks the columns the default patterns name, with a key of its
// own: what a caller gets that was given no policy.
func Defaults() Columns {
	p := NewPolicy(config.Mask{Defaults: true})
	return NewColumns(p.Named, NewMasker())
}

// Sensitive reports whether column is masked.
func (c Columns) Sensitive(column string) bool {
	return c.sensitive == nil || c.sensitive(column)
}

// Mask masks v whatever its column.
func (c Columns) Mask(v any) any { return c.masker.Mask(v) }

// Text is the mask of v as text, for internal/profile's Options.Mask
// (with Sensitive as its Options.Sensitive).
func (c Columns) Text(v any) string {
	if m := c.masker.Mask(v); m != nil {
		return m.(string)
	}
	return "NULL"
}

// Value is v as it may be shown: masked when column is sensitive.
func (c Columns) Value(column string, v any) any {
	if c.Sensitive(column) {
		return c.masker.Mask(v)
	}
	return v
}

// Set is a policy and one report's key: what a run needs to mask every
// sample it makes. The zero Set masks every value.
type Set struct {
	Policy *Policy
	Masker *Masker
}

// New is the policy of cfg and the manifests with a fresh key.
func New(cfg config.Mask, manifests ...*project.Manifest) Set {
	return Set{Policy: NewPolicy(cfg, manifests...), Masker: NewMasker()}
}

// engineQuoted finds the data values engines quote in their errors:
// DuckDB's and PostgreSQL's conversion, parse and range errors.
var engineQuoted = regexp.MustCompile(`(?i)((?:could not (?:convert|parse|cast) (?:string|value) |invalid input syntax for(?: type)? [^:]+: |invalid input value for enum [^:]+: |value out of range: |field value out of range: |out of range for type [^:]+: |value ))('(?:[^']|'')*'|"(?:[^"]|"")*")`)

// Message masks the data values an engine's error quotes. Which column a
// value came from, the message does not say (PostgreSQL's never does), so
// every such value is masked: the reviewer who needs it runs the model's
// SQL in the warehouse, where the value already is.
func (s Set) Message(msg string) string {
	return engineQuoted.ReplaceAllStringFunc(msg, func(m string) string {
		parts := engineQuoted.FindStringSubmatch(m)
		quoted := parts[2]
		return parts[1] + fmt.Sprint(s.Masker.Mask(quoted[1:len(quoted)-1]))
	})
}

// Node masks the relation of a node ("" for a relation that is none).
func (s Set) Node(nodeID string) Columns {
	if s.Policy == nil {
		return Columns{masker: s.Masker}
	}
	return NewColumns(s.Policy.Columns(nodeID), s.Masker)
}

// Test masks the failing rows of a test of manifest m.
func (s Set) Test(test *project.Node, m *project.Manifest) Columns {
	if s.Policy == nil {
		return Columns{masker: s.Masker}
	}
	return NewColumns(s.Policy.TestColumns(test, m), s.Masker)
}
