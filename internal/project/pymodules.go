package project

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/dataops-dev/dataops/internal/jinja"
)

// pyModules is dbt's modules: the parts of Python's datetime, re and
// itertools (and pytz's UTC) that dbt projects use, with Python's
// semantics.
func pyModules() jinja.Value {
	return attrs{
		"datetime":  datetimeModule(),
		"re":        reModule(),
		"itertools": itertoolsModule(),
		"pytz":      attrs{"utc": utcZone{}, "UTC": utcZone{}, "timezone": method(pytzTimezone)},
	}
}

// attrs is an object made of named values.
type attrs map[string]jinja.Value

func (a attrs) Attr(name string) (jinja.Value, bool) {
	v, ok := a[name]
	return v, ok
}

func method(f fn) jinja.Value { return jinja.Func(f) }

type utcZone struct{}

func (utcZone) Attr(name string) (jinja.Value, bool) {
	if name == "zone" {
		return "UTC", true
	}
	return nil, false
}
func (utcZone) String() string { return "UTC" }

func pytzTimezone(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	if len(a.Pos) == 0 {
		return nil, fmt.Errorf("timezone() takes a name")
	}
	name := jinja.Str(a.Pos[0])
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("UnknownTimeZoneError: %q", name)
	}
	return zoneValue{loc}, nil
}

type zoneValue struct{ loc *time.Location }

func (z zoneValue) Attr(name string) (jinja.Value, bool) {
	if name == "zone" {
		return z.loc.String(), true
	}
	return nil, false
}
func (z zoneValue) String() string { return z.loc.String() }

// datetimeValue is a datetime.datetime (or a date, when date is set).
type datetimeValue struct {
	t     time.Time
	date  bool
	aware bool
}

func newDatetime(t time.Time) *datetimeValue {
	if t.IsZero() {
		t = time.Now()
	}
	return &datetimeValue{t: t.UTC(), aware: true}
}

func (d *datetimeValue) String() string {
	if d.date {
		return d.t.Format("2006-01-02")
	}
	s := d.t.Format("2006-01-02 15:04:05")
	if us := d.t.Nanosecond() / 1000; us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	if d.aware {
		s += d.t.Format("-07:00")
	}
	return s
}

func (d *datetimeValue) Attr(name string) (jinja.Value, bool) {
	t := d.t
	switch name {
	case "year":
		return int64(t.Year()), true
	case "month":
		return int64(t.Month()), true
	case "day":
		return int64(t.Day()), true
	case "hour":
		return int64(t.Hour()), true
	case "minute":
		return int64(t.Minute()), true
	case "second":
		return int64(t.Second()), true
	case "microsecond":
		return int64(t.Nanosecond() / 1000), true
	case "tzinfo":
		if d.aware {
			return utcZone{}, true
		}
		return nil, true
	case "strftime":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("strftime", 1, "format")
			if err != nil {
				return nil, err
			}
			return strftime(t, jinja.Str(p[0])), nil
		}), true
	case "isoformat":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			sep := "T"
			if len(a.Pos) > 0 {
				sep = jinja.Str(a.Pos[0])
			}
			return strings.Replace(d.String(), " ", sep, 1), nil
		}), true
	case "date":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			return &datetimeValue{t: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), date: true}, nil
		}), true
	case "timestamp":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			return float64(t.UnixNano()) / 1e9, nil
		}), true
	case "weekday":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			return int64((int(t.Weekday()) + 6) % 7), nil
		}), true
	case "isoweekday":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			return int64((int(t.Weekday())+6)%7 + 1), nil
		}), true
	case "replace":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			y, mo, dd := t.Date()
			h, mi, s := t.Clock()
			ns := t.Nanosecond()
			aware := d.aware
			for _, kv := range a.Kw {
				n, _ := kv.Value.(int64)
				switch kv.Name {
				case "year":
					y = int(n)
				case "month":
					mo = time.Month(n)
				case "day":
					dd = int(n)
				case "hour":
					h = int(n)
				case "minute":
					mi = int(n)
				case "second":
					s = int(n)
				case "microsecond":
					ns = int(n) * 1000
				case "tzinfo":
					aware = kv.Value != nil
				}
			}
			return &datetimeValue{t: time.Date(y, mo, dd, h, mi, s, ns, time.UTC), date: d.date, aware: aware}, nil
		}), true
	case "astimezone":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) > 0 {
				if z, ok := a.Pos[0].(zoneValue); ok {
					return &datetimeValue{t: t.In(z.loc), aware: true}, nil
				}
			}
			return &datetimeValue{t: t, aware: true}, nil
		}), true
	}
	return nil, false
}

