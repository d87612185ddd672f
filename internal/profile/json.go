package profile

import (
	"encoding/json"
	"math"
)

// MarshalJSON encodes the column's values with JSONValue, since JSON has
// no NaN or infinity.
func (c Column) MarshalJSON() ([]byte, error) {
	type plain Column // without this method
	out := plain(c)
	out.Min, out.Max = JSONValue(c.Min), JSONValue(c.Max)
	out.P5, out.P50, out.P95 = JSONValue(c.P5), JSONValue(c.P50), JSONValue(c.P95)
	out.Mean, out.StdDev = finiteOrNil(c.Mean), finiteOrNil(c.StdDev)
	if c.Values != nil {
		out.Values = make([]ValueCount, len(c.Values))
		for i, vc := range c.Values {
			out.Values[i] = ValueCount{Value: JSONValue(vc.Value), Count: vc.Count}
		}
	}
	return json.Marshal(out)
}

func finiteOrNil(f *float64) *float64 {
	if f == nil || math.IsNaN(*f) || math.IsInf(*f, 0) {
		return nil
	}
	return f
}
