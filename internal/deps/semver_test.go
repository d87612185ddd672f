package deps

import (
	"strings"
	"testing"
)

func TestParseConstraint(t *testing.T) {
	tests := []struct {
		in      string
		want    string // String() of the result
		wantErr string
	}{
		{in: "1.0.0", want: "1.0.0"},
		{in: ">=1.0.0", want: ">=1.0.0"},
		{in: "<2.0.0", want: "<2.0.0"},
		{in: "<=0.9.1", want: "<=0.9.1"},
		{in: ">0.1.2", want: ">0.1.2"},
		{in: "=1.2.3", want: "1.2.3"},
		{in: "1.0.0-rc1", want: "1.0.0-rc1"},
		{in: "1.0.0rc1", want: "1.0.0-rc1"}, // dbt's dash is optional
		{in: "0.1.4a1", want: "0.1.4-a1"},
		{in: "1.0.0+build.5", want: "1.0.0+build.5"},
		{in: " 1.0.0 ", want: "1.0.0"},
		{in: "1.0", wantErr: "not a valid version"},
		{in: "v1.0.0", wantErr: "not a valid version"},
		{in: "01.0.0", wantErr: "not a valid version"},
		{in: ">=1.0.0, <2.0.0", wantErr: "not a valid version"},
		{in: "~1.0.0", wantErr: "not a valid version"},
		{in: "", wantErr: "not a valid version"},
		{in: "99999999999999999999.0.0", wantErr: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ParseConstraint(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want {
				t.Errorf("got %s, want %s", c, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	ordered := []string{"0.0.1", "0.1.0", "0.9.9", "0.10.0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-a",
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-b", "1.0.0-rc1", "1.0.0", "1.0.1", "2.0.0"}
	for i := range ordered {
		for j := range ordered {
			a, _ := ParseVersion(ordered[i])
			b, _ := ParseVersion(ordered[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
	a, _ := ParseVersion("1.0.0+x")
	b, _ := ParseVersion("1.0.0+y")
	if Compare(a, b) != 0 {
		t.Error("build metadata must not order versions")
	}
}

func TestReduceAndContains(t *testing.T) {
	tests := []struct {
		name     string
		specs    []string
		range_   string
		in, out  []string
		conflict string
	}{
		{name: "range", specs: []string{">=1.0.0", "<2.0.0"}, range_: ">=1.0.0, <2.0.0",
			in: []string{"1.0.0", "1.9.9"}, out: []string{"0.9.0", "2.0.0", "2.0.0-rc1", "1.0.0-rc1"}},
		{name: "narrowing", specs: []string{">=1.0.0", "<2.0.0", ">=1.1.0", "<1.5.0"}, range_: ">=1.1.0, <1.5.0",
			in: []string{"1.1.0", "1.4.9"}, out: []string{"1.0.9", "1.5.0"}},
		{name: "exact inside range", specs: []string{">=1.0.0", "<2.0.0", "1.3.0"}, range_: "1.3.0",
			in: []string{"1.3.0"}, out: []string{"1.3.1", "1.2.0"}},
		{name: "exact twice", specs: []string{"1.3.0", "1.3.0"}, range_: "1.3.0", in: []string{"1.3.0"}},
		{name: "exclusive beats inclusive", specs: []string{">=1.0.0", ">1.0.0"}, range_: ">1.0.0",
			in: []string{"1.0.1"}, out: []string{"1.0.0"}},
		{name: "inclusive upper", specs: []string{"<=1.0.0"}, range_: "<=1.0.0",
			in: []string{"1.0.0", "1.0.0-rc1"}, out: []string{"1.0.1"}},
		{name: "prerelease lower", specs: []string{">=2.0.0-rc1"}, range_: ">=2.0.0-rc1",
			in: []string{"2.0.0-rc1", "2.0.0-rc2", "2.0.0"}, out: []string{"2.0.0-b1"}},
		{name: "none", specs: nil, range_: "any version", in: []string{"0.0.1", "9.9.9"}},
		{name: "disjoint", specs: []string{">=1.0.0", "<0.9.0"}, conflict: ">=1.0.0 (packages.yml:1) and <0.9.0 (packages.yml:2) cannot both hold"},
		{name: "two exacts", specs: []string{"1.0.0", "1.0.1"}, conflict: "cannot both hold"},
		{name: "touching exclusive", specs: []string{">=1.0.0", "<1.0.0"}, conflict: "cannot both hold"},
		{name: "exact outside", specs: []string{"<1.0.0", "1.2.0"}, conflict: "cannot both hold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs []Constraint
			for i, s := range tt.specs {
				c, err := ParseConstraint(s)
				if err != nil {
					t.Fatal(err)
				}
				c.From = Origin{File: "packages.yml", Line: i + 1}
				cs = append(cs, c)
			}
			r, err := Reduce(cs)
			if tt.conflict != "" {
				if err == nil || !strings.Contains(err.Error(), tt.conflict) {
					t.Fatalf("err = %v, want %q", err, tt.conflict)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.range_ {
				t.Errorf("range %s, want %s", r, tt.range_)
			}
			for _, v := range tt.in {
				if pv, _ := ParseVersion(v); !r.Contains(pv) {
					t.Errorf("%s should be in %s", v, r)
				}
			}
			for _, v := range tt.out {
				if pv, _ := ParseVersion(v); r.Contains(pv) {
					t.Errorf("%s should not be in %s", v, r)
				}
			}
		})
	}
}