// strftime formats t with Python's directives.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%02d", h)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'f':
			fmt.Fprintf(&b, "%06d", t.Nanosecond()/1000)
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday()))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

// strptime parses s with Python's directives.
func strptime(s, format string) (time.Time, error) {
	layout := strings.NewReplacer("%Y", "2006", "%y", "06", "%m", "01", "%d", "02", "%H", "15", "%I", "03",
		"%M", "04", "%S", "05", "%f", "000000", "%p", "PM", "%b", "Jan", "%B", "January", "%a", "Mon",
		"%A", "Monday", "%z", "-0700", "%Z", "MST", "%j", "002", "%%", "%").Replace(format)
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("ValueError: time data %q does not match format %q", s, format)
	}
	return t, nil
}

// timedeltaValue is a datetime.timedelta.
type timedeltaValue struct{ d time.Duration }

const day = 24 * time.Hour

// split is Python's normalised timedelta: whole days (floored, so
// negative durations have negative days), then the non-negative rest.
func (td timedeltaValue) split() (days int64, rest time.Duration) {
	days = int64(td.d / day)
	rest = td.d % day
	if rest < 0 {
		days--
		rest += day
	}
	return days, rest
}

func (td timedeltaValue) Attr(name string) (jinja.Value, bool) {
	days, rest := td.split()
	switch name {
	case "days":
		return days, true
	case "seconds":
		return int64(rest / time.Second), true
	case "microseconds":
		return int64(rest % time.Second / time.Microsecond), true
	case "total_seconds":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) { return td.d.Seconds(), nil }), true
	}
	return nil, false
}

func (td timedeltaValue) String() string {
	days, rest := td.split()
	s := fmt.Sprintf("%d:%02d:%02d", int64(rest/time.Hour), int64(rest%time.Hour/time.Minute), int64(rest%time.Minute/time.Second))
	if us := int64(rest % time.Second / time.Microsecond); us != 0 {
		s += fmt.Sprintf(".%06d", us)
	}
	if days != 0 {
		unit := "days"
		if days == 1 || days == -1 {
			unit = "day"
		}
		s = fmt.Sprintf("%d %s, %s", days, unit, s)
	}
	return s
}

func (td timedeltaValue) TypeName() string { return "datetime.timedelta" }

func (td timedeltaValue) Equal(other jinja.Value) bool {
	o, ok := other.(timedeltaValue)
	return ok && o.d == td.d
}

// maxDuration bounds what a time.Duration holds (about 292 years); Python's
// timedelta goes further, but no template needs it.
const maxDuration = float64(1<<63-1) / float64(time.Second)

func durationOf(seconds float64) (timedeltaValue, error) {
	if seconds > maxDuration || seconds < -maxDuration || seconds != seconds {
		return timedeltaValue{}, fmt.Errorf("OverflowError: a timedelta of more than 292 years is not supported")
	}
	return timedeltaValue{time.Duration(seconds * float64(time.Second))}, nil
}

// BinaryOp is timedelta's arithmetic: with another timedelta (+, -, /,
// //), and scaled by a number (*, /, //). A date or datetime on the other
// side answers for itself.
func (td timedeltaValue) BinaryOp(op string, other jinja.Value, reflected bool) (jinja.Value, bool, error) {
	if o, ok := other.(timedeltaValue); ok {
		a, b := td.d, o.d
		if reflected {
			a, b = b, a
		}
		switch op {
		case "add":
			return timedeltaValue{a + b}, true, nil
		case "sub":
			return timedeltaValue{a - b}, true, nil
		case "div", "floordiv", "mod":
			if b == 0 {
				return nil, true, fmt.Errorf("ZeroDivisionError: integer division or modulo by zero")
			}
			switch op {
			case "div":
				return float64(a) / float64(b), true, nil
			case "floordiv":
				q := int64(a / b)
				if (a%b != 0) && ((a < 0) != (b < 0)) {
					q--
				}
				return q, true, nil
			}
			m := a % b
			if m != 0 && (m < 0) != (b < 0) {
				m += b
			}
			return timedeltaValue{m}, true, nil
		}
		return nil, false, nil
	}
	var n float64
	switch x := other.(type) {
	case int64:
		n = float64(x)
	case float64:
		n = x
	case bool:
		if x {
			n = 1
		}
	default:
		return nil, false, nil
	}
	switch {
	case op == "mul":
		v, err := durationOf(td.d.Seconds() * n)
		return v, true, err
	case (op == "div" || op == "floordiv") && !reflected:
		if n == 0 {
			// Python divides a timedelta through integers, a float too.
			return nil, true, fmt.Errorf("ZeroDivisionError: integer division or modulo by zero")
		}
		q := td.d.Seconds() / n
		if op == "floordiv" {
			q = math.Floor(q*1e6) / 1e6
		}
		v, err := durationOf(q)
		return v, true, err
	}
	return nil, false, nil
}

