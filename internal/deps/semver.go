package deps

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Versions follow dbt's semver (dbt_common.semver): MAJOR.MINOR.PATCH with
// an optional prerelease (the dash is optional: 1.0.0rc1) and build, and an
// optional matcher (=, >, >=, <, <=) in front. Two rules differ from plain
// semver and are kept because dbt resolves with them:
//   - an upper bound "<2.0.0" also excludes 2.0.0's prereleases (2.0.0-rc1);
//   - prereleases are installed only when asked for (install_prerelease, or
//     a requirement that names a prerelease).

// versionPattern is dbt's version grammar.
var versionPattern = regexp.MustCompile(`^(>=|>|<=|<|=)?` +
	`(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-?((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9A-Za-z-]*(?:\.[0-9A-Za-z-]*)*))?$`)

// Version is one released version of a package.
type Version struct {
	Major, Minor, Patch uint64
	Pre                 string
	Build               string
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Constraint is one requirement on a version, such as ">=1.0.0", with where
// it was asked for.
type Constraint struct {
	Op   string // "=", ">", ">=", "<", "<="
	V    Version
	From Origin
}

func (c Constraint) String() string {
	if c.Op == "=" {
		return c.V.String()
	}
	return c.Op + c.V.String()
}

// ParseConstraint reads a version requirement; a bare version means exactly
// that version.
func ParseConstraint(s string) (Constraint, error) {
	m := versionPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Constraint{}, fmt.Errorf("%q is not a valid version: write MAJOR.MINOR.PATCH, optionally after >=, >, <=, < (for example \">=1.0.0\")", s)
	}
	var v Version
	var err error
	for i, dst := range []*uint64{&v.Major, &v.Minor, &v.Patch} {
		if *dst, err = strconv.ParseUint(m[2+i], 10, 64); err != nil {
			return Constraint{}, fmt.Errorf("%q: %v", s, err)
		}
	}
	v.Pre, v.Build = m[5], m[6]
	op := m[1]
	if op == "" {
		op = "="
	}
	return Constraint{Op: op, V: v}, nil
}

// ParseVersion reads a version without a matcher.
func ParseVersion(s string) (Version, error) {
	c, err := ParseConstraint(s)
	if err != nil {
		return Version{}, err
	}
	if c.Op != "=" || strings.ContainsAny(s, "<>=") {
		return Version{}, fmt.Errorf("%q is a requirement, not a version", s)
	}
	return c.V, nil
}

// Compare orders versions: numbers first, then a release above its
// prereleases, prereleases by their dot-separated parts (numbers below
// words). Build metadata does not count.
func Compare(a, b Version) int {
	for _, p := range [][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	switch {
	case a.Pre == b.Pre:
		return 0
	case a.Pre == "":
		return 1
	case b.Pre == "":
		return -1
	}
	ap, bp := strings.Split(a.Pre, "."), strings.Split(b.Pre, ".")
	for i := 0; i < len(ap) && i < len(bp); i++ {
		if c := comparePart(ap[i], bp[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(ap) < len(bp):
		return -1
	case len(ap) > len(bp):
		return 1
	}
	return 0
}

func comparePart(a, b string) int {
	an, aerr := strconv.ParseUint(a, 10, 64)
	bn, berr := strconv.ParseUint(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		if an == bn {
			return 0
		}
		if an < bn {
			return -1
		}
		return 1
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// bound is one end of a range.
type bound struct {
	v         Version
	inclusive bool
	by        Constraint
}

// Range is the intersection of constraints; nil ends are unbounded.
type Range struct {
	lower, upper *bound
}

func (r Range) String() string {
	var parts []string
	if r.lower != nil && r.upper != nil && r.lower.inclusive && r.upper.inclusive && Compare(r.lower.v, r.upper.v) == 0 {
		return r.lower.v.String()
	}
	if r.lower != nil {
		op := ">"
		if r.lower.inclusive {
			op = ">="
		}
		parts = append(parts, op+r.lower.v.String())
	}
	if r.upper != nil {
		op := "<"
		if r.upper.inclusive {
			op = "<="
		}
		parts = append(parts, op+r.upper.v.String())
	}
	if len(parts) == 0 {
		return "any version"
	}
	return strings.Join(parts, ", ")
}

// ConflictError says that requirements on one package cannot all hold.
type ConflictError struct {
	A, B Constraint
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s (%s) and %s (%s) cannot both hold", e.A, e.A.From, e.B, e.B.From)
}

// Reduce intersects constraints into one range, or says which two conflict.
func Reduce(cs []Constraint) (Range, error) {
	var r Range
	for _, c := range cs {
		lo, hi := c.bounds()
		if lo != nil && (r.lower == nil || tighterLower(*lo, *r.lower)) {
			r.lower = lo
		}
		if hi != nil && (r.upper == nil || tighterUpper(*hi, *r.upper)) {
			r.upper = hi
		}
		if r.lower != nil && r.upper != nil {
			cmp := Compare(r.lower.v, r.upper.v)
			if cmp > 0 || (cmp == 0 && !(r.lower.inclusive && r.upper.inclusive)) {
				return Range{}, &ConflictError{A: r.lower.by, B: r.upper.by}
			}
		}
	}
	return r, nil
}

func (c Constraint) bounds() (lower, upper *bound) {
	switch c.Op {
	case "=":
		return &bound{c.V, true, c}, &bound{c.V, true, c}
	case ">":
		return &bound{c.V, false, c}, nil
	case ">=":
		return &bound{c.V, true, c}, nil
	case "<":
		return nil, &bound{c.V, false, c}
	default: // "<="
		return nil, &bound{c.V, true, c}
	}
}

func tighterLower(a, b bound) bool {
	c := Compare(a.v, b.v)
	return c > 0 || (c == 0 && !a.inclusive && b.inclusive)
}

func tighterUpper(a, b bound) bool {
	c := Compare(a.v, b.v)
	return c < 0 || (c == 0 && !a.inclusive && b.inclusive)
}

// Contains reports whether v is in the range.
func (r Range) Contains(v Version) bool {
	if r.lower != nil {
		c := Compare(v, r.lower.v)
		if c < 0 || (c == 0 && !r.lower.inclusive) {
			return false
		}
	}
	if r.upper != nil {
		c := Compare(v, r.upper.v)
		if c > 0 || (c == 0 && !r.upper.inclusive) {
			return false
		}
		// dbt: "<2.0.0" does not let 2.0.0's prereleases in.
		if !r.upper.inclusive && r.upper.v.Pre == "" && v.Pre != "" &&
			v.Major == r.upper.v.Major && v.Minor == r.upper.v.Minor && v.Patch == r.upper.v.Patch {
			return false
		}
	}
	return true
}

// sortVersions parses and sorts version strings, oldest first; strings that
// are not versions are dropped (the hub lists only semver releases).
func sortVersions(raw []string) []parsedVersion {
	out := make([]parsedVersion, 0, len(raw))
	for _, s := range raw {
		if v, err := ParseVersion(s); err == nil {
			out = append(out, parsedVersion{raw: s, v: v})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return Compare(out[i].v, out[j].v) < 0 })
	return out
}

type parsedVersion struct {
	raw string
	v   Version
}
