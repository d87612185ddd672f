package project

import "strings"

// lineMapFor tells, for each line of rendered SQL, the template line it came
// from (1-based; 0 when unknown). Text outside template tags is copied
// verbatim by the renderer, so:
//   - a rendered line equal to a source line is that line: the first match
//     at or after the current position (following the template top to
//     bottom), else any match (a loop body's later passes);
//   - a line holding an expression's output matches the literal text around
//     the tags of its source line (its skeleton), looked for the same way;
//   - anything else continues a multi-line expansion (a macro's output) and
//     belongs to the line the previous output came from, or starts one at
//     the next line with an expression.
func lineMapFor(source, rendered string) []int {
	src := strings.Split(source, "\n")
	out := strings.Split(rendered, "\n")
	index := make(map[string][]int, len(src))
	var skeletons []skeleton
	for i, l := range src {
		if t := strings.TrimSpace(l); t != "" {
			index[t] = append(index[t], i)
		}
		if strings.Contains(l, "{{") {
			if sk, ok := skeletonOf(l); ok {
				sk.line = i
				skeletons = append(skeletons, sk)
			}
		}
	}
	lineMap := make([]int, len(out))
	pos := 0        // next source line not yet passed
	expanding := -1 // source line of a multi-line expansion in progress
	for i, l := range out {
		t := strings.TrimSpace(l)
		if t == "" {
			if pos < len(src) && strings.TrimSpace(src[pos]) == "" {
				lineMap[i] = pos + 1
				pos++
			}
			continue
		}
		if hits, ok := index[t]; ok {
			lineMap[i], pos = pick(hits, pos)
			expanding = -1
			continue
		}
		var hits []int
		for _, sk := range skeletons {
			if sk.matches(l) {
				hits = append(hits, sk.line)
			}
		}
		if len(hits) > 0 {
			lineMap[i], pos = pick(hits, pos)
			expanding = lineMap[i] - 1
			continue
		}
		if expanding >= 0 {
			lineMap[i] = expanding + 1
			continue
		}
		if j := nextWith(src, pos, "{{"); j >= 0 {
			lineMap[i] = j + 1
			pos = j + 1
			expanding = j
		} else if pos > 0 {
			lineMap[i] = pos
		}
	}
	return lineMap
}

// pick chooses the first candidate at or after pos, moving pos past it, or
// else the last candidate before pos, leaving pos alone.
func pick(hits []int, pos int) (line, newPos int) {
	for _, h := range hits {
		if h >= pos {
			return h + 1, h + 1
		}
	}
	return hits[len(hits)-1] + 1, pos
}

// skeleton is the literal text of a source line around its {{ }} tags.
type skeleton struct {
	line  int
	parts []string
}

func skeletonOf(line string) (skeleton, bool) {
	var parts []string
	rest := line
	for {
		open := strings.Index(rest, "{{")
		if open < 0 {
			parts = append(parts, rest)
			break
		}
		parts = append(parts, rest[:open])
		end := strings.Index(rest[open:], "}}")
		if end < 0 {
			return skeleton{}, false
		}
		rest = rest[open+end+2:]
	}
	if strings.Contains(strings.Join(parts, ""), "{%") {
		return skeleton{}, false
	}
	literal := strings.TrimSpace(strings.Join(parts, ""))
	// A line that is nothing but an expression would match anything.
	if literal == "" {
		return skeleton{}, false
	}
	return skeleton{parts: parts}, true
}

func (s skeleton) matches(line string) bool {
	first, last := s.parts[0], s.parts[len(s.parts)-1]
	if !strings.HasPrefix(line, first) || !strings.HasSuffix(line, last) || len(line) < len(first)+len(last) {
		return false
	}
	middle := line[len(first) : len(line)-len(last)]
	for _, p := range s.parts[1 : len(s.parts)-1] {
		k := strings.Index(middle, p)
		if k < 0 {
			return false
		}
		middle = middle[k+len(p):]
	}
	return true
}

func nextWith(src []string, from int, tag string) int {
	for j := from; j < len(src); j++ {
		if strings.Contains(src[j], tag) {
			return j
		}
	}
	return -1
}