func (td timedeltaValue) Compare(other jinja.Value) (int, bool) {
	o, ok := other.(timedeltaValue)
	if !ok {
		return 0, false
	}
	return cmp.Compare(td.d, o.d), true
}

func (td timedeltaValue) Negate() (jinja.Value, bool) { return timedeltaValue{-td.d}, true }

func (d *datetimeValue) TypeName() string {
	if d.date {
		return "datetime.date"
	}
	return "datetime.datetime"
}

// same reports whether two values are both dates or both datetimes: Python
// neither subtracts nor orders a date and a datetime.
func (d *datetimeValue) same(other jinja.Value) (*datetimeValue, bool) {
	o, ok := other.(*datetimeValue)
	return o, ok && o.date == d.date
}

func (d *datetimeValue) Equal(other jinja.Value) bool {
	o, ok := d.same(other)
	return ok && o.aware == d.aware && o.t.Equal(d.t)
}

// BinaryOp is date and datetime arithmetic: plus or minus a timedelta (a
// date moves by whole days), and the timedelta between two of a kind.
func (d *datetimeValue) BinaryOp(op string, other jinja.Value, reflected bool) (jinja.Value, bool, error) {
	if td, ok := other.(timedeltaValue); ok && (op == "add" || (op == "sub" && !reflected)) {
		delta := td.d
		if op == "sub" {
			delta = -delta
		}
		t := d.t
		if d.date {
			days, _ := timedeltaValue{delta}.split()
			t = t.AddDate(0, 0, int(days))
		} else {
			t = t.Add(delta)
		}
		if t.Year() < 1 || t.Year() > 9999 {
			return nil, true, fmt.Errorf("OverflowError: date value out of range")
		}
		return &datetimeValue{t: t, date: d.date, aware: d.aware}, true, nil
	}
	if o, ok := d.same(other); ok && op == "sub" {
		if o.aware != d.aware {
			return nil, true, fmt.Errorf("TypeError: can't subtract offset-naive and offset-aware datetimes")
		}
		a, b := d.t, o.t
		if reflected {
			a, b = b, a
		}
		return timedeltaValue{a.Sub(b)}, true, nil
	}
	return nil, false, nil
}

func (d *datetimeValue) Compare(other jinja.Value) (int, bool) {
	o, ok := d.same(other)
	if !ok || o.aware != d.aware {
		return 0, false
	}
	return d.t.Compare(o.t), true
}

func (d *datetimeValue) Negate() (jinja.Value, bool) { return nil, false }

