package web

import (
	"fmt"
	"html/template"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/report"
)

// The lineage of a run's changes, drawn as SVG here rather than by a
// script in the browser: the changed models and what is downstream of
// them, left to right by depth (each node one column right of its deepest
// parent), ordered within a column by where their parents are, so that
// edges cross less. Every node links to its model's section of the report
// (its diff, or its line in the plan).

// lineageView is the drawing and what it holds.
type lineageView struct {
	SVG   template.HTML
	Nodes int
	// TooBig says why there is no drawing.
	TooBig string
}

// Drawing sizes, in pixels.
const (
	boxW, boxH = 190, 26
	colGap     = 56
	rowH       = 34
	pad        = 12
	// maxLabel is how many characters of a name a box shows; the rest is
	// in its tooltip.
	maxLabel = 24
	// maxDrawnNodes bounds the picture; beyond it the plan's table is the
	// way to read the lineage.
	maxDrawnNodes = 3000
)

func drawLineage(g report.Graph, hasDiff map[string]bool) lineageView {
	n := len(g.Nodes)
	v := lineageView{Nodes: n}
	switch {
	case n == 0:
		return v
	case n > maxDrawnNodes:
		v.TooBig = fmt.Sprintf("%d nodes are too many to draw (the limit is %d); the plan lists every one.", n, maxDrawnNodes)
		return v
	}
	layer, order := layout(g)
	cols := 0
	rows := 0
	for _, l := range order {
		rows = max(rows, len(l))
	}
	cols = len(order)
	pos := make([]int, n)
	for _, l := range order {
		for i, id := range l {
			pos[id] = i
		}
	}
	x := func(i int) int { return pad + layer[i]*(boxW+colGap) }
	y := func(i int) int { return pad + pos[i]*rowH }
	width := pad*2 + cols*(boxW+colGap) - colGap
	height := pad*2 + rows*rowH - (rowH - boxH)

	var b strings.Builder
	b.Grow(n*260 + len(g.Edges)*90)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Lineage of the changed models">`,
		width, height, width, height)
	b.WriteString(`<g class="edges">`)
	for _, e := range g.Edges {
		p, c := e[0], e[1]
		if p < 0 || p >= n || c < 0 || c >= n {
			continue
		}
		x1, y1 := x(p)+boxW, y(p)+boxH/2
		x2, y2 := x(c), y(c)+boxH/2
		fmt.Fprintf(&b, `<path d="M%d %d C%d %d %d %d %d %d"/>`, x1, y1, x1+colGap/2, y1, x2-colGap/2, y2, x2, y2)
	}
	b.WriteString(`</g>`)
	for i, node := range g.Nodes {
		target := anchor("change", node.Name)
		if hasDiff[node.Name] {
			target = anchor("model", node.Name)
		}
		class := "node n-" + string(node.Status)
		what := string(node.Status)
		if node.Breaking {
			class += " n-breaking"
			what += ", breaking"
		}
		label := node.Name
		if r := []rune(label); len(r) > maxLabel {
			label = string(r[:maxLabel-1]) + "…"
		}
		fmt.Fprintf(&b, `<a href="#%s" class="%s" data-node="%s"><title>%s (%s)</title><rect x="%d" y="%d" width="%d" height="%d" rx="5"/><text x="%d" y="%d">%s</text></a>`,
			target, class, template.HTMLEscapeString(node.Name), template.HTMLEscapeString(node.Name), what,
			x(i), y(i), boxW, boxH, x(i)+8, y(i)+boxH/2+4, template.HTMLEscapeString(label))
	}
	b.WriteString(`</svg>`)
	v.SVG = template.HTML(b.String())
	return v
}

// layout gives each node its column (the longest path to it from a node
// without parents) and each column its order.
func layout(g report.Graph) (layer []int, order [][]int) {
	n := len(g.Nodes)
	layer = make([]int, n)
	parents := make([][]int, n)
	children := make([][]int, n)
	indegree := make([]int, n)
	for _, e := range g.Edges {
		p, c := e[0], e[1]
		if p < 0 || p >= n || c < 0 || c >= n || p == c {
			continue
		}
		parents[c] = append(parents[c], p)
		children[p] = append(children[p], c)
		indegree[c]++
	}
	// Kahn's order; a node on a cycle (which a manifest cannot have)
	// stays in column 0 rather than hanging the page.
	queue := make([]int, 0, n)
	for i := range n {
		if indegree[i] == 0 {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			layer[c] = max(layer[c], layer[p]+1)
			if indegree[c]--; indegree[c] == 0 {
				queue = append(queue, c)
			}
		}
	}
	cols := 0
	for _, l := range layer {
		cols = max(cols, l+1)
	}
	order = make([][]int, cols)
	for i := range n {
		order[layer[i]] = append(order[layer[i]], i)
	}
	// Within a column, nodes go where their parents are, on average.
	pos := make([]float64, n)
	for c := range order {
		for _, i := range order[c] {
			if len(parents[i]) == 0 {
				pos[i] = float64(i)
				continue
			}
			sum := 0.0
			for _, p := range parents[i] {
				sum += pos[p]
			}
			pos[i] = sum / float64(len(parents[i]))
		}
		sort.SliceStable(order[c], func(a, b int) bool { return pos[order[c][a]] < pos[order[c][b]] })
		for k, i := range order[c] {
			pos[i] = float64(k)
		}
	}
	return layer, order
}
