package project

import "strings"

// lineMapFor tells, for each line of rendered SQL, the template line it came
// from (1-based; 0 when unknown). Text outside template tags is copied
// verbatim by the renderer, so a rendered line equal to a source line is
// that line. The first match at or after the current position wins, which
// follows the template top to bottom; a line not found ahead (a loop body's
// second pass) is matched anywhere without moving the position; a line
// that matches nothing (it held an expression) belongs to the next
// unmatched source line that has a template tag.
func lineMapFor(source, rendered string) []int {
	src := strings.Split(source, "\n")
	out := strings.Split(rendered, "\n")
	index := make(map[string][]int, len(src))
	for i, l := range src {
		if t := strings.TrimSpace(l); t != "" {
			index[t] = append(index[t], i)
		}
	}
	lineMap := make([]int, len(out))
	pos := 0 // next source line not yet passed
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
			matched := -1
			for _, h := range hits {
				if h >= pos {
					matched = h
					break
				}
			}
			if matched >= 0 {
				lineMap[i] = matched + 1
				pos = matched + 1
			} else {
				lineMap[i] = hits[len(hits)-1] + 1
			}
			continue
		}
		// An expression's output: attribute it to the next line holding a
		// template tag, skipping lines that only hold block tags.
		if j := nextWith(src, pos, "{{"); j >= 0 {
			lineMap[i] = j + 1
			pos = j + 1
		} else if j := nextWith(src, pos, "{%"); j >= 0 {
			lineMap[i] = j + 1
		} else if pos > 0 {
			lineMap[i] = pos
		}
	}
	return lineMap
}

func nextWith(src []string, from int, tag string) int {
	for j := from; j < len(src); j++ {
		if strings.Contains(src[j], tag) {
			return j
		}
	}
	return -1
}
