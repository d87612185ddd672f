// Package suggest measures how far a misspelt name is from the names that
// exist, for the "did you mean" hints of the compiler and `dataops deps`.
package suggest

// maxRunes bounds the work on names from input: beyond it two names are as
// far apart as the longer is long, which no hint uses.
const maxRunes = 128

// Distance is the Levenshtein distance of a and b in runes: the fewest
// insertions, deletions and substitutions that make one the other.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > maxRunes || len(rb) > maxRunes {
		return max(len(ra), len(rb))
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
