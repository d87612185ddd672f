package warehousetest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Kind is the type of a generated column, for property tests that load
// random tables (with Load) and check what the engine computes against Go.
// Its Go value (Value), for a non-NULL value:
//
//	KindInteger, KindBigint: int64
//	KindDecimal:             int64, in hundredths (numeric(12,2): 1234 is 12.34; DecimalText spells it)
//	KindDouble:              float64 (NaN, ±Inf and -0 included)
//	KindText:                string (unicode, quotes, newlines, backslashes; never NUL)
//	KindBoolean:             bool
//	KindDate:                time.Time at midnight UTC
//	KindTimestamp:           time.Time in UTC, microsecond precision
//
// NULL is nil for every kind.
type Kind int

const (
	KindInteger Kind = iota
	KindBigint
	KindDecimal
	KindDouble
	KindText
	KindBoolean
	KindDate
	KindTimestamp
	Kinds // how many kinds there are
)

func (k Kind) String() string {
	if k < 0 || k >= Kinds {
		return fmt.Sprintf("kind%d", int(k))
	}
	return [...]string{"integer", "bigint", "decimal", "double", "text", "boolean", "date", "timestamp"}[k]
}

// SQLType is the column type for kind k on engine (the Dialect's Name).
func (k Kind) SQLType(engine string) string {
	duck := engine == "duckdb"
	switch k {
	case KindInteger:
		return "integer"
	case KindBigint:
		return "bigint"
	case KindDecimal:
		if duck {
			return "decimal(12,2)"
		}
		return "numeric(12,2)"
	case KindDouble:
		if duck {
			return "double"
		}
		return "double precision"
	case KindText:
		if duck {
			return "varchar"
		}
		return "text"
	case KindBoolean:
		return "boolean"
	case KindDate:
		return "date"
	case KindTimestamp:
		return "timestamp"
	}
	panic("unknown Kind")
}

// Numeric reports whether the kind holds numbers.
func (k Kind) Numeric() bool {
	return k == KindInteger || k == KindBigint || k == KindDecimal || k == KindDouble
}

// TextPieces are what generated text is made of.
var TextPieces = []string{
	"plain", "café", "naïve", "Ångström", "日本語", "😀", "🎉👩‍💻", "it's", `say "hi"`,
	"line1\nline2", "tab\there", `back\slash`, "", "  spaces  ", "ß", "%_", "--", "/*", "\r\n", "Ω≈ç√",
}

// Value is a random non-NULL value of kind k, or nil with probability
// nullFrac; extremes (the limits of each integer type, NaN, infinities,
// -0, 0.1+0.2) come up often.
func Value(rng *rand.Rand, k Kind, nullFrac float64) any {
	if rng.Float64() < nullFrac {
		return nil
	}
	switch k {
	case KindInteger:
		switch rng.IntN(20) {
		case 0:
			return int64(math.MaxInt32)
		case 1:
			return int64(math.MinInt32)
		}
		return int64(rng.IntN(2001) - 1000)
	case KindBigint:
		switch rng.IntN(20) {
		case 0:
			return int64(math.MaxInt64)
		case 1:
			return int64(math.MinInt64)
		}
		return rng.Int64() >> rng.IntN(63)
	case KindDecimal:
		// numeric(12,2): up to 10 digits before the point
		return rng.Int64N(1_999_999_999_999) - 999_999_999_999
	case KindDouble:
		switch rng.IntN(40) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1)
		case 2:
			return math.Inf(-1)
		case 3:
			return math.Copysign(0, -1)
		case 4:
			return 0.1 + 0.2
		}
		if rng.IntN(3) == 0 {
			return float64(rng.IntN(100))
		}
		return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-8))
	case KindText:
		var parts []string
		for n := rng.IntN(4); n >= 0; n-- {
			parts = append(parts, TextPieces[rng.IntN(len(TextPieces))])
		}
		return strings.Join(parts, "")
	case KindBoolean:
		return rng.IntN(2) == 0
	case KindDate:
		return time.Date(1900+rng.IntN(200), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(366))
	case KindTimestamp:
		sec := rng.Int64N(5_000_000_000) - 1_000_000_000 // 1938 to 2128
		t := time.Unix(sec, 0).UTC()
		switch rng.IntN(3) {
		case 0:
			return t
		case 1:
			return t.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
		}
		return t.Add(time.Duration(rng.IntN(1_000_000)) * time.Microsecond)
	}
	panic("unknown Kind")
}

// DecimalText spells hundredths as a decimal: -1234 is "-12.34".
func DecimalText(cents int64) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign, u = "-", uint64(-cents)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}