func datetimeModule() jinja.Value {
	number := func(v jinja.Value) float64 {
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		}
		return 0
	}
	datetimeClass := attrs{
		"now": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			return &datetimeValue{t: time.Now().UTC(), aware: len(a.Pos) > 0 && a.Pos[0] != nil}, nil
		}),
		"utcnow": method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			return &datetimeValue{t: time.Now().UTC()}, nil
		}),
		"strptime": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("strptime", 2, "date_string", "format")
			if err != nil {
				return nil, err
			}
			t, err := strptime(jinja.Str(p[0]), jinja.Str(p[1]))
			if err != nil {
				return nil, err
			}
			return &datetimeValue{t: t}, nil
		}),
		"today": method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			now := time.Now().UTC()
			return &datetimeValue{t: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), date: true}, nil
		}),
		"fromisoformat": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return nil, fmt.Errorf("fromisoformat() takes a string")
			}
			s := jinja.Str(a.Pos[0])
			for _, layout := range []string{"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
				if t, err := time.Parse(layout, s); err == nil {
					return &datetimeValue{t: t}, nil
				}
			}
			return nil, fmt.Errorf("ValueError: Invalid isoformat string: %q", s)
		}),
	}
	construct := func(date bool) jinja.Value {
		return callableAttrs{attrs: datetimeClass, call: func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			parts := []int{1, 1, 1, 0, 0, 0, 0}
			for i, p := range a.Pos {
				if i < len(parts) {
					parts[i] = int(number(p))
				}
			}
			names := []string{"year", "month", "day", "hour", "minute", "second", "microsecond"}
			for _, kv := range a.Kw {
				for i, n := range names {
					if kv.Name == n {
						parts[i] = int(number(kv.Value))
					}
				}
			}
			t := time.Date(parts[0], time.Month(parts[1]), parts[2], parts[3], parts[4], parts[5], parts[6]*1000, time.UTC)
			return &datetimeValue{t: t, date: date}, nil
		}}
	}
	return attrs{
		"datetime": construct(false),
		"date":     construct(true),
		"timedelta": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			var d float64
			units := map[string]float64{"days": 86400, "seconds": 1, "microseconds": 1e-6, "milliseconds": 1e-3,
				"minutes": 60, "hours": 3600, "weeks": 604800}
			order := []string{"days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"}
			for i, p := range a.Pos {
				if i < len(order) {
					d += number(p) * units[order[i]]
				}
			}
			for _, kv := range a.Kw {
				unit, ok := units[kv.Name]
				if !ok {
					return nil, fmt.Errorf("TypeError: %q is an invalid keyword argument for timedelta()", kv.Name)
				}
				d += number(kv.Value) * unit
			}
			return durationOf(d)
		}),
		"timezone": attrs{"utc": utcZone{}},
		"MINYEAR":  int64(1),
		"MAXYEAR":  int64(9999),
	}
}

// callableAttrs is a class: callable, with attributes.
type callableAttrs struct {
	attrs
	call fn
}

func (c callableAttrs) CallJinja(call *jinja.Call, a jinja.Args) (jinja.Value, error) {
	return c.call(call, a)
}

// reModule is Python's re, on Go's regexp (RE2: no backreferences or
// lookaround, which dbt projects do not use in practice).
func reModule() jinja.Value {
	flagged := func(pattern string, flags int64) (*regexp.Regexp, error) {
		prefix := ""
		if flags&2 != 0 {
			prefix += "i"
		}
		if flags&8 != 0 {
			prefix += "m"
		}
		if flags&16 != 0 {
			prefix += "s"
		}
		if prefix != "" {
			pattern = "(?" + prefix + ")" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return nil, fmt.Errorf("re.error: %v", err)
		}
		return re, nil
	}
	compile := func(a jinja.Args, name string, extra ...string) (*regexp.Regexp, []jinja.Value, error) {
		names := append([]string{"pattern"}, extra...)
		names = append(names, "flags")
		p, err := a.Bind(name, len(extra)+1, names...)
		if err != nil {
			return nil, nil, err
		}
		var flags int64
		if f, ok := p[len(p)-1].(int64); ok {
			flags = f
		}
		if re, ok := p[0].(*regexValue); ok {
			return re.re, p[1 : len(p)-1], nil
		}
		re, err := flagged(jinja.Str(p[0]), flags)
		return re, p[1 : len(p)-1], err
	}
	m := attrs{"IGNORECASE": int64(2), "I": int64(2), "MULTILINE": int64(8), "M": int64(8), "DOTALL": int64(16), "S": int64(16)}
	m["compile"] = method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		re, _, err := compile(a, "compile")
		if err != nil {
			return nil, err
		}
		return &regexValue{re: re}, nil
	})
	for _, name := range []string{"match", "search", "fullmatch", "findall", "sub", "split"} {
		name := name
		m[name] = method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			var extra []string
			switch name {
			case "sub":
				extra = []string{"repl", "string"}
			default:
				extra = []string{"string"}
			}
			re, rest, err := compile(a, name, extra...)
			if err != nil {
				return nil, err
			}
			return (&regexValue{re: re}).apply(name, rest)
		})
	}
	m["escape"] = method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
		if len(a.Pos) == 0 {
			return "", nil
		}
		return regexp.QuoteMeta(jinja.Str(a.Pos[0])), nil
	})
	return m
}

type regexValue struct{ re *regexp.Regexp }

func (r *regexValue) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "match", "search", "fullmatch", "findall", "sub", "split":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) { return r.apply(name, a.Pos) }), true
	case "pattern":
		return r.re.String(), true
	}
	return nil, false
}

