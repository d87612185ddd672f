package web

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/dataops-dev/dataops/internal/report"
)

func graph(names []string, edges ...[2]int) report.Graph {
	g := report.Graph{Edges: edges}
	for _, n := range names {
		g.Nodes = append(g.Nodes, report.GraphNode{ID: "model.p." + n, Name: n, Status: "impacted"})
	}
	return g
}

// TestLayout: a node sits one column right of its deepest parent; within
// a column nodes follow their parents; a cycle (which a manifest cannot
// have) does not hang.
func TestLayout(t *testing.T) {
	for _, c := range []struct {
		name   string
		g      report.Graph
		layer  []int
		column [][]int
	}{
		{"chain and shortcut", graph([]string{"a", "b", "c"}, [2]int{0, 1}, [2]int{1, 2}, [2]int{0, 2}), []int{0, 1, 2}, [][]int{{0}, {1}, {2}}},
		{"children follow parents", graph([]string{"x", "y", "cy", "cx"}, [2]int{1, 2}, [2]int{0, 3}), []int{0, 0, 1, 1}, [][]int{{0, 1}, {3, 2}}},
		{"cycle", graph([]string{"a", "b"}, [2]int{0, 1}, [2]int{1, 0}), []int{0, 0}, [][]int{{0, 1}}},
		{"bad edge", graph([]string{"a"}, [2]int{0, 5}, [2]int{-1, 0}), []int{0}, [][]int{{0}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			layer, order := layout(c.g)
			if !reflect.DeepEqual(layer, c.layer) || !reflect.DeepEqual(order, c.column) {
				t.Errorf("layers %v columns %v, want %v %v", layer, order, c.layer, c.column)
			}
		})
	}
}

func TestDrawLineage(t *testing.T) {
	g := graph([]string{"fct_orders", `a<b>"c"`, strings.Repeat("long_name_", 5)}, [2]int{0, 1}, [2]int{0, 2})
	g.Nodes[0].Status, g.Nodes[0].Breaking = "modified", true
	v := drawLineage(g, map[string]bool{"fct_orders": true})
	svg := string(v.SVG)
	for _, want := range []string{`href="#model-fct_orders"`, `class="node n-modified n-breaking"`, `<title>fct_orders (modified, breaking)</title>`,
		"a&lt;b&gt;&#34;c&#34;", `href="#change-a-b--c-`, "long_name_long_name_lon…", "<path d=\"M"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the drawing lacks %s:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, `a<b>`) {
		t.Error("a name reached the SVG unescaped")
	}
	var big report.Graph
	for i := range maxDrawnNodes + 1 {
		big.Nodes = append(big.Nodes, report.GraphNode{Name: fmt.Sprint("m", i)})
	}
	if v := drawLineage(big, nil); v.SVG != "" || !strings.Contains(v.TooBig, "too many to draw") {
		t.Errorf("a graph over the limit: %q", v.TooBig)
	}
}
