package project

import (
	"regexp"
	"strings"
)

var (
	commentRE = regexp.MustCompile(`(?s)\{#.*?#\}`)
	tagRE     = regexp.MustCompile(`\{%-?\s*(\w+)([^%]*)%\}`)
)

var blockTags = map[string]bool{"if": true, "for": true, "macro": true, "call": true, "filter": true,
	"block": true, "with": true, "raw": true, "autoescape": true}

// unclosedBlock finds the block tag left open in a template, so an
// "unexpected end of template" error can point at the tag that needs its
// end tag instead of at the last line.
func unclosedBlock(src string) (line, col int, tag string, ok bool) {
	// Comments may mention tags; blank them but keep offsets.
	src = commentRE.ReplaceAllStringFunc(src, func(c string) string {
		return strings.Map(func(r rune) rune {
			if r == '\n' {
				return r
			}
			return ' '
		}, c)
	})
	type open struct {
		name   string
		offset int
	}
	var stack []open
	for _, m := range tagRE.FindAllStringSubmatchIndex(src, -1) {
		name := src[m[2]:m[3]]
		rest := src[m[4]:m[5]]
		switch {
		case blockTags[name]:
			stack = append(stack, open{name, m[0]})
		case name == "set" && !strings.Contains(rest, "="):
			stack = append(stack, open{name, m[0]}) // {% set x %}...{% endset %}
		case strings.HasPrefix(name, "end"):
			want := strings.TrimPrefix(name, "end")
			if len(stack) > 0 && stack[len(stack)-1].name == want {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return 0, 0, "", false
	}
	top := stack[len(stack)-1]
	line, col = position(src, top.offset)
	return line, col, top.name, true
}
