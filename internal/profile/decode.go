package profile

// Decoding the statement's result: counts, floats and values as the two
// drivers return them, and the JSON list of most frequent values.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/dataops-dev/dataops/internal/datadiff"
)

func intTo(dst *int64) func(any) error {
	return func(v any) (err error) {
		*dst, err = toInt64(v)
		return err
	}
}

func floatTo(dst **float64) func(any) error {
	return func(v any) (err error) {
		*dst, err = toFloat(v)
		return err
	}
}

func stringTo(dst *string) func(any) error {
	return func(v any) error {
		s, ok, err := toText(v)
		if ok {
			*dst = s
		}
		return err
	}
}

// valueTo decodes a value the statement cast to text, for a column of type
// typ, as datadiff decodes sample values.
func valueTo(dst *any, typ string) func(any) error {
	return func(v any) error {
		s, ok, err := toText(v)
		if err != nil || !ok {
			return err
		}
		*dst = datadiff.DecodeSampleValue(s, typ)
		return nil
	}
}

// toInt64 reads a count or sum; NULL is 0.
func toInt64(v any) (int64, error) { return datadiff.CountValue(v) }

// toFloat reads a double; NULL is nil.
func toFloat(v any) (*float64, error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return nil, nil
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int64:
		f = float64(x)
	case string, []byte:
		s, _, _ := toText(x)
		p, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("unexpected number %q", s)
		}
		f = p
	default:
		return nil, fmt.Errorf("unexpected number %v (%T)", v, v)
	}
	return &f, nil
}

// toText reads text; ok is false for NULL.
func toText(v any) (string, bool, error) {
	switch x := v.(type) {
	case nil:
		return "", false, nil
	case string:
		return x, true, nil
	case []byte:
		return string(x), true, nil
	}
	return "", false, fmt.Errorf("unexpected text %v (%T)", v, v)
}

// decodeTop reads the most frequent values: JSON arrays [value, "count"]
// joined by commas, most frequent first.
func decodeTop(text, typ string) ([]ValueCount, error) {
	dec := json.NewDecoder(strings.NewReader("[" + text + "]"))
	dec.UseNumber()
	var entries [][]any
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("decode values %.200q: %w", text, err)
	}
	out := make([]ValueCount, 0, len(entries))
	for _, e := range entries {
		if len(e) != 2 {
			return nil, fmt.Errorf("decode values: entry %v is not [value, count]", e)
		}
		var count int64
		var err error
		switch n := e[1].(type) {
		case string:
			count, err = toInt64(n)
		case json.Number:
			count, err = toInt64(n.String())
		default:
			err = fmt.Errorf("count %v (%T)", n, n)
		}
		if err != nil {
			return nil, fmt.Errorf("decode values: %w", err)
		}
		out = append(out, ValueCount{Value: datadiff.DecodeSampleValue(e[0], typ), Count: count})
	}
	return out, nil
}

// equalFold compares names ignoring case, as DuckDB resolves them.
func equalFold(a, b string) bool { return strings.EqualFold(a, b) }
