package warehouse

import "context"

// Sizer is a Warehouse that can tell how big a schema is, for the bot's
// list of environments. Each engine tells what it knows, and -1 stands for
// what it does not: DuckDB the rows of its tables (its own estimate, exact
// after a build), PostgreSQL the bytes on disk (tables, indexes and TOAST)
// and the rows its statistics estimate.
type Sizer interface {
	SchemaSize(ctx context.Context, schema string) (rows, bytes int64, err error)
}
