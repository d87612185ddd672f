package project

import (
	"fmt"
	"sort"
	"strings"
)

// Config is a node's resolved configuration: the dbt_project.yml tree, then
// the properties YAML, then the model's own config() call, later ones winning
// except for tags, which accumulate as in dbt.
type Config struct {
	Materialized        string            `json:"materialized,omitempty"`
	Schema              string            `json:"schema,omitempty"`
	Alias               string            `json:"alias,omitempty"`
	Tags                []string          `json:"tags,omitempty"`
	Enabled             bool              `json:"enabled"`
	UniqueKey           []string          `json:"unique_key,omitempty"`
	IncrementalStrategy string            `json:"incremental_strategy,omitempty"`
	PreHook             []string          `json:"pre_hook,omitempty"`
	PostHook            []string          `json:"post_hook,omitempty"`
	ColumnTypes         map[string]string `json:"column_types,omitempty"`
	Severity            string            `json:"severity,omitempty"`
	Where               string            `json:"where,omitempty"`
	// Extra holds keys dataops does not interpret (meta, docs, adapter
	// settings) so that a project valid for dbt stays valid here.
	Extra map[string]any `json:"extra,omitempty"`
}

// Materializations dataops knows how to build.
var materializations = []string{"view", "table", "incremental", "ephemeral", "seed", "test", "snapshot", "materialized_view"}

func defaultConfig(kind NodeKind) Config {
	c := Config{Enabled: true}
	switch kind {
	case KindModel:
		c.Materialized = "view"
	case KindSeed:
		c.Materialized = "seed"
	case KindTest:
		c.Materialized = "test"
		c.Severity = "error"
	}
	return c
}

func (c Config) clone() Config {
	out := c
	out.Tags = append([]string(nil), c.Tags...)
	out.UniqueKey = append([]string(nil), c.UniqueKey...)
	out.PreHook = append([]string(nil), c.PreHook...)
	out.PostHook = append([]string(nil), c.PostHook...)
	if c.ColumnTypes != nil {
		out.ColumnTypes = make(map[string]string, len(c.ColumnTypes))
		for k, v := range c.ColumnTypes {
			out.ColumnTypes[k] = v
		}
	}
	if c.Extra != nil {
		out.Extra = make(map[string]any, len(c.Extra))
		for k, v := range c.Extra {
			out.Extra[k] = v
		}
	}
	return out
}

// set applies one config key. The key may carry dbt_project.yml's "+" prefix
// and dashes or underscores (pre-hook, pre_hook).
func (c *Config) set(key string, value any) error {
	key = strings.ReplaceAll(strings.TrimPrefix(key, "+"), "-", "_")
	switch key {
	case "materialized":
		s, err := asString(key, value)
		if err != nil {
			return err
		}
		if !contains(materializations, s) {
			return fmt.Errorf("unknown materialization %q: use one of view, table, incremental, ephemeral", s)
		}
		c.Materialized = s
	case "schema":
		s, err := asOptionalString(key, value)
		if err != nil {
			return err
		}
		c.Schema = s
	case "alias":
		s, err := asOptionalString(key, value)
		if err != nil {
			return err
		}
		c.Alias = s
	case "tags", "tag":
		tags, err := asStrings(key, value)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if !contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
	case "enabled":
		b, ok := value.(bool)
		if !ok {
			return fmt.Errorf("enabled must be true or false, not %v", value)
		}
		c.Enabled = b
	case "unique_key":
		keys, err := asStrings(key, value)
		if err != nil {
			return err
		}
		c.UniqueKey = keys
	case "incremental_strategy":
		s, err := asString(key, value)
		if err != nil {
			return err
		}
		// Adapters define their own strategies (insert_overwrite,
		// microbatch, ...); a build uses merge or append whatever is named.
		c.IncrementalStrategy = s
	case "pre_hook":
		hooks, err := asStrings(key, value)
		if err != nil {
			return err
		}
		c.PreHook = append(c.PreHook, hooks...)
	case "post_hook":
		hooks, err := asStrings(key, value)
		if err != nil {
			return err
		}
		c.PostHook = append(c.PostHook, hooks...)
	case "column_types":
		m, ok := value.(map[string]any)
		if !ok {
			return fmt.Errorf("column_types must be a mapping of column name to type")
		}
		if c.ColumnTypes == nil {
			c.ColumnTypes = map[string]string{}
		}
		for k, v := range m {
			s, err := asString("column_types."+k, v)
			if err != nil {
				return err
			}
			c.ColumnTypes[k] = s
		}
	case "severity":
		s, err := asString(key, value)
		if err != nil {
			return err
		}
		s = strings.ToLower(s)
		if s != "error" && s != "warn" {
			return fmt.Errorf("severity must be error or warn, not %q", s)
		}
		c.Severity = s
	case "where":
		s, err := asOptionalString(key, value)
		if err != nil {
			return err
		}
		c.Where = s
	default:
		if c.Extra == nil {
			c.Extra = map[string]any{}
		}
		c.Extra[key] = value
	}
	return nil
}

func asString(key string, v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case fmt.Stringer:
		return s.String(), nil
	}
	return "", fmt.Errorf("%s must be a string, not %v", key, v)
}

func asOptionalString(key string, v any) (string, error) {
	if v == nil {
		return "", nil
	}
	return asString(key, v)
}

func asStrings(key string, v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{t}, nil
	case []string:
		return t, nil
	case []any:
		out := make([]string, 0, len(t))
		for _, item := range t {
			s, err := asString(key, item)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s must be a string or a list of strings, not %v", key, v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
