package project

// NodeKind is the resource type of a node, named as dbt names it.
type NodeKind string

const (
	KindModel  NodeKind = "model"
	KindSeed   NodeKind = "seed"
	KindSource NodeKind = "source"
	KindTest   NodeKind = "test"
	// KindSnapshot is a {% snapshot %} block: compiled so models can ref
	// it, never built by dataops (its history lives in production).
	KindSnapshot NodeKind = "snapshot"
)

// Target is what a run renders for: dbt's `target` variable.
type Target struct {
	Name   string `json:"name"`
	Schema string `json:"schema"`
	Type   string `json:"type"` // duckdb or postgres
	// Database is target.database: the DuckDB file's name, the
	// PostgreSQL database; templates use it in fully qualified names.
	Database string `json:"database,omitempty"`
}

// Production reports whether custom schemas are used as given. Like dbt's
// generate_schema_name_for_env, only the production target spreads models
// over their configured schemas; every other target, such as a pull
// request's environment, keeps everything in its one schema, which is what
// lets an environment be created and dropped as a single schema.
func (t Target) Production() bool {
	return t.Name == "prod" || t.Name == "production"
}

// Column is a documented column from properties YAML or a seed's header.
type Column struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	DataType    string `json:"data_type,omitempty"`
	// Meta and Tags are the column's own (meta:, tags:, or under its
	// config:, as dbt 1.10 writes them): they say, for one, which columns
	// hold sensitive values.
	Meta map[string]any `json:"meta,omitempty"`
	Tags []string       `json:"tags,omitempty"`
}

// TestSpec describes a generic test; singular tests have none.
type TestSpec struct {
	Name     string         `json:"name"` // unique, not_null, accepted_values, relationships
	Model    string         `json:"model"`
	Column   string         `json:"column,omitempty"`
	Args     map[string]any `json:"args,omitempty"`
	AttachTo string         `json:"attached_node"` // unique id of the node under test
}

// Node is one model, seed, source table or test.
type Node struct {
	UniqueID    string   `json:"unique_id"`
	Kind        NodeKind `json:"resource_type"`
	Name        string   `json:"name"`
	Package     string   `json:"package_name"`
	Path        string   `json:"path,omitempty"` // file relative to the project directory
	Description string   `json:"description,omitempty"`
	Config      Config   `json:"config"`
	Columns     []Column `json:"columns,omitempty"`

	RawSQL      string `json:"raw_code,omitempty"`
	CompiledSQL string `json:"compiled_code,omitempty"`
	// IncrementalSQL is the SQL an incremental model runs when its relation
	// already exists (is_incremental() true); empty for other models.
	IncrementalSQL string `json:"incremental_code,omitempty"`
	// LineMap gives, for each compiled line (index 0 = line 1), the line of
	// the source file it came from, 0 where none can be told.
	LineMap []int `json:"line_map,omitempty"`

	// Checksum covers the raw SQL and the resolved config: it changes when
	// anything that decides what the node builds changes.
	Checksum  string  `json:"checksum"`
	DependsOn Depends `json:"depends_on"`

	Relation Relation  `json:"relation"`
	Test     *TestSpec `json:"test_metadata,omitempty"`

	// For sources: the source name and table, as written in YAML.
	SourceName string `json:"source_name,omitempty"`
	// LoadedBy is the seed that loads a source's table (the seed's
	// +schema and name are the source's): the source is read wherever that
	// seed is in a target.
	LoadedBy string `json:"loaded_by,omitempty"`
	// Line of the definition in Path: 1 for SQL files, the YAML line of
	// sources and generic tests.
	Line int `json:"line,omitempty"`

	// rendered is the SQL with relation placeholders, resolved per target
	// and deferral by Manifest.SQLFor.
	rendered            string
	renderedIncremental string
	preHooks, postHooks []string
	// fqn is dbt's fully qualified name below the package: folders under
	// the resource folder, then the name.
	fqn []string
	// testCall is set for a generic test written as a macro: rendered
	// once every node is configured.
	testCall *testCall
	// refIDs maps each reference key the templates used (a ref's
	// "[package.]name", a source's "source.table") to the node it resolved to.
	refIDs map[string]string
}

// Depends lists what a node uses; macros and vars let a plan see that a
// model changed when only something it calls changed.
type Depends struct {
	Nodes  []string `json:"nodes"`
	Macros []string `json:"macros,omitempty"`
	Vars   []string `json:"vars,omitempty"`
}

// Relation is where a node lives in the warehouse. Database is set for
// sources that name one; relations are written with it only when it is not
// the target's.
type Relation struct {
	Database string `json:"database,omitempty"`
	Schema   string `json:"schema"`
	Name     string `json:"name"`
}

// SkipCause says why a node is in Manifest.Skipped.
type SkipCause string

const (
	// CauseError: the node's own template, config or properties have
	// errors; they are among the compile's Diagnostics with its id.
	CauseError SkipCause = "error"
	// CauseUpstream: a node it depends on is skipped.
	CauseUpstream SkipCause = "upstream"
	// CauseUnsupported: dataops does not compile nodes of its kind
	// (Python models).
	CauseUnsupported SkipCause = "unsupported"
	// CauseWarehouse: its templates query the warehouse while compiling,
	// and the compile had none.
	CauseWarehouse SkipCause = "warehouse"
)

// Skipped is a node that is not in Manifest.Nodes: it did not compile, or
// cannot be built because of what it depends on.
type Skipped struct {
	UniqueID string   `json:"unique_id"`
	Kind     NodeKind `json:"resource_type"`
	Name     string   `json:"name"`
	Package  string   `json:"package_name"`
	Path     string   `json:"path"`
	Line     int      `json:"line,omitempty"`
	// Checksum is of the node's source, to tell whether a change touched it.
	Checksum string    `json:"checksum"`
	Cause    SkipCause `json:"cause"`
	Reason   string    `json:"reason"`
	// Upstream names the skipped nodes this one depends on (CauseUpstream).
	Upstream []string `json:"upstream,omitempty"`
}

func skippedFrom(n *Node, cause SkipCause, reason string) *Skipped {
	return &Skipped{UniqueID: n.UniqueID, Kind: n.Kind, Name: n.Name, Package: n.Package, Path: n.Path, Line: n.Line,
		Checksum: checksum(n.RawSQL), Cause: cause, Reason: reason}
}
