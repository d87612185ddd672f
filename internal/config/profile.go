package config

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Profile configures the profile diff: column statistics of each built
// model in production and in the environment, and the rules that flag
// what looks wrong.
type Profile struct {
	// Enabled profiles each built model in the diff stage.
	Enabled bool `yaml:"enabled"`
	// SampleRows: relations with at most about this many rows are profiled
	// exactly; larger ones get their estimated statistics (distinct
	// counts, means, quantiles, lengths, values) from a sample of about
	// this many rows.
	SampleRows int64 `yaml:"sample_rows"`
	// LowCardinality: a column with at most this many distinct values has
	// its values listed with their counts, and new_value watches it.
	LowCardinality int           `yaml:"low_cardinality"`
	Rules          ProfileRules  `yaml:"rules"`
	Columns        []ColumnRules `yaml:"columns"`
}

// ProfileRules are the thresholds of the profile flags; a number of 0 (or
// false) turns its rule off.
type ProfileRules struct {
	// RowCount: the row count changed by more than this percentage.
	RowCount float64 `yaml:"row_count"`
	// NullShare: a column's share of NULLs went up by more than this many
	// percentage points.
	NullShare float64 `yaml:"null_share"`
	// DistinctCount: a column's distinct count changed by more than this
	// percentage.
	DistinctCount float64 `yaml:"distinct_count"`
	// MeanShift: a number column's mean moved by more than this many of
	// production's standard deviations.
	MeanShift float64 `yaml:"mean_shift"`
	// OutOfRange: a value below production's minimum or above its maximum
	// (numbers, dates, timestamps).
	OutOfRange bool `yaml:"out_of_range"`
	// NewValue: a value production does not have, in a column with few
	// values (LowCardinality).
	NewValue bool `yaml:"new_value"`
}

// ColumnRules change the rules for one column of one model.
type ColumnRules struct {
	Model  string `yaml:"model"`
	Column string `yaml:"column"`
	// Ignore lists flags never raised for this column.
	Ignore []string `yaml:"ignore"`
	// Thresholds replacing profile.rules' for this column.
	NullShare     *float64 `yaml:"null_share"`
	DistinctCount *float64 `yaml:"distinct_count"`
	MeanShift     *float64 `yaml:"mean_shift"`
	// Line is where the entry starts in dataops.yml, for messages about a
	// model or column that does not exist.
	Line int `yaml:"-"`
}

// The profile flags, as dataops.yml names them.
const (
	FlagRowCount      = "row_count"
	FlagNullShare     = "null_share"
	FlagDistinctCount = "distinct_count"
	FlagMeanShift     = "mean_shift"
	FlagOutOfRange    = "out_of_range"
	FlagNewValue      = "new_value"
)

// ProfileFlags lists every profile flag.
var ProfileFlags = []string{FlagRowCount, FlagNullShare, FlagDistinctCount, FlagMeanShift, FlagOutOfRange, FlagNewValue}

// DefaultProfile is the profile section an empty file means.
func DefaultProfile() Profile {
	return Profile{
		Enabled:        true,
		SampleRows:     30_000,
		LowCardinality: 20,
		Rules: ProfileRules{RowCount: 10, NullShare: 5, DistinctCount: 20, MeanShift: 1,
			OutOfRange: true, NewValue: true},
	}
}

// RuleOn reports whether the rule behind a flag is turned on.
func (r ProfileRules) RuleOn(flag string) bool {
	switch flag {
	case FlagRowCount:
		return r.RowCount > 0
	case FlagNullShare:
		return r.NullShare > 0
	case FlagDistinctCount:
		return r.DistinctCount > 0
	case FlagMeanShift:
		return r.MeanShift > 0
	case FlagOutOfRange:
		return r.OutOfRange
	case FlagNewValue:
		return r.NewValue
	}
	return false
}

func unknownFlag(name string) string {
	return fmt.Sprintf("unknown profile flag %q: the flags are %s", name, strings.Join(ProfileFlags, ", "))
}

// unknownProfileKey says what is wrong with an unknown key in
// profile.rules (the keys are the flags) or in a profile.columns entry, in
// dataops.yml's words rather than the Go type's.
func unknownProfileKey(key, typ string) (msg, field string, ok bool) {
	switch typ {
	case "ProfileRules":
		return unknownFlag(key), "profile.rules", true
	case "ColumnRules":
		return fmt.Sprintf("%q is not a key of a column rule: the keys are model, column, ignore, %s, %s, %s",
			key, FlagNullShare, FlagDistinctCount, FlagMeanShift), "profile.columns", true
	}
	return "", "", false
}

