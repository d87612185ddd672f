package warehouse

import "strings"

// QuoteIdentANSI quotes an identifier the SQL-standard way both engines
// share: wrap in double quotes and double any double quote inside. NUL bytes
// are dropped because no engine accepts them in a name (callers validate
// names they create with ValidateIdentifier).
func QuoteIdentANSI(s string) string {
	s = strings.ReplaceAll(s, "\x00", "")
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
