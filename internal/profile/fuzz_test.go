package profile

import "testing"

// FuzzDecodeTop: the most frequent values come back from the warehouse as
// JSON text built from the data; nothing in it may panic the decoder, and
// what decodes has a count for every value.
func FuzzDecodeTop(f *testing.F) {
	f.Add(`["completed","400"],["returned","3"]`, "text")
	f.Add(`[1,"2"],[null,"1"]`, "integer")
	f.Add(`["1.50","7"]`, "numeric(4,2)")
	f.Add(`["nan","1"],["-inf","2"]`, "double")
	f.Add(`["2024-01-01 10:00:00.5","1"]`, "timestamp")
	f.Add(`[["a"],"1"]`, "varchar[]")
	f.Add(`["x","12.000"]`, "text")
	f.Add(`]`, "text")
	f.Fuzz(func(t *testing.T, text, typ string) {
		vals, err := decodeTop(text, typ)
		if err != nil {
			return
		}
		for _, v := range vals {
			_ = Value(v.Value)
		}
	})
}

// FuzzValueKey: any decoded value has a key and a text, whatever its kind.
func FuzzValueKey(f *testing.F) {
	f.Add("1.50", int64(3), 2.5)
	f.Add("1e400", int64(-1), -0.0)
	f.Add("1/2", int64(0), 1e300)
	f.Fuzz(func(t *testing.T, s string, i int64, x float64) {
		for _, k := range []Kind{KindNumber, KindText, KindTime} {
			for _, v := range []any{s, i, x} {
				_ = valueKey(k, v)
				_, _ = compareValues(v, s)
			}
		}
		_ = Number(x) + Value(s) + Percent(x)
	})
}
