package plan

import "strings"

// normalize reduces SQL (or a template of it) to what decides its meaning:
// comments (--, /* */, {# #}) are dropped and whitespace is collapsed, to
// one space between words and none next to punctuation, while string
// literals and quoted identifiers are kept exactly. Two sources with the
// same normal form differ only cosmetically.
func normalize(sql string) string {
	var b strings.Builder
	b.Grow(len(sql))
	pendingSpace := false
	last := byte(0)
	emit := func(s string) {
		if pendingSpace && b.Len() > 0 && (isWord(last) && isWord(s[0]) || joinsComment(last, s[0])) {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteString(s)
		last = s[len(s)-1]
	}
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			pendingSpace = true
			i++
		case strings.HasPrefix(sql[i:], "--"):
			end := strings.IndexByte(sql[i:], '\n')
			if end < 0 {
				end = len(sql) - i
			}
			pendingSpace = true
			i += end
		case strings.HasPrefix(sql[i:], "/*"), strings.HasPrefix(sql[i:], "{#"):
			closer := "*/"
			if sql[i+1] == '#' {
				closer = "#}"
			}
			end := strings.Index(sql[i+2:], closer)
			if end < 0 {
				i = len(sql)
			} else {
				i += 2 + end + 2
			}
			pendingSpace = true
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(sql) {
				j = len(sql) - 1
			}
			emit(sql[i : j+1])
			i = j + 1
		default:
			j := i + 1
			if isWord(c) {
				for j < len(sql) && isWord(sql[j]) {
					j++
				}
			}
			emit(strings.ToLower(sql[i:j]))
			i = j
		}
	}
	return b.String()
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// joinsComment reports whether two characters side by side would open or
// close a comment, as "a - -1" would if its space were dropped.
func joinsComment(a, b byte) bool {
	switch string([]byte{a, b}) {
	case "--", "/*", "*/", "{#", "#}":
		return true
	}
	return false
}
