package jinja

import (
	"math/rand/v2"
	"strings"
)

// Jinja2's default globals: range (the sandbox's, capped at MAX_RANGE),
// dict, lipsum, cycler, joiner and namespace.

// MaxRange is the sandbox's MAX_RANGE: range() refuses longer ranges.
const MaxRange = 100000

var builtinGlobals = map[string]Value{
	"range":     &funcValue{name: "range", fn: globalRange},
	"dict":      &funcValue{name: "dict", fn: globalDict},
	"lipsum":    &funcValue{name: "lipsum", fn: globalLipsum},
	"cycler":    &funcValue{name: "cycler", fn: globalCycler},
	"joiner":    &funcValue{name: "joiner", fn: globalJoiner},
	"namespace": &funcValue{name: "namespace", fn: globalNamespace},
}

func globalRange(c *Call, a Args) (Value, error) {
	if len(a.Kw) > 0 {
		return nil, typeErrorf("range() takes no keyword arguments")
	}
	if len(a.Pos) == 0 || len(a.Pos) > 3 {
		return nil, typeErrorf("range expected at least 1 argument, got %d", len(a.Pos))
	}
	nums := make([]int64, len(a.Pos))
	for i, v := range a.Pos {
		kind, n, _, _ := number(v)
		if kind != 'i' {
			if kind == 'b' {
				return nil, newError(KindOverflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
			}
			if u, ok := v.(Undefined); ok {
				return nil, c.r.undefinedError(u)
			}
			return nil, typeErrorf("%s object cannot be interpreted as an integer", reprString(typeName(v)))
		}
		nums[i] = n
	}
	r := Range{Step: 1}
	switch len(nums) {
	case 1:
		r.Stop = nums[0]
	case 2:
		r.Start, r.Stop = nums[0], nums[1]
	default:
		r.Start, r.Stop, r.Step = nums[0], nums[1], nums[2]
		if r.Step == 0 {
			return nil, newError(KindValue, "range() arg 3 must not be zero")
		}
	}
	if r.Len() > MaxRange {
		return nil, newError(KindOverflow, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).")
	}
	return r, nil
}

func globalDict(c *Call, a Args) (Value, error) {
	if len(a.Pos) > 1 {
		return nil, typeErrorf("dict expected at most 1 argument, got %d", len(a.Pos))
	}
	d := &Dict{}
	if len(a.Pos) == 1 {
		if err := c.r.updateDict(d, a.Pos[0]); err != nil {
			return nil, err
		}
	}
	for _, kv := range a.Kw {
		_ = d.set(kv.Name, kv.Value)
	}
	return d, nil
}

func globalNamespace(c *Call, a Args) (Value, error) {
	d, err := globalDict(c, a)
	if err != nil {
		return nil, err
	}
	return &Namespace{attrs: d.(*Dict)}, nil
}

type cycler struct {
	items []Value
	pos   int
}

func (cy *cycler) attr(name string) (Value, bool) {
	switch name {
	case "items":
		return Tuple(cy.items), true
	case "current":
		return cy.items[cy.pos], true
	case "pos":
		return int64(cy.pos), true
	case "next", "__next__":
		return &funcValue{name: "next", fn: func(c *Call, a Args) (Value, error) {
			v := cy.items[cy.pos]
			cy.pos = (cy.pos + 1) % len(cy.items)
			return v, nil
		}}, true
	case "reset":
		return &funcValue{name: "reset", fn: func(c *Call, a Args) (Value, error) {
			cy.pos = 0
			return nil, nil
		}}, true
	}
	return nil, false
}

func globalCycler(c *Call, a Args) (Value, error) {
	if len(a.Kw) > 0 {
		return nil, typeErrorf("Cycler.__init__() got an unexpected keyword argument %s", reprString(a.Kw[0].Name))
	}
	if len(a.Pos) == 0 {
		return nil, newError("RuntimeError", "at least one item has to be provided")
	}
	return &cycler{items: append([]Value(nil), a.Pos...)}, nil
}

type joiner struct {
	sep  string
	used bool
}

// CallJinja makes joiner() callable.
func (j *joiner) CallJinja(c *Call, a Args) (Value, error) {
	if !j.used {
		j.used = true
		return "", nil
	}
	return j.sep, nil
}

func globalJoiner(c *Call, a Args) (Value, error) {
	p, err := a.Bind("Joiner", 0, "sep")
	if err != nil {
		return nil, err
	}
	sep := ", "
	if p[0] != Missing {
		sep = pyStr(p[0])
	}
	return &joiner{sep: sep}, nil
}

var loremWords = strings.Fields(`a ac accumsan ad adipiscing aenean aliquam aliquet amet ante aptent arcu at
auctor augue bibendum blandit class commodo condimentum congue consectetuer consequat conubia convallis cras
cubilia cum curabitur curae cursus dapibus diam dictum dictumst dignissim dis dolor donec dui duis egestas eget
eleifend elementum elit enim erat eros est et etiam eu euismod facilisi facilisis fames faucibus felis fermentum
feugiat fringilla fusce gravida habitant habitasse hac hendrerit hymenaeos iaculis id imperdiet in inceptos integer
interdum ipsum justo lacinia lacus laoreet lectus leo libero ligula litora lobortis lorem luctus maecenas magna
magnis malesuada massa mattis mauris metus mi molestie mollis montes morbi mus nam nascetur natoque nec neque
netus nibh nisi nisl non nonummy nostra nulla nullam nunc odio orci ornare parturient pede pellentesque penatibus
per pharetra phasellus placerat platea porta porttitor posuere potenti praesent pretium primis proin pulvinar purus
quam quis quisque rhoncus ridiculus risus rutrum sagittis sapien scelerisque sed sem semper senectus sit sociis
sociosqu sodales sollicitudin suscipit suspendisse taciti tellus tempor tempus tincidunt torquent tortor tristique
turpis ullamcorper ultrices ultricies urna ut varius vehicula vel velit venenatis vestibulum vitae vivamus viverra
volutpat vulputate`)

func globalLipsum(c *Call, a Args) (Value, error) {
	p, err := a.Bind("generate_lorem_ipsum", 0, "n", "html", "min", "max")
	if err != nil {
		return nil, err
	}
	arg := func(v Value, def int64) (int64, error) {
		if v == Missing {
			return def, nil
		}
		return argInt("lipsum", v)
	}
	n, err := arg(p[0], 5)
	if err != nil {
		return nil, err
	}
	lo, err := arg(p[2], 20)
	if err != nil {
		return nil, err
	}
	hi, err := arg(p[3], 100)
	if err != nil {
		return nil, err
	}
	if hi <= lo {
		return nil, errorf(KindValue, "empty range for randrange() (%d, %d, %d)", lo, hi, hi-lo)
	}
	if err := c.r.charge(max(n, 0) * hi * 12); err != nil {
		return nil, err
	}
	var paras []string
	for i := int64(0); i < n; i++ {
		capNext := true
		lastComma, lastStop := 0, 0
		last := ""
		var words []string
		count := int(lo + rand.Int64N(hi-lo))
		for idx := 0; idx < count; idx++ {
			w := loremWords[rand.IntN(len(loremWords))]
			for w == last {
				w = loremWords[rand.IntN(len(loremWords))]
			}
			last = w
			if capNext {
				w = strings.ToUpper(w[:1]) + w[1:]
				capNext = false
			}
			if idx-(3+rand.IntN(5)) > lastComma {
				lastComma = idx
				lastStop += 2
				w += ","
			}
			if idx-(10+rand.IntN(10)) > lastStop {
				lastComma, lastStop = idx, idx
				w += "."
				capNext = true
			}
			words = append(words, w)
		}
		s := strings.Join(words, " ")
		if strings.HasSuffix(s, ",") {
			s = s[:len(s)-1] + "."
		} else if !strings.HasSuffix(s, ".") {
			s += "."
		}
		paras = append(paras, s)
	}
	if p[1] != Missing && !truth(p[1]) {
		return strings.Join(paras, "\n\n"), nil
	}
	for i, s := range paras {
		paras[i] = "<p>" + string(escapeString(s)) + "</p>"
	}
	return Markup(strings.Join(paras, "\n")), nil
}