// locateProfile records where each profile.columns entry starts.
func (c *Config) locateProfile(data []byte) {
	root := parseNode(data)
	for i := range c.Profile.Columns {
		if n := nodeAt(root, "profile", "columns", i); n != nil {
			c.Profile.Columns[i].Line = n.Line
		}
	}
}

func (c Config) validateProfile(path string, data []byte) error {
	root := parseNode(data)
	fail := func(node *yaml.Node, field, format string, args ...any) error {
		line := 0
		if node != nil {
			line = node.Line
		}
		return &Error{Path: path, Line: line, Field: field, Message: fmt.Sprintf(format, args...)}
	}
	at := func(keys ...any) *yaml.Node { return nodeAt(root, keys...) }
	p := c.Profile
	if p.SampleRows < 1000 || p.SampleRows > 10_000_000 {
		return fail(at("profile", "sample_rows"), "profile.sample_rows", "must be between 1000 and 10000000, not %d", p.SampleRows)
	}
	if p.LowCardinality < 1 || p.LowCardinality > 1000 {
		return fail(at("profile", "low_cardinality"), "profile.low_cardinality", "must be between 1 and 1000, not %d", p.LowCardinality)
	}
	for _, t := range []struct {
		key   string
		value float64
		max   float64
	}{{"row_count", p.Rules.RowCount, 0}, {"null_share", p.Rules.NullShare, 100}, {"distinct_count", p.Rules.DistinctCount, 0}, {"mean_shift", p.Rules.MeanShift, 0}} {
		if err := checkThreshold(t.value, t.max); err != "" {
			return fail(at("profile", "rules", t.key), "profile.rules."+t.key, "%s", err)
		}
	}
	for i, cr := range p.Columns {
		field := fmt.Sprintf("profile.columns[%d]", i)
		entry := at("profile", "columns", i)
		if strings.TrimSpace(cr.Model) == "" || strings.TrimSpace(cr.Column) == "" {
			return fail(entry, field, "needs both model and column: the rules of one column of one model")
		}
		for j, flag := range cr.Ignore {
			if !slices.Contains(ProfileFlags, flag) {
				return fail(at("profile", "columns", i, "ignore", j), field+".ignore", "%s", unknownFlag(flag))
			}
		}
		for _, t := range []struct {
			key   string
			value *float64
			max   float64
		}{{"null_share", cr.NullShare, 100}, {"distinct_count", cr.DistinctCount, 0}, {"mean_shift", cr.MeanShift, 0}} {
			if t.value == nil {
				continue
			}
			if err := checkThreshold(*t.value, t.max); err != "" {
				return fail(at("profile", "columns", i, t.key), field+"."+t.key, "%s", err)
			}
		}
	}
	for j, flag := range c.Diff.FailOn.Profile {
		node := at("diff", "fail_on", "profile", j)
		switch {
		case !slices.Contains(ProfileFlags, flag):
			return fail(node, "diff.fail_on.profile", "%s", unknownFlag(flag))
		case !p.Enabled:
			return fail(node, "diff.fail_on.profile", "names %s, but profile.enabled is false: turn the profile on, or take %s out", flag, flag)
		case !p.Rules.RuleOn(flag):
			return fail(node, "diff.fail_on.profile", "names %s, but profile.rules.%s turns that rule off", flag, flag)
		}
	}
	return nil
}

func checkThreshold(v, max float64) string {
	switch {
	case v < 0:
		return fmt.Sprintf("must not be negative (0 turns the rule off), not %g", v)
	case max > 0 && v > max:
		return fmt.Sprintf("must be at most %g, not %g", max, v)
	}
	return ""
}

// parseNode parses data into a node tree for line numbers; nil when it does
// not parse (decoding has already reported why).
func parseNode(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil || len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// nodeAt follows mapping keys (strings) and sequence indexes (ints) from n;
// nil when the path is not in the file.
func nodeAt(n *yaml.Node, path ...any) *yaml.Node {
	for _, p := range path {
		if n == nil {
			return nil
		}
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return nil
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
				}
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return nil
			}
			n = n.Content[k]
		}
	}
	return n
}
