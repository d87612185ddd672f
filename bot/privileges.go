package bot

import (
	"context"
	"fmt"

	"github.com/dataops-dev/dataops/internal/warehouse"
)

// maxWritableListed bounds what WritableBeyondEnvironments lists.
const maxWritableListed = 20

// WritableBeyondEnvironments lists what the warehouse's role can write
// besides the environments dataops created: schemas it may create in, own
// or drop, and tables it may change. The checks run a pull request's models
// as that role, so anything listed is something a pull request could change
// before anyone approved it: production, above all. Empty means a
// least-privilege role (see README, "A least-privilege role for the
// checks").
//
// DuckDB has no roles: whoever opens the file writes all of it.
//
// The catalog queries are PostgreSQL's own, run through the warehouse's
// Query like any statement; they need no privilege beyond connecting.
func WritableBeyondEnvironments(ctx context.Context, w warehouse.Warehouse) ([]string, error) {
	switch engine := w.Dialect().Name(); engine {
	case "duckdb":
		return []string{"everything: DuckDB has no roles"}, nil
	case "postgres":
	default:
		return nil, fmt.Errorf("cannot tell what a %s role may write", engine)
	}
	rows, err := w.Query(ctx, "select rolsuper from pg_roles where rolname = current_user")
	if err != nil {
		return nil, err
	}
	if len(rows.Values) == 1 && rows.Values[0][0] == true {
		return []string{"everything: the role is a superuser"}, nil
	}
	// Environments are the schemas whose comment is dataops' marker; what
	// the role owns, or may become (SET ROLE), it may drop.
	q := fmt.Sprintf(`with ns as (
  select n.oid, n.nspname, n.nspowner from pg_namespace n
  where n.nspname not like 'pg\_%%' and n.nspname <> 'information_schema'
    and coalesce(obj_description(n.oid, 'pg_namespace'), '') not like %s
)
select 'schema ' || quote_ident(ns.nspname) as what
from ns where pg_has_role(ns.nspowner, 'MEMBER') or has_schema_privilege(ns.oid, 'CREATE')
union all
select 'table ' || quote_ident(ns.nspname) || '.' || quote_ident(c.relname)
from pg_class c join ns on ns.oid = c.relnamespace
where c.relkind in ('r', 'p', 'm', 'f')
  and (pg_has_role(c.relowner, 'MEMBER') or has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE'))
order by 1`, w.Dialect().Placeholder(1))
	rows, err = w.QueryLimit(ctx, maxWritableListed, q, warehouse.MarkerPrefix+"%")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range rows.Values {
		out = append(out, fmt.Sprint(r[0]))
	}
	if rows.Truncated {
		out = append(out, "and more")
	}
	return out, nil
}