func (r *regexValue) apply(name string, args []jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s() missing its string", name)
	}
	switch name {
	case "sub":
		if len(args) < 2 {
			return nil, fmt.Errorf("sub() takes a replacement and a string")
		}
		repl := pythonReplacement(jinja.Str(args[0]))
		return r.re.ReplaceAllString(jinja.Str(args[1]), repl), nil
	}
	s := jinja.Str(args[0])
	switch name {
	case "match", "fullmatch":
		loc := r.re.FindStringSubmatchIndex(s)
		if loc == nil || loc[0] != 0 || (name == "fullmatch" && loc[1] != len(s)) {
			return nil, nil
		}
		return &matchValue{s: s, loc: loc, re: r.re}, nil
	case "search":
		loc := r.re.FindStringSubmatchIndex(s)
		if loc == nil {
			return nil, nil
		}
		return &matchValue{s: s, loc: loc, re: r.re}, nil
	case "findall":
		var out []jinja.Value
		for _, m := range r.re.FindAllStringSubmatch(s, -1) {
			switch len(m) {
			case 1:
				out = append(out, m[0])
			case 2:
				out = append(out, m[1])
			default:
				t := make(jinja.Tuple, len(m)-1)
				for i := range t {
					t[i] = m[i+1]
				}
				out = append(out, t)
			}
		}
		return jinja.NewList(out...), nil
	case "split":
		var out []jinja.Value
		for _, p := range r.re.Split(s, -1) {
			out = append(out, p)
		}
		return jinja.NewList(out...), nil
	}
	return nil, nil
}

// pythonReplacement turns re.sub's \1 and \g<name> into Go's ${1}.
var pyGroupRE = regexp.MustCompile(`\\(\d+)|\\g<(\w+)>`)

func pythonReplacement(repl string) string {
	repl = strings.ReplaceAll(repl, "$", "$$")
	return pyGroupRE.ReplaceAllStringFunc(repl, func(m string) string {
		sub := pyGroupRE.FindStringSubmatch(m)
		if sub[1] != "" {
			return "${" + sub[1] + "}"
		}
		return "${" + sub[2] + "}"
	})
}

// matchValue is a re.Match.
type matchValue struct {
	s   string
	loc []int
	re  *regexp.Regexp
}

func (m *matchValue) Truth() bool { return true }

func (m *matchValue) group(i int) jinja.Value {
	if 2*i+1 >= len(m.loc) || m.loc[2*i] < 0 {
		return nil
	}
	return m.s[m.loc[2*i]:m.loc[2*i+1]]
}

func (m *matchValue) Attr(name string) (jinja.Value, bool) {
	switch name {
	case "group":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return m.group(0), nil
			}
			var out jinja.Tuple
			for _, p := range a.Pos {
				i, ok := p.(int64)
				if !ok {
					i = int64(m.re.SubexpIndex(jinja.Str(p)))
				}
				out = append(out, m.group(int(i)))
			}
			if len(out) == 1 {
				return out[0], nil
			}
			return out, nil
		}), true
	case "groups":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			out := jinja.Tuple{}
			for i := 1; i < len(m.loc)/2; i++ {
				out = append(out, m.group(i))
			}
			return out, nil
		}), true
	case "start", "end":
		return method(func(*jinja.Call, jinja.Args) (jinja.Value, error) {
			if name == "start" {
				return int64(m.loc[0]), nil
			}
			return int64(m.loc[1]), nil
		}), true
	}
	return nil, false
}

func itertoolsModule() jinja.Value {
	return attrs{
		"chain": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			var out []jinja.Value
			for _, p := range a.Pos {
				items, err := values(p)
				if err != nil {
					return nil, err
				}
				out = append(out, items...)
			}
			return jinja.NewList(out...), nil
		}),
		"product": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			out := [][]jinja.Value{{}}
			for _, p := range a.Pos {
				items, err := values(p)
				if err != nil {
					return nil, err
				}
				var next [][]jinja.Value
				for _, prefix := range out {
					for _, it := range items {
						next = append(next, append(append([]jinja.Value(nil), prefix...), it))
					}
				}
				out = next
			}
			list := make([]jinja.Value, len(out))
			for i, t := range out {
				list[i] = jinja.Tuple(t)
			}
			return jinja.NewList(list...), nil
		}),
		"combinations": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			p, err := a.Bind("combinations", 2, "iterable", "r")
			if err != nil {
				return nil, err
			}
			items, err := values(p[0])
			if err != nil {
				return nil, err
			}
			k, _ := p[1].(int64)
			var out []jinja.Value
			var pick func(start int, cur []jinja.Value)
			pick = func(start int, cur []jinja.Value) {
				if len(cur) == int(k) {
					out = append(out, jinja.Tuple(append([]jinja.Value(nil), cur...)))
					return
				}
				for i := start; i < len(items); i++ {
					pick(i+1, append(cur, items[i]))
				}
			}
			if k >= 0 && int(k) <= len(items) {
				pick(0, nil)
			}
			return jinja.NewList(out...), nil
		}),
		"islice": method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) < 2 {
				return nil, fmt.Errorf("islice() takes an iterable and a stop")
			}
			items, err := values(a.Pos[0])
			if err != nil {
				return nil, err
			}
			start, stop := int64(0), int64(len(items))
			if len(a.Pos) == 2 {
				if s, ok := a.Pos[1].(int64); ok {
					stop = s
				}
			} else {
				if s, ok := a.Pos[1].(int64); ok {
					start = s
				}
				if s, ok := a.Pos[2].(int64); ok {
					stop = s
				}
			}
			stop = min(stop, int64(len(items)))
			if start > stop {
				start = stop
			}
			return jinja.NewList(items[start:stop]...), nil
		}),
	}
}

