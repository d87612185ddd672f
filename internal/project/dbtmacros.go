package project

import (
	"embed"
	"io/fs"
	"sort"
)

// dbtMacros are dbt's own macros as dataops writes them for DuckDB and
// PostgreSQL: the cross-database macros (dbt.dateadd, dbt.type_string,
// ...), where nodes go (generate_schema_name, ...) and what tests use
// (get_where_subquery). Templates reach them as dbt.<name> and, like
// dbt's, by bare name.
//
//go:embed dbtmacros/*.sql
var dbtMacros embed.FS

func dbtMacroFiles() []sourceFile {
	var out []sourceFile
	paths, _ := fs.Glob(dbtMacros, "dbtmacros/*.sql")
	sort.Strings(paths)
	for _, p := range paths {
		data, _ := dbtMacros.ReadFile(p)
		out = append(out, sourceFile{path: "(dbt)/" + p, content: string(data)})
	}
	return out
}
