// Package projecttest builds synthetic dbt-style projects for tests and
// benchmarks of package project: projects far larger than examples/shop,
// shaped like real ones, and the same for the same seed.
package projecttest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dataops-dev/dataops/internal/project"
)

// ProjectName is the name: of every synthetic project.
const ProjectName = "synth"

// Layer shares of the models; staging gets what the others leave.
const (
	intermediateShare = 0.6
	martsShare        = 0.3
	// A properties file per folder of about this many models, as large
	// projects split them.
	folderSize = 50
)

// Synthetic returns a dbt-style project of exactly models models: staging
// models reading declared sources, intermediate models and marts refing
// earlier layers (a few hubs referenced by many), project macros, vars,
// config() calls with incremental and ephemeral models, and a properties
// file per folder with columns and generic tests. It compiles without a
// single diagnostic. The files are sorted by path.
func Synthetic(models int, seed int64) []project.File {
	g := &generator{rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
	g.plan(max(models, 0))
	return g.files()
}

// WriteDir materialises files below dir, creating folders as needed.
func WriteDir(dir string, files []project.File) error {
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write synthetic project: %w", err)
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return fmt.Errorf("write synthetic project: %w", err)
		}
	}
	return nil
}

type layer int

const (
	staging layer = iota
	intermediate
	marts
)

var layerDirs = [...]string{"staging", "intermediate", "marts"}

type folder struct {
	layer  layer
	name   string // staging: the source system; otherwise a business domain
	dir    string // models/<layer>/<name>
	models []*model
}

type model struct {
	layer   layer
	index   int
	name    string
	entity  string
	key     string // primary key column
	folder  *folder
	parents []*model
	hub     bool

	materialized string // the effective one: view, table, incremental or ephemeral
	configCall   string // the model's {{ config(...) }}, "" for none
	aggregated   bool
	metrics      []string
	macros       []macro
	columns      []column // what the select list produces, in order
}

type column struct {
	name, description string
	tests             []string // YAML items, already indented below data_tests:
}

var (
	systems = []string{"crm", "erp", "web", "billing", "support", "inventory", "ads", "hr",
		"payments", "shipping", "catalog", "identity"}
	domains = []string{"finance", "sales", "marketing", "product", "operations", "customer_success",
		"logistics", "people", "growth", "risk", "procurement", "analytics"}
	nouns = []string{"accounts", "orders", "payments", "invoices", "customers", "products", "shipments",
		"refunds", "sessions", "events", "subscriptions", "campaigns", "leads", "tickets", "contracts",
		"employees", "suppliers", "stock_levels", "returns", "carts", "reviews", "coupons", "deliveries",
		"warehouses", "ledger_entries", "transactions", "plans", "users", "devices", "visits",
		"opportunities", "quotes", "budgets", "payouts", "disputes", "claims"}
	metricNames = []string{"amount", "quantity", "discount", "cost", "tax", "fee", "weight", "duration_seconds"}
	statuses    = []string{"new", "open", "pending", "closed", "cancelled"}
)