// setValue is Python's set, keeping insertion order so output is stable.
type setValue struct{ items []jinja.Value }

func newSet(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
	s := &setValue{}
	if len(a.Pos) > 0 {
		items, err := values(a.Pos[0])
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			s.add(it)
		}
	}
	return s, nil
}

func (s *setValue) has(v jinja.Value) bool {
	for _, it := range s.items {
		if jinja.Repr(it) == jinja.Repr(v) {
			return true
		}
	}
	return false
}

func (s *setValue) add(v jinja.Value) {
	if !s.has(v) {
		s.items = append(s.items, v)
	}
}

func (s *setValue) Iter() ([]jinja.Value, error) { return append([]jinja.Value(nil), s.items...), nil }
func (s *setValue) Len() int                     { return len(s.items) }
func (s *setValue) Truth() bool                  { return len(s.items) > 0 }
func (s *setValue) String() string {
	if len(s.items) == 0 {
		return "set()"
	}
	parts := make([]string, len(s.items))
	for i, it := range s.items {
		parts[i] = jinja.Repr(it)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
func (s *setValue) Repr() string { return s.String() }

func (s *setValue) Attr(name string) (jinja.Value, bool) {
	other := func(a jinja.Args) (*setValue, error) {
		o := &setValue{}
		for _, p := range a.Pos {
			items, err := values(p)
			if err != nil {
				return nil, err
			}
			for _, it := range items {
				o.add(it)
			}
		}
		return o, nil
	}
	switch name {
	case "add":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) > 0 {
				s.add(a.Pos[0])
			}
			return nil, nil
		}), true
	case "update":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			o, err := other(a)
			if err != nil {
				return nil, err
			}
			for _, it := range o.items {
				s.add(it)
			}
			return nil, nil
		}), true
	case "union", "intersection", "difference", "symmetric_difference", "issubset", "issuperset":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			o, err := other(a)
			if err != nil {
				return nil, err
			}
			out := &setValue{}
			switch name {
			case "union":
				for _, it := range append(append([]jinja.Value(nil), s.items...), o.items...) {
					out.add(it)
				}
			case "intersection":
				for _, it := range s.items {
					if o.has(it) {
						out.add(it)
					}
				}
			case "difference":
				for _, it := range s.items {
					if !o.has(it) {
						out.add(it)
					}
				}
			case "symmetric_difference":
				for _, it := range s.items {
					if !o.has(it) {
						out.add(it)
					}
				}
				for _, it := range o.items {
					if !s.has(it) {
						out.add(it)
					}
				}
			case "issubset", "issuperset":
				a, b := s, o
				if name == "issuperset" {
					a, b = o, s
				}
				for _, it := range a.items {
					if !b.has(it) {
						return false, nil
					}
				}
				return true, nil
			}
			return out, nil
		}), true
	case "remove", "discard":
		return method(func(c *jinja.Call, a jinja.Args) (jinja.Value, error) {
			if len(a.Pos) == 0 {
				return nil, nil
			}
			for i, it := range s.items {
				if jinja.Repr(it) == jinja.Repr(a.Pos[0]) {
					s.items = append(s.items[:i], s.items[i+1:]...)
					return nil, nil
				}
			}
			if name == "remove" {
				return nil, fmt.Errorf("KeyError: %s", jinja.Repr(a.Pos[0]))
			}
			return nil, nil
		}), true
	}
	return nil, false
}