type generator struct {
	rng     *rand.Rand
	models  []*model
	layers  [3][]*model
	folders []*folder
	macros  []macro
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// plan decides every model, its folder, parents and features before any
// text is written, so the text of one model can depend on its parents.
func (g *generator) plan(n int) {
	nMarts := int(float64(n) * martsShare)
	nInt := int(float64(n) * intermediateShare)
	nStg := n - nMarts - nInt
	if n > 0 && nStg == 0 {
		nStg = 1
		if nInt > 0 {
			nInt--
		} else {
			nMarts--
		}
	}
	g.macros = catalog[:8+g.rng.IntN(len(catalog)-8+1)]
	counts := [3]int{nStg, nInt, nMarts}
	for l := staging; l <= marts; l++ {
		g.addLayer(l, counts[l])
	}
	for l := staging; l <= marts; l++ {
		g.markHubs(g.layers[l])
	}
	for _, m := range g.models {
		g.decide(m)
	}
}

func (g *generator) addLayer(l layer, count int) {
	if count == 0 {
		return
	}
	names := systems
	if l != staging {
		names = domains
	}
	nFolders := (count + folderSize - 1) / folderSize
	start := g.rng.IntN(len(names))
	var folders []*folder
	for i := 0; i < nFolders; i++ {
		name := names[(start+i)%len(names)]
		if round := (start + i) / len(names); i >= len(names) {
			name = fmt.Sprintf("%s_%d", name, round+1)
		}
		f := &folder{layer: l, name: name, dir: "models/" + layerDirs[l] + "/" + name}
		folders = append(folders, f)
		g.folders = append(g.folders, f)
	}
	for i := 0; i < count; i++ {
		idx := len(g.models)
		entity := fmt.Sprintf("%s_%04d", g.pick(nouns), idx)
		m := &model{layer: l, index: idx, entity: entity, key: entity + "_id",
			folder: folders[i*nFolders/count]}
		m.folder.models = append(m.folder.models, m)
		g.models = append(g.models, m)
		g.layers[l] = append(g.layers[l], m)
	}
}

// markHubs makes about one model in twenty a hub that later layers pick
// far more often: real projects have a few models (customers, orders)
// that half the project reads.
func (g *generator) markHubs(ms []*model) {
	if len(ms) == 0 {
		return
	}
	perm := g.rng.Perm(len(ms))
	for _, i := range perm[:max(1, len(ms)/20)] {
		ms[i].hub = true
	}
}

func (g *generator) pickParent(pool []*model) *model {
	if g.chance(0.35) {
		var hubs []*model
		for _, m := range pool {
			if m.hub {
				hubs = append(hubs, m)
			}
		}
		if len(hubs) > 0 {
			return hubs[g.rng.IntN(len(hubs))]
		}
	}
	return pool[g.rng.IntN(len(pool))]
}

// parentCount draws 1 to 4 with most models reading one or two.
func (g *generator) parentCount() int {
	switch x := g.rng.Float64(); {
	case x < 0.30:
		return 1
	case x < 0.65:
		return 2
	case x < 0.85:
		return 3
	}
	return 4
}

func (g *generator) decide(m *model) {
	switch m.layer {
	case staging:
		m.metrics = g.sample(metricNames, 2+g.rng.IntN(3))
		m.name = "stg_" + m.folder.name + "__" + m.entity
		m.materialized = "view"
		if g.chance(0.1) {
			m.materialized = "table"
			m.configCall = "{{ config(materialized='table', tags=['large']) }}"
		}
	case intermediate, marts:
		g.chooseParents(m)
		m.metrics = append([]string(nil), m.parents[0].metrics...)
		m.aggregated = g.chance(0.2) || (m.layer == marts && g.chance(0.35))
		g.chooseMaterialization(m)
		if m.layer == intermediate {
			verb := "enriched"
			switch {
			case m.aggregated:
				verb = "aggregated"
			case len(m.parents) > 1:
				verb = "joined"
			}
			m.name = "int_" + m.entity + "_" + verb
		} else if m.aggregated || len(m.parents) > 2 {
			m.name = "fct_" + m.entity
		} else {
			m.name = "dim_" + m.entity
		}
	}
	// Most models call one or two macros; some none.
	k := 1
	switch x := g.rng.Float64(); {
	case x < 0.15:
		k = 0
	case x < 0.55:
		k = 2
	}
	for _, i := range g.rng.Perm(len(g.macros))[:k] {
		m.macros = append(m.macros, g.macros[i])
	}
	sort.Slice(m.macros, func(i, j int) bool { return m.macros[i].name < m.macros[j].name })
}

func (g *generator) chooseParents(m *model) {
	stg, ints := g.layers[staging], g.layers[intermediate]
	want := g.parentCount()
	seen := map[*model]bool{}
	for tries := 0; len(m.parents) < want && tries < 20; tries++ {
		pool := stg
		if m.layer == marts && len(ints) > 0 && (len(stg) == 0 || g.chance(0.8)) {
			pool = ints
		}
		p := g.pickParent(pool)
		if !seen[p] {
			seen[p] = true
			m.parents = append(m.parents, p)
		}
	}
}

func (g *generator) chooseMaterialization(m *model) {
	m.materialized = "view"
	if m.layer == marts {
		m.materialized = "table"
	}
	incremental := 0.1
	if m.layer == marts {
		incremental = 0.3
	}
	switch x := g.rng.Float64(); {
	case x < incremental:
		m.materialized = "incremental"
		strategy := ""
		if g.chance(0.5) {
			strategy = ", incremental_strategy='" + g.pick([]string{"merge", "delete+insert"}) + "'"
		}
		m.configCall = fmt.Sprintf("{{ config(\n    materialized='incremental',\n    unique_key='%s'%s,\n    on_schema_change='append_new_columns'\n) }}", m.key, strategy)
	case m.layer == intermediate && !m.hub && x < incremental+0.08:
		// Hubs stay real relations: inlining one into hundreds of models
		// is what nobody does.
		m.materialized = "ephemeral"
		m.configCall = "{{ config(materialized='ephemeral') }}"
	case m.layer == intermediate && x < incremental+0.14:
		m.materialized = "table"
		m.configCall = "{{ config(materialized='table', tags=['" + m.folder.name + "_core']) }}"
	case x < incremental+0.2:
		m.configCall = "{{ config(tags=['nightly']) }}"
	}
}

func (g *generator) sample(list []string, k int) []string {
	var out []string
	for _, i := range g.rng.Perm(len(list))[:k] {
		out = append(out, list[i])
	}
	return out
}

func (g *generator) files() []project.File {
	var files []project.File
	add := func(p, content string) {
		files = append(files, project.File{Path: p, Content: []byte(content)})
	}
	add("dbt_project.yml", g.projectFile())
	for _, mf := range macroFiles(g.macros) {
		add(mf.Path, string(mf.Content))
	}
	if len(g.layers[staging]) > 0 {
		add("models/staging/_sources.yml", g.sourcesFile())
	}
	for _, m := range g.models {
		add(m.folder.dir+"/"+m.name+".sql", g.modelSQL(m))
	}
	for _, f := range g.folders {
		add(f.dir+"/_"+f.name+"__models.yml", g.propertiesFile(f))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files
}

func (g *generator) projectFile() string {
	var b strings.Builder
	b.WriteString(`# Synthetic project generated by internal/project/projecttest.
name: ` + ProjectName + `
version: "1.0.0"
config-version: 2
profile: ` + ProjectName + `

model-paths: ["models"]
seed-paths: ["seeds"]
macro-paths: ["macros"]
test-paths: ["tests"]

vars:
  raw_schema: raw
  start_date: '2021-01-01'
  lookback_days: 3
  excluded_statuses: ['deleted', 'test']

models:
  ` + ProjectName + `:
    +materialized: view
`)
	mat := [...]string{"view", "view", "table"}
	for l := staging; l <= marts; l++ {
		fmt.Fprintf(&b, "    %s:\n      +materialized: %s\n      +tags: ['%s']\n", layerDirs[l], mat[l], layerDirs[l])
		for _, f := range g.folders {
			if f.layer != l || l == staging {
				continue
			}
			fmt.Fprintf(&b, "      %s:\n        +tags: ['%s']\n", f.name, f.name)
			if l == marts {
				fmt.Fprintf(&b, "        +schema: %s\n", f.name)
			}
		}
	}
	return b.String()
}

func (g *generator) sourcesFile() string {
	var b strings.Builder
	b.WriteString("version: 2\n\nsources:\n")
	for _, f := range g.folders {
		if f.layer != staging {
			continue
		}
		fmt.Fprintf(&b, "  - name: %s\n    description: \"Raw tables replicated from the %s system.\"\n", f.name, f.name)
		fmt.Fprintf(&b, "    schema: \"{{ var('raw_schema') }}_%s\"\n    loader: fivetran\n    tables:\n", f.name)
		for _, m := range f.models {
			fmt.Fprintf(&b, "      - name: %s\n        description: \"Raw %s rows as loaded.\"\n", m.entity, strings.ReplaceAll(m.entity, "_", " "))
			if m.index%5 == 0 {
				b.WriteString("        columns:\n          - name: id\n            data_tests:\n              - unique\n              - not_null\n")
			}
		}
	}
	return b.String()
}

// sel is a select list being built: lines without their separating commas.
type sel struct{ items []string }

func (s *sel) add(format string, args ...any) {
	s.items = append(s.items, fmt.Sprintf(format, args...))
}

func (s *sel) write(b *strings.Builder, indent string) {
	for i, it := range s.items {
		b.WriteString(indent + it)
		if i < len(s.items)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
}

// exprs tells the macro uses how to name a model's columns: qualified
// in joins, aggregated in aggregated models.
type exprs struct {
	metric func(name string) string
	dim    func(name string) string
}

func (g *generator) modelSQL(m *model) string {
	var b strings.Builder
	if m.configCall != "" {
		b.WriteString(m.configCall + "\n\n")
	}
	if m.layer == staging {
		g.stagingSQL(&b, m)
	} else {
		g.transformSQL(&b, m)
	}
	return fitLines(b.String(), 20, 60)
}

// fitLines keeps a model between min and max lines: short ones get the
// kind of header comment real models carry, long ones lose the blank lines
// that pad their CTEs.
func fitLines(sql string, min, max int) string {
	n := strings.Count(sql, "\n")
	if n > max {
		sql = strings.ReplaceAll(sql, " as (\n\n", " as (\n")
		sql = strings.ReplaceAll(sql, "\n\n),", "\n),")
		sql = strings.ReplaceAll(sql, "\n\n)\n", "\n)\n")
	}
	if n >= min {
		return sql
	}
	var h strings.Builder
	h.WriteString("{#-\n")
	for i := n + 2; i < min; i++ {
		h.WriteString("    Owner: data platform. Reviewed with the domain team before changes.\n")
	}
	h.WriteString("-#}\n")
	return h.String() + sql
}

func (g *generator) stagingSQL(b *strings.Builder, m *model) {
	fmt.Fprintf(b, "-- Staging model for %s.%s: renames, casts and filters the raw rows.\n", m.folder.name, m.entity)
	fmt.Fprintf(b, "with source as (\n\n    select * from {{ source('%s', '%s') }}\n\n),\n\n", m.folder.name, m.entity)
	b.WriteString("renamed as (\n\n    select\n")
	var s sel
	s.add("cast(id as integer) as %s", m.key)
	s.add("cast(status as varchar) as status")
	s.add("cast(created_at as timestamp) as created_at")
	s.add("cast(updated_at as timestamp) as updated_at")
	m.columns = append(m.columns,
		column{m.key, "Primary key of the " + m.entity + " row.", nil},
		column{"status", "Lifecycle status as the source system reports it.", nil},
		column{"created_at", "When the row was created in the source system.", nil},
		column{"updated_at", "When the row last changed in the source system.", nil})
	for _, x := range m.metrics {
		s.add("cast(%s as numeric(18, 2)) as %s", x, x)
		m.columns = append(m.columns, column{x, "The " + strings.ReplaceAll(x, "_", " ") + " of the row.", nil})
	}
	limit := g.macroUses(m, &s, exprs{metric: identity, dim: identity})
	s.write(b, "        ")
	b.WriteString("    from source\n")
	b.WriteString("    where cast(created_at as date) >= cast('{{ var(\"start_date\") }}' as date)\n")
	b.WriteString("    {%- for excluded in var('excluded_statuses') %}\n        and status != '{{ excluded }}'\n    {%- endfor %}\n")
	b.WriteString("\n)\n\nselect * from renamed\n")
	if limit {
		b.WriteString("{{ limit_in_dev() }}\n")
	}
}

func identity(s string) string { return s }

// transformSQL writes an intermediate model or mart: one CTE per parent,
// a join, optionally aggregated, with the template features real models
// use.
func (g *generator) transformSQL(b *strings.Builder, m *model) {
	fmt.Fprintf(b, "-- %s\n", describe(m))
	var loopList string
	loop := g.chance(0.35)
	if loop && m.aggregated {
		loopList = "status_values"
		fmt.Fprintf(b, "{%% set status_values = [%s] %%}\n", quoteList(g.sample(statuses, 2+g.rng.IntN(3))))
	} else if loop {
		loopList = "metric_columns"
		fmt.Fprintf(b, "{%% set metric_columns = [%s] %%}\n", quoteList(m.metrics))
	}
	b.WriteString("\n")
	aliases := make([]string, len(m.parents))
	for i, p := range m.parents {
		aliases[i] = "base"
		if i > 0 {
			aliases[i] = fmt.Sprintf("p%d", i)
		}
		if i == 0 {
			b.WriteString("with ")
		}
		if i > 0 {
			fmt.Fprintf(b, "%s as (\n    select * from {{ ref('%s') }}\n),\n\n", aliases[i], p.name)
			continue
		}
		fmt.Fprintf(b, "%s as (\n\n    select * from {{ ref('%s') }}\n", aliases[i], p.name)
		if m.materialized == "incremental" {
			b.WriteString("    {% if is_incremental() %}\n")
			b.WriteString("    where updated_at > (\n        select max(updated_at) - interval '{{ var(\"lookback_days\") }} days' from {{ this }}\n    )\n")
			b.WriteString("    {% endif %}\n")
		}
		b.WriteString("\n),\n\n")
	}
	b.WriteString("final as (\n\n    select\n")
	var s sel
	e := exprs{metric: func(x string) string { return "base." + x }, dim: func(x string) string { return "base." + x }}
	if m.aggregated {
		e = exprs{metric: func(x string) string { return "sum(base." + x + ")" }, dim: func(x string) string { return "max(base." + x + ")" }}
	}
	p0 := m.parents[0]
	s.add("base.%s as %s", p0.key, m.key)
	m.columns = append(m.columns, column{m.key, "Primary key: one row per " + strings.ReplaceAll(p0.entity, "_", " ") + ".", nil})
	s.add("base.%s", p0.key)
	m.columns = append(m.columns, column{p0.key, "The " + p0.name + " row this row is built from.", nil})
	for i, p := range m.parents[1:] {
		if m.aggregated {
			s.add("max(%s.%s) as %s", aliases[i+1], p.key, p.key)
		} else {
			s.add("%s.%s", aliases[i+1], p.key)
		}
		m.columns = append(m.columns, column{p.key, "The matching " + p.name + " row.", nil})
	}
	s.add("%s as status", e.dim("status"))
	s.add("%s as updated_at", e.dim("updated_at"))
	m.columns = append(m.columns,
		column{"status", "Status of the underlying " + p0.entity + " row.", nil},
		column{"updated_at", "When the row last changed upstream.", nil})
	switch loopList {
	case "status_values":
		s.add("{%%- for status in status_values %%}\n        sum(case when base.status = '{{ status }}' then 1 else 0 end) as {{ status }}_count\n        {%%- if not loop.last %%},{%% endif %%}\n        {%%- endfor %%}")
	case "metric_columns":
		s.add("{%%- for metric in metric_columns %%}\n        base.{{ metric }}\n        {%%- if not loop.last %%},{%% endif %%}\n        {%%- endfor %%}")
	default:
		for _, x := range m.metrics {
			s.add("%s as %s", e.metric(x), x)
		}
	}
	for _, x := range m.metrics {
		m.columns = append(m.columns, column{x, "Total " + strings.ReplaceAll(x, "_", " ") + ".", nil})
	}
	if m.aggregated {
		s.add("count(*) as row_count")
		m.columns = append(m.columns, column{"row_count", "Number of upstream rows.", nil})
	}
	limit := g.macroUses(m, &s, e)
	s.write(b, "        ")
	b.WriteString("    from base\n")
	for i, p := range m.parents[1:] {
		fmt.Fprintf(b, "    left join %s on base.%s = %s.%s\n", aliases[i+1], p.key, aliases[i+1], p.key)
	}
	switch {
	case g.chance(0.3):
		b.WriteString("    where base.updated_at >= cast('{{ var(\"start_date\") }}' as timestamp)\n")
	case g.chance(0.2):
		b.WriteString("    {% if target.name != 'prod' %}\n")
		b.WriteString("    where base.updated_at >= current_date - interval '{{ var(\"lookback_days\") }} days'\n")
		b.WriteString("    {% endif %}\n")
	}
	if m.aggregated {
		fmt.Fprintf(b, "    group by base.%s\n", p0.key)
	}
	b.WriteString("\n)\n\nselect * from final\n")
	if limit {
		b.WriteString("{{ limit_in_dev() }}\n")
	}
}

func describe(m *model) string {
	var names []string
	for _, p := range m.parents {
		names = append(names, p.name)
	}
	what := "One row per " + strings.ReplaceAll(m.parents[0].entity, "_", " ")
	if m.aggregated {
		what = "Totals per " + strings.ReplaceAll(m.parents[0].entity, "_", " ")
	}
	return what + ", from " + strings.Join(names, ", ") + "."
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + x + "'"
	}
	return strings.Join(q, ", ")
}

// macroUses adds a select item per macro the model calls; limit_in_dev
// goes after the query instead, which the caller is told.
func (g *generator) macroUses(m *model, s *sel, e exprs) (limit bool) {
	m0, m1 := m.metrics[0], m.metrics[1]
	for _, mc := range m.macros {
		col := ""
		switch mc.name {
		case "cents_to_dollars":
			col = m0 + "_dollars"
			if g.chance(0.5) {
				s.add("{{ cents_to_dollars('%s') }} as %s", e.metric(m0), col)
			} else {
				s.add("{{ cents_to_dollars('%s', scale=4) }} as %s", e.metric(m0), col)
			}
		case "safe_divide":
			col = m0 + "_per_" + m1
			s.add("{{ safe_divide('%s', '%s') }} as %s", e.metric(m0), e.metric(m1), col)
		case "percent_of":
			col = m0 + "_pct_of_" + m1
			s.add("{{ percent_of('%s', '%s', precision=1) }} as %s", e.metric(m0), e.metric(m1), col)
		case "surrogate_key":
			col = m.entity + "_sk"
			s.add("{{ surrogate_key(['%s', '%s']) }} as %s", e.dim(m.key0()), e.dim("status"), col)
		case "normalize_text":
			col = "status_normalized"
			s.add("{{ normalize_text('%s') }} as %s", e.dim("status"), col)
		case "truncate_date":
			col = "updated_month"
			s.add("{{ truncate_date('%s', 'month') }} as %s", e.dim("updated_at"), col)
		case "status_bucket":
			col = "status_bucket"
			s.add("{{ status_bucket('%s') }} as %s", e.dim("status"), col)
		case "is_recent":
			col = "is_recent"
			s.add("{{ is_recent('%s', days=var('lookback_days')) }} as %s", e.dim("updated_at"), col)
		case "coalesce_zero":
			col = m1 + "_or_zero"
			s.add("{{ coalesce_zero('%s') }} as %s", e.metric(m1), col)
		case "audit_columns":
			s.add("{{ audit_columns() }}")
			m.columns = append(m.columns, column{"_loaded_at", "When this row was built.", nil},
				column{"_loaded_by", "Which target built this row.", nil})
		case "convert_currency":
			col = m0 + "_eur"
			s.add("{{ convert_currency('%s', rate=0.92) }} as %s", e.metric(m0), col)
		case "limit_in_dev":
			limit = true
		}
		if col != "" {
			m.columns = append(m.columns, column{col, "Derived with the " + mc.name + " macro.", nil})
		}
	}
	return limit
}

// key0 is the column a model's rows are identified by before its own key
// exists: the raw id in staging, the first parent's key otherwise.
func (m *model) key0() string {
	if m.layer == staging {
		return "id"
	}
	return m.parents[0].key
}

func (g *generator) propertiesFile(f *folder) string {
	var b strings.Builder
	b.WriteString("version: 2\n\nmodels:\n")
	for _, m := range f.models {
		fmt.Fprintf(&b, "  - name: %s\n", m.name)
		if m.layer == staging {
			fmt.Fprintf(&b, "    description: \"Cleaned %s rows from the %s system.\"\n", strings.ReplaceAll(m.entity, "_", " "), f.name)
		} else {
			fmt.Fprintf(&b, "    description: \"%s\"\n", describe(m))
		}
		if g.chance(0.1) {
			b.WriteString("    config:\n      tags: ['pii']\n      meta:\n        owner: data-platform\n")
		}
		testsKey := "data_tests"
		if g.chance(0.3) {
			testsKey = "tests" // older projects still say tests:
		}
		cols := m.columns
		n := min(len(cols), 3+g.rng.IntN(6))
		b.WriteString("    columns:\n")
		for i, c := range cols[:n] {
			fmt.Fprintf(&b, "      - name: %s\n        description: \"%s\"\n", c.name, c.description)
			tests := g.columnTests(m, i, c)
			if len(tests) == 0 {
				continue
			}
			fmt.Fprintf(&b, "        %s:\n", testsKey)
			for _, t := range tests {
				b.WriteString(t)
			}
		}
	}
	return b.String()
}

// columnTests decides the generic tests of one documented column. Ephemeral
// models are not relations, so neither they nor their parents' references
// to them are tested.
func (g *generator) columnTests(m *model, i int, c column) []string {
	if m.materialized == "ephemeral" {
		return nil
	}
	switch {
	case i == 0: // the model's key
		if g.chance(0.9) {
			return []string{"          - unique\n", "          - not_null\n"}
		}
	case c.name == "status":
		if g.chance(0.3) {
			t := "          - accepted_values:\n              values: [" + quoteList(statuses) + "]\n"
			if g.chance(0.5) {
				t += "              config:\n                severity: warn\n"
			}
			return []string{t}
		}
	case c.name == "updated_at":
		if g.chance(0.2) {
			return []string{"          - not_null\n"}
		}
	case m.layer != staging && strings.HasSuffix(c.name, "_id"):
		for _, p := range m.parents {
			if p.key != c.name || p.materialized == "ephemeral" {
				continue
			}
			var out []string
			if g.chance(0.4) {
				out = append(out, "          - not_null\n")
			}
			if g.chance(0.5) {
				out = append(out, fmt.Sprintf("          - relationships:\n              to: ref('%s')\n              field: %s\n", p.name, p.key))
			}
			return out
		}
	}
	return nil
}

// macro is one project macro: its file and text.
type macro struct {
	name, file, text string
}

// catalog holds the macros a synthetic project draws from: the first eight
// always, up to four more. percent_of calls safe_divide and
// convert_currency calls cents_to_dollars, as real macros build on each
// other.
var catalog = []macro{
	{"cents_to_dollars", "macros/cents_to_dollars.sql", `{#- Converts an integer amount of cents into a fixed-scale decimal amount. -#}
{% macro cents_to_dollars(column_name, scale=2) -%}
    cast(round(cast({{ column_name }} as numeric) / 100, {{ scale }}) as numeric(18, {{ scale }}))
{%- endmacro %}
`},
	{"safe_divide", "macros/math.sql", `{#- Divides, returning the fallback instead of failing on a zero denominator. -#}
{% macro safe_divide(numerator, denominator, fallback='null') -%}
    coalesce(cast({{ numerator }} as numeric) / nullif(cast({{ denominator }} as numeric), 0), {{ fallback }})
{%- endmacro %}
`},
	{"percent_of", "macros/math.sql", `
{#- A part as a percentage of a whole, rounded. -#}
{% macro percent_of(part, whole, precision=2) -%}
    round(100 * {{ safe_divide(part, whole, fallback='0') }}, {{ precision }})
{%- endmacro %}
`},
	{"surrogate_key", "macros/surrogate_key.sql", `{#- A stable hash of several columns, null-safe, as a key for rows without one. -#}
{% macro surrogate_key(fields) -%}
    md5(
    {%- for field in fields %}
        coalesce(cast({{ field }} as varchar), '_null_'){% if not loop.last %} || '-' ||{% endif %}
    {%- endfor %}
    )
{%- endmacro %}
`},
	{"normalize_text", "macros/normalize_text.sql", `{#- Trims text and turns empty strings into nulls; lower-cases unless told not to. -#}
{% macro normalize_text(column_name, lowercase=true) -%}
    {%- if lowercase -%}
    nullif(lower(trim({{ column_name }})), '')
    {%- else -%}
    nullif(trim({{ column_name }}), '')
    {%- endif -%}
{%- endmacro %}
`},
	{"truncate_date", "macros/dates.sql", `{#- Truncates a timestamp to a date at the given grain, per warehouse. -#}
{% macro truncate_date(column_name, grain='day') -%}
    {%- if target.type == 'postgres' -%}
    date_trunc('{{ grain }}', {{ column_name }})::date
    {%- else -%}
    cast(date_trunc('{{ grain }}', {{ column_name }}) as date)
    {%- endif -%}
{%- endmacro %}
`},
	{"is_recent", "macros/dates.sql", `
{#- Whether a timestamp falls within the last days days. -#}
{% macro is_recent(column_name, days=7) -%}
    ({{ column_name }} >= current_date - interval '{{ days }} days')
{%- endmacro %}
`},
	{"status_bucket", "macros/status_bucket.sql", `{#- Groups source statuses into open, closed and unknown. -#}
{% macro status_bucket(column_name, open_statuses=['new', 'open', 'pending']) -%}
    case
    {%- for status in open_statuses %}
        when {{ column_name }} = '{{ status }}' then 'open'
    {%- endfor %}
        when {{ column_name }} is null then 'unknown'
        else 'closed'
    end
{%- endmacro %}
`},
	{"coalesce_zero", "macros/math.sql", `
{#- Treats missing numbers as zero. -#}
{% macro coalesce_zero(column_name, default=0) -%}
    coalesce({{ column_name }}, {{ default }})
{%- endmacro %}
`},
	{"audit_columns", "macros/audit_columns.sql", `{#- Columns every built row carries: when and by which target it was built. -#}
{% macro audit_columns(loaded_by=target.name) -%}
    current_timestamp as _loaded_at,
        '{{ loaded_by }}' as _loaded_by
{%- endmacro %}
`},
	{"limit_in_dev", "macros/limit_in_dev.sql", `{#- Keeps development builds fast: a row limit everywhere but production. -#}
{% macro limit_in_dev(row_count=1000) -%}
    {%- if target.name != 'prod' %}
limit {{ row_count }}
    {%- endif -%}
{%- endmacro %}
`},
	{"convert_currency", "macros/convert_currency.sql", `{#- Converts cents in the reporting currency to another at a fixed rate. -#}
{% macro convert_currency(column_name, rate=1.0) -%}
    ({{ cents_to_dollars(column_name, scale=4) }} * {{ rate }})
{%- endmacro %}
`},
}

// macroFiles groups the chosen macros into their files.
func macroFiles(ms []macro) []project.File {
	var order []string
	text := map[string]string{}
	for _, m := range ms {
		if _, ok := text[m.file]; !ok {
			order = append(order, m.file)
		}
		text[m.file] += m.text
	}
	var out []project.File
	for _, f := range order {
		out = append(out, project.File{Path: path.Clean(f), Content: []byte(text[f])})
	}
	return out
}
